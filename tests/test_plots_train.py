"""Figures of a training run (mtl.plots.train): traces, names and values (no browser)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mtl.plots import style
from mtl.plots import train as plots
from mtl.report import compare_runs
from mtl.tasks import TaskSpec
from mtl.train import TrainConfig, TrainResult

HISTORY = [
    {"epoch": 1.0, "train_loss:click": 0.60, "valid_loss:click": 0.62, "valid_auc:click": 0.70, "weight:click": 0.5,
     "train_loss:time": 1.00, "valid_loss:time": 1.10, "valid_rmse:time": 9.0, "weight:time": 0.5},
    {"epoch": 2.0, "train_loss:click": 0.55, "valid_loss:click": 0.60, "valid_auc:click": 0.72, "weight:click": 0.4,
     "train_loss:time": 0.90, "valid_loss:time": 1.05, "valid_rmse:time": 8.5, "weight:time": 0.6},
]
TASKS = ["click", "time"]


def _trace(fig, name):
    found = [t for t in fig.data if t.name == name]
    assert found, f"no trace {name!r} in {[t.name for t in fig.data]}"
    return found[0]


def test_loss_curves_have_training_and_validation_per_task_in_one_colour():
    fig = plots.loss_curves(HISTORY, TASKS)
    assert [t.name for t in fig.data] == ["click (training)", "click (validation)", "time (training)",
                                          "time (validation)"]
    train, valid = _trace(fig, "click (training)"), _trace(fig, "click (validation)")
    assert list(train.x) == [1.0, 2.0] and list(train.y) == [0.60, 0.55] and list(valid.y) == [0.62, 0.60]
    assert train.line.dash == "solid" and valid.line.dash == "dash"
    assert train.line.color == valid.line.color == style.series_color(0)
    assert _trace(fig, "time (training)").line.color == style.series_color(1)
    assert fig.layout.xaxis.title.text == "epoch"


def test_loss_curves_accept_a_data_frame_and_skip_unknown_tasks():
    fig = plots.loss_curves(pd.DataFrame(HISTORY), ["click", "not_trained"])
    assert [t.name for t in fig.data] == ["click (training)", "click (validation)"]


def test_metric_curves_use_each_task_primary_metric():
    fig = plots.metric_curves(HISTORY, TASKS)
    assert [t.name for t in fig.data] == ["click AUC", "time RMSE"]
    assert list(_trace(fig, "click AUC").y) == [0.70, 0.72]
    assert list(_trace(fig, "time RMSE").y) == [9.0, 8.5]


def test_metrics_of_opposite_directions_get_their_own_labelled_panels():
    """Review s23 (goodbooks): rating RMSE and liked AUC shared one axis titled "metric",
    one better going down and the other going up."""
    fig = plots.metric_curves(HISTORY, TASKS)
    auc, rmse = _trace(fig, "click AUC"), _trace(fig, "time RMSE")
    assert auc.yaxis != rmse.yaxis and auc.xaxis != rmse.xaxis
    assert fig.layout["yaxis" + auc.yaxis[1:]].title.text == "AUC (higher is better)"
    assert fig.layout["yaxis" + rmse.yaxis[1:]].title.text == "RMSE (lower is better)"
    assert fig.layout["xaxis" + rmse.xaxis[1:]].title.text == "epoch"  # the bottom panel's axis, shared
    # Tasks with the same metric share a panel; one panel keeps the figure's usual height.
    same = [{**row, "valid_auc:time": 0.6} for row in HISTORY]
    one = plots.metric_curves([{k: v for k, v in row.items() if k != "valid_rmse:time"} for row in same], TASKS)
    assert {t.yaxis for t in one.data} == {"y"} and one.layout.height == style.HEIGHT
    assert fig.layout.height > style.HEIGHT


def test_curves_of_an_empty_history_are_empty_figures():
    assert len(plots.loss_curves([], TASKS).data) == 0
    assert len(plots.metric_curves([], TASKS).data) == 0


def test_gain_bars_show_primary_gains_coloured_by_sign():
    comparison = pd.DataFrame([
        {"task": "click", "metric": "auc", "model": 0.71, "single-task": 0.70, "gain %": 1.43, "primary": True},
        {"task": "click", "metric": "logloss", "model": 0.5, "single-task": 0.5, "gain %": 0.0, "primary": False},
        {"task": "time", "metric": "rmse", "model": 9.5, "single-task": 9.0, "gain %": -5.56, "primary": True},
        {"task": "like", "metric": "auc", "model": 0.6, "single-task": 0.6, "gain %": math.nan, "primary": True},
    ])
    fig = plots.gain_bars(comparison, ["time", "click", "like"])
    bar = fig.data[0]
    assert list(bar.x) == ["time (RMSE)", "click (AUC)", "like (AUC)"]  # in the given task order, primary only
    np.testing.assert_allclose(list(bar.y), [-5.56, 1.43, math.nan])
    assert list(bar.marker.color) == [style.WORSE, style.BETTER,
                                      style.BETTER]
    assert list(bar.text) == ["-5.56%", "+1.43%", "n/a"]


def test_run_comparison_bars_one_panel_per_task():
    a = TrainResult(config=TrainConfig(tasks=["click", "time"]), valid={},
                    tasks=[TaskSpec("click", "binary"), TaskSpec("time", "regression")],
                    test={"click": {"auc": 0.70, "logloss": 0.5}, "time": {"rmse": 9.0}})
    b = TrainResult(config=TrainConfig(tasks=["click", "time"]), valid={}, tasks=a.tasks,
                    test={"click": {"auc": 0.75, "logloss": 0.4}, "time": {"rmse": 8.0}})
    fig = plots.run_comparison_bars(compare_runs(a, b), ("#1", "#2"), {"click": "auc", "time": "rmse"})
    assert len(fig.data) == 2
    assert list(fig.data[0].y) == ["#1", "#2"] and list(fig.data[0].x) == [0.70, 0.75]
    assert list(fig.data[1].x) == [9.0, 8.0]
    assert [a.text for a in fig.layout.annotations] == ["click AUC (higher is better)", "time RMSE (lower is better)"]
    assert fig.layout.yaxis.type == fig.layout.yaxis2.type == "category"  # "#1" must not become the number 1
    # Without explicit metrics the first listed metric of each task is used.
    default = plots.run_comparison_bars(compare_runs(a, b))
    assert list(default.data[0].x) == [0.70, 0.75]


def test_run_comparison_values_cannot_run_into_another_panel():
    """Review s23: side by side, the value over a panel's last bar ("0.6973") ran into the
    next panel's axis ticks. Stacked panels span the whole width, and each axis leaves
    room beyond its longest bar for the value written there."""
    table = pd.DataFrame({"task": ["click", "like", "long_view"], "metric": ["auc"] * 3, "A": [0.6979, 0.7546, 0.7092],
                          "B": [0.6973, 0.7368, 0.7070], "B - A": [0.0] * 3, "better": ["A"] * 3})
    fig = plots.run_comparison_bars(table, ("#1", "#2"))
    for j, trace in enumerate(fig.data, start=1):
        xaxis = fig.layout["xaxis" + ("" if j == 1 else str(j))]
        assert tuple(xaxis.domain) == (0.0, 1.0)
        assert trace.textposition == "outside" and trace.cliponaxis is False
        assert xaxis.range[0] <= 0 and xaxis.range[1] >= 1.25 * max(trace.x)
    domains = sorted(tuple(fig.layout["yaxis" + ("" if j == 1 else str(j))].domain) for j in (1, 2, 3))
    assert all(lower[1] < upper[0] for lower, upper in zip(domains, domains[1:]))  # no two panels overlap


@pytest.mark.parametrize("builder", [plots.loss_curves, plots.metric_curves])
def test_figures_serialize(builder):
    assert builder(HISTORY, TASKS).to_json()
