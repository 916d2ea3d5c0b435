"""The TorchJD-backed methods added to the registry: scalarizers (IMTL-L, geometric
mean, FAMO, STCH) and aggregators (DualProj, GradVac, ConFIG, FairGrad, ExcessMTL).

The generic checks of every Jacobian method (left-out tasks, switched-off towers,
training through the trainer...) run from ``test_weighting_gradient.py``, whose lists
include these; here: each method's defining property, and, for the loss-based ones,
that they lower the loss of a small problem, follow the preference and train a model.
"""

from __future__ import annotations

import math

import pytest
import torch
from _fixtures import feed_prepared, regression_tasks, tiny_config, toy_problem

from mtl.models.base import ModelOutput
from mtl.train import Trainer
from mtl.weighting import build_weighting, weighting_status

LOSS_BASED = ["imtl_l", "geometric_mean", "famo", "stch"]
CONFLICT = [[1.0, 0.0, 0.2], [-0.6, 1.0, 0.0], [0.1, -0.7, 0.8]]
pytestmark = pytest.mark.skipif(not weighting_status()["famo"].available, reason=weighting_status()["famo"].hint)


def _linear(method: str, jac, pref=None, weighting=None):
    """One backward where the task gradients on the shared representation are the rows
    of ``jac``; returns the combined direction and the method."""
    jac = torch.as_tensor(jac, dtype=torch.float32)
    w = weighting or build_weighting(method, regression_tasks(len(jac)), pref)
    theta = torch.zeros(jac.shape[1], requires_grad=True)
    z = theta * 1.0
    w.backward(jac @ z, ModelOutput([], [z]))
    return theta.grad, w


def _toy(method: str, pref=None):
    """The shared two-task problem, 60 steps with an "epoch" every 10."""
    return toy_problem(method, pref, steps=60, epoch_every=10)


# ------------------------------------------------------------ loss-based
@pytest.mark.parametrize("method", LOSS_BASED)
def test_loss_based_method_lowers_the_loss_and_follows_the_preference(method):
    w, before, after = _toy(method)
    assert torch.isfinite(after).all() and after.sum() < 0.75 * before.sum()
    eff = w.applied_weights()
    assert eff.shape == (2,) and eff.sum().item() == pytest.approx(1.0, abs=1e-5)
    first, second = _toy(method, [0.9, 0.1])[2], _toy(method, [0.1, 0.9])[2]
    assert first[0] < second[0] and first[1] > second[1]


@pytest.mark.parametrize("method", LOSS_BASED)
def test_loss_based_method_trains_a_model_through_the_trainer(method):
    trainer = Trainer(feed_prepared(), tiny_config(weighting=method, epochs=2))
    result = trainer.fit()
    assert all(math.isfinite(result.test[t]["auc"]) for t in ("click", "like"))
    weights = result.history[-1]
    assert weights["weight:click"] + weights["weight:like"] == pytest.approx(1.0, abs=1e-5)


def test_stch_approaches_the_largest_weighted_loss_as_mu_shrinks():
    losses = torch.tensor([0.8, 0.3, 0.5])
    pref = torch.tensor([0.2, 0.5, 0.3])
    worst = float((pref * losses).max())
    gaps = []
    for mu in (1.0, 0.1, 0.01, 0.001):
        w = build_weighting("stch", regression_tasks(3), pref.tolist())
        w.scalarizer.mu = mu
        w.epoch_end(torch.ones(3))  # warm-up over: losses are normalized by 1
        value = float(w.loss(losses))
        assert worst <= value <= worst + mu * math.log(3) + 1e-6  # the smooth upper bound of the paper
        gaps.append(value - worst)
    assert gaps == sorted(gaps, reverse=True) and gaps[-1] < 1e-3


def test_stch_trains_on_the_weighted_sum_until_the_losses_are_normalized():
    w = build_weighting("stch", regression_tasks(2), [3, 1])
    losses = torch.tensor([2.0, 4.0])
    assert float(w.loss(losses)) == pytest.approx(0.75 * 2 + 0.25 * 4)
    w.epoch_end(torch.tensor([2.0, 8.0]))
    assert torch.equal(w.scale, torch.tensor([2.0, 8.0]))
    w.epoch_end(torch.tensor([1.0, 1.0]))  # the warm-up's scale stays
    assert torch.equal(w.scale, torch.tensor([2.0, 8.0]))
    # The normalized weighted losses are 0.75 and 0.125: nearly all weight on the first task.
    w.loss(losses)
    assert w.applied_weights()[0] > 0.99


def test_geometric_mean_gradient_is_the_weighted_sum_of_log_loss_gradients():
    theta = torch.tensor([0.3, -0.2], requires_grad=True)
    pref = torch.tensor([0.25, 0.75])

    def losses():
        return torch.stack([(theta[0] - 1) ** 2 + 0.1, (theta[1] + 2) ** 2 * 3 + 0.2])

    w = build_weighting("geometric_mean", regression_tasks(2), pref.tolist())
    value = w.loss(losses())
    value.backward()
    got = theta.grad.clone()
    ls = losses()
    assert float(value.detach()) == pytest.approx(float(torch.prod(ls.detach() ** pref)), rel=1e-5)
    theta.grad = None
    (pref * torch.log(losses())).sum().backward()
    assert torch.allclose(got, float(value.detach()) * theta.grad, rtol=1e-5)
    # Reported weights: p_i / L_i as shares.
    want = pref / ls.detach()
    assert torch.allclose(w.applied_weights(), want / want.sum())


def test_famo_gives_weight_to_the_task_whose_loss_fell_least():
    w = build_weighting("famo", regression_tasks(2))
    assert torch.allclose(w.applied_weights(), torch.tensor([0.5, 0.5]))
    for _ in range(20):
        w.loss(torch.tensor([1.0, 1.0]))
        w.step_end(torch.tensor([0.9, 0.999]))  # the first task improves, the second barely
    w.loss(torch.tensor([1.0, 1.0]))
    assert w.applied_weights()[1] > 0.6
    # The model's loss: c * sum z log L, with c making the update a convex combination.
    losses = torch.tensor([0.5, 2.0], requires_grad=True)
    w.loss(losses).backward()
    z = w.applied_weights()
    c = 1 / (z / losses.detach()).sum()
    assert torch.allclose(losses.grad, c * z / losses.detach())
    assert float(losses.grad.sum()) == pytest.approx(1.0)  # a convex combination of the grad L_i


def test_famo_logits_are_not_trained_by_the_model_optimizer():
    w = build_weighting("famo", regression_tasks(3))
    assert list(w.parameters()) == []


def test_imtl_l_scales_balance_the_scaled_losses():
    w = build_weighting("imtl_l", regression_tasks(2))
    opt = torch.optim.SGD(w.parameters(), lr=0.1)
    losses = torch.tensor([4.0, 0.25])
    for _ in range(300):
        opt.zero_grad()
        w.loss(losses).backward()
        opt.step()
    scaled = torch.exp(w.scalarizer.log_scale.detach()) * losses
    assert torch.allclose(scaled, torch.ones(2), atol=1e-3)
    assert torch.allclose(w.applied_weights(), torch.tensor([0.25 / 4.25, 4 / 4.25]), atol=1e-3)


# ------------------------------------------------------------ aggregators
def test_dualproj_never_conflicts_and_is_the_weighted_mean_without_conflict():
    jac = torch.tensor(CONFLICT)
    d, _ = _linear("dualproj", jac)
    assert (jac @ d >= -1e-6).all()
    agree = torch.tensor([[1.0, 0.2, 0.0], [0.5, 1.0, 0.1]])
    d, w = _linear("dualproj", agree, [3, 1])
    assert torch.allclose(w.applied_weights(), torch.tensor([0.75, 0.25]), atol=1e-4)


def test_config_makes_the_same_positive_angle_with_every_task_and_matches_torchjd():
    from torchjd.aggregation import ConFIG

    jac = torch.tensor(CONFLICT)
    d, w = _linear("config", jac)
    cos = (jac @ d) / (jac.norm(dim=1) * d.norm())
    assert (cos > 0).all() and torch.allclose(cos, cos[0].expand(3), atol=1e-5)
    want = ConFIG()(jac.double() / jac.double().norm()).float()
    assert torch.allclose(d / d.norm(), want / want.norm(), atol=1e-5)
    # Preference: the cosine with each task is proportional to it.
    d, _ = _linear("config", jac, [0.5, 0.3, 0.2])
    cos = (jac @ d) / (jac.norm(dim=1) * d.norm())
    assert torch.allclose(cos / cos.sum(), torch.tensor([0.5, 0.3, 0.2]), atol=1e-4)


def test_fairgrad_solves_the_proportional_fairness_condition():
    jac = torch.tensor(CONFLICT, dtype=torch.float64)
    jac = jac / jac.norm()
    w = build_weighting("fairgrad", regression_tasks(3))
    weights = w.task_weights(jac @ jac.T, torch.full((3,), 1 / 3, dtype=torch.float64))
    utilities = (jac @ jac.T) @ weights  # each task's improvement along the update
    assert (weights > 0).all() and (utilities > 0).all()
    assert torch.allclose(utilities, 1 / weights, rtol=1e-3)  # alpha = 1: G w = w^-1


def test_gradvac_with_no_history_is_pcgrad_for_tworegression_tasks():
    jac = torch.tensor([[1.0, 0.0], [-0.5, 1.0]])
    d, w = _linear("gradvac", jac)
    p0 = jac[0] - (jac[0] @ jac[1]) / jac[1].norm() ** 2 * jac[1]
    p1 = jac[1] - (jac[1] @ jac[0]) / jac[0].norm() ** 2 * jac[0]
    assert torch.allclose(d / d.norm(), (p0 + p1) / (p0 + p1).norm(), atol=1e-5)
    # Its cosine targets are remembered: after agreeing gradients, a merely less agreeing
    # pair (no conflict, which PCGrad would leave alone) is pulled back together.
    for _ in range(5):
        _linear("gradvac", torch.tensor([[1.0, 0.0], [1.0, 0.2]]), weighting=w)
    less = torch.tensor([[1.0, 0.0], [1.2, 1.6]])
    d, _ = _linear("gradvac", less, weighting=w)
    assert not torch.allclose(d / d.norm(), less.sum(0) / less.sum(0).norm(), atol=1e-3)


def test_excess_mtl_moves_weight_to_the_task_that_stops_improving():
    w = build_weighting("excess_mtl", regression_tasks(2))
    for step in range(6):
        shrink = 0.5 ** step  # the first task's gradient vanishes (it is learned), the second's stays
        _linear("excess_mtl", torch.tensor([[shrink, 0.0, 0.0], [0.0, 1.0, 0.0]]), weighting=w)
    assert w.applied_weights()[1] > 0.7
    # A task without a gradient in the batch keeps its place in TorchJD's state.
    _linear("excess_mtl", torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), weighting=w)
    assert w.applied_weights()[0] == 0
