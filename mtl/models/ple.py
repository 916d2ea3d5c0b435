"""PLE (Tang et al., RecSys 2020): Customized Gate Control layers stacked into levels.

Each level has experts owned by one task and experts shared by all. A task's gate
mixes its own and the shared experts; a shared gate (below the last level) mixes all
of them for the next level. Separating owned from shared experts reduces the
"seesaw" where improving one task hurts another.
"""

from __future__ import annotations

import torch
from torch import nn

from . import register
from .base import ModelOutput, MultiTaskModel
from .layers import InputLayer, mlp, mlp_out_dim


class CGCLevel(nn.Module):
    def __init__(self, d_in: int, n_tasks: int, hidden, dropout: float, n_shared: int, n_task: int, last: bool):
        super().__init__()
        self.n_tasks, self.n_shared, self.n_task, self.last = n_tasks, n_shared, n_task, last
        self.task_experts = nn.ModuleList(
            nn.ModuleList(mlp(d_in, hidden, dropout) for _ in range(n_task)) for _ in range(n_tasks)
        )
        self.shared_experts = nn.ModuleList(mlp(d_in, hidden, dropout) for _ in range(n_shared))
        self.task_gates = nn.ModuleList(nn.Linear(d_in, n_task + n_shared) for _ in range(n_tasks))
        self.shared_gate = None if last else nn.Linear(d_in, n_tasks * n_task + n_shared)

    def forward(self, task_inputs: list[torch.Tensor], shared_input: torch.Tensor):
        shared = [e(shared_input) for e in self.shared_experts]
        owned = [[e(x) for e in experts] for experts, x in zip(self.task_experts, task_inputs)]
        outs = []
        for k, (gate, x) in enumerate(zip(self.task_gates, task_inputs)):
            pool = torch.stack(owned[k] + shared, dim=1)
            w = torch.softmax(gate(x), dim=-1).unsqueeze(-1)
            outs.append((w * pool).sum(1))
        if self.shared_gate is None:
            return outs, None
        pool = torch.stack([h for hs in owned for h in hs] + shared, dim=1)
        w = torch.softmax(self.shared_gate(shared_input), dim=-1).unsqueeze(-1)
        return outs, (w * pool).sum(1)


@register
class PLE(MultiTaskModel):
    name = "ple"
    description = "Progressive Layered Extraction: task-owned plus shared experts, gated, over one or more levels."

    def __init__(self, cardinalities, num_dim, tasks, config):
        super().__init__(cardinalities, num_dim, tasks, config)
        c = config
        if c.n_levels < 1 or c.n_shared_experts < 1 or c.n_task_experts < 1:
            raise ValueError("PLE needs at least one level, one shared expert and one expert per task")
        self.input = InputLayer(cardinalities, num_dim, c.emb_dim, self.cond_dim)
        d = self.input.out_dim
        levels = []
        for i in range(c.n_levels):
            levels.append(CGCLevel(d, len(tasks), c.hidden, c.dropout, c.n_shared_experts, c.n_task_experts,
                                   last=i == c.n_levels - 1))
            d = mlp_out_dim(d, c.hidden)
        self.levels = nn.ModuleList(levels)
        self.towers = nn.ModuleList(mlp(d, c.tower, c.dropout, out_dim=t.output_dim) for t in tasks)

    def forward(self, x_cat, x_num, pref=None) -> ModelOutput:
        x = self.input(x_cat, x_num, self._pref(pref, len(x_cat)))
        task_inputs, shared = [x] * len(self.tasks), x
        for level in self.levels:
            task_inputs, shared = level(task_inputs, shared)
        outs = [self._squeeze(tw(h), t) for tw, h, t in zip(self.towers, task_inputs, self.tasks)]
        return ModelOutput(outs, [x])

    def shared_parameters(self):
        return list(self.input.parameters())
