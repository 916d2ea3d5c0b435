"""Uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018).

Each task gets a learned log-variance ``s_i``; the loss is
``sum_i p_i * (c_i * exp(-s_i) * L_i + s_i / 2)`` with ``c_i = 1/2`` for regression
and ``1`` for classification. Noisy (hard) tasks learn a large variance and so a
small weight ``c_i exp(-s_i)``; the ``s_i / 2`` term stops variances growing forever.
``p`` is the user's preference (1/T each by default, scaled by T so equal
preferences reproduce the paper).
"""

from __future__ import annotations

import torch
from torch import nn

from . import register
from .base import Weighting


@register
class Uncertainty(Weighting):
    name = "uncertainty"
    title = "Uncertainty"
    description = "Learns one noise level per task and down-weights noisy tasks (Kendall et al., 2018)."

    def __init__(self, tasks, preference):
        super().__init__(tasks, preference)
        self.log_vars = nn.Parameter(torch.zeros(len(tasks)))
        self.register_buffer(
            "factor", torch.tensor([0.5 if t.kind == "regression" else 1.0 for t in tasks], dtype=torch.float32)
        )

    def loss(self, losses: torch.Tensor) -> torch.Tensor:
        p = self.preference * self.n_tasks
        precision = self.factor * torch.exp(-self.log_vars)
        self._last_weights = (p * precision).detach() / (p * precision).detach().sum()
        return (p * (precision * losses + 0.5 * self.log_vars)).sum()
