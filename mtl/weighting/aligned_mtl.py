"""Aligned-MTL (Senushkin et al., "Independent Component Alignment for Multi-Task
Learning", CVPR 2023).

The task gradients are replaced by orthogonal components of equal length that span
the same space: the Jacobian's singular values are equalized (to the smallest one),
so its condition number becomes 1 and no task's gradient can dominate or cancel
another's. The update combines these aligned components (TorchJD's
``AlignedMTLWeighting``, scale mode ``"min"``).

Guarantees (Section 4 of the paper): the aligned update is stable (condition number
1) and, with pre-defined task weights, the method converges to a Pareto-stationary
point that depends on those weights.

Preference: the paper's pre-defined task weights (TorchJD's ``pref_vector``): the
update is ``sum_t p_t`` times task t's aligned component. A task with preference 0
contributes no component of its own but still shapes the alignment of the others;
as with static weights its tower is not trained. Equal preferences give the paper's
Aligned-MTL.
"""

from __future__ import annotations

import torch

from . import register
from .base import JacobianWeighting


@register
class AlignedMTL(JacobianWeighting):
    name = "aligned_mtl"
    title = "Aligned-MTL"
    description = ("Equalizes the task gradients' singular values so none dominates, then combines them "
                   "(Senushkin et al., 2023; TorchJD).")
    requires = ("torchjd",)
    extra = "torchjd"

    def __init__(self, tasks, preference):
        super().__init__(tasks, preference)
        from torchjd.aggregation import AlignedMTLWeighting

        self.solver = AlignedMTLWeighting(scale_mode="min")

    def task_weights(self, gramian: torch.Tensor, preference: torch.Tensor) -> torch.Tensor:
        self.solver.pref_vector = preference
        return self.solver(gramian)
