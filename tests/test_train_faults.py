"""Training faults (mtl.train.faults): a diverging run stops with a message naming the
step, the task and a likely cause, keeps the best model so far if there is one, and
is reported by the library, the CLI (exit 2, one error line, JSON) and the result."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from _fixtures import feed_frame, feed_prepared, run_cli, tiny_config

from mtl import tasks as tasks_module
from mtl.cli import _valid_score
from mtl.errors import MTLError
from mtl.tasks import TaskSpec
from mtl.train import Done, Evaluation, TrainConfig, TrainedModel, Trainer
from mtl.train import trainer as trainer_module
from mtl.train.faults import (
    EXPLODE_FACTOR,
    WINDOW,
    DivergenceMonitor,
    TrainingDiverged,
    likely_cause,
    no_skill_losses,
)

STEPS_PER_EPOCH = 13  # the tiny feed's 3,200 training rows in batches of 256

DEFAULT_LR = TrainConfig.__dataclass_fields__["lr"].default


def _nan_after(monkeypatch, step: int, task: int = 1) -> None:
    """Make ``task``'s training loss NaN from the ``step``-th training batch on
    (validation passes, which run without gradients, are left alone)."""
    calls = {"n": 0}

    def losses(specs, outputs, targets):
        value = tasks_module.task_losses(specs, outputs, targets)
        if torch.is_grad_enabled():
            calls["n"] += 1
            if calls["n"] >= step:
                return value * torch.tensor([math.nan if j == task else 1.0 for j in range(len(specs))])
        return value

    monkeypatch.setattr(trainer_module, "task_losses", losses)


# ------------------------------------------------------------ real divergence
def test_a_huge_learning_rate_is_caught_not_reported_as_auc_half():
    """Unpatched: lr 5 used to "train" to AUC 0.5000 every epoch. Now the loss
    explosion stops it within a few batches, naming step, task and the learning rate."""
    with pytest.raises(TrainingDiverged) as info:
        Trainer(feed_prepared(), tiny_config(epochs=5, lr=5.0)).fit()
    err = info.value
    assert isinstance(err, MTLError)
    fault = err.fault
    assert fault.kind == "exploding loss" and fault.step <= 5 and fault.task in ("click", "like")
    assert fault.kept_epoch is None and err.history == []
    msg = str(err)
    assert "\n" not in msg
    assert msg.startswith(f"Training diverged at step {fault.step} (epoch ")
    assert f"the {fault.task} loss exploded" in msg
    assert f"learning rate (5) is probably too high: try 0.5 (the default is {DEFAULT_LR:g})" in msg
    assert "No model was kept" in msg


def test_collapsed_predictions_are_caught_at_the_first_evaluation():
    """lr 0.3 does not blow the loss up on the tiny feed but kills the network: every
    validation row gets the same click probability. Caught at the evaluation."""
    with pytest.raises(TrainingDiverged) as info:
        Trainer(feed_prepared(), tiny_config(epochs=3, lr=0.3)).fit()
    fault = info.value.fault
    assert fault.kind == "constant predictions" and fault.step == STEPS_PER_EPOCH and fault.epoch == 1
    assert "the same prediction of click" in fault.message and "collapsed" in fault.message


def test_healthy_runs_have_no_fault():
    result = Trainer(feed_prepared(), tiny_config(epochs=2)).fit()
    assert result.fault is None and result.reason in ("completed", "early stopping")
    assert result.to_json()["fault"] is None


# ------------------------------------------------ the best model so far is kept
def test_non_finite_loss_after_an_evaluation_keeps_the_best_model(monkeypatch):
    _nan_after(monkeypatch, STEPS_PER_EPOCH + 3)  # the third batch of epoch 2
    trainer = Trainer(feed_prepared(), tiny_config(epochs=4))
    events = list(trainer.run())
    done = events[-1]
    assert isinstance(done, Done) and done.result.reason == "diverged" and not done.result.stopped
    result = done.result
    assert [e.epoch for e in events if isinstance(e, Evaluation)] == [1.0]
    fault = result.fault
    assert fault["kind"] == "non-finite loss" and fault["task"] == "like"
    assert fault["step"] == STEPS_PER_EPOCH + 3 and fault["kept_epoch"] == 1.0
    assert fault["message"].startswith(f"Training diverged at step {STEPS_PER_EPOCH + 3} (epoch 1.23): "
                                       "the like loss became nan on a training batch. Likely cause: the learning rate")
    assert fault["message"].endswith("The best model so far (epoch 1) was kept and evaluated.")
    # The kept model is the epoch-1 one, whole and finite; its test metrics are real.
    assert result.best_epoch == 1.0 and result.epochs_run == 1.0
    for v in result.trained.model.state_dict().values():
        assert torch.isfinite(v).all()
    assert 0.5 < result.test["click"]["auc"] <= 1
    assert result.to_json()["fault"] == fault and result.to_json()["reason"] == "diverged"


def test_non_finite_loss_before_any_evaluation_raises(monkeypatch):
    _nan_after(monkeypatch, 3, task=0)
    with pytest.raises(TrainingDiverged) as info:
        Trainer(feed_prepared(), tiny_config(epochs=2)).fit()
    fault = info.value.fault
    assert (fault.kind, fault.step, fault.task) == ("non-finite loss", 3, "click")


# ------------------------------------------------------------- the monitor
def _monitor(tasks, y, lr=0.01, x_cat=None, x_num=None, names=()):
    x_cat = torch.arange(40).reshape(-1, 1) if x_cat is None else x_cat
    x_num = torch.zeros(len(x_cat), 0) if x_num is None else x_num
    return DivergenceMonitor(tasks, y, (x_cat, x_num), lr, list(names))


BIN = TaskSpec("click", "binary")
REG = TaskSpec("watch", "regression", mean=10.0, std=2.0)


def test_no_skill_losses():
    y = torch.tensor([[1.0, 0.5, 0.0], [0.0, -0.5, 1.0], [0.0, math.nan, 2.0], [0.0, math.nan, 2.0]])
    multi = TaskSpec("mood", "multiclass", classes=("a", "b", "c"))
    ref = no_skill_losses([BIN, REG, multi], y)
    assert ref[0] == pytest.approx(-(0.25 * math.log(0.25) + 0.75 * math.log(0.75)))
    assert ref[1] == pytest.approx(0.25)
    assert ref[2] == pytest.approx(-(0.25 * math.log(0.25) * 2 + 0.5 * math.log(0.5)))


def test_one_outlying_batch_is_averaged_away_but_a_sustained_explosion_is_not():
    m = _monitor([BIN], torch.tensor([[0.0], [1.0]]))
    labels, numbers = torch.zeros(4, 1), torch.zeros(4, 0)
    for step in range(1, WINDOW):
        assert m.check_batch(torch.tensor([0.6], dtype=torch.float64), step, 0.1, labels, numbers) is None
    spike = EXPLODE_FACTOR * 5  # one batch: mean of the window stays under the limit
    assert m.check_batch(torch.tensor([spike], dtype=torch.float64), WINDOW, 0.5, labels, numbers) is None
    fault = None
    for step in range(WINDOW + 1, 2 * WINDOW):
        fault = fault or m.check_batch(torch.tensor([spike], dtype=torch.float64), step, 0.9, labels, numbers)
    assert fault is not None and fault.kind == "exploding loss" and fault.task == "click"


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_non_finite_loss_is_caught_on_its_batch(value):
    m = _monitor([BIN, REG], torch.tensor([[0.0, 0.1], [1.0, -0.1]]))
    fault = m.check_batch(torch.tensor([0.5, value], dtype=torch.float64), 7, 0.35, torch.zeros(4, 2),
                          torch.zeros(4, 0))
    assert (fault.kind, fault.step, fault.task) == ("non-finite loss", 7, "watch")
    assert f"the watch loss became {value}" in fault.message


def test_collapsed_and_non_finite_predictions():
    m = _monitor([BIN], torch.tensor([[0.0], [1.0]]))
    rng = np.random.default_rng(0)
    assert m.check_predictions([rng.random(40)], 5, 1.0) is None
    fault = m.check_predictions([np.full(40, 0.25, dtype=np.float32)], 5, 1.0)
    assert fault.kind == "constant predictions" and "the same prediction of click (0.25)" in fault.message
    two = m.check_predictions([np.where(np.arange(40) % 2, 0.0, 1.0)], 5, 1.0)
    assert "only 2 different predictions of click (0, 1)" in two.message
    bad = m.check_predictions([np.r_[rng.random(39), np.nan]], 5, 1.0)
    assert bad.kind == "non-finite predictions" and "not finite on 1 of 40 validation values" in bad.message


def test_constant_predictions_are_fine_when_the_inputs_are_constant():
    m = _monitor([BIN], torch.tensor([[0.0], [1.0]]), x_cat=torch.ones(40, 2, dtype=torch.long))
    assert m.check_predictions([np.full(40, 0.25)], 5, 1.0) is None


def test_multiclass_collapse_compares_whole_rows():
    multi = TaskSpec("mood", "multiclass", classes=("a", "b", "c"))
    m = _monitor([multi], torch.tensor([[0.0], [2.0]]))
    varied = np.random.default_rng(1).dirichlet(np.ones(3), size=40)
    assert m.check_predictions([varied], 5, 1.0) is None
    assert m.check_predictions([np.tile([0.2, 0.3, 0.5], (40, 1))], 5, 1.0).kind == "constant predictions"


# ------------------------------------------------------------ likely causes
def test_likely_cause_names_an_extreme_regression_label():
    huge = TaskSpec("watch", "regression", mean=1e35, std=3e36)
    assert likely_cause(huge, 0.002).startswith("an extreme label: 'watch' has values too large to compute with")
    batch = torch.tensor([0.1, math.nan, -250.0])
    cause = likely_cause(REG, 0.002, batch)
    assert "a 'watch' value 250 standard deviations from its mean (about -490)" in cause


def test_likely_cause_names_an_extreme_feature_else_the_learning_rate():
    numbers = torch.tensor([[0.1, 3.0], [0.2, 4e6]])
    assert "numeric feature 'age' (4e+06 standard deviations)" in likely_cause(BIN, 0.002, None, numbers, ["x", "age"])
    assert likely_cause(BIN, 0.002, None, torch.zeros(2, 2), ["x", "age"]) == (
        "the learning rate (0.002) is probably too high: try 0.0002")
    assert likely_cause(BIN, 0.5) == (
        f"the learning rate (0.5) is probably too high: try 0.05 (the default is {DEFAULT_LR:g})")


# ---------------------------------------------------------------------- CLI
_main = run_cli  # (exit status, stdout, stderr) of the CLI in process


@pytest.fixture(scope="module")
def feed_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("faults") / "feed.csv"
    feed_frame().to_csv(path, index=False)
    return path


TRAIN = ["--tasks", "click,like", "--emb-dim", 4, "--hidden", "16", "--batch-size", 256, "--device", "cpu", "--quiet"]


def test_cli_lr_9_9_exits_2_with_one_error_line_and_writes_the_json(feed_csv, tmp_path):
    json_path, model_dir = tmp_path / "run.json", tmp_path / "model"
    code, out, err = _main(["train", "--data", feed_csv, *TRAIN, "--lr", 9.9, "--epochs", 3, "--json", json_path,
                            "--save", model_dir])
    assert code == 2 and "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: Training diverged at step "), err
    assert "learning rate (9.9) is probably too high" in lines[0] and "No model was kept" in lines[0]
    doc = json.loads(json_path.read_text())
    assert doc["reason"] == "diverged" and doc["fault"]["kind"] in ("exploding loss", "non-finite loss")
    assert doc["fault"]["message"] == lines[0][len("error: "):]
    assert doc["test"] == {} and doc["config"]["lr"] == 9.9
    assert not model_dir.exists()  # nothing kept, nothing saved
    assert out == ""


def test_cli_keeps_reports_and_saves_the_best_model_then_exits_2(feed_csv, tmp_path, monkeypatch):
    _nan_after(monkeypatch, STEPS_PER_EPOCH + 3)
    json_path, model_dir = tmp_path / "run.json", tmp_path / "model"
    code, out, err = _main(["train", "--data", feed_csv, *TRAIN, "--lr", 0.005, "--epochs", 3,
                            "--json", json_path, "--save", model_dir])
    assert code == 2
    errors = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and "Training diverged at step 16" in errors[0] and "(epoch 1) was kept" in errors[0]
    assert "(diverged)" in out and "click" in out and f"saved model to {model_dir}" in out
    doc = json.loads(json_path.read_text())
    assert doc["reason"] == "diverged" and doc["fault"]["kept_epoch"] == 1.0
    assert 0.5 < doc["test"]["click"]["auc"] <= 1
    assert TrainedModel.load(model_dir).task_names == ["click", "like"]


def test_epoch_line_says_when_the_auc_is_undefined():
    binary, reg = TaskSpec("click", "binary"), TaskSpec("watch", "regression")
    no_auc = {"n": 100_000, "positive_rate": 0.0, "auc": math.nan, "accuracy": 1.0}
    assert _valid_score(binary, no_auc) == "n/a (0 positives in 100,000 rows)"
    one = {"n": 100_000, "positive_rate": 1.0, "accuracy": 1.0}
    assert _valid_score(binary, one) == "n/a (100,000 positives in 100,000 rows)"
    assert _valid_score(binary, {"n": 0, "positive_rate": math.nan}) == "n/a (no labelled rows)"
    assert _valid_score(binary, {"n": 10, "auc": 0.71234, "accuracy": 0.9}) == "0.7123"
    assert _valid_score(reg, {"n": 10, "rmse": 1.5}) == "1.5000"
