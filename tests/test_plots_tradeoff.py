"""Trade-off figure builders: content checks, no browser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtl.plots_tradeoff import efficiency_relevance, fidelity_bars, front_table, pareto_front, quality_vs_compute
from mtl.tasks import TaskSpec
from mtl.tradeoff import SweepPoint, SweepResult, efficiency_relevance_curve


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
    assert [t.name for t in fig.data] == ["click |Δauc|", "like |Δauc|"]
    assert list(fig.data[0].y) == pytest.approx([0.01, 0.01, 0.01])
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
    assert [t.name for t in fig.data] == ["model", "oracle (true probabilities)", "random ranking", "current fusion (α=0.50)"]
    assert len(fig.data[0].x) == 21
    assert "α=0.00" in fig.data[0].text and "α=1.00" in fig.data[0].text


def test_quality_vs_compute_groups_by_architecture():
    runs = pd.DataFrame({"label": ["#1", "#2", "#3"], "arch": ["single", "mmoe", "mmoe"], "click AUC": [0.7, 0.71, 0.72],
                         "train_seconds": [10.0, 5.0, 6.0], "params": [1000, 50_000, 60_000], "latency_ms_per_1k": [1.0, 2.0, 2.5]})
    fig = quality_vs_compute(runs, "click AUC", "params")
    assert [t.name for t in fig.data] == ["single", "mmoe"]
    assert list(fig.data[1].y) == [0.71, 0.72]
    assert fig.layout.xaxis.type == "log"
    with pytest.raises(ValueError):
        quality_vs_compute(runs, "click AUC", "flops")
