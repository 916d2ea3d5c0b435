"""MoDo: Multi-objective gradient with Double sampling (Chen, Fernando, Ying & Chen,
"Three-Way Trade-Off in Multi-Objective Learning: Optimization, Generalization and
Conflict-Avoidance", JMLR 2024).

MGDA solves for its weights from scratch every batch, on the Gramian of one
mini-batch, which is a biased estimate (each sample's noise multiplies itself).
MoDo instead keeps simplex weights ``lambda`` from batch to batch and takes one
projected gradient step on MGDA's objective per batch,
``lambda <- Proj(lambda - gamma (A lambda + rho lambda))``, with ``A = J1 J2^T`` the
product of the task Jacobians of two *independent* mini-batches: an unbiased
estimate. ``gamma = 0.1`` and ``rho = 0.1`` (TorchJD's defaults). The update is
``J^T lambda`` on the whole batch (the paper's Equation 2.9b uses the mean of both
mini-batches' losses, which is the whole batch here). Runs on TorchJD's
``MoDoWeighting``.

Here the two mini-batches are the two halves of the shuffled batch, on a shift of each
unit of the shared representation (:func:`~mtl.weighting.jacobian.half_batch_product`,
scaled to unit trace so that ``gamma`` does not depend on the size of the gradients).

Preference: as for ``mgda``, MoDo runs on the gradients divided by ``k p_t`` (k
tasks), so at the minimum-norm point it approaches, every task's loss falls at a rate
at least proportional to its preference (``g_t . d >= k p_t |d|^2``). Its weights start
at ``lambda ∝ p^2`` instead of equal weights: the first update is the
preference-weighted average gradient, not one that favours the *less* preferred task
until the weights have moved. Equal preferences give MoDo; a task with preference 0
is left out and its tower is not trained.
"""

from __future__ import annotations

import torch

from . import register
from .base import HalfBatchWeighting


@register
class MoDo(HalfBatchWeighting):
    name = "modo"
    title = "MoDo"
    description = ("MGDA's weights moved one small step per batch, from two independent half-batches "
                   "(Chen et al., 2024; TorchJD).")
    requires = ("torchjd",)
    extra = "torchjd"

    def __init__(self, tasks, preference):
        super().__init__(tasks, preference)
        from torchjd.aggregation import MoDoWeighting

        self.solver = MoDoWeighting(gamma=0.1, rho=0.1)

    def start(self, preference: torch.Tensor) -> None:
        on = preference[preference > 0]
        # TorchJD's MoDo has no argument for its starting weights; its state is this buffer
        # and the (size, dtype, device) it was made for (tests/test_weighting_torchjd.py checks it).
        first = (on ** 2 / (on ** 2).sum()).double()
        self.solver._lambda = first
        self.solver._state_key = (len(first), first.dtype, first.device)

    def weights_from(self, cross: torch.Tensor, preference: torch.Tensor) -> torch.Tensor:
        on = preference > 0
        scale = preference[on] * len(preference)
        weights = torch.zeros_like(preference)
        divided = cross[on][:, on] / torch.outer(scale, scale)
        size = float(divided.diagonal().abs().sum())  # back to the unit-trace scale gamma is set for
        weights[on] = self.solver(divided / size if size > 0 else divided) / scale
        return weights
