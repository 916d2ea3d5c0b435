"""The TorchJD-backed methods added to the registry: scalarizers (IMTL-L, geometric
mean, FAMO, STCH, PBI, COSMOS) and aggregators (DualProj, GradVac, ConFIG, FairGrad,
ExcessMTL, GradDrop, SDMGrad, MoDo, CR-MOGM).

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
from mtl.weighting.cosmos import LAMBDA as COSMOS_LAMBDA

LOSS_BASED = ["imtl_l", "geometric_mean", "famo", "stch", "pbi", "cosmos"]
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
    eff = w.applied_weights()  # shares; PBI and COSMOS may push a loss up (a negative weight)
    assert eff.shape == (2,) and eff.abs().sum().item() == pytest.approx(1.0, abs=1e-5)
    first, second = _toy(method, [0.9, 0.1])[2], _toy(method, [0.1, 0.9])[2]
    assert first[0] < second[0] and first[1] > second[1]


@pytest.mark.parametrize("method", LOSS_BASED)
def test_loss_based_method_trains_a_model_through_the_trainer(method):
    trainer = Trainer(feed_prepared(), tiny_config(weighting=method, epochs=2))
    result = trainer.fit()
    assert all(math.isfinite(result.test[t]["auc"]) for t in ("click", "like"))
    weights = result.history[-1]
    assert abs(weights["weight:click"]) + abs(weights["weight:like"]) == pytest.approx(1.0, abs=1e-5)


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


# ------------------------------------------------------------ PBI, COSMOS
def _warmed(method: str, pref, scale):
    w = build_weighting(method, regression_tasks(len(pref)), pref)
    w.epoch_end(torch.tensor(scale))
    return w


def test_pbi_is_torchjds_pbi_on_normalized_losses_along_the_inverse_preference():
    from torchjd.scalarization import PBI

    pref, scale = [0.6, 0.3, 0.1], [2.0, 0.5, 1.0]
    w = _warmed("pbi", pref, scale)
    losses = torch.tensor([1.0, 0.4, 0.3], requires_grad=True)
    ray = 1 / torch.tensor(pref)
    want = PBI(theta=5.0, weights=ray / ray.sum())(losses.detach() / torch.tensor(scale))
    assert float(w.loss(losses).detach()) == pytest.approx(float(want), rel=1e-5)
    # On the ray (normalized losses in the ratio 1/p) only d1 is left: every weight positive.
    on_ray = torch.tensor(scale) * ray * 0.1
    w.loss(on_ray)
    assert (w.applied_weights() > 0).all()
    # Off the ray, a task far below it is pushed back up: a negative weight.
    w.loss(torch.tensor(scale) * ray * 0.1 * torch.tensor([0.2, 1.0, 1.0]))
    assert w.applied_weights()[0] < 0 and w.applied_weights().abs().sum().item() == pytest.approx(1.0)


def test_pbi_leaves_out_a_task_with_zero_preference():
    w = _warmed("pbi", [0.5, 0.5, 0.0], [1.0, 1.0, 1.0])
    losses = torch.tensor([0.5, 0.7, 3.0], requires_grad=True)
    w.loss(losses).backward()
    assert losses.grad[2] == 0 and w.applied_weights()[2] == 0


def test_cosmos_is_the_weighted_sum_minus_the_cosine_with_the_ray():
    pref, scale = torch.tensor([0.7, 0.3]), torch.tensor([2.0, 0.5])
    w = _warmed("cosmos", pref.tolist(), scale.tolist())
    losses = torch.tensor([1.0, 0.4], requires_grad=True)
    value = w.loss(losses)
    ell, ray = losses.detach() / scale, (1 / pref) / (1 / pref).sum()
    cosine = torch.nn.functional.cosine_similarity(ray, ell, dim=0)
    assert float(value.detach()) == pytest.approx(float((ray * ell).sum() - COSMOS_LAMBDA * cosine), rel=1e-5)
    value.backward()
    assert torch.allclose(w.applied_weights(), losses.grad / losses.grad.abs().sum())


# ------------------------------------------------------------ GradDrop
def test_graddrop_on_one_row_of_positive_activations_is_torchjds_graddrop():
    from torchjd.aggregation import GradDrop

    jac = torch.tensor(CONFLICT)
    w = build_weighting("graddrop", regression_tasks(3))
    features = [torch.ones(1, 3)]  # one row, every activation positive: the signs are the gradients'
    for seed in range(5):
        torch.manual_seed(seed)
        ours = w.combine(jac, features)
        torch.manual_seed(seed)
        assert torch.equal(ours, GradDrop()(jac))


def test_graddrop_keeps_one_sign_per_unit_for_the_whole_batch():
    torch.manual_seed(0)
    rows, units = 8, 5
    jac = torch.randn(3, rows * units)
    value = torch.randn(rows, units)
    kept = build_weighting("graddrop", regression_tasks(3)).combine(jac, [value]).reshape(rows, units)
    per_task = jac.reshape(3, rows, units)
    pull = (per_task * value.sign()).sum(dim=1)  # each task's pull on each unit, as the parameters see it
    for u in range(units):
        # The unit's update is the sum of the tasks pulling one way, the same tasks for every row.
        options = [per_task[[t for t in range(3) if sign * pull[t, u] >= 0], :, u].sum(dim=0) for sign in (1, -1)]
        assert any(torch.allclose(kept[:, u], o, atol=1e-6) for o in options)


def test_graddrop_lets_agreeing_gradients_through_and_reports_what_passed():
    agree = torch.tensor([[1.0, 0.5, 0.2], [0.3, 0.1, 0.4]])
    d, w = _linear("graddrop", agree)
    assert torch.allclose(d, agree.sum(dim=0))
    assert torch.allclose(w.applied_weights(), torch.tensor([0.5, 0.5]))
    # Opposite signs on a unit: one task passes, the other not at all.
    w = build_weighting("graddrop", regression_tasks(2))
    for seed in range(4):
        torch.manual_seed(seed)
        d = w.combine(torch.tensor([[1.0], [-1.0]]), [torch.ones(1, 1)])
        assert sorted(w.applied_weights().tolist()) == [0.0, 1.0] and abs(float(d)) == 1.0


# ------------------------------------------------------------ SDMGrad, MoDo
def test_half_batch_product_is_the_psd_part_of_the_two_halves_product():
    from mtl.weighting.jacobian import half_batch_product

    torch.manual_seed(0)
    rows, units = 6, 4
    jac = torch.randn(3, rows * units, dtype=torch.float64)
    a = half_batch_product(jac, [torch.zeros(rows, units)])
    per_row = jac.reshape(3, rows, units)
    s1, s2 = per_row[:, :3].sum(1), per_row[:, 3:].sum(1)
    sym = (s1 @ s2.T + s2 @ s1.T) / 2 / float((s1.norm(dim=1) * s2.norm(dim=1)).sum())
    assert torch.allclose(a, a.T) and torch.linalg.eigvalsh(a).min() > -1e-12
    values = torch.linalg.eigvalsh(sym)
    if values.min() >= 0:
        assert torch.allclose(a, sym)
    assert torch.allclose(torch.linalg.eigvalsh(a), values.clamp_min(0), atol=1e-10)
    # Halves that agree: the Gramian of the row sums, scaled to unit trace.
    same = torch.cat([per_row[:, :3], per_row[:, :3]], dim=1).reshape(3, -1)
    s = per_row[:, :3].sum(1)
    assert torch.allclose(half_batch_product(same, [torch.zeros(rows, units)]), s @ s.T / (s @ s.T).trace())


def test_sdmgrad_and_modo_match_torchjd_on_the_half_batch_product_with_equal_preferences():
    from torchjd.aggregation import MoDoWeighting, SDMGradWeighting

    from mtl.weighting.jacobian import half_batch_product

    torch.manual_seed(1)
    jac = torch.randn(3, 8 * 4)
    features = [torch.zeros(8, 4)]
    cross = half_batch_product(jac, features)
    for method, theirs in (("sdmgrad", SDMGradWeighting(lambda_=0.3)), ("modo", MoDoWeighting(gamma=0.1, rho=0.1))):
        w = build_weighting(method, regression_tasks(3))
        for _ in range(3):  # stateful: the weights carry over from batch to batch
            d = w.combine(jac, features)
            # MoDo's step size is set for a unit trace, which the projected product need not have.
            want = theirs(cross if method == "sdmgrad" else cross / cross.diagonal().sum())
            assert torch.allclose(w.applied_weights().double(), want / want.abs().sum(), atol=1e-6)
            assert torch.allclose(d, (w.applied_weights() @ jac), atol=1e-5)


def test_modo_starts_at_the_preference_weighted_average():
    w = build_weighting("modo", regression_tasks(2), [0.8, 0.2])
    w.combine(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), [torch.zeros(2, 1)])
    # One small step from lambda = p^2 / |p|^2 on the divided gradients: close to the preference.
    assert torch.allclose(w.applied_weights(), torch.tensor([0.8, 0.2]), atol=0.05)


# ------------------------------------------------------------ CR-MOGM
def test_cr_mogm_is_an_exponential_average_of_mgda_weights():
    from torchjd.aggregation import MGDAWeighting

    w = build_weighting("cr_mogm", regression_tasks(2))
    jacs = [torch.tensor([[1.0, 0.0], [0.0, 2.0]]), torch.tensor([[1.0, 0.0], [0.0, 0.5]])]
    lam = torch.tensor([0.5, 0.5], dtype=torch.float64)  # equal preferences: starts at the average
    for jac in jacs * 3:
        _linear("cr_mogm", jac, weighting=w)
        g = (jac @ jac.T).double()
        lam = 0.9 * lam + 0.1 * MGDAWeighting()(g / g.trace())
        assert torch.allclose(w.applied_weights().double(), lam / lam.sum(), atol=1e-5)
    # MGDA alone jumps between the two batches' solutions; the average moves little.
    mgda = build_weighting("mgda", regression_tasks(2))
    _linear("mgda", jacs[0], weighting=mgda)
    assert abs(float(mgda.applied_weights()[0] - w.applied_weights()[0])) > 0.2
