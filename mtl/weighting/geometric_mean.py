"""Geometric mean of the losses, the Geometric Loss Strategy (Chennupati, Sistu,
Yogamani & Rawashdeh, "MultiNet++: Multi-Stream Feature Aggregation and Geometric
Loss Strategy for Multi-Task Learning", CVPR Workshops 2019).

The training loss is ``prod_i L_i^(1/T)``. Its gradient is
``GM * sum_i (1/T) grad L_i / L_i``: each task's gradient is divided by its own loss,
so the scale of a loss (a squared error in the thousands against a log loss below 1)
no longer decides how much it counts, and a task whose loss is already small is not
drowned out. No weight is learned and nothing is tuned.

Preference: the exponents: ``prod_i L_i^(p_i)`` with the shares ``p`` (equal shares
give the paper's geometric mean), computed with TorchJD's ``GeometricMean`` on
``L_i^(T p_i)``. A task with preference 0 is not trained.
"""

from __future__ import annotations

import torch

from . import register
from .base import Weighting

#: Losses are clamped here before the logarithm: a task without labels in a batch has loss 0.
FLOOR = 1e-8


@register
class GeometricMean(Weighting):
    name = "geometric_mean"
    title = "Geometric mean"
    description = ("Minimizes the geometric mean of the losses, so each task counts relative to its own loss "
                   "(Chennupati et al., 2019; TorchJD).")
    requires = ("torchjd",)
    extra = "torchjd"

    def __init__(self, tasks, preference):
        super().__init__(tasks, preference)
        from torchjd.scalarization import GeometricMean as _GeometricMean

        self.scalarizer = _GeometricMean()

    def loss(self, losses: torch.Tensor) -> torch.Tensor:
        safe = losses.clamp_min(FLOOR)
        with torch.no_grad():  # effective weight on grad L_i: p_i / L_i, reported as shares
            w = self.preference / safe
            self._last_weights = (w / w.sum()).float()
        return self.scalarizer(safe ** (self.n_tasks * self.preference))
