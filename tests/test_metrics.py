"""Per-task metrics (mtl.metrics) and task losses / predictions (mtl.tasks)."""

from __future__ import annotations

import math

import _fixtures  # noqa: F401  (one torch thread per test worker)
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn import metrics as skm

from mtl.metrics import (
    binary_metrics,
    gauc,
    higher_is_better,
    multiclass_metrics,
    regression_metrics,
    relative_gain,
    selection_score,
    task_metrics,
)
from mtl.tasks import TaskSpec, predict, task_loss, task_losses

BIN = TaskSpec("click", "binary")
REG = TaskSpec("rating", "regression", mean=3.0, std=2.0)
MC = TaskSpec("mood", "multiclass", classes=("a", "b", "c"))


@pytest.fixture()
def rng():
    return np.random.default_rng(0)


# ------------------------------------------------------------------ binary
def test_binary_metrics_match_sklearn(rng):
    y = rng.integers(0, 2, 300).astype(float)
    p = np.clip(0.3 * y + 0.7 * rng.random(300), 0.01, 0.99)
    m = binary_metrics(y, p)
    assert m["n"] == 300
    assert m["positive_rate"] == pytest.approx(y.mean())
    assert m["auc"] == pytest.approx(skm.roc_auc_score(y, p))
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, p >= 0.5))
    assert m["logloss"] == pytest.approx(skm.log_loss(y, p))
    assert m["f1"] == pytest.approx(skm.f1_score(y, p >= 0.5))
    assert "gauc" not in m  # only with groups


def test_binary_threshold_changes_accuracy_and_f1():
    y = np.array([0, 0, 1, 1.0])
    p = np.array([0.1, 0.4, 0.45, 0.9])
    assert binary_metrics(y, p)["accuracy"] == pytest.approx(0.75)
    assert binary_metrics(y, p, threshold=0.42)["accuracy"] == pytest.approx(1.0)


def test_binary_nan_labels_are_masked(rng):
    y = rng.integers(0, 2, 200).astype(float)
    p = rng.random(200)
    y_missing = y.copy()
    drop = rng.random(200) < 0.3
    y_missing[drop] = np.nan
    m = binary_metrics(y_missing, p)
    keep = ~drop
    assert m["n"] == int(keep.sum()) < 200
    assert m["auc"] == pytest.approx(skm.roc_auc_score(y[keep], p[keep]))
    assert m["logloss"] == pytest.approx(skm.log_loss(y[keep], p[keep]))
    assert m["positive_rate"] == pytest.approx(y[keep].mean())


def test_binary_all_missing_gives_only_counts():
    m = binary_metrics([np.nan, np.nan], [0.2, 0.3])
    assert m["n"] == 0
    assert math.isnan(m["positive_rate"])
    assert "auc" not in m


def test_binary_auc_nan_with_one_class():
    m = binary_metrics([1, 1, 1, np.nan, 1], [0.2, 0.9, 0.4, 0.1, 0.5])
    assert m["n"] == 4
    assert math.isnan(m["auc"])
    # The other metrics are still defined.
    assert m["accuracy"] == pytest.approx(0.5)
    assert np.isfinite(m["logloss"])


def test_binary_probabilities_are_clipped_for_logloss():
    m = binary_metrics([0, 1], [0.0, 1.0])
    assert np.isfinite(m["logloss"]) and m["logloss"] < 1e-5
    m = binary_metrics([1, 0], [0.0, 1.0])
    assert np.isfinite(m["logloss"]) and m["logloss"] > 10


# -------------------------------------------------------------------- GAUC
def _gauc_reference(y, s, groups):
    total = weight = 0.0
    for g in np.unique(groups):
        sel = groups == g
        yy = y[sel]
        if 0 < yy.sum() < len(yy):
            total += skm.roc_auc_score(yy, s[sel]) * sel.sum()
            weight += sel.sum()
    return total / weight


def test_gauc_equals_row_weighted_per_user_auc(rng):
    n = 600
    groups = rng.integers(0, 25, n).astype(str)
    y = (rng.random(n) < 0.3).astype(int)
    s = 0.5 * y + rng.random(n)
    # One user with a single class (skipped) and one with a single row.
    groups[:12] = "only-negatives"
    y[:12] = 0
    groups[12] = "single-row"
    got = gauc(y, s, groups)
    assert got == pytest.approx(_gauc_reference(y, s, groups))
    # Not simply the global AUC (the grouping matters).
    assert got != pytest.approx(skm.roc_auc_score(y, s), abs=1e-9)


def test_gauc_weights_by_rows_not_users():
    # user a: 4 rows, AUC 1; user b: 2 rows, AUC 0 -> (4*1 + 2*0) / 6
    groups = np.array(["a", "a", "a", "a", "b", "b"])
    y = np.array([0, 0, 1, 1, 0, 1])
    s = np.array([0.1, 0.2, 0.8, 0.9, 0.9, 0.1])
    assert gauc(y, s, groups) == pytest.approx(4 / 6)


def test_gauc_nan_when_no_user_has_both_classes():
    assert math.isnan(gauc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.4]), np.array([1, 1, 2, 2])))


def test_binary_metrics_gauc_uses_only_labelled_rows(rng):
    n = 400
    groups = rng.integers(0, 10, n)
    y = (rng.random(n) < 0.4).astype(float)
    p = rng.random(n)
    y[::7] = np.nan
    keep = ~np.isnan(y)
    m = binary_metrics(y, p, groups=groups)
    assert m["gauc"] == pytest.approx(_gauc_reference(y[keep].astype(int), p[keep], groups[keep]))
    assert task_metrics(BIN, y, p, groups)["gauc"] == pytest.approx(m["gauc"])


# -------------------------------------------------------------- regression
def test_regression_metrics(rng):
    y = rng.normal(3, 1, 100)
    p = y + rng.normal(0, 0.5, 100)
    y_m = y.copy()
    y_m[:10] = np.nan
    m = regression_metrics(y_m, p)
    assert m["n"] == 90
    assert m["rmse"] == pytest.approx(np.sqrt(np.mean((y[10:] - p[10:]) ** 2)))
    assert m["mae"] == pytest.approx(np.mean(np.abs(y[10:] - p[10:])))
    assert m["r2"] == pytest.approx(skm.r2_score(y[10:], p[10:]))
    assert task_metrics(REG, y_m, p) == m


def test_regression_edge_cases():
    assert regression_metrics([np.nan], [1.0]) == {"n": 0}
    one = regression_metrics([2.0], [1.5])
    assert one["rmse"] == pytest.approx(0.5) and math.isnan(one["r2"])


# -------------------------------------------------------------- multiclass
def test_multiclass_metrics(rng):
    n = 150
    y = rng.integers(0, 3, n).astype(float)
    logits = rng.normal(size=(n, 3))
    logits[np.arange(n), y.astype(int)] += 1.0
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y[:5] = np.nan
    m = multiclass_metrics(y, p)
    yy, pp = y[5:].astype(int), p[5:]
    assert m["n"] == n - 5
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(yy, pp.argmax(1)))
    assert m["macro_f1"] == pytest.approx(skm.f1_score(yy, pp.argmax(1), average="macro"))
    assert m["logloss"] == pytest.approx(skm.log_loss(yy, pp, labels=[0, 1, 2]))
    assert task_metrics(MC, y, p)["accuracy"] == m["accuracy"]


def test_multiclass_float32_softmax_raises_no_warning():
    # Model outputs are float32 softmax rows: they should be scored silently.
    import warnings

    probs = torch.softmax(torch.randn(64, 3, generator=torch.Generator().manual_seed(0)), dim=-1).numpy()
    y = np.arange(64) % 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = multiclass_metrics(y.astype(float), probs)
    assert np.isfinite(m["logloss"])


# ------------------------------------------------- selection and gain helpers
def test_higher_is_better():
    for m in ("auc", "gauc", "accuracy", "f1", "macro_f1", "r2"):
        assert higher_is_better(m)
    for m in ("rmse", "mae", "logloss"):
        assert not higher_is_better(m)


def test_relative_gain_signs():
    assert relative_gain(0.8, 0.5, "auc") == pytest.approx(60.0)
    assert relative_gain(0.4, 0.5, "auc") == pytest.approx(-20.0)
    # Lower is better: a smaller RMSE / logloss is a positive gain.
    assert relative_gain(0.8, 1.0, "rmse") == pytest.approx(20.0)
    assert relative_gain(1.2, 1.0, "rmse") == pytest.approx(-20.0)
    assert relative_gain(0.3, 0.6, "logloss") == pytest.approx(50.0)
    # Negative baselines use |baseline|.
    assert relative_gain(-0.5, -1.0, "r2") == pytest.approx(50.0)
    for args in ((0.5, 0.0, "auc"), (math.nan, 0.5, "auc"), (0.5, math.nan, "rmse")):
        assert math.isnan(relative_gain(*args))


def test_selection_score():
    assert selection_score(BIN, {"auc": 0.7, "accuracy": 0.9}) == 0.7
    assert selection_score(MC, {"accuracy": 0.4, "macro_f1": 0.2}) == 0.4
    assert selection_score(REG, {"rmse": 2.0, "r2": 0.3}) == 0.3
    assert selection_score(BIN, {"auc": math.nan}) == 0.0
    assert selection_score(BIN, {"auc": None}) == 0.0
    assert selection_score(REG, {"n": 0}) == 0.0


# --------------------------------------------------------------- mtl.tasks
def test_task_spec_properties_and_round_trip():
    assert BIN.output_dim == 1 and REG.output_dim == 1 and MC.output_dim == 3
    assert (BIN.primary_metric, REG.primary_metric, MC.primary_metric) == ("auc", "rmse", "accuracy")
    for spec in (BIN, REG, MC):
        assert TaskSpec.from_dict(spec.to_dict()) == spec


def test_task_loss_masks_missing_labels():
    out = torch.tensor([0.5, -1.0, 2.0, 0.0])
    y = torch.tensor([1.0, float("nan"), 0.0, float("nan")])
    got = task_loss(BIN, out, y)
    want = F.binary_cross_entropy_with_logits(out[[0, 2]], y[[0, 2]])
    assert torch.isfinite(got) and torch.allclose(got, want)

    got = task_loss(REG, out, torch.tensor([0.0, 1.0, float("nan"), 3.0]))
    assert torch.allclose(got, ((out[[0, 1, 3]] - torch.tensor([0.0, 1.0, 3.0])) ** 2).mean())

    logits = torch.randn(4, 3)
    y = torch.tensor([2.0, float("nan"), 0.0, 1.0])
    assert torch.allclose(task_loss(MC, logits, y), F.cross_entropy(logits[[0, 2, 3]], torch.tensor([2, 0, 1])))


@pytest.mark.parametrize("spec,shape", [(BIN, (5,)), (REG, (5,)), (MC, (5, 3))])
def test_task_loss_all_missing_is_zero_with_gradient(spec, shape):
    out = torch.randn(*shape, requires_grad=True)
    loss = task_loss(spec, out, torch.full((5,), float("nan")))
    assert loss.item() == 0.0
    assert loss.requires_grad
    loss.backward()
    assert out.grad is not None and torch.equal(out.grad, torch.zeros(shape))


@pytest.mark.parametrize("specs", [(BIN, BIN), (REG, REG), (BIN, REG, BIN), (BIN, MC)])
def test_task_losses_equal_each_task_loss(specs):
    """The batched losses of a training step are each task's own loss, values and
    gradients, with missing labels and a task without any labelled row."""
    torch.manual_seed(0)
    outputs = [torch.randn(8, s.output_dim).squeeze(-1).requires_grad_() for s in specs]
    y = torch.stack([torch.randint(0, s.output_dim if s.kind == "multiclass" else 2, (8,)).float() for s in specs], 1)
    y[::3, 0] = float("nan")
    y[:, -1] = float("nan")
    got = task_losses(list(specs), outputs, y)
    want = torch.stack([task_loss(s, o, y[:, j]) for j, (s, o) in enumerate(zip(specs, outputs))])
    assert got.shape == (len(specs),) and torch.allclose(got, want) and got[-1] == 0
    for g, w in zip(torch.autograd.grad(got @ torch.arange(1.0, len(specs) + 1), outputs),
                    torch.autograd.grad(want @ torch.arange(1.0, len(specs) + 1), outputs)):
        assert torch.allclose(g, w)


def test_predict_scales():
    out = torch.tensor([-2.0, 0.0, 3.0])
    assert torch.allclose(predict(BIN, out), torch.sigmoid(out))
    assert predict(BIN, torch.tensor([0.0])).item() == pytest.approx(0.5)
    # Regression heads predict the standardized target: de-standardize.
    assert torch.allclose(predict(REG, out), torch.tensor([-1.0, 3.0, 9.0]))
    logits = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    probs = predict(MC, logits)
    assert probs.shape == (2, 3)
    assert torch.allclose(probs.sum(1), torch.ones(2))
    assert torch.allclose(probs[0], torch.full((3,), 1 / 3))
    assert torch.allclose(probs, torch.softmax(logits, dim=-1))
