"""User-history features (mtl.data.history): leakage-free training values that look
like test values, transform of new rows, the default left unchanged, saving and
loading through the checked encoder, clear errors, the CLI flag."""

from __future__ import annotations

import json
import shutil
from functools import cache

import numpy as np
import pandas as pd
import pytest
import torch
from _fixtures import feed_data, feed_frame, feed_prepared, run_cli, tiny_config

from mtl.data import from_frame, history, prepare
from mtl.data.encode import FeatureEncoder
from mtl.data.history import PREFIX, HistoryFeatures
from mtl.data.split import SplitSpec
from mtl.errors import ConfigError, ModelFileError
from mtl.train import TrainedModel, Trainer

TASKS = ["click", "like"]
NAMES = [PREFIX + "topic_share", PREFIX + "taste_match", PREFIX + "topic_click", PREFIX + "topic_like"]


@cache
def with_history():
    return prepare(feed_data(), TASKS, SplitSpec("random", seed=0), seed=0, history=True)


def _history(part) -> np.ndarray:
    return part.x_num[:, -len(NAMES):].numpy()


def test_the_features_follow_the_per_id_statistics_and_leave_the_rest_unchanged():
    plain, hist = feed_prepared(), with_history()
    enc = hist.encoder
    assert enc.numeric_names == plain.encoder.numeric_names + NAMES
    assert enc.history.topic_column == "item_category" and enc.history.labels == TASKS
    # Off (the default) changes nothing; on, the columns before them are the same.
    assert plain.encoder.history is None
    for part in ("train", "valid", "test"):
        a, b = plain.part(part), hist.part(part)
        assert torch.equal(a.x_cat, b.x_cat)
        assert torch.equal(a.x_num, b.x_num[:, :a.x_num.shape[1]])
    h = _history(hist.train)
    assert np.isfinite(h).all()
    assert np.allclose(h.mean(0), 0, atol=1e-5) and np.allclose(h.std(0), 1, atol=1e-3)


def test_test_rows_are_encoded_from_the_whole_training_history():
    hist = with_history()
    frame = feed_frame().iloc[hist.test.rows]
    _, x_num = hist.encoder.transform(frame)
    assert np.array_equal(x_num, hist.test.x_num.numpy())
    # Training rows are not their own history: their values look like the test rows'.
    train, test = _history(hist.train), _history(hist.test)
    assert np.all(np.abs(train.mean(0) - test.mean(0)) < 0.2)


def test_a_training_rows_own_label_and_impression_do_not_reach_its_features():
    frame = feed_frame()
    base = with_history()
    row = int(base.train.rows[0])
    flipped = frame.copy()
    flipped.loc[flipped.index[row], "click"] = 1 - flipped["click"].iloc[row]
    other = prepare(from_frame(flipped, name="tiny-feed"), TASKS, SplitSpec("random", seed=0), seed=0, history=True)

    def raw(p, name: str) -> np.ndarray:
        """A history column of the training rows, unstandardized."""
        k = NAMES.index(name)
        return _history(p.train)[:, k] * p.encoder.history.std[k] + p.encoder.history.mean[k]

    # The row's (user, topic) click rate is out-of-fold: flipping its own click leaves it (a leak
    # would move it by about 1 / the pair's rows; float32 rounding of the scaling stays far below).
    assert raw(other, PREFIX + "topic_click")[0] == pytest.approx(raw(base, PREFIX + "topic_click")[0], abs=1e-5)
    # Leave-one-out exposure: a user with one training row has no history of their own (lift 0).
    users = frame["user_id"].to_numpy()[base.train.rows]
    once = np.flatnonzero(pd.Series(users).map(pd.Series(users).value_counts()).to_numpy() == 1)
    assert len(once)
    assert np.allclose(raw(base, PREFIX + "topic_share")[once], 0.0, atol=1e-6)


def test_unknown_users_items_and_topics_get_no_evidence():
    enc = with_history().encoder
    new = feed_frame().iloc[:3].copy()
    new["user_id"] = [10**9, 10**9 + 1, 10**9 + 2]
    new["item_id"] = [10**9, 10**9 + 1, 10**9 + 2]
    new["item_category"] = ["Nowhere", "Nowhere", "Nowhere"]
    h = enc.history.transform(new)
    raw = h * np.asarray(enc.history.std) + np.asarray(enc.history.mean)
    assert np.allclose(raw[:, :2], 0.0)  # lift 0, taste match at chance
    defaults = [enc.history.pair_default[label] for label in enc.history.labels]
    assert np.allclose(raw[:, 2:], defaults)


def test_the_encoder_round_trips_through_json():
    enc = with_history().encoder
    again = FeatureEncoder.from_dict(json.loads(json.dumps(enc.to_dict())))
    assert isinstance(again.history, HistoryFeatures)
    frame = feed_frame().iloc[:200]
    assert np.array_equal(again.transform(frame)[1], enc.transform(frame)[1])


def test_data_without_a_topic_column_gets_a_clear_error():
    frame = feed_frame().drop(columns=["item_category", "item_title"])
    with pytest.raises(ConfigError, match="item-level categorical column"):
        prepare(from_frame(frame, name="no-topic"), TASKS, SplitSpec("random", seed=0), seed=0, history=True)
    no_ids = pd.DataFrame({"x": np.arange(300) % 7, "y": np.arange(300) % 2})
    with pytest.raises(ConfigError, match="user id and an item id"):
        prepare(from_frame(no_ids, name="flat"), ["y"], SplitSpec("random", seed=0), seed=0, history=True)
    # The same reasons, before anything is prepared (what the app says beside its box).
    assert "item-level categorical column" in history.unavailable(from_frame(frame, name="no-topic"))
    assert "user id and an item id" in history.unavailable(from_frame(no_ids, name="flat"))
    assert history.unavailable(feed_data()) == ""


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    result = Trainer(with_history(), tiny_config(history=True)).fit()
    return result, result.trained.save(tmp_path_factory.mktemp("history") / "model")


def test_a_model_with_history_features_saves_loads_and_predicts(saved):
    result, folder = saved
    loaded = TrainedModel.load(folder)
    assert loaded.config.history is True and loaded.encoder.history is not None
    frame = feed_frame().iloc[:100]
    for a, b in zip(loaded.predict_arrays(frame), result.trained.predict_arrays(frame)):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("edit,needle", [
    (lambda h: h.update(topic_column="nope"), "topic_column 'nope' is not a categorical column"),
    (lambda h: h["shares"].pop(), "shares has"),
    (lambda h: h["prior"].__setitem__(0, float("nan")), "prior holds a value that is not a finite number"),
])
def test_edited_history_tables_are_refused(saved, tmp_path, edit, needle):
    folder = shutil.copytree(saved[1], tmp_path / "m")
    path = folder / "encoder.json"
    d = json.loads(path.read_text())
    edit(d["history"])
    path.write_text(json.dumps(d))
    with pytest.raises(ModelFileError, match=needle):
        TrainedModel.load(folder)


def test_the_cli_flag_sets_the_option(tmp_path):
    from mtl.cli import build_parser

    args = build_parser().parse_args(["train", "--data", "x.csv", "--history-features"])
    assert args.history is True
    assert build_parser().parse_args(["train", "--data", "x.csv"]).history is None
    data = tmp_path / "feed.csv"
    feed_frame().to_csv(data, index=False)
    code, out, err = run_cli(["train", "--data", data, "--tasks", "click,like", "--epochs", "1", "--emb-dim", "4",
                              "--hidden", "8", "--history-features", "--quiet", "--device", "cpu"])
    assert code == 0, err


def test_rows_without_a_topic_get_no_evidence_and_finite_values():
    frame = feed_frame().copy()
    # Some videos have no topic (a missing tag, as in KuaiRand): their rows are left out of the tables.
    gone = frame["item_id"] % 7 == 0
    frame.loc[gone, "item_category"] = None
    p = prepare(from_frame(frame, name="gaps"), TASKS, SplitSpec("random", seed=0), seed=0, history=True)
    for part in (p.train, p.valid, p.test):
        assert np.isfinite(_history(part)).all()
    h = p.encoder.history
    lift = _history(p.train)[:, 0] * h.std[0] + h.mean[0]
    assert np.allclose(lift[gone.to_numpy()[p.train.rows]], 0.0, atol=1e-6)
