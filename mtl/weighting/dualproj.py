"""DualProj: the preference-weighted average of the task gradients, projected onto
their dual cone (the projection of Lopez-Paz & Ranzato, "Gradient Episodic Memory
for Continual Learning", NeurIPS 2017, Equation 11; as an aggregator in Quinton &
Rey, "Jacobian Descent for Multi-Objective Optimization", 2024).

The dual cone is the set of directions that conflict with no task gradient
(non-negative inner product with each). DualProj returns the closest such direction
to the average gradient: when nothing conflicts it *is* the average; otherwise it
changes the average as little as possible to remove every conflict. UPGrad projects
each task's gradient and then averages; DualProj averages first and projects once.

Guarantees: the update is **non-conflicting** (``g_t . d >= 0`` for every task) and
it is the preference-weighted sum whenever that is non-conflicting already.

Preference: the weights of the average before the projection (TorchJD's
``pref_vector``). A task with preference 0 still constrains the update, which will
not conflict with its gradient, but its tower is not trained. Runs on TorchJD's
``DualProjWeighting`` with the quadprog dual-cone projector.
"""

from __future__ import annotations

import torch

from . import register
from .base import JacobianWeighting


@register
class DualProj(JacobianWeighting):
    name = "dualproj"
    title = "DualProj"
    description = ("Projects the weighted average gradient to the nearest direction that conflicts with no task "
                   "(Lopez-Paz & Ranzato, 2017; TorchJD).")
    requires = ("torchjd", "numpy", "qpsolvers", "quadprog")
    extra = "torchjd"

    def __init__(self, tasks, preference):
        super().__init__(tasks, preference)
        from torchjd.aggregation import DualProjWeighting

        self.solver = DualProjWeighting()

    def task_weights(self, gramian: torch.Tensor, preference: torch.Tensor) -> torch.Tensor:
        self.solver.pref_vector = preference
        return self.solver(gramian)
