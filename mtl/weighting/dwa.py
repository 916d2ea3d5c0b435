"""Dynamic Weight Average (Liu, Johns & Davison, CVPR 2019).

After each epoch, a task whose loss fell more slowly gets more weight:
``w_i(t) = T * softmax_i(r_i / K)`` with ``r_i = L_i(t-1) / L_i(t-2)`` and
temperature ``K = 2``. The first two epochs use equal weights. Here the result is
multiplied by the user's preference and scaled to sum to 1.
"""

from __future__ import annotations

import torch

from . import register
from .base import Weighting

TEMPERATURE = 2.0


@register
class DWA(Weighting):
    name = "dwa"
    title = "DWA"
    description = "Dynamic Weight Average: boosts tasks whose loss is falling slowest (Liu et al., 2019)."

    def __init__(self, tasks, preference):
        super().__init__(tasks, preference)
        self.register_buffer("weights", preference.clone().float())
        self._history: list[torch.Tensor] = []

    def loss(self, losses: torch.Tensor) -> torch.Tensor:
        self._last_weights = self.weights.detach().clone()
        return (self.weights * losses).sum()

    def epoch_end(self, epoch_losses: torch.Tensor) -> None:
        self._history = (self._history + [epoch_losses.detach().float().clamp_min(1e-12)])[-2:]
        if len(self._history) < 2:
            return
        ratio = self._history[-1] / self._history[-2]
        w = self.preference * torch.softmax(ratio / TEMPERATURE, dim=0)
        self.weights = w / w.sum()
