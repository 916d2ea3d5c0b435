"""GradNorm (Chen, Badrinarayanan, Lee & Rabinovich, "GradNorm: Gradient
Normalization for Adaptive Loss Balancing in Deep Multitask Networks", ICML 2018).

Task weights ``w_t`` are learned so that the norm of each weighted task gradient on
the shared part, ``G_t = w_t |grad L_t|``, approaches a common target scaled by how
slowly the task trains:

    target_t = mean(G) * r_t ** alpha,   r_t = (L_t / L_t(0)) / mean_s (L_s / L_s(0))

by gradient descent on ``sum_t |G_t - target_t|`` (the target held constant), with
the asymmetry ``alpha = 1.5`` of the paper's experiments. A task that lags behind
(large loss ratio ``r_t``) gets a larger gradient and catches up; a task that
dominates the shared layers gets a smaller one. The model itself trains on
``sum_t w_t L_t``.

What it guarantees: the weights sum to T (the paper's renormalization, here
``w = T softmax(s)`` as in LibMTL, which also keeps them positive), and at its fixed
point the weighted task gradients on the shared part have norms in the target
ratios; it makes no claim about conflicts between gradient directions.

Differences from the paper, for cost: the gradient norms are taken on the shared
representation (``output.features``), not on the weights of the last shared layer;
since ``grad(w_t L_t) = w_t grad L_t`` the weights' own gradient needs no second
backward pass. The weights are trained by the run's optimizer, like uncertainty
weighting's variances, and ``L_t(0)`` is the task's loss on the first batch where it
had labels.

Preference: the targets are scaled by it, ``target_t = mean(G) * k p_t * r_t ** alpha``
(``p`` rescaled to sum to 1 over the k tasks balanced in the batch), so at the fixed
point each task's gradient norm is proportional to its preference; the weights also
start at the preference.
Tasks with preference 0 keep weight 0. Equal preferences give the paper's GradNorm.
:meth:`applied_weights` reports ``w / T``, which sums to 1.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ConfigError
from . import register
from .base import Weighting
from .jacobian import shared_features, task_jacobian

#: Asymmetry: how strongly a lagging task is pulled back (the paper uses 0.12 to 3).
ALPHA = 1.5


@register
class GradNorm(Weighting):
    name = "gradnorm"
    title = "GradNorm"
    description = ("Learns weights that equalize the tasks' gradient norms, favouring tasks that train slowly "
                   "(Chen et al., 2018).")
    needs_shared = True

    def __init__(self, tasks, preference):
        super().__init__(tasks, preference)
        self.register_buffer("on", preference > 0)
        # Weights start at the preference: T * softmax(log p) = T * p.
        self.logits = nn.Parameter(torch.log(preference.clamp_min(1e-12)))
        self.register_buffer("initial_losses", torch.full((len(tasks),), math.nan))

    def weights(self) -> torch.Tensor:
        """The current task weights (summing to T), differentiable in ``logits``."""
        return self.n_tasks * torch.softmax(self.logits.masked_fill(~self.on, -math.inf), dim=0)

    def backward(self, losses, output) -> None:
        features = shared_features(output)
        if not features:
            raise ConfigError("GradNorm balances gradients on a shared representation, and this model shares "
                              "none; choose an architecture that shares parameters")
        norms = task_jacobian(losses, features, output.outputs).detach().norm(dim=1)
        observed = losses.detach()
        fresh = torch.isnan(self.initial_losses) & (norms > 0) & (observed > 0)
        self.initial_losses = torch.where(fresh, observed, self.initial_losses)

        w = self.weights()
        self._update_weights(w, norms, observed)
        self._last_weights = (w.detach() / self.n_tasks).clone()
        ((w.detach() / self.n_tasks) * losses).sum().backward()

    def _update_weights(self, w: torch.Tensor, norms: torch.Tensor, observed: torch.Tensor) -> None:
        """Accumulate the gradient of the GradNorm loss into ``logits.grad``, over the
        tasks that are switched on and have a gradient in this batch."""
        live = self.on & (norms > 0) & torch.isfinite(self.initial_losses)
        if int(live.sum()) < 2:
            return  # nothing to balance yet
        ratio = observed[live] / self.initial_losses[live]
        rate = ratio / ratio.mean()
        pref = self.preference[live] / self.preference[live].sum() * int(live.sum())
        g = w[live] * norms[live]
        target = (g.mean() * pref * rate.pow(ALPHA)).detach()
        (grad,) = torch.autograd.grad((g - target).abs().sum(), self.logits)
        self.logits.grad = grad if self.logits.grad is None else self.logits.grad + grad
