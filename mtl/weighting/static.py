"""Static weights: loss = sum_i w_i * L_i with the user's weights scaled to sum to 1.

The app's sliders set ``w``; only their ratios matter (2:1 is the same as 1:0.5).
A weight of 0 drops a task from training (its head is still fitted to nothing and
its metrics show what an untrained head gives).
"""

from __future__ import annotations

import torch

from . import register
from .base import Weighting


@register
class Static(Weighting):
    name = "static"
    title = "Static"
    description = "Fixed weights from the sliders (normalized to sum to 1): the classic weighted sum of losses."

    def loss(self, losses: torch.Tensor) -> torch.Tensor:
        self._last_weights = self.preference.detach().clone()
        return (self.preference * losses).sum()
