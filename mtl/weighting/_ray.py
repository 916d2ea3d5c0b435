"""The shared shape of the scalarizers that aim at a ray set by the preference (PBI,
COSMOS): losses normalized by a warm-up epoch, the ray ``∝ 1 / p`` over the trained
tasks, and the weights applied read back as ``d objective / d L_i`` for the
diagnostics."""

from __future__ import annotations

import torch

from .base import Weighting


class RayScalarization(Weighting):
    """``scalarizer_for(ray)`` builds the TorchJD scalarizer for a ray: weights over the
    tasks with a positive preference, summing to 1."""

    def __init__(self, tasks, preference, scalarizer_for):
        super().__init__(tasks, preference)
        on = self.preference > 0
        ray = torch.zeros_like(self.preference)
        ray[on] = 1.0 / self.preference[on]
        self.register_buffer("on", on)
        self.scalarizer = scalarizer_for(ray[on] / ray[on].sum())
        self.register_buffer("scale", torch.zeros(len(tasks)))

    def loss(self, losses: torch.Tensor) -> torch.Tensor:
        if not bool((self.scale > 0).all()):  # warm-up epoch: the preference-weighted sum
            self._last_weights = self.preference.detach().clone()
            return (self.preference * losses).sum()
        normalized = (losses / self.scale)[self.on]
        self.scalarizer.weights = self.scalarizer.weights.to(normalized)
        with torch.enable_grad():  # the weights the objective puts on each loss here: d f / d L_i
            probe = normalized.detach().requires_grad_(True)
            grad, = torch.autograd.grad(self.scalarizer(probe), probe)
        w = torch.zeros_like(self.preference)
        w[self.on] = grad.float() / self.scale[self.on]
        self._last_weights = (w / w.abs().sum()).detach()
        return self.scalarizer(normalized)

    def epoch_end(self, epoch_losses: torch.Tensor) -> None:
        if not bool((self.scale > 0).all()):
            self.scale = epoch_losses.detach().float().clamp_min(1e-8).to(self.scale)
