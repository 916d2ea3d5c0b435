"""CR-MOGM: correlation-reduced stochastic multi-objective gradient manipulation (Zhou,
Zhang, Jiang, Zhong, Gu & Zhu, "On the Convergence of Stochastic Multi-Objective
Gradient Manipulation and Beyond", NeurIPS 2022).

Methods that recompute their task weights from every mini-batch (MGDA, PCGrad,
CAGrad) have weights that are correlated with the same batch's gradients, which
biases the update: the paper shows they need not converge to a Pareto-stationary
point with stochastic gradients. CR-MOGM smooths the weights over batches with an
exponential moving average, ``lambda_k = alpha lambda_(k-1) + (1 - alpha) lambda^_k``,
``alpha = 0.9``, which decorrelates them from the current batch and restores the
convergence guarantee. Here it wraps MGDA (the minimum-norm weights on the shared
representation, see ``mgda``), through TorchJD's ``CRMOGMWeighting`` around its
``MGDAWeighting``. The average restarts when the set of tasks with a gradient changes
(a batch without labels for a task), from the preference-weighted average gradient
(TorchJD's ``initial_weights``).

Preference: as for ``mgda``: MGDA runs on the gradients divided by ``k p_t`` (k tasks),
so that every task's loss falls at a rate at least proportional to its preference;
the smoothed weights keep that on average. A task with preference 0 is left out and
its tower is not trained.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from . import register
from .base import JacobianWeighting

ALPHA = 0.9


@register
class CRMOGM(JacobianWeighting):
    name = "cr_mogm"
    title = "CR-MOGM"
    description = ("MGDA with its weights averaged over batches, which removes the bias of per-batch weights "
                   "(Zhou et al., 2022; TorchJD).")
    requires = ("torchjd",)
    extra = "torchjd"

    def __init__(self, tasks, preference):
        super().__init__(tasks, preference)
        self.solver = None
        self._state_for: tuple | None = None

    def observe_jacobian(self, jacobian: torch.Tensor, features: Sequence[torch.Tensor]) -> None:
        norms = jacobian.detach().double().pow(2).sum(dim=1).cpu()
        self._active = tuple((norms > 1e-12 * float(norms.max())).tolist())

    def task_weights(self, gramian: torch.Tensor, preference: torch.Tensor) -> torch.Tensor:
        on = preference > 0
        key = self._active + tuple(on.tolist())
        scale = preference[on] * len(preference)
        if key != self._state_for:  # another set of tasks: an average over the old one means nothing
            from torchjd.aggregation import CRMOGMWeighting, MGDAWeighting

            first = preference[on] ** 2  # divided by the scale: the preference-weighted average
            self.solver = CRMOGMWeighting(MGDAWeighting(), alpha=ALPHA, initial_weights=first / first.sum())
            self._state_for = key
        weights = torch.zeros_like(preference)
        weights[on] = self.solver(gramian[on][:, on] / torch.outer(scale, scale)) / scale
        return weights
