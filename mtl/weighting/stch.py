"""STCH: smooth Tchebycheff scalarization (Lin, Zhang, Chen, Zhang & Zhang,
"Smooth Tchebycheff Scalarization for Multi-Objective Optimization", ICML 2024).

The classic Tchebycheff scalarization minimizes the *worst* weighted loss,
``max_i p_i (L_i - z_i)``, which (unlike a weighted sum) can reach every Pareto-optimal
trade-off, including those on non-convex parts of the front, but is not smooth. STCH
replaces the max by ``mu log sum_i exp(p_i (L_i - z_i) / mu)``: a smooth upper bound
within ``mu log T`` of the max, the plain weighted sum as ``mu`` grows, the max as
``mu -> 0``. Here ``mu = 0.1`` (the paper evaluates 0.01-1 and reports small values
work well).

Losses of different tasks have different scales (a squared error against a log
loss), so, as in the paper's multi-task experiments, each loss is first divided by
its mean over a warm-up epoch (trained with the preference-weighted sum), and the
ideal point ``z`` is 0. Runs on TorchJD's ``STCH`` scalarizer.

Preference: the Tchebycheff weights ``p`` (shares summing to 1). A larger weight
makes that task's normalized loss count more in the worst case; it steers *which*
Pareto-optimal trade-off is reached, the way weights do for static weighting. A task
with preference 0 is not trained.
"""

from __future__ import annotations

import torch

from . import register
from .base import Weighting

MU = 0.1


@register
class STCH(Weighting):
    name = "stch"
    title = "STCH"
    description = ("Smooth Tchebycheff: minimizes a smoothed worst weighted loss, reaching trade-offs "
                   "a weighted sum cannot (Lin et al., 2024; TorchJD).")
    requires = ("torchjd",)
    extra = "torchjd"

    def __init__(self, tasks, preference, mu: float = MU):
        super().__init__(tasks, preference)
        from torchjd.scalarization import STCH as _STCH

        self.scalarizer = _STCH(mu=mu)
        self.register_buffer("scale", torch.zeros(len(tasks)))

    def loss(self, losses: torch.Tensor) -> torch.Tensor:
        if not bool((self.scale > 0).all()):  # warm-up epoch: the preference-weighted sum
            self._last_weights = self.preference.detach().clone()
            return (self.preference * losses).sum()
        normalized = losses / self.scale
        self.scalarizer.weights = self.preference.to(losses)
        total = self.scalarizer(normalized)
        # The weights applied are the softmax of the scaled terms: d STCH / d L_i.
        with torch.no_grad():
            w = torch.softmax(self.preference * normalized / self.scalarizer.mu, 0) * self.preference / self.scale
            self._last_weights = (w / w.sum()).float()
        return total

    def epoch_end(self, epoch_losses: torch.Tensor) -> None:
        if not bool((self.scale > 0).all()):
            self.scale = epoch_losses.detach().float().clamp_min(1e-8).to(self.scale)
