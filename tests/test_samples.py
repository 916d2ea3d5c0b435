"""The bundled samples: files present, they load, and their curated roles are right.

Loading KuaiRand (184k rows and two side tables) or Census (78k rows) takes one to two
seconds each on a busy two-core machine, so those two are marked ``slow``; the file
checks and the simulated sample always run."""

from __future__ import annotations

import pytest

from mtl.data import split_indices
from mtl.data.samples import SAMPLES, get_sample, load_sample, sample_dir
from mtl.errors import ConfigError

KUAIRAND_OUTCOMES = ("play_time_ms", "profile_stay_time", "comment_stay_time")


@pytest.mark.parametrize("key", list(SAMPLES))
def test_sample_files_are_present(key):
    s = SAMPLES[key]
    assert s.key == key and s.title and s.license
    for name in (s.file, s.user_features, s.item_features):
        if name:
            path = s.path(name)
            assert path.is_file() and path.stat().st_size > 0, f"missing {path}"
    assert (sample_dir() / key / "README.md").is_file()
    assert len(s.weights) == len(s.tasks) > 0


def test_unknown_sample():
    with pytest.raises(ConfigError, match="Unknown sample 'movielens'; bundled samples: simulated, kuairand, census, goodbooks"):
        get_sample("movielens")
    with pytest.raises(ConfigError, match="Unknown sample"):
        load_sample("movielens")


@pytest.fixture(scope="module")
def loaded():
    """Loads a sample once per module: ``loaded(key)``."""
    cache = {}

    def get(key):
        if key not in cache:
            cache[key] = load_sample(key)
        return cache[key]

    return get


def _check_defaults(data, key):
    s = SAMPLES[key]
    assert data.n_rows > 10_000
    assert data.name == s.title
    for task in s.tasks:
        assert task in data.schema.labels, f"default task {task} of {key} is not a label"
    for task in s.efficiency + s.relevance:
        assert task in data.schema.labels, f"{task} of {key} is not a label"
    for label in data.schema.labels:
        assert label not in data.schema.features
    if s.split.method == "time":
        col = s.split.column or data.schema.time
        parts = split_indices(data.n_rows, s.split, time=data.frame[col])
        assert sum(len(p) for p in parts) == data.n_rows


def test_simulated_sample(loaded):
    data = loaded("simulated")
    _check_defaults(data, "simulated")
    sch = data.schema
    assert (sch.user, sch.item, sch.time) == ("user_id", "item_id", "timestamp")
    assert set(sch.oracle) == {"true_click", "true_like", "true_long_view"}
    assert sch.text == ["item_title"]


@pytest.mark.slow
def test_kuairand_sample(loaded):
    data = loaded("kuairand")
    _check_defaults(data, "kuairand")
    sch = data.schema
    assert (sch.user, sch.item) == ("user_id", "video_id")
    for col in KUAIRAND_OUTCOMES:
        assert sch.labels.get(col) == "regression", col
        assert col not in sch.features
    for col in ("is_click", "long_view", "is_like", "is_follow"):
        assert sch.labels.get(col) == "binary"
    # Side tables were joined and their columns are features from the right table.
    assert sch.side.get("register_days") == "user" and sch.side.get("video_duration") == "item"
    assert data.frame["register_days"].notna().mean() > 0.99


@pytest.mark.slow
def test_census_sample(loaded):
    data = loaded("census")
    _check_defaults(data, "census")
    sch = data.schema
    assert (sch.user, sch.item, sch.time) == (None, None, None)
    assert sch.labels == {"label_income_over_50k": "binary", "label_never_married": "binary"}
    for col in ("income", "marital_stat", "instance_weight", "source_row"):
        assert col in sch.ignored
        assert col not in sch.features
    assert "age" in sch.numeric and "education" in sch.categorical


@pytest.mark.slow
def test_goodbooks_sample(loaded):
    data = loaded("goodbooks")
    _check_defaults(data, "goodbooks")
    sch = data.schema
    assert (sch.user, sch.item, sch.time) == ("user_id", "book_id", None)
    assert sch.labels == {"rating": "regression", "liked": "binary"}
    # The stored `liked` is exactly rating >= 4 on every row.
    assert ((data.frame["rating"] >= 4).astype(int) == data.frame["liked"]).all()
    # Titles are kept for display (and text features), the book table's traits are features.
    assert sch.text == ["title"]
    assert sch.side.get("authors") == "item" and "authors" in sch.categorical
    assert {"average_rating", "ratings_count", "original_publication_year"} <= set(sch.numeric)
    assert data.frame["title"].notna().all()
