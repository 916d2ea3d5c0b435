"""SDMGrad: Stochastic Direction-oriented Multi-objective Gradient descent (Xiao, Ban &
Ji, "Direction-oriented Multi-objective Learning: Simple and Provable Stochastic
Algorithms", NeurIPS 2023).

MGDA looks for the update that improves the worst-off task most; SDMGrad adds a pull
towards a *target direction*, the preference-weighted average gradient: it solves for
simplex weights ``w`` minimizing ``|J^T (w + lambda w~)|^2 / 2`` by a few projected SGD
steps (20 steps, learning rate 10, momentum 0.5, warm-started from the previous
batch's ``w``) and updates along ``J^T (w + lambda w~) / (1 + lambda)`` with
``lambda = 0.3`` (the authors' and LibMTL's setting): between MGDA (``lambda = 0``) and
the weighted average (``lambda`` large). Runs on TorchJD's ``SDMGradWeighting``.

The method is *stochastic*: an estimate of ``J J^T`` from one mini-batch is biased
(each sample's noise multiplies itself), so the weights are computed from the product
of two independent mini-batches' Jacobians, ``A = J1 J2^T``. Here those are the two
halves of the shuffled batch, on a shift of each unit of the shared representation
(:func:`~mtl.weighting.jacobian.half_batch_product`); the update uses the whole batch's
gradients (the paper draws a third mini-batch for it).

Preference: both parts follow it. The MGDA part runs, as ``mgda`` does, on the
gradients divided by ``k p_t`` (k tasks: each task's loss falls at a rate at least
proportional to its preference), and the target direction is the preference-weighted
average gradient (in those divided gradients, TorchJD's ``pref_vector`` ``∝ p^2``).
Equal preferences give SDMGrad. A task with preference 0 is left out and its tower is
not trained.
"""

from __future__ import annotations

import torch

from . import register
from .base import HalfBatchWeighting

LAMBDA = 0.3


@register
class SDMGrad(HalfBatchWeighting):
    name = "sdmgrad"
    title = "SDMGrad"
    description = ("MGDA pulled towards the preference-weighted average gradient, with weights from two "
                   "independent half-batches (Xiao et al., 2023; TorchJD).")
    requires = ("torchjd",)
    extra = "torchjd"

    def __init__(self, tasks, preference):
        super().__init__(tasks, preference)
        from torchjd.aggregation import SDMGradWeighting

        self.solver = SDMGradWeighting(lambda_=LAMBDA)

    def weights_from(self, cross: torch.Tensor, preference: torch.Tensor) -> torch.Tensor:
        on = preference > 0
        scale = preference[on] * len(preference)
        target = preference[on] ** 2
        self.solver.pref_vector = target / target.sum()
        weights = torch.zeros_like(preference)
        weights[on] = self.solver(cross[on][:, on] / torch.outer(scale, scale)) / scale
        return weights
