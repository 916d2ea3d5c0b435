"""FairGrad: fair resource allocation among tasks (Ban & Ji, "Fair Resource
Allocation in Multi-Task Learning", ICML 2024).

Each task's improvement along the update ``d = sum_j w_j g_j`` is its *utility*
``g_i . d``; FairGrad picks the update that maximizes the alpha-fair welfare of the
utilities, whose optimality condition is ``G w = w^(-1/alpha)`` (``G`` the Gramian of
the task gradients), solved by non-negative least squares (TorchJD's
``FairGradWeighting``, SciPy). ``alpha`` spans the classic fairness notions: 0 is
the plain sum (utilitarian), 1 proportional fairness, 2 minimum potential delay,
and large values approach max-min fairness (MGDA-like). Here ``alpha = 1``.

Guarantees (Theorem 5.1 of the paper): with L-smooth losses FairGrad converges to a
Pareto-stationary point. Every task's utility is positive at the solution
(``w^(-1/alpha) > 0``): the update conflicts with no task.

Preference: each task's gradient is scaled by ``k p_t`` (k tasks) before the
fairness problem, so a preferred task's utility counts more; tasks with preference
0 are left out. Equal preferences give FairGrad.
"""

from __future__ import annotations

import torch

from . import register
from .base import JacobianWeighting, weights_on_scaled_gradients

ALPHA = 1.0


@register
class FairGrad(JacobianWeighting):
    name = "fairgrad"
    title = "FairGrad"
    description = ("Shares the improvement between tasks by alpha-fairness, here proportional fairness "
                   "(Ban & Ji, 2024; TorchJD + SciPy).")
    requires = ("torchjd", "numpy", "scipy")
    extra = "torchjd"

    def __init__(self, tasks, preference):
        super().__init__(tasks, preference)
        from torchjd.aggregation import FairGradWeighting

        self.solver = FairGradWeighting(alpha=ALPHA)

    def task_weights(self, gramian: torch.Tensor, preference: torch.Tensor) -> torch.Tensor:
        return weights_on_scaled_gradients(self.solver, gramian, preference)
