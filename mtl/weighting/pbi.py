"""PBI: penalty-based boundary intersection (Zhang & Li, "MOEA/D: A Multiobjective
Evolutionary Algorithm Based on Decomposition", IEEE Transactions on Evolutionary
Computation, 2007).

PBI aims at one point of the Pareto front: where the loss vector meets a *ray* from
the ideal point. It minimizes ``d1 + theta d2``, with ``d1`` the distance travelled
along the ray's direction ``w`` and ``d2`` the distance from the ray; ``theta = 5`` (the
paper's setting) makes staying on the ray matter more than going down it, so the
ratio between the tasks' losses is held while both fall. Unlike a weighted sum, it
reaches trade-offs on non-convex parts of the front. Runs on TorchJD's ``PBI``
scalarizer, with the ideal point at 0 (losses are non-negative).

As for ``stch``, each loss is first divided by its mean over a warm-up epoch (trained
with the preference-weighted sum), so the ray compares losses relative to where they
started rather than in their own units.

Preference: the ray. The direction is ``w_i ∝ 1 / p_i``: the normalized losses are held
in the ratio ``1/p`` (a task with twice the preference is driven to half the relative
loss), the trade-off that Tchebycheff weights ``p`` aim at. A task whose loss falls
below the ray gets a negative weight for a while (PBI brings the losses back onto
the ray; the diagnostics show it). A task with preference 0 is left out and not
trained.
"""

from __future__ import annotations

import torch

from . import register
from .base import Weighting

THETA = 5.0


@register
class PBI(Weighting):
    name = "pbi"
    title = "PBI"
    description = ("Keeps the tasks' relative losses on a ray set by the preference while all of them fall "
                   "(Zhang & Li, 2007; TorchJD).")
    requires = ("torchjd",)
    extra = "torchjd"

    def __init__(self, tasks, preference, theta: float = THETA):
        super().__init__(tasks, preference)
        from torchjd.scalarization import PBI as _PBI

        on = self.preference > 0
        direction = torch.zeros_like(self.preference)
        direction[on] = 1.0 / self.preference[on]
        self.register_buffer("on", on)
        self.scalarizer = _PBI(theta=theta, weights=direction[on] / direction[on].sum())
        self.register_buffer("scale", torch.zeros(len(tasks)))

    def loss(self, losses: torch.Tensor) -> torch.Tensor:
        if not bool((self.scale > 0).all()):  # warm-up epoch: the preference-weighted sum
            self._last_weights = self.preference.detach().clone()
            return (self.preference * losses).sum()
        normalized = (losses / self.scale)[self.on]
        self.scalarizer.weights = self.scalarizer.weights.to(normalized)
        with torch.enable_grad():  # the weights PBI puts on each loss here: d PBI / d L_i
            probe = normalized.detach().requires_grad_(True)
            grad, = torch.autograd.grad(self.scalarizer(probe), probe)
        w = torch.zeros_like(self.preference)
        w[self.on] = grad.float() / self.scale[self.on]
        self._last_weights = (w / w.abs().sum()).detach()
        return self.scalarizer(normalized)

    def epoch_end(self, epoch_losses: torch.Tensor) -> None:
        if not bool((self.scale > 0).all()):
            self.scale = epoch_losses.detach().float().clamp_min(1e-8).to(self.scale)
