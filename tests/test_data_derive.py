"""Derived labels (mtl.data.derive): parsing, values, roles, and reproduction from a saved model."""

from __future__ import annotations

import _fixtures  # noqa: F401  (one torch thread per test worker)
import numpy as np
import pandas as pd
import pytest

from mtl.data import from_frame, prepare
from mtl.data.derive import apply_derived, parse_derived
from mtl.errors import ConfigError, DataError


def _ratings(n=400, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    watch = rng.exponential(30, n)
    watch[rng.random(n) < 0.2] = np.nan  # watched only when clicked, say
    return pd.DataFrame({"user_id": rng.integers(0, 40, n), "item_id": rng.integers(0, 50, n),
                         "rating": rng.integers(1, 6, n), "watch_seconds": watch,
                         "genre": rng.choice(["drama", "comedy", "news"], n)})


@pytest.mark.parametrize("text, name, source, op, value, missing", [
    ("liked=rating>=4", "liked", "rating", ">=", 4.0, "missing"),
    (" long = watch_time > 30 ", "long", "watch_time", ">", 30.0, "missing"),
    ("five=rating==5", "five", "rating", "==", 5.0, "missing"),
    ("drama=genre=='drama'", "drama", "genre", "==", "drama", "missing"),
    ("watched=watch_time>=1,missing=negative", "watched", "watch_time", ">=", 1.0, "negative"),
    ("low=rating<=2", "low", "rating", "<=", 2.0, "missing"),
])
def test_parse(text, name, source, op, value, missing):
    d = parse_derived(text)
    assert (d.name, d.source, d.op, d.value, d.missing) == (name, source, op, value, missing)
    assert parse_derived(d.expression) == d


@pytest.mark.parametrize("text, needle", [
    ("liked", "should look like name=column>=value"),
    ("liked=rating", "should look like"),
    ("liked=rating>=high", "needs a number"),
    ("1x=rating>=4", "should start with a letter"),
    ("liked=rating>=4,missing=maybe", "missing= takes"),
])
def test_parse_errors(text, needle):
    with pytest.raises(ConfigError, match=needle):
        parse_derived(text)


def test_threshold_equality_and_missing():
    df = _ratings()
    out = apply_derived(df, ["liked=rating>=4", "long=watch_seconds>=30", "watched=watch_seconds>=0,missing=negative",
                             "drama=genre==drama", "five=rating==5"])
    assert out["liked"].tolist() == (df["rating"] >= 4).astype(float).tolist()
    assert out["five"].tolist() == (df["rating"] == 5).astype(float).tolist()
    assert out["drama"].tolist() == (df["genre"] == "drama").astype(float).tolist()
    missing = df["watch_seconds"].isna()
    assert out.loc[missing, "long"].isna().all()  # missing stays missing
    assert out.loc[~missing, "long"].tolist() == (df.loc[~missing, "watch_seconds"] >= 30).astype(float).tolist()
    assert (out.loc[missing, "watched"] == 0).all() and (out.loc[~missing, "watched"] == 1).all()
    assert "liked" not in df.columns  # the input is not modified


def test_derive_errors_name_the_column():
    df = _ratings()
    with pytest.raises(DataError, match="no column 'stars'"):
        apply_derived(df, ["liked=stars>=4"])
    with pytest.raises(DataError, match="name of an existing column"):
        apply_derived(df, ["rating=rating>=4"])
    with pytest.raises(DataError, match="'genre' must be numeric for '>='.*'(drama|comedy|news)' at row 1"):
        apply_derived(df, ["big=genre>=4"])


def test_derived_labels_are_binary_tasks_and_their_source_is_never_a_feature():
    """A ratings log becomes multi-task: liked = rating >= 4 next to the rating itself.
    A source that would have been a feature (no label-like name) becomes a label."""
    df = _ratings()
    data = from_frame(df, roles={"derive": ["liked=rating>=4", "long=watch_seconds>=30"]})
    s = data.schema
    assert s.labels["liked"] == "binary" and s.labels["long"] == "binary"
    assert "derived from 'rating'" in s.notes["liked"] and "rating >= 4" in s.notes["liked"]
    assert s.labels.get("rating") == "regression"
    assert "watch_seconds" not in s.features and s.labels.get("watch_seconds") == "regression"
    assert "derived label 'long'" in s.notes["watch_seconds"]
    assert s.derived == {"liked": "liked=rating>=4", "long": "long=watch_seconds>=30"}
    summary = data.label_summary().set_index("label")
    assert summary.loc["liked", "positive rate %"] == pytest.approx(100 * (df["rating"] >= 4).mean(), abs=1e-3)
    prepared = prepare(data, ["liked", "long"], seed=0)
    assert prepared.task_names == ["liked", "long"]


def test_derived_label_from_a_side_table_column():
    df = _ratings()
    items = pd.DataFrame({"item_id": range(50), "avg_stars": np.linspace(1, 5, 50)})
    data = from_frame(df, item_table=items, roles={"derive": ["acclaimed=avg_stars>=4"]})
    assert data.schema.labels["acclaimed"] == "binary" and "avg_stars" not in data.schema.features


def test_saved_model_records_and_reproduces_derived_labels(tmp_path):
    from _fixtures import tiny_config

    from mtl.train import Done, TrainedModel, Trainer

    df = _ratings(1200)
    derive = ["liked=rating>=4", "long=watch_seconds>=30"]
    data = from_frame(df, roles={"derive": derive})
    prepared = prepare(data, ["liked", "long"], seed=0)
    config = tiny_config(tasks=["liked", "long"])
    assert config.derive == []  # the trainer fills it from the data
    result = next(e for e in Trainer(prepared, config).run() if isinstance(e, Done)).result
    assert result.config.derive == derive
    assert result.to_json()["config"]["derive"] == derive
    result.trained.save(tmp_path / "m")
    loaded = TrainedModel.load(tmp_path / "m")
    assert loaded.config.derive == derive and loaded.schema.derived == {"liked": derive[0], "long": derive[1]}
    again = loaded.with_derived_labels(df)
    pd.testing.assert_series_equal(again["liked"], data.frame["liked"])
    pd.testing.assert_series_equal(again["long"], data.frame["long"])
    loaded.predict(again)  # the raw rows with their labels score like the training rows
