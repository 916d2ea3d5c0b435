"""PCGrad: projecting conflicting gradients (Yu et al., "Gradient Surgery for
Multi-Task Learning", NeurIPS 2020).

For each task ``i``, in a random order over the other tasks ``j``: when ``g_i``
conflicts with ``g_j`` (negative inner product), ``g_i`` is projected onto the normal
plane of ``g_j``, which removes the conflicting component. The update is the sum of
the projected gradients (TorchJD's ``PCGradWeighting``; the random order draws from
torch's global generator, which the trainer seeds, so runs stay reproducible).

Guarantees: with two tasks, each projected gradient conflicts with neither task, and
for convex, L-smooth losses PCGrad with step size at most 1/L converges to the
optimum of the summed loss or to a point where the two gradients point in exactly
opposite directions (Theorem 1 of the paper). With more tasks a later projection can
reintroduce a conflict removed earlier: there is no non-conflict guarantee.

Preference: each task's gradient is scaled by ``k p_t`` (k tasks) before surgery.
A projection does not depend on the length of the gradient projected onto, so the
update is ``sum_t k p_t PC(g_t)``: the preference-weighted sum of the corrected
gradients. Equal preferences give the paper's PCGrad.
"""

from __future__ import annotations

import torch

from . import register
from .base import JacobianWeighting


@register
class PCGrad(JacobianWeighting):
    name = "pcgrad"
    title = "PCGrad"
    description = "Removes the part of each task's gradient that conflicts with another's (Yu et al., 2020; TorchJD)."
    requires = ("torchjd",)
    extra = "torchjd"

    def __init__(self, tasks, preference):
        super().__init__(tasks, preference)
        from torchjd.aggregation import PCGradWeighting

        self.solver = PCGradWeighting()

    def task_weights(self, gramian: torch.Tensor, preference: torch.Tensor) -> torch.Tensor:
        scale = preference * len(preference)
        return self.solver(gramian * torch.outer(scale, scale)) * scale
