"""Gradient-diagnostics figures (mtl.plots.diagnostics), built without a browser."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from mtl.plots import diagnostics as dplots
from mtl.plots.style import series_color

TASKS = ["click", "like", "long_view"]


def rows(n: int = 40) -> list[dict]:
    out = []
    for i in range(n):
        row = {"step": i + 1, "epoch": (i + 1) / n}
        row.update({"cos:click|like": -0.2 + 0.01 * i, "cos:click|long_view": 0.5, "cos:like|long_view": math.nan})
        row.update({"norm:click": 2.0, "norm:like": 0.1 + i / 100, "norm:long_view": 1.0})
        row.update({"weight:click": 0.5, "weight:like": 0.3, "weight:long_view": 0.2})
        out.append(row)
    return out


def lines(fig):
    return [t for t in fig.data if t.mode == "lines"]


def test_cosine_curves_one_smoothed_line_per_pair_and_a_shaded_conflict_band():
    fig = dplots.cosine_curves(rows(), TASKS)
    assert [t.name for t in lines(fig)] == ["click · like", "click · long_view", "like · long_view"]
    assert len(fig.data) == 6  # raw dots behind each line
    raw = [t for t in fig.data if t.mode == "markers"][0]
    assert list(raw.y) == pytest.approx([-0.2 + 0.01 * i for i in range(40)])
    assert fig.layout.yaxis.range == (-1.05, 1.05)
    band = fig.layout.shapes[0]
    assert (band.y0, band.y1) == (-1, 0)
    assert any(a.text == "conflict" for a in fig.layout.annotations)


def test_smoothing_follows_the_trend_and_skips_missing_values():
    values = pd.Series([0.0] * 20 + [1.0] * 20)
    smoothed = dplots.smooth(values)
    assert smoothed.iloc[0] == 0 and 0.9 < smoothed.iloc[-1] <= 1.0
    assert smoothed.diff().dropna().ge(-1e-12).all()  # monotone: no overshoot
    assert dplots.smooth(pd.Series([1.0, math.nan, 3.0])).notna().all()
    assert dplots.smooth(pd.Series([2.0])).tolist() == [2.0]


def test_norm_curves_use_task_colours_and_a_log_axis():
    fig = dplots.norm_curves(rows(), TASKS)
    assert [t.name for t in lines(fig)] == TASKS
    assert [t.line.color for t in lines(fig)] == [series_color(i) for i in range(3)]
    assert fig.layout.yaxis.type == "log"


def test_weight_curves_show_the_applied_weights():
    fig = dplots.weight_curves(pd.DataFrame(rows()), TASKS)
    assert [t.name for t in lines(fig)] == TASKS
    assert list(lines(fig)[0].y) == pytest.approx([0.5] * 40)


def test_a_single_row_draws_points_and_missing_columns_are_skipped():
    one = rows(1)
    fig = dplots.norm_curves(one, TASKS + ["rating"])
    assert [t.name for t in fig.data] == TASKS and all(t.mode == "markers" for t in fig.data)
    assert len(dplots.cosine_curves([], TASKS).data) == 0


def test_long_runs_are_smoothed_over_every_row_then_thinned():
    many = rows(5000)
    fig = dplots.cosine_curves(many, TASKS)
    line = lines(fig)[0]
    assert len(line.x) <= dplots.MAX_POINTS and line.x[0] == many[0]["epoch"] and line.x[-1] == many[-1]["epoch"]
    full = dplots.smooth(pd.Series([r["cos:click|like"] for r in many]))
    assert line.y[-1] == pytest.approx(full.iloc[-1])  # the smoothing saw every row
    assert list(dplots.thin(5)) == [0, 1, 2, 3, 4] and len(dplots.thin(10_000, 100)) == 100


def test_cosine_heatmap_is_symmetric_with_ones_on_the_diagonal():
    from mtl.train.diagnostics import explain

    found = explain(rows(), TASKS)
    fig = dplots.cosine_heatmap(found.pairs, TASKS)
    z = [list(r) for r in fig.data[0].z]
    assert [z[i][i] for i in range(3)] == [1, 1, 1]
    assert z[0][1] == z[1][0] == pytest.approx(found.pairs.mean_cosine.iloc[0])
    assert z[0][2] == pytest.approx(0.5)
    assert fig.data[0].text[1][2] == "-"  # like · long_view never measured
    assert (fig.data[0].zmin, fig.data[0].zmax) == (-1, 1)
