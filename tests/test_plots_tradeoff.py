"""Trade-off figure builders: content checks, no browser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtl.plots.tradeoff import (
    LABEL_GAP,
    efficiency_relevance,
    fidelity_bars,
    fidelity_table,
    front_table,
    pareto_front,
    quality_vs_compute,
    run_short_label,
)
from mtl.tasks import TaskSpec
from mtl.tradeoff import CurveResult, SweepPoint, SweepResult, efficiency_relevance_curve


@pytest.fixture
def result():
    tasks = [TaskSpec("click", "binary"), TaskSpec("like", "binary")]
    pts = [SweepPoint([0.9, 0.1], {"click": {"auc": 0.72}, "like": {"auc": 0.70}}),
           SweepPoint([0.5, 0.5], {"click": {"auc": 0.71}, "like": {"auc": 0.74}}),
           SweepPoint([0.1, 0.9], {"click": {"auc": 0.69}, "like": {"auc": 0.73}})]
    cond = [SweepPoint(p.weights, {"click": {"auc": p.test["click"]["auc"] - 0.01}, "like": {"auc": 0.735}}) for p in pts]
    return SweepResult(tasks=tasks, points=pts, conditioned=cond, reference=[0.5, 0.5],
                       baselines={"click": {"auc": 0.715}, "like": {"auc": 0.725}})


def test_pareto_front_figure_shows_points_front_conditioned_and_baselines(result):
    fig = pareto_front(result, current={"click": 0.705, "like": 0.73})
    names = [t.name for t in fig.data]
    assert names == ["retrained at fixed weights", "Pareto front (retrained)", "one conditioned model", "current weights"]
    front = fig.data[1]
    assert list(front.x) == [0.71, 0.72]  # (0.69, 0.73) is dominated by (0.71, 0.74)
    symbols = list(fig.data[0].marker.symbol)
    assert symbols == ["star", "star", "circle"]
    lines = [s.x0 for s in fig.layout.shapes if s.x0 == s.x1] + [s.y0 for s in fig.layout.shapes if s.y0 == s.y1]
    assert 0.715 in lines and 0.725 in lines  # single-task baselines drawn


def test_fidelity_and_table(result):
    fig = fidelity_bars(result)
    assert [t.name for t in fig.data] == ["click AUC", "like AUC"]
    # Signed: the conditioned model is 0.01 worse on click everywhere, and on like worse
    # at one weighting, better at the other two; |Δ| would show all five the same way.
    assert list(fig.data[0].y) == pytest.approx([-0.01, -0.01, -0.01])
    assert list(fig.data[1].y) == pytest.approx([0.035, -0.005, 0.005])
    assert any(s.y0 == 0 and s.y1 == 0 for s in fig.layout.shapes)  # the zero line to read the sign against
    table = front_table(result)
    assert table["pareto"].tolist() == [True, True, False]
    assert list(table.columns[:2]) == ["w[click]", "w[like]"]


def test_curve_figure_has_model_random_oracle_and_current():
    rng = np.random.default_rng(0)
    f = pd.DataFrame({"u": np.repeat(np.arange(20), 8), "click": rng.integers(0, 2, 160), "like": rng.integers(0, 2, 160)})
    preds = {"click": rng.random(160), "like": rng.random(160)}
    curve = efficiency_relevance_curve(f, preds, ["click"], ["like"], "u", k=3, oracle={"click": f.click.to_numpy(float), "like": f.like.to_numpy(float)},
                                       current_alpha=0.5)
    fig = efficiency_relevance(curve)
    assert [t.name for t in fig.data] == ["model", "alpha labels", "oracle (true probabilities)", "random ranking",
                                          "current fusion (α=0.50)"]
    assert len(fig.data[0].x) == 21
    assert fig.data[1].text[0] == "α=0.00"  # the first label; the others only where they fit


def _contained(fig) -> None:
    """Every drawn point of every trace lies inside the fixed axis ranges."""
    (x0, x1), (y0, y1) = fig.layout.xaxis.range, fig.layout.yaxis.range
    assert fig.layout.xaxis.autorange is False and fig.layout.yaxis.autorange is False
    for t in fig.data:
        assert all(x0 < v < x1 for v in t.x), (t.name, x0, x1, list(t.x))
        assert all(y0 < v < y1 for v in t.y), (t.name, y0, y1, list(t.y))


def _label_gaps(fig) -> list[float]:
    labels = next(t for t in fig.data if t.name == "alpha labels")
    (x0, x1), (y0, y1) = fig.layout.xaxis.range, fig.layout.yaxis.range
    pts = [((x - x0) / (x1 - x0), (y - y0) / (y1 - y0)) for x, y in zip(labels.x, labels.y)]
    return [float(np.hypot(a[0] - b[0], a[1] - b[1])) for i, a in enumerate(pts) for b in pts[i + 1:]]


def test_curve_axes_hold_every_trace_the_marker_is_on_the_curve_and_labels_do_not_collide():
    """Issue 10 item 2: the oracle was clipped, the marker sat off the curve, labels overlapped."""
    rng = np.random.default_rng(4)
    n = 20 * 30
    f = pd.DataFrame({"u": np.repeat(np.arange(20), 30), "click": rng.integers(0, 2, n), "like": rng.integers(0, 2, n)})
    preds = {"click": f.click + rng.random(n), "like": f.like + rng.random(n)}
    # An oracle far to the top right of the model curve, and a current alpha off the grid.
    oracle = {"click": f.click.to_numpy(float) * 2 + rng.random(n) * 0.1, "like": f.like.to_numpy(float)}
    curve = efficiency_relevance_curve(f, preds, ["click"], ["like"], "u", k=3, oracle=oracle, current_alpha=0.67)
    fig = efficiency_relevance(curve)
    _contained(fig)
    model, current = fig.data[0], fig.data[-1]
    assert current.name == "current fusion (α=0.67)"
    assert (current.x[0], current.y[0]) in set(zip(model.x, model.y))
    assert all(g >= LABEL_GAP for g in _label_gaps(fig))


def test_an_axis_of_nothing_measured_is_neutral():
    from mtl.plots.tradeoff import _axis_range

    assert _axis_range([float("nan"), None]) == [0.0, 1.0]


def test_a_collapsed_curve_gets_one_label_and_a_readable_axis():
    """A curve whose points all but coincide (KuaiRand: efficiency 0.4557-0.45595) labels one
    alpha, and its efficiency axis is not stretched over noise in the fourth decimal."""
    pts = pd.DataFrame({"alpha": np.linspace(0, 1, 21), "efficiency_at_k": 0.4557 + np.linspace(0, 0.00025, 21),
                        "relevance_ndcg_at_k": 0.80 + np.linspace(0, 0.0002, 21)})
    curve = CurveResult(10, ["is_click"], ["long_view"], pts, {"efficiency_at_k": 0.456, "relevance_ndcg_at_k": 0.801})
    fig = efficiency_relevance(curve)
    _contained(fig)
    assert len(fig.data[1].text) == 1
    x0, x1 = fig.layout.xaxis.range
    assert x1 - x0 >= 0.1 * 0.4557


def test_quality_vs_compute_groups_by_architecture():
    runs = pd.DataFrame({"label": ["#1", "#2", "#3"], "arch": ["single", "mmoe", "mmoe"], "click AUC": [0.7, 0.71, 0.72],
                         "train_seconds": [10.0, 5.0, 6.0], "params": [1000, 50_000, 60_000], "latency_ms_per_1k": [1.0, 2.0, 2.5]})
    fig = quality_vs_compute(runs, "click AUC", "params")
    assert [t.name for t in fig.data] == ["single", "mmoe"]
    assert list(fig.data[1].y) == [0.71, 0.72]
    assert fig.layout.xaxis.type == "log"
    with pytest.raises(ValueError):
        quality_vs_compute(runs, "click AUC", "flops")


def test_quality_axis_is_not_stretched_over_noise_and_says_which_way_is_better():
    """Review s23: click AUC 0.6973-0.6985 filled the whole height, so the single-task run
    looked far worse than two shared models it all but tied with."""
    runs = pd.DataFrame({"label": ["#1", "#2", "#3"], "arch": ["shared_bottom", "single", "shared_bottom"],
                         "click auc": [0.6979, 0.6973, 0.6985], "train_seconds": [4.2, 3.9, 1.6]})
    fig = quality_vs_compute(runs, "click auc")
    lo, hi = fig.layout.yaxis.range
    assert hi - lo >= 0.1 * 0.6979 and lo <= 0.6973 and hi >= 0.6985
    assert fig.layout.yaxis.title.text == "click auc (higher is better)"
    # Drawn level, #1 and #2 (3.9 s and 4.2 s) would write their labels over each other.
    positions = {label: pos for trace in fig.data for label, pos in zip(trace.text, trace.textposition)}
    assert positions["#1"] != positions["#2"] and positions["#3"] == "top right"
    rmse = runs.rename(columns={"click auc": "time rmse"}).assign(**{"time rmse": [80.0, 140.0, 81.0]})
    fig = quality_vs_compute(rmse, "time rmse")
    lo, hi = fig.layout.yaxis.range
    assert lo <= 80.0 and hi >= 140.0  # a real spread keeps all of its points
    assert fig.layout.yaxis.title.text == "time rmse (lower is better)"


def test_compute_points_say_what_each_run_is_and_latency_shows_its_spread():
    """Issue 10 items 9 and 11: points were labelled only "#1-#3"; latency had no spread."""
    labels = [run_short_label(1, "single", "static", baselines=True), run_short_label(2, "mmoe", "upgrad"),
              run_short_label(3, "mmoe", "static", conditioned=True)]
    assert labels == ["#1 single-task", "#2 mmoe·upgrad", "#3 mmoe·conditioned"]
    runs = pd.DataFrame({"label": labels, "arch": ["single", "mmoe", "mmoe"], "click AUC": [0.7, 0.71, 0.72],
                         "train_seconds": [10.0, 5.0, 6.0], "params": [1000, 50_000, 60_000],
                         "latency_ms_per_1k": [1.0, 2.0, 2.5], "latency_q25": [0.9, 1.8, 2.4],
                         "latency_q75": [1.2, 2.1, 2.9]})
    fig = quality_vs_compute(runs, "click AUC", "latency_ms_per_1k")
    assert list(fig.data[1].text) == ["#2 mmoe·upgrad", "#3 mmoe·conditioned"]
    assert fig.data[1].error_x.array == pytest.approx((0.1, 0.4))
    assert fig.data[1].error_x.arrayminus == pytest.approx((0.2, 0.1))
    assert quality_vs_compute(runs, "click AUC", "params").data[0].error_x.array is None
    # Labels point inwards (the fastest run's to the right, the slowest's to the left), unclipped.
    fig = quality_vs_compute(runs, "click AUC", "train_seconds")
    assert fig.data[0].textposition == ("top left",) and fig.data[1].textposition == ("top right", "top right")
    assert fig.data[0].cliponaxis is False


def test_fidelity_table_has_one_short_row_per_weighting(result):
    table = fidelity_table(result)
    assert list(table.columns) == ["weights (click / like)", "click AUC retrained", "click AUC conditioned", "click gain",
                                   "like AUC retrained", "like AUC conditioned", "like gain"]
    assert table.iloc[0, 0] == "0.90 / 0.10"
    assert table["click gain"].tolist() == pytest.approx([-0.01, -0.01, -0.01])
    assert table["like gain"].tolist() == pytest.approx([0.035, -0.005, 0.005])


def test_fidelity_gain_of_rmse_counts_lower_as_better():
    tasks = [TaskSpec("click", "binary"), TaskSpec("watch", "regression")]
    pts = [SweepPoint([0.5, 0.5], {"click": {"auc": 0.7}, "watch": {"rmse": 2.0}})]
    cond = [SweepPoint([0.5, 0.5], {"click": {"auc": 0.7}, "watch": {"rmse": 1.5}})]
    table = fidelity_table(SweepResult(tasks=tasks, points=pts, conditioned=cond))
    assert table["watch gain"].tolist() == pytest.approx([0.5])  # a lower RMSE is a positive gain
