"""What a projector shows (issue 10, item 11): dates instead of epoch numbers, plurals,
readable column names."""

from __future__ import annotations

import json

import pandas as pd

from mtl.report import epoch_unit, plural, readable_times
from pages import _nav as nav
from tests._apptest import no_errors, open_page, tiny_dataset, trained_run


def test_plural():
    assert [plural(1, "epoch"), plural(3, "epoch"), plural(0, "model"), plural(1200, "row"), plural(2.5, "epoch")] == \
        ["1 epoch", "3 epochs", "0 models", "1,200 rows", "2.5 epochs"]
    assert plural(2, "batch", "batches") == "2 batches"


def test_epoch_numbers_become_dates_and_other_numbers_stay():
    frame = pd.DataFrame({"s": [1705261000, 1705262000], "ms": [1650839916065, 1650839926065],
                          "date": [20220425, 20220426], "count": [3, 4], "text": ["a", "b"]})
    assert [epoch_unit(frame[c]) for c in frame] == ["s", "ms", None, None, None]
    shown = readable_times(frame, ["s", "ms", "date", "count", "text", None, "missing"])
    assert shown["s"].iloc[0] == pd.Timestamp("2024-01-14 19:36:40")
    assert shown["ms"].iloc[0] == pd.Timestamp("2022-04-24 22:38:36.065")
    assert shown[["date", "count", "text"]].equals(frame[["date", "count", "text"]])
    assert frame["s"].dtype.kind == "i", "the caller's frame is not changed"


def _table_with_time(at) -> pd.DataFrame:
    found = [d.value for d in at.dataframe if "timestamp" in d.value.columns]
    assert found, [list(d.value.columns) for d in at.dataframe]
    return found[0]


def test_the_data_preview_shows_dates(app):
    at = open_page(app, nav.DATA, tiny_dataset())
    no_errors(at)
    assert pd.api.types.is_datetime64_any_dtype(_table_with_time(at)["timestamp"])


def test_a_users_history_shows_dates(app):
    ds = tiny_dataset()
    at = open_page(app, nav.RECOMMEND, ds, runs=[trained_run(ds)])
    no_errors(at)
    assert pd.api.types.is_datetime64_any_dtype(_table_with_time(at)["timestamp"])


def test_the_compute_table_has_readable_column_names(app):
    ds = tiny_dataset()
    at = open_page(app, nav.TRADEOFFS, ds, runs=[trained_run(ds)])
    no_errors(at)
    table = next(d for d in at.dataframe if "train_seconds" in d.value.columns)
    config = json.loads(table.proto.columns)
    assert config["train_seconds"]["label"] == "training time (s)"
    assert config["train_seconds"]["type_config"]["format"] == "%.1f"
    assert config["params"]["label"] == "parameters" and config["label"]["hidden"] is True
