"""Single-task baselines: one independent network per task (nothing shared)."""

from __future__ import annotations

from torch import nn

from . import register
from .base import ModelOutput, MultiTaskModel
from .layers import InputLayer, mlp


@register
class SingleTask(MultiTaskModel):
    name = "single"
    description = "One independent network per task (the reference every shared model is judged against)."
    shares_parameters = False

    def __init__(self, cardinalities, num_dim, tasks, config):
        super().__init__(cardinalities, num_dim, tasks, config)
        c = config
        # Each network has the shared-bottom model's sizes (bottom + tower), for a
        # like-for-like comparison.
        self.inputs = nn.ModuleList(InputLayer.from_config(cardinalities, num_dim, c, self.cond_dim) for _ in tasks)
        self.nets = nn.ModuleList(
            mlp(inp.out_dim, c.hidden + c.tower, c.dropout, out_dim=t.output_dim)
            for inp, t in zip(self.inputs, tasks)
        )

    def forward(self, x_cat, x_num, pref=None) -> ModelOutput:
        p = self._pref(pref, len(x_cat))
        return ModelOutput(
            [self._squeeze(net(inp(x_cat, x_num, p)), t) for inp, net, t in zip(self.inputs, self.nets, self.tasks)]
        )
