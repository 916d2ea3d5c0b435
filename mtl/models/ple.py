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
from .layers import ExpertBank, GroupedLinear, InputLayer, Towers, mix, projected_input, split_columns


class CGCLevel(nn.Module):
    """One extraction level: all experts and all task gates as batched products.

    Experts are ordered task 0's, task 1's, ..., then the shared ones. The first
    level's inputs are one tensor ``[B, d]`` read by everything; deeper levels get one
    input per task ``[T, B, d]`` plus the shared input.
    """

    def __init__(self, d_in: int, n_tasks: int, hidden, dropout: float, n_shared: int, n_task: int, last: bool):
        super().__init__()
        self.n_tasks, self.n_shared, self.n_task = n_tasks, n_shared, n_task
        self.experts = ExpertBank(n_tasks * n_task + n_shared, d_in, hidden, dropout)
        self.task_gates = GroupedLinear(n_tasks, d_in, n_task + n_shared)
        self.shared_gate = None if last else nn.Linear(d_in, n_tasks * n_task + n_shared)
        # Row k: the experts task k's gate mixes (its own, then the shared ones).
        shared = list(range(n_tasks * n_task, n_tasks * n_task + n_shared))
        self.pools = [list(range(k * n_task, (k + 1) * n_task)) + shared for k in range(n_tasks)]

    @property
    def out_dim(self) -> int:
        return self.experts.out_dim

    def first_weight(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Everything that reads a first level's input (the experts' first layer, the
        task gates, the shared gate) as one ``[d, h]`` matrix and ``[h]`` bias, for
        :meth:`~.layers.InputLayer.first_layer` (its result goes to ``forward``'s ``first``)."""
        w, b = self.experts.first_weight()
        tg = self.task_gates
        ws = [w, tg.weight.permute(1, 0, 2).reshape(tg.in_dim, -1)]
        bs = [b, tg.bias.reshape(-1)]
        if self.shared_gate is not None:
            ws.append(self.shared_gate.weight.T)
            bs.append(self.shared_gate.bias)
        return torch.cat(ws, 1), torch.cat(bs)

    def forward(self, task_in: torch.Tensor | None, shared_in: torch.Tensor | None,
                first: torch.Tensor | None = None):
        """``task_in``: ``[B, d]`` (first level) or ``[T, B, d]``. Returns each task's
        mix ``[T, B, D]`` and the shared mix ``[B, D]`` (None at the last level).
        ``first``: a first level's :meth:`first_weight` applied to its input, computed
        by the input layer (the inputs are then not read)."""
        if first is not None:
            n_exp = self.experts.n * self.experts.hidden[0]
            n_gate = self.n_tasks * (self.n_task + self.n_shared)
            expert_pre, gate_logits, shared_logits = split_columns(first, [n_exp, n_gate, first.shape[1] - n_exp - n_gate])
            experts = self.experts(None, expert_pre).transpose(0, 1)  # [B, E, D]
            gate_logits = gate_logits.view(len(first), self.n_tasks, -1)  # [B, T, m]
        else:
            if task_in.dim() == 2:
                expert_in = task_in
            else:
                rows = [task_in[k] for k in range(self.n_tasks) for _ in range(self.n_task)]
                expert_in = torch.stack(rows + [shared_in] * self.n_shared)
            experts = self.experts(expert_in).transpose(0, 1)  # [B, E, D]
            gate_logits = self.task_gates(task_in).transpose(0, 1)
            shared_logits = self.shared_gate(shared_in) if self.shared_gate is not None else None
        # The softmaxes on [T, m, B] / [E, B] (see mmoe.py), then :func:`~.layers.mix`.
        mixed = mix(torch.softmax(gate_logits.permute(1, 2, 0), dim=1), experts, self.pools)  # [T, B, D]
        if self.shared_gate is None:
            return mixed, None
        return mixed, mix(torch.softmax(shared_logits.T, dim=0).unsqueeze(0), experts)[0]


@register
class PLE(MultiTaskModel):
    name = "ple"
    description = "Progressive Layered Extraction: task-owned plus shared experts, gated, over one or more levels."
    reads_input_proj = True

    def __init__(self, cardinalities, num_dim, tasks, config):
        super().__init__(cardinalities, num_dim, tasks, config)
        c = config
        if c.n_levels < 1 or c.n_shared_experts < 1 or c.n_task_experts < 1:
            raise ValueError("PLE needs at least one level, one shared expert and one expert per task")
        self.input = InputLayer.from_config(cardinalities, num_dim, c, self.cond_dim)
        # ModelConfig.input_proj: the first level reads one shared projection.
        self.proj = nn.Linear(self.input.out_dim, c.input_proj) if c.input_proj else None
        d = c.input_proj or self.input.out_dim
        levels = []
        for i in range(c.n_levels):
            levels.append(CGCLevel(d, len(tasks), c.hidden, c.dropout, c.n_shared_experts, c.n_task_experts,
                                   last=i == c.n_levels - 1))
            d = levels[-1].out_dim
        self.levels = nn.ModuleList(levels)
        self.towers = Towers(d, c.tower, c.dropout, [t.output_dim for t in tasks])

    def forward(self, x_cat, x_num, pref=None) -> ModelOutput:
        if self.proj is None and self.input.fused and self.levels[0].experts.layers:
            # The first level's experts and gates through the input layer's fused
            # columns: they read it through the spread matrix and the unfused columns
            # (the cut), and x itself is never built.
            first, _, features = self.input.first_layer(x_cat, x_num, *self.levels[0].first_weight())
            task_in, shared = self.levels[0](None, None, first)
            levels = self.levels[1:]
        else:
            x = projected_input(self.input, self.proj, x_cat, x_num, self._pref(pref, len(x_cat)))
            task_in, shared, features, levels = x, x, [x], self.levels
        for level in levels:
            task_in, shared = level(task_in, shared)
        outs = [self._squeeze(o, t) for o, t in zip(self.towers(task_in), self.tasks)]
        return ModelOutput(outs, features)
