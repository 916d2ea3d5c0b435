"""IMTL-L: the loss-balance half of Impartial Multi-Task Learning (Liu, Li, Kuang,
Xue, Chen, Yang, Liao & Zhang, "Towards Impartial Multi-task Learning", ICLR 2021).

Each task gets a learned scale ``s_i``; the loss is ``sum_i (e^(s_i) L_i - s_i)``.
Minimizing over ``s_i`` gives ``e^(s_i) L_i = 1``: every scaled loss is driven to the
same value, so no task dominates by the size of its loss, without any assumption on
the loss's distribution (almost the same optimum as uncertainty weighting; the
gradient half, IMTL-G, is ``imtl_g``). The scales are learned by the model's
optimizer. The scales live in TorchJD's ``IMTLL`` scalarizer; its terms are summed
here with the preference (below), which its own plain sum has no room for.

Preference: a multiplier on each task's term, ``sum_i T p_i (e^(s_i) L_i - s_i)``
(equal preferences give the paper's IMTL-L); the balance point of the scales is
unchanged, so the preference scales each task's share of the gradient. A task with
preference 0 is not trained.
"""

from __future__ import annotations

import torch

from . import register
from .base import Weighting


@register
class IMTLL(Weighting):
    name = "imtl_l"
    title = "IMTL-L"
    description = "Learns a scale per task that brings every scaled loss to the same value (Liu et al., 2021; TorchJD)."
    requires = ("torchjd",)
    extra = "torchjd"

    def __init__(self, tasks, preference):
        super().__init__(tasks, preference)
        from torchjd.scalarization import IMTLL as _IMTLL

        self.scalarizer = _IMTLL(len(tasks))

    def loss(self, losses: torch.Tensor) -> torch.Tensor:
        p = self.preference * self.n_tasks
        with torch.no_grad():
            w = p * torch.exp(self.scalarizer.log_scale)
            self._last_weights = (w / w.sum()).float()
        # Scaling the losses instead would cancel out: the scales would learn it away.
        terms = torch.exp(self.scalarizer.log_scale) * losses - self.scalarizer.log_scale
        return (p * terms).sum()
