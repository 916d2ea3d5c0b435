"""Shared-bottom (Caruana, 1997): one shared MLP feeds a small tower per task."""

from __future__ import annotations

from . import register
from .base import ModelOutput, MultiTaskModel
from .layers import InputLayer, Towers, mlp, mlp_out_dim


@register
class SharedBottom(MultiTaskModel):
    name = "shared_bottom"
    description = "All tasks share embeddings and a bottom MLP; each task has its own small tower."

    def __init__(self, cardinalities, num_dim, tasks, config):
        super().__init__(cardinalities, num_dim, tasks, config)
        c = config
        self.input = InputLayer.from_config(cardinalities, num_dim, c, self.cond_dim)
        self.bottom = mlp(self.input.out_dim, c.hidden, c.dropout)
        d = mlp_out_dim(self.input.out_dim, c.hidden)
        self.towers = Towers(d, c.tower, c.dropout, [t.output_dim for t in tasks])

    def forward(self, x_cat, x_num, pref=None) -> ModelOutput:
        if self.bottom and self.input.fused:  # the bottom's first layer through the fused columns
            first = self.bottom[0]
            h = self.bottom[1:](self.input.first_layer(x_cat, x_num, first.weight.T, first.bias)[0])
        else:
            h = self.bottom(self.input(x_cat, x_num, self._pref(pref, len(x_cat))))
        return ModelOutput([self._squeeze(o, t) for o, t in zip(self.towers(h), self.tasks)], [h])

