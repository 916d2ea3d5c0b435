"""MGDA: the Multiple-Gradient Descent Algorithm (Désidéri, 2012), as used for
multi-task learning by Sener & Koltun, "Multi-Task Learning as Multi-Objective
Optimization" (NeurIPS 2018).

The update is the minimum-norm element ``d`` of the convex hull of the task
gradients, found with the Frank-Wolfe solver of Sener & Koltun's Algorithm 2
(TorchJD's ``MGDAWeighting``). Taking the gradients on the shared representation
rather than on the shared parameters is the paper's own *MGDA-UB* variant.

Guarantees: either ``d = 0`` and the model is Pareto-stationary (no direction helps
one task without hurting another, to first order), or ``d`` is a descent direction
for every task: ``g_t . d >= |d|^2 > 0`` for all t, with equality for the tasks that
receive weight. MGDA is sensitive to gradient scale and favours the task with the
smallest gradient.

Preference: MGDA runs on the gradients divided by ``k p_t`` (k tasks), which turns
the guarantee into ``g_t . d >= k p_t |d|^2``: every task's loss falls at a rate at
least proportional to its preference, exactly proportional for the tasks that bind
(the weighted-Chebyshev form of a preference). Tasks with preference 0 are left out
(and, as with static weights, their towers are not trained). Equal preferences give
plain MGDA.
"""

from __future__ import annotations

import torch

from . import register
from .base import JacobianWeighting


@register
class MGDA(JacobianWeighting):
    name = "mgda"
    title = "MGDA"
    description = ("Minimum-norm combination of task gradients: a common descent direction for all tasks "
                   "(Sener & Koltun, 2018; TorchJD).")
    requires = ("torchjd",)
    extra = "torchjd"

    def __init__(self, tasks, preference):
        super().__init__(tasks, preference)
        from torchjd.aggregation import MGDAWeighting

        self.solver = MGDAWeighting()

    def task_weights(self, gramian: torch.Tensor, preference: torch.Tensor) -> torch.Tensor:
        on = preference > 0
        scale = preference[on] * len(preference)
        alpha = self.solver(gramian[on][:, on] / torch.outer(scale, scale))
        weights = torch.zeros_like(preference)
        weights[on] = alpha / scale
        return weights
