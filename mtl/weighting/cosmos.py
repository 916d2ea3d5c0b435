"""COSMOS: the scalarization of "Scalable Pareto Front Approximation for Deep
Multi-Objective Learning" (Ruchte & Grabocka, ICDM 2021).

COSMOS minimizes the preference-weighted sum of the losses minus ``lambda`` times the
cosine similarity between the loss vector and the preference vector,
``sum_i r_i L_i - lambda cos(r, L)``: the weighted sum picks a point of the front, the
cosine term pulls the loss vector towards the preference's ray, which spreads the
points that different preferences reach. ``lambda = 4`` (the paper uses 0.01 to 8 by
dataset; a large value lets the ray, not the sum, decide the trade-off, see below). Runs on TorchJD's ``COSMOS`` scalarizer. The paper also feeds the preference
to the network and samples it per batch to learn the whole front in one model; that is
this project's *preference-conditioned model* (Trade-offs page, ``mtl sweep
--conditioned``); this method is the objective for one preference.

As for ``stch``, each loss is first divided by its mean over a warm-up epoch (trained
with the preference-weighted sum), so that the cosine compares losses relative to
where they started rather than in their own units.

Preference: the ray, as for ``pbi``: ``r ∝ 1 / p``, so that the cosine term holds the
normalized losses near the ratio ``1/p`` (a task with twice the preference is driven
to half the relative loss). In COSMOS the same ``r`` also weighs the sum, which then
pulls the other way (a larger ``r_i`` lowers that loss). On the two-task problem of
the tests, ``r = p`` with ``lambda = 1`` left the preferred task with the *higher*
loss (the ray won, turning the sliders round), and ``r ∝ 1/p`` needs ``lambda`` of
about 4 for the ray to win over the sum on both tasks (at 0.01 and 0.1 the sum won,
at 1 neither): hence ``r ∝ 1/p`` and ``lambda = 4``. The weights applied, ``d / d L_i`` of the objective, are reported for the
diagnostics; they can be negative (a loss pushed back up towards the ray). A task with
preference 0 is left out and not trained.
"""

from __future__ import annotations

from . import register
from ._ray import RayScalarization

LAMBDA = 4.0


@register
class COSMOS(RayScalarization):
    name = "cosmos"
    title = "COSMOS"
    description = ("Weighted sum of the losses plus a pull of the loss vector towards the preference's ray "
                   "(Ruchte & Grabocka, 2021; TorchJD).")
    requires = ("torchjd",)
    extra = "torchjd"

    def __init__(self, tasks, preference, lambda_: float = LAMBDA):
        from torchjd.scalarization import COSMOS as _COSMOS

        super().__init__(tasks, preference, lambda ray: _COSMOS(lambda_=lambda_, weights=ray))
