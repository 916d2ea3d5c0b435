"""Task weighting (mtl.weighting): preferences, static, uncertainty, DWA, registry."""

from __future__ import annotations

import math

import pytest
import torch
from _fixtures import feed_prepared, tiny_config

import mtl.weighting as weighting
from mtl.errors import ConfigError
from mtl.tasks import TaskSpec
from mtl.train import Evaluation, Trainer
from mtl.weighting import (
    Weighting,
    as_preference,
    available_weightings,
    build_weighting,
    check_preference,
    preference_shares,
    register,
)
from mtl.weighting.dwa import TEMPERATURE

TWO = [TaskSpec("click", "binary"), TaskSpec("like", "binary")]
THREE = TWO + [TaskSpec("rating", "regression", mean=3.0, std=1.0)]


# ------------------------------------------------------------- preferences
def test_preference_shares_sum_to_one():
    assert preference_shares({"a": 1, "b": 1, "c": 2}, ["a", "b", "c"]) == {"a": 0.25, "b": 0.25, "c": 0.5}
    # Only ratios matter, and the mapping's order does not.
    assert preference_shares({"b": 1, "a": 2}, ["a", "b"]) == preference_shares({"a": 1, "b": 0.5}, ["a", "b"])
    # A zero weight is allowed when another is positive.
    assert preference_shares({"a": 0, "b": 3}, ["a", "b"]) == {"a": 0.0, "b": 1.0}


def test_preference_shares_equal_when_none():
    assert preference_shares(None, ["a", "b", "c", "d"]) == dict.fromkeys("abcd", 0.25)


def test_a_list_is_read_in_task_order():
    assert as_preference([1, 2], ["click", "like"]) == {"click": 1.0, "like": 2.0}
    assert as_preference(None, ["click"]) is None
    with pytest.raises(ConfigError, match="2 task weights for 3 tasks"):
        as_preference([1, 2], ["a", "b", "c"])


@pytest.mark.parametrize(
    "preference,match",
    [({"a": 1, "b": 2}, "missing: c"), ({"a": 1, "b": 2, "c": 3, "d": 1}, "'d', which is not a task"),
     ({"a": 1, "b": -1, "c": 1}, "'b' must be a finite number >= 0"),
     ({"a": 1, "b": float("nan"), "c": 1}, "'b' must be a finite number"),
     ({"a": float("inf"), "b": 1, "c": 1}, "'a' must be a finite number"),
     ({"a": 0, "b": 0, "c": 0}, "above zero"), ([1, 2, 3], "mapping")],
)
def test_preference_errors(preference, match):
    with pytest.raises(ConfigError, match=match):
        check_preference(preference, ["a", "b", "c"])
    with pytest.raises(ConfigError, match=match):
        tiny_config(tasks=["a", "b", "c"], preference=preference).validate()


def test_build_weighting_validates_the_preference():
    with pytest.raises(ConfigError):
        build_weighting("static", TWO, {"click": 1, "like": 2, "rating": 3})
    with pytest.raises(ConfigError):
        build_weighting("dwa", TWO, {"click": 0, "like": 0})


# ------------------------------------------------------------------ static
def test_static_loss_is_weighted_sum():
    w = build_weighting("static", THREE, [1, 1, 2])
    losses = torch.tensor([0.4, 1.0, 2.0], requires_grad=True)
    got = w.loss(losses)
    assert got.item() == pytest.approx(0.25 * 0.4 + 0.25 * 1.0 + 0.5 * 2.0)
    assert torch.allclose(w.applied_weights(), torch.tensor([0.25, 0.25, 0.5]))
    got.backward()
    assert torch.allclose(losses.grad, torch.tensor([0.25, 0.25, 0.5]))
    assert list(w.parameters()) == []  # nothing to learn


def test_default_backward_fills_grads():
    w = build_weighting("static", TWO, [3, 1])
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    losses = torch.stack([x[0] ** 2, x[1] ** 2])
    w.backward(losses, None)
    assert torch.allclose(x.grad, torch.tensor([0.75 * 2 * 1.0, 0.25 * 2 * 2.0]))


# ------------------------------------------------------------- uncertainty
def test_uncertainty_initial_loss_matches_formula():
    w = build_weighting("uncertainty", THREE, [1, 1, 2])
    assert isinstance(w.log_vars, torch.nn.Parameter) and w.log_vars.shape == (3,)
    with torch.no_grad():
        w.log_vars.copy_(torch.tensor([0.0, 0.5, -0.3]))
    losses = torch.tensor([0.7, 0.2, 1.5])
    p = torch.tensor([0.25, 0.25, 0.5]) * 3
    c = torch.tensor([1.0, 1.0, 0.5])  # regression gets 1/2
    s = w.log_vars.detach()
    want = (p * (c * torch.exp(-s) * losses + 0.5 * s)).sum()
    assert w.loss(losses).item() == pytest.approx(want.item(), rel=1e-6)
    eff = (p * c * torch.exp(-s)) / (p * c * torch.exp(-s)).sum()
    assert torch.allclose(w.applied_weights(), eff)


def test_uncertainty_log_vars_learn_and_downweight_the_noisier_task():
    """Toy problem: two regression targets of the same inputs, one far noisier. The
    learned variance of the noisy task grows and its applied weight shrinks."""
    g = torch.Generator().manual_seed(0)
    n = 512
    x = torch.randn(n, 4, generator=g)
    coef = torch.tensor([1.0, -2.0, 0.5, 1.5])
    y_clean = x @ coef + 0.1 * torch.randn(n, generator=g)
    y_noisy = x @ coef.flip(0) + 2.0 * torch.randn(n, generator=g)
    tasks = [TaskSpec("clean", "regression"), TaskSpec("noisy", "regression")]
    w = build_weighting("uncertainty", tasks)
    torch.manual_seed(0)
    heads = torch.nn.Linear(4, 2)
    opt = torch.optim.Adam(list(heads.parameters()) + list(w.parameters()), lr=0.1)
    before = w.log_vars.detach().clone()
    for _ in range(120):
        out = heads(x)
        losses = torch.stack([((out[:, 0] - y_clean) ** 2).mean(), ((out[:, 1] - y_noisy) ** 2).mean()])
        opt.zero_grad()
        w.backward(losses, None)
        opt.step()
    after = w.log_vars.detach()
    assert not torch.equal(before, after)       # learnable and learned
    assert after[1] > after[0] + 1.0            # the noisy task has the larger variance
    eff = w.applied_weights()
    assert eff[0] > 0.9 and eff[1] < 0.1
    assert eff.sum().item() == pytest.approx(1.0, abs=1e-5)
    # At the optimum c*exp(-s) = 1 / (2 L): the variance tracks the loss.
    assert math.exp(after[1].item()) == pytest.approx(losses[1].item(), rel=0.25)


def test_uncertainty_preference_scales_the_tasks():
    equal = build_weighting("uncertainty", TWO)
    skewed = build_weighting("uncertainty", TWO, [3, 1])
    losses = torch.tensor([1.0, 1.0])
    equal.loss(losses), skewed.loss(losses)
    assert torch.allclose(equal.applied_weights(), torch.tensor([0.5, 0.5]))
    assert torch.allclose(skewed.applied_weights(), torch.tensor([0.75, 0.25]))


# --------------------------------------------------------------------- DWA
def test_dwa_keeps_preference_for_two_epochs_then_favours_the_slow_task():
    pref = [2, 1, 1]
    w = build_weighting("dwa", THREE, pref)
    p = torch.tensor([0.5, 0.25, 0.25])
    losses = torch.tensor([1.0, 1.0, 1.0])
    assert w.loss(losses).item() == pytest.approx(1.0)
    assert torch.allclose(w.applied_weights(), p)
    w.epoch_end(torch.tensor([1.0, 1.0, 1.0]))            # after epoch 1: unchanged
    w.loss(losses)
    assert torch.allclose(w.applied_weights(), p)
    # Epoch 2: task 0 halved its loss, task 1 fell by 10%, task 2 rose.
    w.epoch_end(torch.tensor([0.5, 0.9, 1.2]))
    w.loss(losses)
    eff = w.applied_weights()
    ratio = torch.tensor([0.5, 0.9, 1.2])
    want = p * torch.softmax(ratio / TEMPERATURE, dim=0)
    assert torch.allclose(eff, want / want.sum())
    assert eff.sum().item() == pytest.approx(1.0, abs=1e-6)
    # Relative to the preference, the task whose loss fell least gains most.
    rel = eff / p
    assert rel[2] > rel[1] > rel[0]
    # The next epoch uses only the last two epochs' losses.
    w.epoch_end(torch.tensor([0.5, 0.45, 1.2]))
    w.loss(losses)
    rel = w.applied_weights() / p
    assert rel[0] > rel[1] and rel[2] > rel[1]


def test_dwa_equal_preference_and_equal_progress_gives_equal_weights():
    w = build_weighting("dwa", TWO)
    w.epoch_end(torch.tensor([1.0, 2.0]))
    w.epoch_end(torch.tensor([0.5, 1.0]))   # both halved
    w.loss(torch.tensor([1.0, 1.0]))
    assert torch.allclose(w.applied_weights(), torch.tensor([0.5, 0.5]))


# ---------------------------------------------------------------- registry
def test_registry_lists_builtins():
    methods = available_weightings()
    assert {"static", "uncertainty", "dwa"} <= set(methods)
    assert all(isinstance(v, str) and v for v in methods.values())


def test_unknown_weighting_is_a_config_error_listing_choices():
    with pytest.raises(ConfigError) as err:
        build_weighting("gradnorm-typo", TWO)
    for name in ("static", "uncertainty", "dwa"):
        assert name in str(err.value)


def test_register_requires_a_name():
    with pytest.raises(ValueError):
        register(type("Nameless", (Weighting,), {}))


def test_custom_weighting_plugs_into_the_trainer():
    """A method defined outside the library, registered by name, is trained with by the
    unchanged Trainer; its backward() sees the losses and the shared features."""
    calls = {"backward": 0, "epoch_end": 0, "features": None}

    class FirstTaskOnly(Weighting):
        name = "test_first_task_only"
        description = "test-only: trains the first task, reports fixed weights"

        def backward(self, losses, output):
            calls["backward"] += 1
            calls["features"] = len(output.features)
            self._last_weights = torch.tensor([1.0, 0.0])
            losses[0].backward()

        def epoch_end(self, epoch_losses):
            calls["epoch_end"] += 1

    assert FirstTaskOnly.name not in available_weightings()
    try:
        register(FirstTaskOnly)
        assert FirstTaskOnly.name in available_weightings()
        prepared = feed_prepared()
        trainer = Trainer(prepared, tiny_config(weighting=FirstTaskOnly.name))
        assert isinstance(trainer.weighting, FirstTaskOnly)
        like_head_before = [p.detach().clone() for p in trainer.model.towers[1].parameters()]
        click_head_before = [p.detach().clone() for p in trainer.model.towers[0].parameters()]
        events = list(trainer.run())
        steps = math.ceil(len(prepared.train) / tiny_config().batch_size)
        assert calls["backward"] == steps
        assert calls["epoch_end"] == 1
        assert calls["features"] >= 1
        evals = [e for e in events if isinstance(e, Evaluation)]
        assert evals and evals[-1].applied_weights == {"click": 1.0, "like": 0.0}
        # Only the first task was trained: the second tower never moved.
        like_after = list(trainer.model.towers[1].parameters())
        assert all(torch.equal(a, b) for a, b in zip(like_head_before, like_after))
        click_after = list(trainer.model.towers[0].parameters())
        assert not all(torch.equal(a, b) for a, b in zip(click_head_before, click_after))
        assert events[-1].result.config.weighting == FirstTaskOnly.name
    finally:
        weighting._REGISTRY.pop(FirstTaskOnly.name, None)
    assert FirstTaskOnly.name not in available_weightings()
