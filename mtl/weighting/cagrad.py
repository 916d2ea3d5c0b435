"""CAGrad: Conflict-Averse Gradient descent (Liu et al., "Conflict-Averse Gradient
Descent for Multi-task Learning", NeurIPS 2021).

Within a ball around the average gradient ``g0``, ``|d - g0| <= c |g0|``, the update
``d`` maximizes the improvement of the worst-off task, ``min_t g_t . d``. ``c = 0``
is plain gradient descent on the summed loss; larger ``c`` trades average progress
for less conflict. Here ``c = 0.4``, the value of the paper's experiments. The dual
problem is solved with cvxpy's Clarabel solver (TorchJD's ``CAGradWeighting``).

Guarantees (Theorem 3.2 of the paper): for ``0 <= c < 1`` CAGrad converges to a
stationary point of the average loss, while each step improves the worst task as
much as the ball allows.

Preference: each task's gradient is scaled by ``k p_t`` (k tasks), so ``g0`` is the
preference-weighted average ``sum_t p_t g_t`` and the worst case is taken over the
preference-scaled improvements. Tasks with preference 0 are left out (their
towers are not trained, as with static weights). Equal preferences give CAGrad.

Needs cvxpy: ``pip install 'mtl-tradeoff-explorer[cvxpy]'``. The convex program is
built and solved every batch, which makes this the slowest method per step (see
``benchmarks/weighting_overhead.py``).
"""

from __future__ import annotations

import torch

from . import register
from .base import JacobianWeighting, weights_on_scaled_gradients

#: Radius of the ball around the average gradient, relative to its norm.
C = 0.4


@register
class CAGrad(JacobianWeighting):
    name = "cagrad"
    title = "CAGrad"
    description = ("Improves the worst-off task within a ball around the average gradient "
                   "(Liu et al., 2021; TorchJD + cvxpy).")
    requires = ("torchjd", "numpy", "cvxpy", "clarabel")
    extra = "cvxpy"

    def __init__(self, tasks, preference):
        super().__init__(tasks, preference)
        from torchjd.aggregation import CAGradWeighting

        self.solver = CAGradWeighting(c=C)

    def task_weights(self, gramian: torch.Tensor, preference: torch.Tensor) -> torch.Tensor:
        return weights_on_scaled_gradients(self.solver, gramian, preference)
