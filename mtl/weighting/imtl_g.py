"""IMTL-G: the gradient half of Impartial Multi-Task Learning (Liu et al., "Towards
Impartial Multi-task Learning", ICLR 2021).

The update ``d = sum_t a_t g_t`` has the *same projection onto every task's unit
gradient* ``u_t = g_t / |g_t|``: no task is favoured, whatever the scale of its loss.
From ``J d = c |g|`` the weights are ``a = G^+ |g|`` with ``G = J J^T`` the Gramian
of the task gradients; the pseudo-inverse is TorchJD's generalization to linearly
dependent gradients (Quinton & Rey, 2024).

Guarantees: for linearly independent task gradients, ``u_t . d`` is the same
positive number for every task, so every task's loss decreases and none more than
another in its own gradient's direction; the direction does not change when a loss
is multiplied by a constant. The paper normalizes the weights to sum to 1, which
flips the update into an ascent direction when that sum is negative; here the scale
is fixed so that the common projection stays positive.

Preference: the projections are proportional to the preference, ``u_t . d ∝ p_t``,
so ``a = G^+ (|g| * p)``; a task with preference 0 gets an update orthogonal to its
gradient (neither helped nor harmed, to first order) and, as with static weights,
an untrained tower. Equal preferences give IMTL-G (the test suite checks the
direction against TorchJD's ``IMTLGWeighting``).

A closed form on the [T, T] Gramian: no optional dependency.
"""

from __future__ import annotations

import torch

from . import register
from .base import JacobianWeighting


@register
class IMTLG(JacobianWeighting):
    name = "imtl_g"
    title = "IMTL-G"
    description = ("Update with an equal projection on every task's gradient direction: impartial to loss scales "
                   "(Liu et al., 2021).")

    def task_weights(self, gramian: torch.Tensor, preference: torch.Tensor) -> torch.Tensor:
        norms = gramian.diagonal().clamp_min(0).sqrt()
        return torch.linalg.pinv(gramian, hermitian=True) @ (norms * preference)
