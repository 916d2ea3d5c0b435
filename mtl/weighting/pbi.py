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

from . import register
from ._ray import RayScalarization

THETA = 5.0


@register
class PBI(RayScalarization):
    name = "pbi"
    title = "PBI"
    description = ("Keeps the tasks' relative losses on a ray set by the preference while all of them fall "
                   "(Zhang & Li, 2007; TorchJD).")
    requires = ("torchjd",)
    extra = "torchjd"

    def __init__(self, tasks, preference, theta: float = THETA):
        from torchjd.scalarization import PBI as _PBI

        super().__init__(tasks, preference, lambda ray: _PBI(theta=theta, weights=ray))
