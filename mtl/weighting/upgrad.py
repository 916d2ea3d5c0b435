"""UPGrad: Unconflicting Projection of Gradients (Quinton & Rey, 2024).

"Jacobian Descent for Multi-Objective Optimization", arXiv:2406.16232. Each task's
gradient is projected onto the *dual cone* of all task gradients, the set of
directions that conflict with none of them, and the projections are combined.

Guarantees (Section 3 of the paper): the update is **non-conflicting**, its inner
product with every task's gradient is non-negative, so to first order no task's loss
increases; it is *linear under scaling* (scaling a task's loss scales that task's
contribution accordingly) and *weighted* (a combination of the task gradients).
When the gradients do not conflict, it is the preference-weighted sum itself.

Preference: the weights that combine the projected gradients (TorchJD's
``pref_vector``), so the update is ``sum_t p_t proj(g_t)``. A task with preference 0
contributes no projected gradient of its own but still constrains the update, which
will not conflict with its gradient; like with static weights its tower is not
trained. Equal preferences give the paper's UPGrad.

Runs on TorchJD's ``UPGradWeighting`` with the quadprog dual-cone projector.
"""

from __future__ import annotations

import torch

from . import register
from .base import JacobianWeighting


@register
class UPGrad(JacobianWeighting):
    name = "upgrad"
    title = "UPGrad"
    description = ("Projects each task's gradient so that the update conflicts with no task "
                   "(Quinton & Rey, 2024; TorchJD).")
    requires = ("torchjd", "numpy", "qpsolvers", "quadprog")
    extra = "torchjd"

    def __init__(self, tasks, preference):
        super().__init__(tasks, preference)
        from torchjd.aggregation import UPGradWeighting

        self.solver = UPGradWeighting()

    def task_weights(self, gramian: torch.Tensor, preference: torch.Tensor) -> torch.Tensor:
        self.solver.pref_vector = preference
        return self.solver(gramian)
