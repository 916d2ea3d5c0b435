"""ExcessMTL: robust multi-task learning with excess risks (He, Zhou, Ling, Li &
Zhao, "Robust Multi-Task Learning with Excess Risks", ICML 2024).

Weights by how far each task is from its *own* best possible loss (its excess risk)
rather than by its loss, so a task with noisy labels, whose loss cannot go much
lower, stops attracting weight it cannot use. The excess risk is estimated from a
diagonal second-order (AdaGrad-style) model of the loss, ``sum_j g_j^2 / sqrt(S_j)``
with ``S`` the running sum of squared gradients; it is divided by the first batch's
value (scale processing, Section 3.2), and the weights take an exponentiated-gradient
step towards the tasks with the largest excess risk (step size 1). Runs on TorchJD's
``ExcessMTLWeighting``.

Here the gradients are those on the shared representation, whose rows are the
examples of a shuffled batch: the squared gradients are summed over the batch's
rows, one statistic per feature unit, so the running sums ``S`` follow the same
quantities across batches (the paper's per-parameter statistics are per unit here).

Preference: where the weights start. ExcessMTL's weights are multiplied by the
preference and renormalized, which is the same as starting its exponentiated-gradient
steps from the preference instead of equal weights; the steps then move the weights
towards the tasks furthest from their best loss, whichever the user preferred (a
robust method: it does not hold a trade-off the user asks for). A task with
preference 0 is not trained.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from . import register
from .base import JacobianWeighting


@register
class ExcessMTL(JacobianWeighting):
    name = "excess_mtl"
    title = "ExcessMTL"
    description = ("Weights tasks by how far each is from its own best loss, ignoring label noise "
                   "(He et al., 2024; TorchJD).")
    requires = ("torchjd",)
    extra = "torchjd"

    def __init__(self, tasks, preference):
        super().__init__(tasks, preference)
        from torchjd.aggregation import ExcessMTLWeighting

        self.solver = ExcessMTLWeighting(robust_step_size=1.0)
        self._full: torch.Tensor | None = None

    def observe_jacobian(self, jacobian: torch.Tensor, features: Sequence[torch.Tensor]) -> None:
        units = []
        for part, f in zip(jacobian.detach().split([f.numel() for f in features], dim=1), features):
            per_row = part.reshape(len(jacobian), f.shape[0], -1)
            units.append(per_row.double().pow(2).sum(dim=1).sqrt())  # root-sum-square over the batch rows
        # Every task's row, including those without a gradient this batch (zeros: no excess-risk
        # step for them), so that TorchJD's state keeps its shape.
        self._full = self.solver(torch.cat(units, dim=1).cpu())
        self._active = jacobian.detach().double().pow(2).sum(dim=1).cpu()

    def task_weights(self, gramian: torch.Tensor, preference: torch.Tensor) -> torch.Tensor:
        diag = self._active
        active = diag > 1e-12 * float(diag.max())
        w = self._full.double()[active] * preference
        return w / w.sum()
