"""The training loop (mtl.train): events, learning, determinism, stopping, results,
save / load, devices and config validation."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
import torch
from _fixtures import (
    FEED_TASKS,
    MIXED_TASKS,
    feed_data,
    feed_prepared,
    mixed_frame,
    mixed_prepared,
    tiny_config,
    trained_feed,
)

from mtl.errors import ConfigError, ModelFileError
from mtl.train import (
    Done,
    Evaluation,
    Progress,
    TrainConfig,
    TrainedModel,
    Trainer,
    TrainResult,
    available_devices,
    resolve_device,
)


# ------------------------------------------------------------------ events
def test_events_progress_evaluations_then_one_done_last():
    events, _, result = trained_feed()
    kinds = [type(e) for e in events]
    assert kinds.count(Done) == 1 and kinds[-1] is Done
    assert Progress in kinds and Evaluation in kinds
    done = events[-1]
    assert done.result is result and result.reason == "completed" and result.stopped is False
    for p in (e for e in events if isinstance(e, Progress)):
        assert 1 <= p.epoch <= 3 and p.epochs == 3
        assert 1 <= p.step <= p.steps_per_epoch
        assert 0 < p.fraction <= 1
        assert set(p.train_losses) == set(FEED_TASKS)
    # Progress is throttled in time, but every epoch's last batch reports.
    ends = [(e.epoch, e.step) for e in events if isinstance(e, Progress) and e.step == e.steps_per_epoch]
    assert [ep for ep, _ in ends] == [1, 2, 3]
    fractions = [e.fraction for e in events if isinstance(e, Progress)]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)


def test_two_evaluations_per_epoch():
    events, trainer, result = trained_feed()
    evals = [e for e in events if isinstance(e, Evaluation)]
    assert len(evals) == 3 * 2 == len(result.history)
    for epoch in (1, 2, 3):
        in_epoch = [e for e in evals if epoch - 1 < e.epoch <= epoch]
        assert len(in_epoch) == 2, epoch
        assert in_epoch[0].epoch < epoch and in_epoch[1].epoch == pytest.approx(epoch)
    for e in evals:
        assert set(e.valid_metrics) == set(FEED_TASKS)
        assert 0 <= e.valid_metrics["click"]["auc"] <= 1
        assert set(e.valid_losses) == set(FEED_TASKS) and all(v > 0 for v in e.valid_losses.values())
        assert sum(e.applied_weights.values()) == pytest.approx(1.0)
    assert evals[0].best  # the first evaluation is always the best so far
    best = [e for e in evals if e.best]
    assert result.best_epoch == pytest.approx(best[-1].epoch)
    assert result.epochs_run == pytest.approx(3.0)


def test_one_evaluation_per_epoch_by_default():
    prepared = feed_prepared()
    cfg = tiny_config(epochs=2)
    events = list(Trainer(prepared, cfg).run())
    evals = [e for e in events if isinstance(e, Evaluation)]
    assert [e.epoch for e in evals] == [1.0, 2.0]
    assert isinstance(events[-1], Done)


def test_training_loss_decreases():
    events, _, result = trained_feed()
    # The evaluation at each epoch's end carries the mean training loss of that epoch.
    end_of_epoch = [e for e in events if isinstance(e, Evaluation) and float(e.epoch).is_integer()]
    first, last = end_of_epoch[0].train_losses, end_of_epoch[-1].train_losses
    assert sum(last.values()) < 0.9 * sum(first.values())
    for task in FEED_TASKS:
        assert last[task] < first[task], task
    hist = result.history_frame()
    assert {"epoch", "train_loss:click", "valid_loss:like", "valid_auc:click", "weight:like"} <= set(hist.columns)
    # It learned something: test AUC of clicks above chance.
    assert result.test["click"]["auc"] > 0.6


def test_result_fields_and_json():
    _, trainer, result = trained_feed()
    assert isinstance(result, TrainResult)
    assert result.params == trainer.model.n_parameters() > 0
    assert result.train_seconds > 0 and result.latency_ms_per_1k > 0
    # Latency: the median of enough timings on enough rows, with its spread (issue 10 item 9).
    lat = result.latency
    assert lat["median"] == result.latency_ms_per_1k and lat["q25"] <= lat["median"] <= lat["q75"]
    assert lat["repeats"] >= 15 and lat["rows"] >= 4096
    assert "middle half" in result.latency_text()
    assert result.device == "cpu"
    doc = result.to_json()
    assert {"test", "valid", "train_seconds", "params", "config", "history", "latency_ms_per_1k", "latency"} <= set(doc)
    for part in ("test", "valid"):
        assert set(doc[part]) == set(FEED_TASKS)
        for task in FEED_TASKS:
            assert {"auc", "accuracy", "logloss", "f1", "n"} <= set(doc[part][task])
    assert "gauc" in doc["test"]["click"]
    assert doc["test"]["click"]["n"] == len(feed_prepared().test)
    assert doc["config"]["tasks"] == list(FEED_TASKS) and doc["config"]["model"]["hidden"] == [16]
    json.dumps(doc)  # serializable as is
    assert TrainConfig.from_dict(doc["config"]) == result.config


def test_test_metrics_are_those_of_the_kept_model():
    _, trainer, result = trained_feed()
    # The trainer's model was restored to the best state: re-evaluating gives the result.
    again = trainer.evaluate("test", with_groups=True)
    for task in FEED_TASKS:
        assert again[task]["auc"] == pytest.approx(result.test[task]["auc"])


# ------------------------------------------------------------ determinism
def _run(seed: int):
    trainer = Trainer(feed_prepared(), tiny_config(seed=seed, arch="mmoe"))
    result = trainer.fit()
    return {k: v.clone() for k, v in trainer.model.state_dict().items()}, result


def test_same_seed_is_bit_identical_and_other_seed_differs():
    state_a, res_a = _run(7)
    state_b, res_b = _run(7)
    assert state_a.keys() == state_b.keys()
    for k in state_a:
        assert torch.equal(state_a[k], state_b[k]), k
    assert res_a.test == res_b.test and res_a.valid == res_b.valid
    assert res_a.history == res_b.history
    state_c, res_c = _run(8)
    assert any(not torch.equal(state_a[k], state_c[k]) for k in state_a)
    assert res_c.test != res_a.test


# ---------------------------------------------------------------- stopping
def test_request_stop_from_consumer_after_first_progress():
    prepared = feed_prepared()
    trainer = Trainer(prepared, tiny_config(epochs=10, batch_size=64))
    events = []
    for event in trainer.run():
        events.append(event)
        if isinstance(event, Progress) and not trainer.stop_requested:
            trainer.request_stop()
    done = events[-1]
    assert isinstance(done, Done)
    assert done.result.stopped
    assert done.result.reason == "stopped"
    first = next(i for i, e in enumerate(events) if isinstance(e, Progress))
    # At most the evaluation of the batch already done follows the stop.
    assert not any(isinstance(e, Progress) for e in events[first + 1:])
    assert done.result.epochs_run <= 1.0
    assert set(done.result.test) == set(FEED_TASKS)
    assert 0 <= done.result.test["click"]["auc"] <= 1
    assert done.result.trained is not None


def test_request_stop_from_another_thread_ends_quickly():
    prepared = feed_prepared()
    cfg = tiny_config(epochs=20, batch_size=32)
    trainer = Trainer(prepared, cfg)
    started = threading.Event()
    stopper = threading.Thread(target=lambda: (started.wait(30), trainer.request_stop()))
    stopper.start()
    events, t_stop = [], None
    t0 = time.perf_counter()
    for event in trainer.run():
        events.append(event)
        if isinstance(event, Progress) and not started.is_set():
            started.set()
            stopper.join(30)
            t_stop = time.perf_counter()
    t_done = time.perf_counter()
    stopper.join(30)
    assert t_stop is not None
    # After the stop only the final evaluation of the kept model remains.
    assert t_done - t_stop < 15
    done = events[-1]
    assert isinstance(done, Done) and done.result.reason == "stopped" and done.result.stopped
    # Far fewer than the 20 epochs asked for: the loop stopped within a batch or so.
    assert done.result.epochs_run < 2
    progress_after = [e for e in events if isinstance(e, Progress)]
    assert progress_after[-1].epoch <= 2
    assert time.perf_counter() - t0 < 60
    assert set(done.result.test) == set(FEED_TASKS)


def test_stop_before_start_still_gives_a_result():
    trainer = Trainer(feed_prepared(), tiny_config(epochs=5))
    trainer.request_stop()
    events = list(trainer.run())
    assert [type(e) for e in events] == [Done]
    result = events[0].result
    assert result.stopped and result.reason == "stopped" and result.history == []
    assert set(result.test) == set(FEED_TASKS) and result.test["click"]["n"] > 0


def test_early_stopping_with_patience_one(monkeypatch):
    # Construct a run whose validation score never improves after the first epoch.
    monkeypatch.setattr(Trainer, "_score", lambda self, metrics: 0.5)
    trainer = Trainer(feed_prepared(), tiny_config(epochs=6, patience=1))
    events = list(trainer.run())
    done = events[-1]
    assert done.result.reason == "early stopping" and not done.result.stopped
    evals = [e for e in events if isinstance(e, Evaluation)]
    assert [e.epoch for e in evals] == [1.0, 2.0]
    assert [e.best for e in evals] == [True, False]
    assert done.result.best_epoch == 1.0 and done.result.epochs_run == 2.0


def test_early_stopping_keeps_the_best_model(monkeypatch):
    scores = iter([0.9, 0.1, 0.1, 0.1])
    kept = {}

    def fake_score(self, metrics):
        return next(scores)

    monkeypatch.setattr(Trainer, "_score", fake_score)
    trainer = Trainer(feed_prepared(), tiny_config(epochs=4, patience=2, lr=0.05))
    for event in trainer.run():
        if isinstance(event, Evaluation) and event.epoch == 1.0:
            kept = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    assert event.result.reason == "early stopping" and event.result.epochs_run == 3.0
    final = trainer.model.state_dict()
    assert all(torch.equal(kept[k], final[k]) for k in kept)


def test_high_learning_rate_run_can_stop_early():
    """A real (unpatched) run: with a high learning rate (ten times the tiny config's,
    still short of diverging) the validation score stops improving and patience 1 ends
    the run before the 8 epochs asked for."""
    trainer = Trainer(feed_prepared(), tiny_config(epochs=8, patience=1, lr=0.05))
    result = trainer.fit()
    assert result.reason == "early stopping" and result.fault is None
    assert result.epochs_run < 8
    assert result.best_epoch < result.epochs_run


# ------------------------------------------------------- regression / multiclass
def test_regression_and_multiclass_tasks_train():
    prepared = mixed_prepared()
    kinds = {t.name: t.kind for t in prepared.tasks}
    assert kinds == {"click": "binary", "rating": "regression", "label_mood": "multiclass"}
    trainer = Trainer(prepared, tiny_config(MIXED_TASKS, epochs=2, arch="ple"))
    events = list(trainer.run())
    result = events[-1].result
    rating, mood = result.test["rating"], result.test["label_mood"]
    # The rating exists only after a click: scored on those rows only.
    test_ratings = mixed_frame()["rating"].iloc[prepared.test.rows]
    assert rating["n"] == int(test_ratings.notna().sum()) < len(prepared.test)
    assert {"rmse", "mae", "r2"} <= set(rating) and 0 < rating["mae"] <= rating["rmse"]
    # Predictions are on the rating's scale (about 1..5), not standardized.
    preds = trainer.predict_part("test")
    assert 1.5 < float(np.mean(preds[1])) < 5
    assert preds[2].shape == (len(prepared.test), 3)
    assert np.allclose(preds[2].sum(1), 1, atol=1e-5)
    assert {"accuracy", "macro_f1", "logloss"} <= set(mood) and mood["n"] == len(prepared.test)
    assert 0 <= mood["accuracy"] <= 1
    hist = result.history_frame()
    assert {"valid_rmse:rating", "valid_accuracy:label_mood"} <= set(hist.columns)
    # Losses of every task fell between the two epochs.
    evals = [e for e in events if isinstance(e, Evaluation)]
    for task in MIXED_TASKS:
        assert evals[-1].train_losses[task] < evals[0].train_losses[task], task
    # TrainedModel.predict gives the original class labels for multiclass.
    frame = mixed_frame().iloc[prepared.test.rows[:20]]
    table = result.trained.predict(frame)
    assert set(table["label_mood"]) <= {"calm", "happy", "sad"}
    assert table["rating"].between(-5, 15).all()


# ------------------------------------------------------------- save / load
def test_save_load_round_trip_without_pickle(tmp_path):
    _, _, result = trained_feed()
    folder = result.trained.save(tmp_path / "model")
    names = {p.name for p in folder.iterdir()}
    assert {"model.safetensors", "model.json", "encoder.json"} <= names
    assert {"items.parquet", "users.parquet", "interactions.parquet"} <= names
    assert not any(n.endswith((".pt", ".pth", ".pkl", ".pickle", ".bin")) for n in names)
    head = (folder / "model.safetensors").read_bytes()[:9]
    header_len = int.from_bytes(head[:8], "little")
    assert 0 < header_len < 10**6 and head[8:9] == b"{"   # safetensors: JSON header, raw tensors
    loaded = TrainedModel.load(folder)
    assert loaded.task_names == list(FEED_TASKS)
    assert loaded.config == result.trained.config
    assert loaded.metrics["test"]["click"]["auc"] == pytest.approx(result.test["click"]["auc"])
    frame = feed_data().frame.iloc[feed_prepared().test.rows]
    before, after = result.trained.predict_arrays(frame), loaded.predict_arrays(frame)
    for a, b in zip(before, after):
        assert np.array_equal(a, b)
    for k, v in result.trained.model.state_dict().items():
        assert torch.equal(v, loaded.model.state_dict()[k])
    # Tables needed for recommendations survive.
    assert len(loaded.items) == len(result.trained.items)
    assert list(loaded.interactions.columns) == list(result.trained.interactions.columns)


def test_predict_requires_feature_columns():
    from mtl.errors import DataError

    _, _, result = trained_feed()
    frame = feed_data().frame.iloc[:5].drop(columns=["item_category"])
    with pytest.raises(DataError, match="item_category"):
        result.trained.predict(frame)


@pytest.fixture()
def saved(tmp_path):
    _, _, result = trained_feed()
    return result.trained.save(tmp_path / "m")


def test_load_missing_folder(tmp_path):
    with pytest.raises(ModelFileError):
        TrainedModel.load(tmp_path / "nope")


@pytest.mark.parametrize("name", ["model.json", "encoder.json", "model.safetensors"])
def test_load_missing_file(saved, name):
    (saved / name).unlink()
    with pytest.raises(ModelFileError, match=name):
        TrainedModel.load(saved)


@pytest.mark.parametrize(
    "name,content",
    [
        ("model.json", b"{not json"),
        ("encoder.json", b"[1, 2"),
        ("model.safetensors", b"garbage, not safetensors"),
        ("model.safetensors", b""),
        ("model.json", b'{"format_version": 1}'),
        ("items.parquet", b"PAR1 broken"),
    ],
)
def test_load_corrupt_file(saved, name, content):
    (saved / name).write_bytes(content)
    with pytest.raises(ModelFileError):
        TrainedModel.load(saved)


def test_load_other_format_version(saved):
    meta = json.loads((saved / "model.json").read_text())
    meta["format_version"] = 99
    (saved / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="format"):
        TrainedModel.load(saved)


def test_load_weights_that_do_not_match(saved):
    meta = json.loads((saved / "model.json").read_text())
    meta["model_config"]["hidden"] = [32]
    (saved / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="weights"):
        TrainedModel.load(saved)


# ----------------------------------------------------------------- devices
def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}
    assert "cpu" in available_devices()
    with pytest.raises(ConfigError, match="tpu"):
        resolve_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_unavailable_is_a_config_error():
    with pytest.raises(ConfigError, match="CUDA"):
        resolve_device("cuda")
    with pytest.raises(ConfigError):
        Trainer(feed_prepared(), tiny_config(device="cuda"))


# ------------------------------------------------------------------ config
@pytest.mark.parametrize(
    "overrides",
    [dict(epochs=0), dict(epochs=-1), dict(lr=0.0), dict(lr=-0.1), dict(lr=float("nan")), dict(batch_size=0),
     dict(patience=0), dict(evals_per_epoch=0)],
)
def test_invalid_config_is_rejected(overrides):
    cfg = tiny_config(**overrides)
    with pytest.raises(ConfigError):
        cfg.validate()
    with pytest.raises(ConfigError):
        Trainer(feed_prepared(), cfg)


def test_invalid_model_sizes_are_rejected():
    from mtl.models import ModelConfig

    with pytest.raises(ConfigError):
        tiny_config(model=ModelConfig(emb_dim=0)).validate()
    with pytest.raises(ConfigError):
        tiny_config(model=ModelConfig(hidden=(16, 0))).validate()


def test_unknown_arch_weighting_and_bad_weights():
    with pytest.raises(ConfigError, match="architecture"):
        Trainer(feed_prepared(), tiny_config(arch="nope"))
    with pytest.raises(ConfigError, match="weighting"):
        Trainer(feed_prepared(), tiny_config(weighting="nope"))
    with pytest.raises(ConfigError):
        Trainer(feed_prepared(), tiny_config(preference={"click": 1, "like": 2, "long_view": 3}))


def test_config_tasks_must_match_prepared_data():
    with pytest.raises(ValueError):
        Trainer(feed_prepared(), tiny_config(tasks=["like", "click"]))


def test_train_config_round_trip():
    cfg = tiny_config(preference={"click": 1.0, "like": 2.0}, arch="ple", weighting="dwa", evals_per_epoch=3)
    d = json.loads(json.dumps(cfg.to_dict()))
    assert TrainConfig.from_dict(d) == cfg
