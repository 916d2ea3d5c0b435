"""Nash-MTL (Navon et al., "Multi-Task Learning as a Bargaining Game", ICML 2022).

The tasks bargain over the update: ``d = sum_t a_t g_t`` with weights solving
``a_t (G a)_t = 1`` for every task (``G`` the Gramian of the task gradients), the
Nash bargaining solution, which maximizes ``sum_t log(g_t . d)`` in a ball. Solved
with the paper's sequence of convex programs (cvxpy with ECOS, TorchJD's
``NashMTL``; the solver is warm-started from the previous batch's weights).

Guarantees (Section 4 of the paper): the solution is Pareto-optimal among the
updates in the ball, every task's loss decreases (``g_t . d > 0``), and it is
*scale-invariant*: multiplying a loss by a constant does not change the direction;
under assumptions the method converges to a Pareto-stationary point.

Limitation (of the official implementation, which TorchJD adapts and flags as
flawed): the linearized convex program can be unbounded when strong conflicts make
the average gradient orthogonal to, or opposed to, a task's gradient; the solver
then keeps the previous batch's weights (equal weights on the first batch).

Preference: **not used**. Scale invariance means that weighting the losses has no
effect on the update, and the bargaining solution has no preference parameter; the
sliders only choose the early-stopping score. Every task's tower is trained with
equal weight. TorchJD's norm clipping is off: the weights are scaled to unit sum
like every gradient method's here, and Adam sets the step length.

Needs cvxpy: ``pip install 'mtl-tradeoff-explorer[cvxpy]'``.
"""

from __future__ import annotations

import warnings

import torch

from . import register
from .base import JacobianWeighting


@register
class NashMTL(JacobianWeighting):
    name = "nash_mtl"
    title = "Nash-MTL"
    description = "Tasks bargain over the update (Nash bargaining); ignores the sliders (Navon et al., 2022; TorchJD + cvxpy)."
    uses_preference = False
    requires = ("torchjd", "numpy", "cvxpy", "ecos")
    extra = "cvxpy"

    def __init__(self, tasks, preference):
        super().__init__(tasks, preference)
        from torchjd.aggregation import NashMTL as _Solver

        self._solver_class = _Solver
        # The solver is stateful (warm-started) and sized for its number of tasks: one per
        # count of tasks with a gradient (all of them, except in batches missing a label).
        self._solvers: dict[int, object] = {}

    def task_weights(self, gramian: torch.Tensor, preference: torch.Tensor) -> torch.Tensor:
        k = len(gramian)
        solver = self._solvers.get(k)
        if solver is None:
            solver = self._solvers[k] = self._solver_class(n_tasks=k, max_norm=0.0)
        # The solver reads the Jacobian only through J J^T: hand it a k x k factor of G.
        eigenvalues, vectors = torch.linalg.eigh(gramian)
        factor = vectors * eigenvalues.clamp_min(0).sqrt()
        with warnings.catch_warnings():
            # cvxpy notes that TorchJD's parameterization is not DPP (so it cannot cache
            # the compiled problem): not something a user can act on.
            warnings.filterwarnings("ignore", message="You are solving a parameterized problem that is not DPP")
            return solver.weighting(factor)
