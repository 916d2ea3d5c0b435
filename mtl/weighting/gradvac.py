"""GradVac: Gradient Vaccine (Wang, Tsvetkov, Firat & Cao, "Gradient Vaccine:
Investigating and Improving Multi-task Optimization in Massively Multilingual
Models", ICLR 2021).

PCGrad only acts when two gradients conflict (negative cosine). GradVac keeps, per
pair of tasks, a running average of their cosine similarity (EMA, ``beta = 0.5``)
as a *target*; whenever the pair's current similarity falls below the target, it
adds the multiple of the other gradient that raises the similarity exactly to the
target. Pairs of tasks that usually agree are thereby kept agreeing; with a target
of 0 it reduces to PCGrad. The visiting order is random (torch's global generator,
seeded by the trainer). Runs on TorchJD's ``GradVacWeighting``, which works on the
Gramian alone.

Preference: each task's gradient is scaled by ``k p_t`` (k tasks) before the
correction (cosines do not change), so the update is the preference-weighted sum of
the corrected gradients. Equal preferences give GradVac. The cosine targets restart
when the set of tasks with a gradient changes (a batch without labels for a task).
"""

from __future__ import annotations

import torch

from . import register
from .base import JacobianWeighting


@register
class GradVac(JacobianWeighting):
    name = "gradvac"
    title = "GradVac"
    description = ("Raises each pair of task gradients to the similarity they usually have "
                   "(Wang et al., 2021; TorchJD).")
    requires = ("torchjd",)
    extra = "torchjd"

    def __init__(self, tasks, preference):
        super().__init__(tasks, preference)
        from torchjd.aggregation import GradVacWeighting

        self.solver = GradVacWeighting(beta=0.5)

    def task_weights(self, gramian: torch.Tensor, preference: torch.Tensor) -> torch.Tensor:
        scale = preference * len(preference)
        return self.solver(gramian * torch.outer(scale, scale)) * scale
