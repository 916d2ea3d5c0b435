"""MMoE (Ma et al., KDD 2018): shared experts mixed by one softmax gate per task.

Each task learns how much to rely on each expert, so tasks that conflict can use
different experts while related tasks share them.

Shared representation (``ModelOutput.features``): the expert outputs and the input
representation (or its shared projection, ``ModelConfig.input_proj``) *as read by the
gates*. The gates read an alias of the input representation, a graph node of its
own, so that the two features form a cut of the graph: the gradient on the alias
holds only the gates' share, and the experts' share reaches the input layer through
the expert outputs alone (taking the input representation itself would count the
experts' path twice).
"""

from __future__ import annotations

import torch
from torch import nn

from . import register
from .base import ModelOutput, MultiTaskModel
from .layers import ExpertBank, InputLayer, Towers, mix, projected_input


@register
class MMoE(MultiTaskModel):
    name = "mmoe"
    description = "Multi-gate Mixture-of-Experts: shared experts, one gate per task chooses the mix."
    reads_input_proj = True

    def __init__(self, cardinalities, num_dim, tasks, config):
        super().__init__(cardinalities, num_dim, tasks, config)
        c = config
        if c.n_experts < 1:
            raise ValueError("MMoE needs at least one expert")
        self.input = InputLayer.from_config(cardinalities, num_dim, c, self.cond_dim)
        # ModelConfig.input_proj: the experts and gates read one shared projection.
        self.proj = nn.Linear(self.input.out_dim, c.input_proj) if c.input_proj else None
        d_in = c.input_proj or self.input.out_dim
        self.experts = ExpertBank(c.n_experts, d_in, c.hidden, c.dropout)
        # Every task's gate in one layer: one product per batch, not one per task.
        self.gates = nn.Linear(d_in, len(tasks) * c.n_experts)
        self.towers = Towers(self.experts.out_dim, c.tower, c.dropout, [t.output_dim for t in tasks])

    def forward(self, x_cat, x_num, pref=None) -> ModelOutput:
        if self.proj is None and self.input.fused and self.experts.layers:
            # The experts' first layer and the gates through the input layer's fused
            # columns; the gates read them through views of their own (the cut).
            pre, logits, gate_input = self.input.first_layer(x_cat, x_num, *self.experts.first_weight(),
                                                             self.gates.weight.T, self.gates.bias)
            experts = self.experts(None, first=pre).transpose(0, 1)  # [B, E, D]
        else:
            x = projected_input(self.input, self.proj, x_cat, x_num, self._pref(pref, len(x_cat)))
            experts = self.experts(x).transpose(0, 1)  # [B, E, D]
            gate_input = [x.view_as(x)]  # the gates' own view of x (see the module docstring)
            logits = self.gates(gate_input[0])
        # [T, E, B]: the softmax over the experts is ~4x faster on this layout than on
        # [B, T, E], whose last dimension (4 experts) is too short to vectorize.
        w = torch.softmax(logits.view(len(x_cat), len(self.tasks), -1).permute(1, 2, 0), dim=1)
        mixed = mix(w, experts)  # [T, B, D]: each task's mix of the experts
        outs = [self._squeeze(o, t) for o, t in zip(self.towers(mixed), self.tasks)]
        return ModelOutput(outs, [*gate_input, experts])
