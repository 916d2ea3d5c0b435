"""Figures of a data set's labels (mtl.plots.data), built without a browser."""

from __future__ import annotations

import pandas as pd

from mtl.plots import data as plots


def test_label_rates_only_binary_labels():
    summary = pd.DataFrame([
        {"label": "click", "kind": "binary", "positive rate %": 40.0},
        {"label": "like", "kind": "binary", "positive rate %": 2.5},
        {"label": "time", "kind": "regression", "positive rate %": None},
    ])
    bar = plots.label_rates(summary).data[0]
    assert list(bar.x) == ["click", "like"] and list(bar.y) == [40.0, 2.5]
    assert list(bar.text) == ["40.00%", "2.50%"]


def test_label_distribution_regression_histogram_cuts_the_top_percent():
    values = pd.Series([1.0] * 99 + [1000.0] + [None])
    fig = plots.label_distribution(values, "watch_time", "regression")
    hist = fig.data[0]
    assert hist.type == "histogram" and 1000.0 not in list(hist.x) and len(hist.x) == 99
    assert "top 1% not shown" in fig.layout.title.text


def test_label_distribution_multiclass_counts_per_value():
    fig = plots.label_distribution(pd.Series(["a", "b", "a", None]), "tier", "multiclass")
    bar = fig.data[0]
    assert list(bar.x) == ["a", "b"] and list(bar.y) == [2, 1]
