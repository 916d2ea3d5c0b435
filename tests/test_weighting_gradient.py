"""Gradient-based weighting: GradNorm and the Jacobian methods (UPGrad, MGDA, PCGrad,
IMTL-G, Aligned-MTL, CAGrad, Nash-MTL).

* the registry lists every method, with an install command for missing extras;
* gradient methods refuse the single-task architecture;
* every architecture's ``features`` form a cut of the graph (what makes aggregating
  feature gradients exact), and the backward machinery reproduces static weighting;
* each method's stated guarantee, on task gradients chosen by hand;
* each method lowers the loss of a small problem and follows a preference;
* each method trains a real model through the unchanged trainer.

Methods whose optional dependencies are missing are skipped with the install command
as the reason (``make test`` installs them: they are in the ``test`` extra).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _fixtures import (
    TINY_MODEL,
    feed_prepared,
    mixed_prepared,
    regression_tasks,
    shared_parameters,
    tiny_config,
    toy_problem,
)

import mtl.weighting.base as weighting_base
from mtl.errors import ConfigError
from mtl.models import ModelConfig, build_model
from mtl.models.base import ModelOutput
from mtl.tasks import task_loss
from mtl.train import TrainConfig, Trainer
from mtl.weighting import (
    JacobianWeighting,
    available_weightings,
    build_weighting,
    get_weighting_class,
    weighting_status,
)
from mtl.weighting.cagrad import C as CAGRAD_C
from mtl.weighting.jacobian import task_jacobian

LOSS_BASED = ["static", "uncertainty", "dwa", "imtl_l", "geometric_mean", "famo", "stch", "pbi", "cosmos"]
JACOBIAN = ["upgrad", "mgda", "pcgrad", "imtl_g", "aligned_mtl", "cagrad", "nash_mtl",
            "dualproj", "gradvac", "config", "fairgrad", "excess_mtl", "graddrop", "sdmgrad", "modo", "cr_mogm"]
GRADIENT = ["gradnorm"] + JACOBIAN
#: Methods whose update follows the user's weights (Nash-MTL is scale-invariant; for
#: ExcessMTL the preference is only where its weights start, and its steps move them to
#: the tasks furthest from their best loss, whichever the user preferred).
WITH_PREFERENCE = [m for m in GRADIENT if m not in ("nash_mtl", "excess_mtl")]


def _installed(method: str):
    status = weighting_status()[method]
    return pytest.mark.skipif(not status.available, reason=status.hint)


def _params(methods):
    return [pytest.param(m, marks=_installed(m)) for m in methods]


def _only_missing(*modules: str):
    """Stands in for ``importlib.util.find_spec``: exactly ``modules`` are missing and
    everything else is present, whatever is really installed here."""
    return lambda name: None if name in modules else object()


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm()


# ---------------------------------------------------------------- registry
def test_registry_lists_every_method_in_display_order():
    assert list(available_weightings()) == LOSS_BASED + GRADIENT
    assert list(weighting_status()) == LOSS_BASED + GRADIENT
    for name in LOSS_BASED + GRADIENT:
        cls = get_weighting_class(name)
        assert cls.needs_shared == (name in GRADIENT)
        assert cls.display_name() and cls.description
        assert cls.uses_preference == (name != "nash_mtl")
    for name in ("static", "uncertainty", "dwa", "gradnorm", "imtl_g", "graddrop"):
        assert get_weighting_class(name).requires == ()  # core install only
        assert weighting_status()[name] == (True, "")


def test_missing_optional_dependency_names_the_install_command(monkeypatch):
    monkeypatch.setattr(weighting_base, "find_spec", _only_missing("torchjd", "cvxpy"))
    status = weighting_status()
    assert status["upgrad"] == (False, "UPGrad needs torchjd: pip install 'mtl-tradeoff-explorer[torchjd]'")
    assert status["mgda"].hint.endswith("pip install 'mtl-tradeoff-explorer[torchjd]'")
    assert status["cagrad"] == (False, "CAGrad needs torchjd, cvxpy: pip install 'mtl-tradeoff-explorer[cvxpy]'")
    assert status["nash_mtl"].hint.startswith("Nash-MTL needs torchjd, cvxpy")
    for name in ("static", "gradnorm", "imtl_g"):
        assert status[name].available
    # Listed all the same, so a user sees what exists and how to get it.
    assert "upgrad" in available_weightings()
    with pytest.raises(ConfigError, match=r"pip install 'mtl-tradeoff-explorer\[torchjd\]'"):
        build_weighting("upgrad", regression_tasks(2))
    with pytest.raises(ConfigError, match=r"mtl-tradeoff-explorer\[cvxpy\]"):
        TrainConfig(tasks=["a", "b"], weighting="nash_mtl").validate()
    build_weighting("imtl_g", regression_tasks(2))  # needs nothing optional


@pytest.mark.parametrize("method", GRADIENT)
def test_gradient_methods_refuse_the_single_task_architecture(method):
    cfg = tiny_config(weighting=method, arch="single")
    with pytest.raises(ConfigError, match="shares none") as err:
        cfg.validate()
    assert "shared_bottom, mmoe, ple" in str(err.value)
    with pytest.raises(ConfigError, match="shares none"):
        Trainer(feed_prepared(), cfg)


def test_loss_based_methods_still_train_single_task_models():
    for method in LOSS_BASED:
        tiny_config(weighting=method, arch="single").validate()


def test_unknown_method_is_a_config_error_at_validation():
    with pytest.raises(ConfigError, match="Unknown weighting method 'upgard'.*upgrad"):
        tiny_config(weighting="upgard").validate()


# ---------------------------------------------------- features form a cut
class _Preference(JacobianWeighting):
    """Test-only: the preference itself as the task weights (static weighting)."""

    name = "test_preference"

    def task_weights(self, gramian, preference):
        return preference


def _batch(arch: str, conditioned: bool = False, sizing: str = "fixed", proj: int = 0):
    prepared = feed_prepared()
    enc = prepared.encoder
    torch.manual_seed(0)
    cfg = ModelConfig(emb_dim=4, hidden=(16,), tower=(8,), conditioned=conditioned, emb_sizing=sizing,
                      input_proj=proj)
    model = build_model(arch, enc.cardinalities, len(enc.numeric_names), prepared.tasks, cfg)
    x_cat, x_num, y = (t[:256] for t in (prepared.train.x_cat, prepared.train.x_num, prepared.train.y))

    def losses():
        out = model(x_cat, x_num)
        return out, torch.stack([task_loss(t, o, y[:, j]) for j, (o, t) in enumerate(zip(out.outputs, prepared.tasks))])

    return model, losses


@pytest.mark.parametrize("arch,conditioned,sizing,proj", [
    ("shared_bottom", False, "fixed", 0), ("mmoe", False, "fixed", 0), ("ple", False, "fixed", 0),
    ("mmoe", True, "fixed", 0), ("mmoe", False, "bag", 0), ("ple", False, "bag", 0), ("mmoe", True, "fixed", 6),
    ("ple", True, "fixed", 6)])
def test_features_form_a_cut_of_the_graph(arch, conditioned, sizing, proj):
    """Back-propagating the per-task feature gradients gives exactly the per-task
    gradients on the shared parameters: no shared path bypasses the features and none
    is counted twice (MMoE's gates once read the input representation directly)."""
    model, losses = _batch(arch, conditioned, sizing, proj)
    out, ls = losses()
    shared = shared_parameters(model, out)
    assert shared and out.features
    jac = task_jacobian(ls, out.features)
    for t in range(len(ls)):
        want = torch.autograd.grad(ls[t], shared, retain_graph=True, allow_unused=True)
        sizes = [f.numel() for f in out.features]
        feature_grads = [g.reshape(f.shape) for g, f in zip(jac[t].split(sizes), out.features)]
        got = torch.autograd.grad(out.features, shared, grad_outputs=feature_grads, retain_graph=True,
                                  allow_unused=True)
        for w, g in zip(want, got):
            w = torch.zeros_like(g) if w is None else w
            g = torch.zeros_like(w) if g is None else g
            assert torch.allclose(w, g, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("arch", ["shared_bottom", "mmoe", "ple"])
def test_jacobian_through_the_outputs_equals_the_direct_one(arch):
    """The two-stage Jacobian (loss -> outputs -> features) on binary, regression (with
    missing labels) and multiclass tasks, and with a loss that reads two outputs."""
    prepared = mixed_prepared()
    enc = prepared.encoder
    torch.manual_seed(0)
    model = build_model(arch, enc.cardinalities, len(enc.numeric_names), prepared.tasks, TINY_MODEL)
    x_cat, x_num, y = (t[:128] for t in (prepared.train.x_cat, prepared.train.x_num, prepared.train.y))
    out = model(x_cat, x_num)
    losses = torch.stack([task_loss(t, o, y[:, j]) for j, (o, t) in enumerate(zip(out.outputs, prepared.tasks))])
    direct = task_jacobian(losses, out.features)
    assert torch.allclose(task_jacobian(losses, out.features, out.outputs), direct, atol=1e-9, rtol=1e-6)
    assert (direct.norm(dim=1) > 0).all()
    coupled = torch.stack([losses[0], losses[1] + (out.outputs[0] * out.outputs[1]).mean()])
    assert torch.allclose(task_jacobian(coupled, out.features, out.outputs), task_jacobian(coupled, out.features),
                          atol=1e-9, rtol=1e-6)


@pytest.mark.parametrize("arch", ["shared_bottom", "mmoe", "ple"])
def test_jacobian_backward_with_the_preference_as_weights_is_static_weighting(arch):
    """The hook machinery: shared parameters get sum_t w_t grad L_t, task-specific
    ones their own task's gradient times the preference; with w = preference that
    is exactly static weighting's gradient, for every parameter."""
    model, losses = _batch(arch)
    prepared = feed_prepared()
    out, ls = losses()
    static = build_weighting("static", prepared.tasks, [3, 1])
    static.backward(ls, out)
    want = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    out, ls = losses()
    method = _Preference(prepared.tasks, static.preference)
    method.backward(ls, out)
    got = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    assert want.keys() == got.keys()
    for name in want:
        assert torch.allclose(want[name], got[name], atol=1e-8, rtol=1e-5), name
    assert torch.allclose(method.applied_weights(), torch.tensor([0.75, 0.25]))


# ------------------------------------------------------------- guarantees
def _linear(method: str, jac, pref=None):
    """One backward through ``method`` where the shared representation is ``z = theta``
    and ``L_t = g_t . z``: the task gradients are exactly the rows of ``jac``, and
    ``theta.grad`` is the method's combined direction."""
    jac = torch.as_tensor(jac, dtype=torch.float32)
    w = build_weighting(method, regression_tasks(len(jac)), pref)
    theta = torch.zeros(jac.shape[1], requires_grad=True)
    z = theta * 1.0
    w.backward(jac @ z, ModelOutput([], [z]))
    return theta.grad, w


def _raw(method: str, jac, pref=None) -> tuple[torch.Tensor, torch.Tensor]:
    """A Jacobian method's own weights (before scaling) on ``jac`` normalized to unit
    Frobenius norm, as the base class hands it over; returns (weights, normalized jac)."""
    jac = torch.as_tensor(jac, dtype=torch.float64)
    jac = jac / jac.norm()
    w = build_weighting(method, regression_tasks(len(jac)), pref)
    p = w.head_weights().double()
    return w.task_weights(jac @ jac.T, p / p.sum()), jac


CONFLICT = [[1.0, 0.0, 0.2], [-0.6, 1.0, 0.0], [0.1, -0.7, 0.8]]


@pytest.mark.parametrize("method", _params(["upgrad"]))
def test_upgrad_never_conflicts_and_is_the_weighted_mean_without_conflict(method):
    rng = np.random.default_rng(0)
    for _ in range(5):
        jac = torch.tensor(rng.normal(size=(3, 6)), dtype=torch.float32)
        for pref in (None, [0.8, 0.1, 0.1], [1, 0, 0]):
            d, _ = _linear(method, jac, pref)
            # Up to the QP solver's regularization (1e-4 of the Gramian's trace).
            assert (jac @ d >= -1e-3 * d.norm() * jac.norm(dim=1)).all()
    agree = torch.tensor([[1.0, 0.2, 0.0], [0.3, 1.0, 0.1], [0.0, 0.4, 2.0]])  # pairwise non-negative
    assert (agree @ agree.T >= 0).all()
    d, w = _linear(method, agree, [3, 1, 1])
    assert torch.allclose(_unit(d), _unit(torch.tensor([0.6, 0.2, 0.2]) @ agree), atol=1e-5)
    assert torch.allclose(w.applied_weights(), torch.tensor([0.6, 0.2, 0.2]), atol=1e-5)


@pytest.mark.parametrize("method", _params(["mgda"]))
def test_mgda_descends_for_every_task_at_rates_proportional_to_the_preference(method):
    jac = [[1.0, 0.0], [-0.5, 1.0]]
    g = torch.tensor(jac)
    for pref in ([0.5, 0.5], [0.7, 0.3], [0.2, 0.8]):
        d, _ = _linear(method, jac, pref)
        rates = g @ d
        assert (rates > 0).all()
        assert (rates[0] / rates[1]).item() == pytest.approx(pref[0] / pref[1], rel=0.02)
    # A task switched off is left out: MGDA then follows the other task alone.
    d, w = _linear(method, jac, [1, 0])
    assert torch.allclose(w.applied_weights(), torch.tensor([1.0, 0.0]))
    assert torch.allclose(_unit(d), _unit(g[0]), atol=1e-6)


@pytest.mark.parametrize("method", _params(["pcgrad"]))
def test_pcgrad_sums_the_preference_weighted_projected_gradients(method):
    g1, g2 = torch.tensor([1.0, 0.0, 0.5]), torch.tensor([-0.8, 1.0, 0.0])
    assert g1 @ g2 < 0
    pc1 = g1 - (g1 @ g2) / (g2 @ g2) * g2
    pc2 = g2 - (g2 @ g1) / (g1 @ g1) * g1
    for p in ([0.5, 0.5], [0.8, 0.2]):
        d, _ = _linear(method, torch.stack([g1, g2]), p)
        assert torch.allclose(_unit(d), _unit(p[0] * pc1 + p[1] * pc2), atol=1e-6)
        assert d @ g1 >= -1e-7 and d @ g2 >= -1e-7  # with two tasks, no conflict remains


@pytest.mark.parametrize("method", _params(["imtl_g"]))
def test_imtl_g_projects_equally_or_in_proportion_to_the_preference(method):
    jac = torch.tensor(CONFLICT)
    units = jac / jac.norm(dim=1, keepdim=True)
    for pref in ([1, 1, 1], [0.5, 0.3, 0.2]):
        d, _ = _linear(method, jac, pref)
        p = torch.tensor(pref, dtype=torch.float32) / sum(pref)
        projections = units @ d
        assert (projections > 0).all()
        assert torch.allclose(projections / p, (projections / p)[0].expand(3), rtol=1e-4)
    # Scale-invariant: multiplying a loss changes nothing.
    d1, _ = _linear(method, jac)
    d2, _ = _linear(method, jac * torch.tensor([[10.0], [1.0], [0.1]]))
    assert torch.allclose(_unit(d1), _unit(d2), atol=1e-5)
    # A zero preference: orthogonal to that task's gradient.
    d, _ = _linear(method, jac, [1, 1, 0])
    assert abs(float(units[2] @ _unit(d))) < 1e-5


@pytest.mark.parametrize("method", _params(["imtl_g"]))
def test_imtl_g_matches_torchjd_with_equal_preferences(method):
    aggregation = pytest.importorskip("torchjd.aggregation", reason="pip install 'mtl-tradeoff-explorer[torchjd]'")
    jac = torch.tensor(CONFLICT, dtype=torch.float64)
    theirs = aggregation.IMTLGWeighting()(jac @ jac.T)
    assert theirs.sum() > 0
    d, _ = _linear(method, jac)
    assert torch.allclose(_unit(d).double(), _unit(theirs @ jac), atol=1e-5)


@pytest.mark.parametrize("method", _params(["aligned_mtl"]))
def test_aligned_mtl_components_are_orthogonal_and_of_equal_length(method):
    """With a one-hot preference the update is that task's aligned component; the
    components are orthogonal, of equal length: the condition number is 1."""
    components = []
    for t in range(3):
        w, jac = _raw(method, CONFLICT, [1.0 if s == t else 0.0 for s in range(3)])
        components.append(w @ jac)
    comp = torch.stack(components)
    gram = comp @ comp.T
    assert torch.allclose(gram, gram[0, 0] * torch.eye(3, dtype=gram.dtype), atol=1e-8)


@pytest.mark.parametrize("method", _params(["cagrad"]))
def test_cagrad_stays_in_the_ball_and_improves_the_worst_task(method):
    for pref in ([1, 1, 1], [0.6, 0.3, 0.1]):
        w, jac = _raw(method, CONFLICT, pref)
        p = torch.tensor(pref, dtype=torch.float64) / sum(pref)
        scaled = jac * (3 * p)[:, None]          # the preference scales the gradients
        g0 = scaled.mean(0)                      # the preference-weighted average gradient
        d = w @ jac
        assert (d - g0).norm() <= CAGRAD_C * g0.norm() * (1 + 1e-4)
        assert (scaled @ d).min() >= (scaled @ g0).min() - 1e-9
        assert (scaled @ d).min() > (scaled @ g0).min()  # this Jacobian has a real conflict


@pytest.mark.parametrize("method", _params(["nash_mtl"]))
def test_nash_mtl_reaches_the_bargaining_solution_and_ignores_preferences(method):
    # Conflicting pairs, but the mean gradient descends for every task: TorchJD's
    # linearized program is bounded (see the module docstring for when it is not).
    jac = [[1.0, 0.0, 0.2], [-0.3, 1.0, 0.0], [0.1, -0.4, 0.8]]
    w, normalized = _raw(method, jac)
    gram = normalized @ normalized.T
    assert (gram < 0).any() and (gram.sum(1) > 0).all()
    products = w * (gram @ w)  # a_t (G a)_t: equal for every task at the Nash solution
    assert (w > 0).all()
    assert torch.allclose(products, products.mean().expand(3), rtol=0.01)
    d_equal, _ = _linear(method, jac)
    d_skewed, w_skewed = _linear(method, jac, [0.9, 0.05, 0.05])
    assert torch.allclose(d_equal, d_skewed, atol=1e-6)
    assert torch.allclose(w_skewed.head_weights(), torch.full((3,), 1 / 3))


@pytest.mark.parametrize("method", _params(JACOBIAN))
def test_a_task_without_labels_in_the_batch_is_left_out(method):
    """A task with no labelled row has a zero gradient: it gets weight 0 and the
    others are combined as if it were absent (no NaN, no division by zero)."""
    jac = torch.tensor([[1.0, 0.0, 0.2], [0.0, 0.0, 0.0], [0.3, 1.0, 0.0]])
    d, w = _linear(method, jac)
    assert torch.isfinite(d).all() and d.norm() > 0
    eff = w.applied_weights()
    assert eff[1] == 0 and eff.abs().sum().item() == pytest.approx(1.0)
    assert (jac[[0, 2]] @ d > 0).all()


@pytest.mark.parametrize("method", _params(JACOBIAN))
def test_no_shared_gradient_leaves_the_shared_parameters_alone(method):
    d, w = _linear(method, torch.zeros(2, 3))
    assert torch.equal(d, torch.zeros(3))
    assert torch.equal(w.applied_weights(), torch.zeros(2))


# --------------------------------------------------- a small problem
def _toy(method: str, pref=None, steps: int = 30, scale=(1.0, 1.0)):
    """The shared two-task problem (no method may warn while training)."""
    return toy_problem(method, pref, steps=steps, scale=scale, warnings_fail=True)


@pytest.mark.parametrize("method", _params(GRADIENT))
def test_each_method_lowers_the_loss_of_a_small_problem(method):
    w, before, after = _toy(method)
    assert torch.isfinite(after).all()
    assert after.sum() < 0.75 * before.sum()
    eff = w.applied_weights()
    assert eff.shape == (2,) and eff.abs().sum().item() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("method", _params(WITH_PREFERENCE))
def test_each_method_follows_the_preference(method):
    """Preference (0.9, 0.1) ends with the first task's loss lower, and the second's
    higher, than preference (0.1, 0.9)."""
    _, _, first = _toy(method, [0.9, 0.1])
    _, _, second = _toy(method, [0.1, 0.9])
    assert first[0] < second[0] and first[1] > second[1]


def test_gradnorm_turns_down_the_task_with_the_larger_gradient():
    """The first task's loss is scaled by 10 (so is its gradient): GradNorm lowers its
    weight, starting from the preference; the weights keep summing to 1."""
    w, _, _ = _toy("gradnorm", steps=30, scale=(10.0, 1.0))
    eff = w.applied_weights()
    assert eff[0] < 0.35 < 0.65 < eff[1]
    assert eff.sum().item() == pytest.approx(1.0, abs=1e-6)
    start = build_weighting("gradnorm", regression_tasks(2), [3, 1])
    assert torch.allclose(start.weights() / 2, torch.tensor([0.75, 0.25]))
    off = build_weighting("gradnorm", regression_tasks(2), [1, 0])
    assert torch.equal(off.weights(), torch.tensor([2.0, 0.0]))


@pytest.mark.parametrize("method", _params([m for m in JACOBIAN if m != "nash_mtl"]))
def test_a_switched_off_task_does_not_train_its_tower(method):
    model, losses = _batch("shared_bottom")
    out, ls = losses()
    w = build_weighting(method, feed_prepared().tasks, [1, 0])
    w.backward(ls, out)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.towers[0].parameters())
    assert all(p.grad is None or not p.grad.any() for p in model.towers[1].parameters())


# --------------------------------------------------------- with the trainer
@pytest.mark.parametrize("method", _params(GRADIENT))
def test_each_method_trains_a_model_through_the_trainer(method):
    trainer = Trainer(feed_prepared(), tiny_config(weighting=method, epochs=1))
    before = [p.detach().clone() for p in trainer.model.input.parameters()]
    result = trainer.fit()
    for task in ("click", "like"):
        assert math.isfinite(result.test[task]["auc"]) and math.isfinite(result.test[task]["logloss"])
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.model.input.parameters()))
    weights = result.history[-1]
    assert weights["weight:click"] + weights["weight:like"] == pytest.approx(1.0, abs=1e-5)
    assert result.config.weighting == method


@pytest.mark.parametrize("arch", ["mmoe", "ple"])
def test_gradient_methods_train_every_sharing_architecture(arch):
    method = "upgrad" if weighting_status()["upgrad"].available else "imtl_g"
    result = Trainer(feed_prepared(), tiny_config(weighting=method, arch=arch, epochs=1)).fit()
    assert all(math.isfinite(result.test[t]["auc"]) for t in ("click", "like"))


def test_gradnorm_weights_are_learned_in_training():
    trainer = Trainer(feed_prepared(), tiny_config(weighting="gradnorm", epochs=2))
    start = trainer.weighting.weights().detach().clone()
    trainer.fit()
    assert not torch.allclose(trainer.weighting.weights(), start)
    assert torch.isfinite(trainer.weighting.initial_losses).all()
