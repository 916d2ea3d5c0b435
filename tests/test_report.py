"""Tests of mtl.report: result tables behind the dashboard's Train page."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from mtl.data import SplitSpec, from_frame, prepare
from mtl.data.synthetic import simulate
from mtl.metrics import relative_gain
from mtl.models import ModelConfig
from mtl.report import (
    METRIC_LABELS,
    TABLE_METRICS,
    baseline_comparison,
    compare_runs,
    config_differences,
    flat_config,
    metrics_table,
    run_summary,
    text_table,
)
from mtl.tasks import TaskSpec
from mtl.train import TrainConfig, Trainer, TrainResult

TASKS = ["click", "like", "watch_time"]
TINY = ModelConfig(emb_dim=4, hidden=(16,), tower=(8,))


@pytest.fixture(scope="module")
def prepared():
    data = from_frame(simulate(n_users=100, n_items=200, n_impressions=3000, seed=4))
    return prepare(data, TASKS, SplitSpec("random", seed=0))


def _train(prepared, **kw) -> TrainResult:
    cfg = dict(tasks=TASKS, epochs=1, batch_size=256, lr=5e-3, device="cpu", model=TINY)
    cfg.update(kw)
    return Trainer(prepared, TrainConfig(**cfg)).fit()


@pytest.fixture(scope="module")
def shared(prepared):
    return _train(prepared, preference={"click": 1, "like": 2, "watch_time": 1})


@pytest.fixture(scope="module")
def single(prepared):
    return _train(prepared, arch="single")


def test_metrics_table_has_one_row_per_task_and_only_applicable_metrics(shared):
    table = metrics_table(shared)
    assert table["task"].tolist() == TASKS
    assert table["kind"].tolist() == ["binary", "binary", "regression"]
    assert list(table.columns) == ["task", "kind", "n", "auc", "gauc", "accuracy", "logloss", "rmse", "mae", "r2"]
    click, watch = table.iloc[0], table.iloc[2]
    assert click["auc"] == shared.test["click"]["auc"] and click["n"] == shared.test["click"]["n"]
    assert math.isnan(click["rmse"])  # not a regression task
    assert watch["rmse"] == shared.test["watch_time"]["rmse"] and math.isnan(watch["auc"])
    valid = metrics_table(shared, part="valid")
    assert valid.iloc[0]["auc"] == shared.valid["click"]["auc"]
    assert "gauc" not in valid  # measured on the test split only (user ids): no column of NaN


def test_the_cli_prints_the_same_metrics_table_as_text(shared, capsys):
    from mtl.cli import print_metrics_table

    print_metrics_table(shared)
    lines = capsys.readouterr().out.splitlines()
    table = metrics_table(shared)
    assert lines[0].split() == list(table.columns) and len(lines) == 1 + len(table)
    watch = lines[3].split()
    assert watch[:3] == ["watch_time", "regression", str(table.iloc[2]["n"])]
    assert watch[list(table.columns).index("rmse")] == f"{table.iloc[2]['rmse']:.4f}"
    assert watch[list(table.columns).index("auc")] == "-"  # not a metric of a regression task


def test_text_table_aligns_names_left_and_numbers_right():
    frame = pd.DataFrame({"task": ["click", "watch_time"], "n": [12, 3], "auc": [0.71234567, float("nan")]})
    assert text_table(frame).splitlines() == [
        "task         n     auc",
        "click       12  0.7123",
        "watch_time   3       -",
    ]
    assert text_table(frame.iloc[:0]) == "task  n  auc"


def test_baseline_comparison_gains_follow_metric_direction(shared, single):
    cmp = baseline_comparison(shared, single)
    assert set(cmp["task"]) == set(TASKS)
    for _, row in cmp.iterrows():
        assert row["model"] == shared.test[row["task"]][row["metric"]]
        assert row["single-task"] == single.test[row["task"]][row["metric"]]
        expected = relative_gain(row["model"], row["single-task"], row["metric"])
        assert row["gain %"] == pytest.approx(expected, nan_ok=True)
    primary = cmp[cmp["primary"]].set_index("task")["metric"].to_dict()
    assert primary == {"click": "auc", "like": "auc", "watch_time": "rmse"}
    # Lower-is-better metrics: a smaller RMSE than the baseline is a positive gain.
    rmse = cmp[(cmp.task == "watch_time") & (cmp.metric == "rmse")].iloc[0]
    assert (rmse["gain %"] > 0) == (rmse["model"] < rmse["single-task"])


def test_baseline_comparison_skips_tasks_the_baseline_lacks(shared, single):
    partial = TrainResult(config=single.config, tasks=single.tasks[:1], test={"click": single.test["click"]},
                          valid={})
    cmp = baseline_comparison(shared, partial)
    assert set(cmp["task"]) == {"click"}


def _result(tasks, metrics) -> TrainResult:
    return TrainResult(config=TrainConfig(tasks=[t.name for t in tasks]), tasks=tasks, test=metrics, valid={})


def test_compare_runs_names_the_better_run_per_metric():
    a = _result([TaskSpec("click", "binary"), TaskSpec("time", "regression")],
                {"click": {"auc": 0.70, "logloss": 0.50}, "time": {"rmse": 10.0, "mae": 5.0}})
    b = _result([TaskSpec("click", "binary"), TaskSpec("like", "binary")],
                {"click": {"auc": 0.72, "logloss": 0.55}, "like": {"auc": 0.6}})
    table = compare_runs(a, b).set_index(["task", "metric"])
    assert table.loc[("click", "auc"), "better"] == "B"          # higher AUC wins
    assert table.loc[("click", "logloss"), "better"] == "A"      # lower logloss wins
    assert table.loc[("click", "auc"), "B - A"] == pytest.approx(0.02)
    assert table.loc[("time", "rmse"), "better"] == "" and math.isnan(table.loc[("time", "rmse"), "B"])
    assert table.loc[("like", "auc"), "better"] == "" and math.isnan(table.loc[("like", "auc"), "A"])
    assert ("click", "gauc") not in table.index  # missing in both runs: no row
    same = compare_runs(a, a)
    assert set(same["better"]) == {"tie"}


def test_config_differences_lists_only_changed_settings():
    a = TrainConfig(tasks=["click", "like"], preference={"click": 1.0, "like": 1.0}, arch="mmoe",
                    model=ModelConfig(hidden=(64,)))
    b = TrainConfig(tasks=["click", "like"], preference={"click": 1.0, "like": 3.0}, arch="mmoe",
                    model=ModelConfig(hidden=(64, 32)), split=SplitSpec("time"))
    diff = config_differences(a, b).set_index("setting")
    assert set(diff.index) == {"preference", "model.hidden", "split.method"}
    assert diff.loc["preference", "A"] == "click=1, like=1" and diff.loc["preference", "B"] == "click=1, like=3"
    assert diff.loc["model.hidden", "B"] == "64, 32"
    assert config_differences(a, a).empty


def test_flat_config_is_readable():
    flat = flat_config(TrainConfig(tasks=["click"], lr=0.003))
    assert flat["tasks"] == "click" and flat["lr"] == 0.003 and flat["preference"] == "-"
    assert flat["model.emb_dim"] == 16 and flat["split.method"] == "random"


def test_run_summary_normalizes_weights_and_reports_primary_metrics(shared):
    row = run_summary(shared)
    assert row["weights"] == "25%, 50%, 25%"
    assert row["architecture"] == "shared_bottom" and row["ended"] == shared.reason
    assert row["click AUC"] == shared.test["click"]["auc"]
    assert row["watch_time RMSE"] == shared.test["watch_time"]["rmse"]
    assert pd.DataFrame([row]).shape == (1, len(row))


def test_every_table_metric_has_a_label_and_is_one_the_library_computes():
    from mtl.metrics import METRICS_BY_KIND

    assert {m for ms in TABLE_METRICS.values() for m in ms} <= set(METRIC_LABELS)
    assert all(set(TABLE_METRICS[kind]) <= set(METRICS_BY_KIND[kind]) for kind in METRICS_BY_KIND)


def test_links_are_told_apart_from_titles():
    import pandas as pd

    from mtl.report import looks_like_links

    assert looks_like_links(pd.Series(["https://images.example/1.jpg", "http://x.org/2", None]))
    assert not looks_like_links(pd.Series(["The Kite Runner", "https://x.org/a"]))
    assert not looks_like_links(pd.Series([], dtype=object))
