"""ConFIG: conflict-free training (Liu, Chu, Thuerey, "ConFIG: Towards Conflict-free
Training of Physics Informed Neural Networks", ICLR 2025, Equation 2).

The update's *direction* is the one whose cosine with every task's unit gradient is
the same (the pseudo-inverse of the unit gradients applied to a vector of ones), so
it makes an equal angle with each task and conflicts with none; its *length* is the
sum of the task gradients' projections on that direction. Unlike UPGrad/DualProj,
which change the average gradient as little as needed, ConFIG gives every task the
same angle whatever the sizes of their gradients.

Guarantee: ``g_t . d > 0`` for every task whenever the task gradients are linearly
independent (the direction's cosine with each is the same positive number).

Runs TorchJD's ``ConFIG`` aggregator on a square root ``R`` of the Gramian
(``R R^T = G``) instead of the full Jacobian: ConFIG only depends on the gradients'
lengths and angles, so its result on ``R`` is the same combination of task
gradients, found by least squares, at the cost of a T x T matrix.

Preference: TorchJD's ``pref_vector``: the update's cosine with task ``t``'s
gradient is proportional to ``p_t``, so a preferred task gets a direction closer to
its own gradient. Equal preferences give ConFIG.
"""

from __future__ import annotations

import torch

from . import register
from .base import JacobianWeighting


@register
class ConFIG(JacobianWeighting):
    name = "config"
    title = "ConFIG"
    description = ("Steps in the direction at an equal angle to every task's gradient "
                   "(Liu et al., 2025; TorchJD).")
    requires = ("torchjd",)
    extra = "torchjd"

    def __init__(self, tasks, preference):
        super().__init__(tasks, preference)
        from torchjd.aggregation import ConFIG as _ConFIG

        self.solver = _ConFIG()

    def task_weights(self, gramian: torch.Tensor, preference: torch.Tensor) -> torch.Tensor:
        values, vectors = torch.linalg.eigh(gramian)
        root = vectors * values.clamp_min(0).sqrt()  # root @ root.T == gramian
        self.solver.pref_vector = preference
        direction = self.solver(root)
        # The weights w with root.T @ w == direction: the same combination of the true gradients.
        return torch.linalg.lstsq(root.T, direction.unsqueeze(1)).solution.squeeze(1)
