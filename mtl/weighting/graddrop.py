"""GradDrop: Gradient Sign Dropout (Chen, Ngiam, Huang, Luong, Kretzschmar, Chai &
Anguelov, "Just Pick a Sign: Optimizing Deep Multitask Models with Gradient Sign
Dropout", NeurIPS 2020).

Where task gradients disagree in sign on a unit of the shared representation, GradDrop
keeps only one sign there, chosen at random in proportion to how much of the gradient
points that way: with the *positive sign purity* ``P = (1 + sum_t g_t / sum_t |g_t|) / 2``
of the unit, the positive gradients pass with probability ``P`` and the negative ones
otherwise (Algorithm 1, lines 10-15, TorchJD's ``GradDrop`` aggregator). Units where
every task agrees pass untouched; a consistent minority sign still gets through in
some batches, which is what lets the update leave a point that is optimal for one
task only.

GradDrop acts on the gradients of the shared *activations*, as the paper does: for a
unit of a batch-major representation, ``g_t`` is task t's gradient summed over the
batch's rows after multiplying each by the sign of the row's activation (Section
3.2: the parameter gradient feeding the unit is the activation's gradient times its
input, so this is the sign that reaches the parameters), and the unit's decision
applies to every row. The random draws use torch's global generator, seeded by the
trainer. ``tests/test_weighting_torchjd.py`` checks that on a one-row batch of
positive activations the update is TorchJD's ``GradDrop`` output.

The update is no weighted sum of the task gradients, so the weights reported for the
diagnostics are the share of each task's (preference-scaled) gradient that passed the
masks, ``<M_t g_t, g_t> / |g_t|^2``, normalized to sum to 1.

Preference: each task's gradient is scaled by ``k p_t`` (k tasks with a gradient)
before the purity and the masks, so a preferred task decides the sign of the units
it disagrees on more often and contributes more where it passes; equal preferences
give GradDrop. A task with preference 0 neither votes nor passes, and its tower is not
trained.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from . import register
from .base import JacobianWeighting

#: Activations this close to 0 count as having no sign (the authors' implementation).
EPS = 1e-7


@register
class GradDrop(JacobianWeighting):
    name = "graddrop"
    title = "GradDrop"
    description = ("Where task gradients disagree in sign on a shared unit, keeps one sign at random, "
                   "in proportion to its share (Chen et al., 2020).")

    def combine(self, jacobian: torch.Tensor, features: Sequence[torch.Tensor]) -> torch.Tensor:
        pref = self.head_weights().to(jacobian)
        norms = jacobian.pow(2).sum(dim=1)
        active = (norms > 1e-12 * float(norms.max())) & (pref > 0) if float(norms.max()) > 0 else norms > 0
        weights = torch.zeros(self.n_tasks, dtype=torch.float64)
        direction = torch.zeros_like(jacobian[0])
        if not bool(active.any()):
            self._last_weights = weights.float()
            return direction
        scale = torch.zeros_like(pref)
        scale[active] = pref[active] / pref[active].sum() * int(active.sum())
        scaled = jacobian * scale[:, None]
        masks = self._masks(scaled, features)
        direction = (masks * scaled).sum(dim=0)
        kept = (masks * scaled * scaled).sum(dim=1) / scaled.pow(2).sum(dim=1).clamp_min(torch.finfo(scaled.dtype).tiny)
        weights[active] = kept[active].double().cpu()
        total = float(weights.sum())
        self._last_weights = (weights / total if total > 0 else weights).float()
        return direction

    @staticmethod
    def _masks(scaled: torch.Tensor, features: Sequence[torch.Tensor]) -> torch.Tensor:
        """Which coordinates of each task's gradient pass ([T, total size], 0/1): one
        random decision per unit of each feature, shared by the batch's rows."""
        parts = []
        for part, f in zip(scaled.split([f.numel() for f in features], dim=1), features):
            rows = f.shape[0] if f.dim() > 1 else 1
            grads = part.reshape(len(scaled), rows, -1)
            value = f.detach().reshape(1, rows, -1)
            sign = value / (value.abs() + (value.abs() <= EPS))  # +-1, or about 0 for a silent unit
            g = (grads * sign).sum(dim=1)  # [T, units]
            purity = 0.5 * (1 + g.sum(dim=0) / g.abs().sum(dim=0).clamp_min(torch.finfo(g.dtype).tiny))
            draw = torch.rand(purity.shape, dtype=purity.dtype, device=purity.device)
            # A unit without a sign (g = 0: a silent activation) lets every gradient through.
            keep = ((purity > draw) & (g >= 0)) | ((purity < draw) & (g <= 0))  # [T, units]
            parts.append(keep[:, None, :].expand(-1, rows, -1).reshape(len(scaled), -1))
        return torch.cat(parts, dim=1).to(scaled.dtype)
