"""FAMO: Fast Adaptive Multitask Optimization (Liu, Liu, Jin, Stone & Liu, NeurIPS 2023).

FAMO decreases every task's loss at about the same *relative* rate using only the
loss values, never the per-task gradients. The model minimizes
``c * sum_i z_i log L_i`` with ``z = softmax(w)`` and ``c`` the constant that makes
the update a convex combination of the task gradients (each ``grad log L_i`` is
``grad L_i / L_i``, so small losses are not drowned by large ones). After the
optimizer step, the same batch's losses are recomputed and the logits ``w`` take an
Adam step (lr 0.025, weight decay 1e-3, the paper's Algorithm 2) towards the tasks
whose log-loss fell least, so a lagging task gains weight.

Runs on TorchJD's ``FAMO`` scalarizer. The trainer recomputes the batch's losses
after every step for it (one extra forward pass without a graph: the method's
whole overhead).

Preference: a prior on the task weights. FAMO's weights ``z`` are multiplied by the
preference and renormalized (TorchJD's FAMO starts at equal weights, which equal
preferences leave unchanged); a task with preference 0 is not trained.
"""

from __future__ import annotations

import torch

from . import register
from .base import Weighting

#: Losses are clamped here before the logarithm: a task without labels in a batch has loss 0.
FLOOR = 1e-8


@register
class FAMO(Weighting):
    name = "famo"
    title = "FAMO"
    description = ("Learns weights from the losses alone so every task's loss falls at the same rate "
                   "(Liu et al., 2023; TorchJD).")
    requires = ("torchjd",)
    extra = "torchjd"
    needs_step_losses = True

    def __init__(self, tasks, preference):
        super().__init__(tasks, preference)
        from torchjd.scalarization import FAMO as _FAMO

        # Not a submodule: FAMO steps its own logits, they must stay out of the model's optimizer.
        self.__dict__["scalarizer"] = _FAMO(len(tasks))

    def _z(self) -> torch.Tensor:
        z = torch.softmax(self.scalarizer._w.detach(), dim=0).to(self.preference) * self.preference
        return z / z.sum()

    def loss(self, losses: torch.Tensor) -> torch.Tensor:
        safe = losses.clamp_min(FLOOR)
        z = self._z()
        self._last_weights = z.detach().clone()
        # TorchJD's scalarizer records the losses before the step; its combination uses its own
        # softmax weights, so the preference is applied here with the same normalization.
        self.scalarizer(safe.detach().cpu())
        log_losses = torch.log(safe)
        c = 1.0 / (z / safe.detach()).sum()
        return c * (z * log_losses).sum()

    def step_end(self, losses_after: torch.Tensor) -> None:
        self.scalarizer.update(losses_after.detach().clamp_min(FLOOR).cpu())
