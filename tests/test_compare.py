"""Method comparison (mtl.compare): Δm against a hand computation, mean ± std over
seeds, training several methods x seeds, input checks, the ``compare`` command and
the comparison charts."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from _fixtures import feed_prepared, run_cli, synth_csv, tiny_config

import mtl.weighting.base as weighting_base
from mtl.compare import BASELINE, Comparison, Run, check_methods, compare
from mtl.errors import ConfigError
from mtl.plots.compare import delta_m_bars, metric_bars
from mtl.report import comparison_findings, comparison_table
from mtl.tasks import TaskSpec
from mtl.train import TrainConfig

TASKS = [TaskSpec("click", "binary"), TaskSpec("rating", "regression"), TaskSpec("mood", "multiclass", classes=(0, 1, 2))]


def _only_missing(*modules: str):
    """Stands in for ``importlib.util.find_spec``: exactly ``modules`` are missing and
    everything else is present, whatever is really installed here."""
    return lambda name: None if name in modules else object()


def _run(method, seed, auc, rmse, acc, seconds=1.0):
    return Run(method, seed, {"click": {"auc": auc, "logloss": 0.5, "n": 10}, "rating": {"rmse": rmse, "mae": 0.7},
                              "mood": {"accuracy": acc}}, seconds, 1.0, "completed")


@pytest.fixture
def made_up() -> Comparison:
    """Two seeds; baseline AUC 0.70/0.72, RMSE 1.00/1.20, accuracy 0.50/0.50."""
    c = Comparison(TASKS, {"click": "auc", "rating": "rmse", "mood": "accuracy"}, ["static", "upgrad"], [0, 1],
                   TrainConfig(tasks=["click", "rating", "mood"]))
    c.runs = [_run(BASELINE, 0, 0.70, 1.00, 0.50), _run("static", 0, 0.77, 0.99, 0.45, 3.0),
              _run("upgrad", 0, 0.71, 1.21, 0.55),
              _run(BASELINE, 1, 0.72, 1.20, 0.50), _run("static", 1, 0.75, 1.21, 0.55, 5.0),
              _run("upgrad", 1, 0.69, 1.32, 0.50)]
    return c


def test_delta_m_matches_a_hand_computation(made_up):
    # Baseline means: AUC 0.71, RMSE 1.10, accuracy 0.50. RMSE is lower-is-better.
    assert made_up.baseline() == pytest.approx({"click": 0.71, "rating": 1.10, "mood": 0.50})
    static0 = 100 * ((0.77 - 0.71) / 0.71 - (0.99 - 1.10) / 1.10 + (0.45 - 0.50) / 0.50) / 3
    static1 = 100 * ((0.75 - 0.71) / 0.71 - (1.21 - 1.10) / 1.10 + (0.55 - 0.50) / 0.50) / 3
    assert made_up.delta_m(made_up.runs[1]) == pytest.approx(static0)
    assert made_up.delta_m(made_up.runs[4]) == pytest.approx(static1)

    table = made_up.table().set_index("method")
    assert list(table.index) == [BASELINE, "static", "upgrad"]
    assert list(table.columns) == ["title", "runs", "auc:click", "auc_std:click", "rmse:rating", "rmse_std:rating",
                                   "accuracy:mood", "accuracy_std:mood", "delta_m", "delta_m_std", "train_seconds"]
    row = table.loc["static"]
    assert row["title"] == "Static" and row["runs"] == 2
    assert row["auc:click"] == pytest.approx(0.76) and row["auc_std:click"] == pytest.approx(np.std([0.77, 0.75], ddof=1))
    assert row["rmse:rating"] == pytest.approx(1.10)
    assert row["delta_m"] == pytest.approx((static0 + static1) / 2)
    assert row["delta_m_std"] == pytest.approx(np.std([static0, static1], ddof=1))
    assert row["train_seconds"] == pytest.approx(4.0)
    # Δm is linear in the metrics: the mean of per-run Δm is the Δm of the mean metrics.
    of_means = 100 * ((0.76 - 0.71) / 0.71 - (1.10 - 1.10) / 1.10 + (0.50 - 0.50) / 0.50) / 3
    assert row["delta_m"] == pytest.approx(of_means)
    # The baseline against itself: 0 on average, its spread is the seed noise.
    assert table.loc[BASELINE, "delta_m"] == pytest.approx(0.0, abs=1e-12)
    assert table.loc[BASELINE, "delta_m_std"] > 0
    assert table.loc["upgrad", "delta_m"] < 0 < table.loc["static", "delta_m"]


def test_missing_values_and_single_seeds(made_up):
    made_up.runs[2].test["mood"].pop("accuracy")  # upgrad, seed 0
    assert math.isnan(made_up.delta_m(made_up.runs[2]))
    table = made_up.table().set_index("method")
    assert math.isnan(table.loc["upgrad", "accuracy:mood"]) and math.isnan(table.loc["upgrad", "delta_m"])
    one = Comparison(TASKS, made_up.metrics, ["static"], [0], made_up.config, runs=made_up.runs[:2])
    row = one.table().set_index("method").loc["static"]
    assert row["auc:click"] == pytest.approx(0.77) and math.isnan(row["auc_std:click"])


def test_long_form_and_json(made_up):
    long = made_up.long()
    assert list(long.columns) == ["method", "seed", "task", "metric", "value", "higher_is_better", "compared"]
    assert len(long) == 6 * 5  # every metric of every run, the row count "n" left out
    assert set(long.loc[long.compared, "metric"]) == {"auc", "rmse", "accuracy"}
    assert not long.loc[long.metric == "rmse", "higher_is_better"].any()
    doc = made_up.to_json()
    assert set(doc) == {"tasks", "metrics", "methods", "seeds", "baseline", "table", "runs", "stopped", "error",
                        "complete_seeds", "config"}
    assert doc["error"] is None and doc["complete_seeds"] == [0, 1]
    assert [r["method"] for r in doc["table"]] == [BASELINE, "static", "upgrad"]
    assert doc["runs"][1]["delta_m"] == pytest.approx(made_up.delta_m(made_up.runs[1]))


def test_reading_table_sorts_by_delta_m_and_writes_mean_plus_minus_std(made_up):
    given = Comparison(TASKS, made_up.metrics, ["upgrad", "static"], [0, 1], made_up.config, runs=made_up.runs)
    table = comparison_table(given)
    assert table["method"].tolist() == ["Single-task baseline", "Static", "UPGrad"]  # best Δm first
    assert list(table.columns) == ["method", "runs", "AUC click", "RMSE rating", "accuracy mood", "Δm %", "s per run"]
    static = table.iloc[1]
    assert static["AUC click"] == f"0.7600 ± {np.std([0.77, 0.75], ddof=1):.4f}" and static["s per run"] == "4.0"
    assert table.iloc[0]["Δm %"].startswith("+0.00 ± ")
    assert comparison_table(given, sort=False, label="method")["method"].tolist() == [BASELINE, "upgrad", "static"]
    one = Comparison(TASKS, made_up.metrics, ["static"], [0], made_up.config, runs=made_up.runs[:2])
    assert comparison_table(one).iloc[1]["AUC click"] == "0.7700"  # no spread with one seed
    made_up.runs[2].test["mood"].pop("accuracy")
    assert comparison_table(made_up, sort=False).iloc[2]["accuracy mood"] == "-"  # a seed without it
    assert comparison_table(made_up).iloc[2]["Δm %"] == "-"  # unknown Δm sorts last


def test_best_is_the_method_with_the_highest_mean_delta_m(made_up):
    assert made_up.best() == "static"
    assert Comparison(TASKS, made_up.metrics, ["static"], [0], made_up.config).best() is None
    only_baseline = Comparison(TASKS, made_up.metrics, ["static"], [0], made_up.config, runs=made_up.runs[:1])
    assert only_baseline.best() is None


def test_findings_name_the_best_method_and_whether_its_lead_is_noise(made_up):
    found = comparison_findings(made_up)
    static, upgrad = made_up.table().set_index("method").loc[["static", "upgrad"], "delta_m"]
    assert found[0].markdown().startswith(f"**Static** has the best Δm, {static:+.2f}%") and "UPGrad" in found[0].text()
    assert found[1].text() == "1 of 2 methods beat training each task on its own (Δm above 0)."
    # Best per task: AUC highest (static 0.76), RMSE lowest (the baseline, 1.10), accuracy: a three-way tie at 0.50.
    assert found[2].text().startswith("Best per task: click: Static (AUC 0.7600); rating: Single-task baseline (RMSE 1.1000)")
    # A lead smaller than the spread over seeds is called a tie; one seed cannot tell.
    close = Comparison(TASKS, made_up.metrics, ["static", "upgrad"], [0, 1], made_up.config, runs=[
        _run(BASELINE, 0, 0.70, 1.0, 0.5), _run("static", 0, 0.72, 1.0, 0.5), _run("upgrad", 0, 0.74, 1.0, 0.5),
        _run(BASELINE, 1, 0.70, 1.0, 0.5), _run("static", 1, 0.74, 1.0, 0.5), _run("upgrad", 1, 0.71, 1.0, 0.5)])
    assert "treat them as tied" in comparison_findings(close)[0].text()
    one = Comparison(TASKS, made_up.metrics, ["static", "upgrad"], [0], made_up.config, runs=made_up.runs[:3])
    assert "with one seed" in comparison_findings(one)[0].text()
    assert comparison_findings(Comparison(TASKS, made_up.metrics, ["static"], [0], made_up.config)) == []


def test_charts(made_up):
    bars = delta_m_bars(made_up)
    assert list(bars.data[0].y) == ["Static", "UPGrad"]  # the baseline is the zero line, not a bar
    assert bars.data[0].x[0] > 0 > bars.data[0].x[1]
    assert list(bars.data[0].error_x.array) == pytest.approx(list(made_up.table()["delta_m_std"][1:]))
    panels = metric_bars(made_up)
    assert len(panels.data) == 3
    assert [s.y0 for s in panels.layout.shapes] == pytest.approx([0.71, 1.10, 0.50])  # baseline lines
    assert "lower is better" in panels.layout.annotations[1].text


# ---------------------------------------------------------------- training
def test_compare_trains_methods_and_baselines_seed_by_seed():
    calls = []
    cfg = tiny_config(epochs=1)
    result = compare(feed_prepared(), cfg, ["static", "gradnorm"], seeds=2,
                     progress=lambda i, n, msg: calls.append((i, n, msg)))
    assert [(r.method, r.seed) for r in result.runs] == [
        (BASELINE, 0), ("static", 0), ("gradnorm", 0), (BASELINE, 1), ("static", 1), ("gradnorm", 1)]
    assert [c[:2] for c in calls] == [(i, 6) for i in range(6)]
    assert calls[0][2] == "Single-task baseline, seed 0" and calls[2][2] == "GradNorm, seed 0"
    assert result.metrics == {"click": "auc", "like": "auc"} and not result.stopped
    # Seeds change the result; the same seed and method gives the trainer's own numbers.
    static = [r for r in result.runs if r.method == "static"]
    assert static[0].test["click"]["auc"] != static[1].test["click"]["auc"]
    table = result.table().set_index("method")
    base = result.baseline()
    for method in ("static", "gradnorm"):
        runs = [r for r in result.runs if r.method == method]
        by_hand = [100 * np.mean([(r.test[t]["auc"] - base[t]) / base[t] for t in ("click", "like")]) for r in runs]
        assert table.loc[method, "delta_m"] == pytest.approx(np.mean(by_hand))
        assert table.loc[method, "auc:click"] == pytest.approx(np.mean([r.test["click"]["auc"] for r in runs]))


def test_compare_can_be_stopped_between_trainings():
    seen = []
    result = compare(feed_prepared(), tiny_config(epochs=1), ["static"], seeds=3,
                     progress=lambda i, n, msg: seen.append(i), should_stop=lambda: len(seen) >= 2)
    assert result.stopped and len(result.runs) == 2
    assert list(result.table()["method"]) == [BASELINE, "static"]


def test_statistics_count_only_the_seeds_every_method_completed(made_up):
    complete = made_up.table().set_index("method")
    made_up.runs = made_up.runs[:5]  # seed 1 lost upgrad: its static and baseline runs must not count
    assert made_up.complete_seeds() == [0] and len(made_up.counted()) == 3
    partial = made_up.table().set_index("method")
    assert partial.loc[BASELINE, "auc:click"] == pytest.approx(0.70)  # seed 0 only
    assert partial.loc["static", "auc:click"] == pytest.approx(0.77) and partial.loc["static", "runs"] == 1
    assert complete.loc["static", "runs"] == 2
    assert made_up.to_json()["complete_seeds"] == [0] and len(made_up.to_json()["runs"]) == 5
    # Stopped inside the first seed: nothing is complete, so what there is counts.
    made_up.runs = made_up.runs[:2]
    assert made_up.complete_seeds() == [] and len(made_up.counted()) == 2
    assert made_up.table()["method"].tolist() == [BASELINE, "static"]


def test_a_failed_training_ends_the_comparison_and_keeps_the_runs_before_it(monkeypatch):
    import mtl.backends.local as cmp

    class Failing(cmp.Trainer):
        def fit(self, callback=None):
            if self.config.weighting == "gradnorm" and self.config.seed == 1:
                raise FloatingPointError("loss became NaN")
            return super().fit(callback)

    monkeypatch.setattr(cmp, "Trainer", Failing)
    result = compare(feed_prepared(), tiny_config(epochs=1), ["static", "gradnorm"], seeds=2)
    assert [(r.method, r.seed) for r in result.runs] == [(BASELINE, 0), ("static", 0), ("gradnorm", 0),
                                                         (BASELINE, 1), ("static", 1)]
    assert result.stopped and result.error == ("Training GradNorm with seed 1 failed (FloatingPointError: loss became "
                                               "NaN); the comparison stopped there")
    assert result.table()["runs"].tolist() == [1, 1, 1]  # seed 0, complete for every method
    assert result.to_json()["error"] == result.error


@pytest.mark.parametrize("methods,seeds,metrics,needle", [
    (["static", "static"], 2, None, "static is repeated"),
    (["static", "gradnrom"], 2, None, "Unknown weighting method 'gradnrom'"),
    ([], 2, None, "at least one weighting method"),
    (["static"], 0, None, "at least one seed"),
    (["static"], [1, 1], None, "distinct"),
    (["static"], 2, {"click": "rmse"}, "'rmse' is not a metric of the binary task click"),
    (["static"], 2, {"nope": "auc"}, "tasks not compared: nope"),
])
def test_bad_input_fails_before_training(methods, seeds, metrics, needle):
    with pytest.raises(ConfigError, match=needle):
        compare(feed_prepared(), tiny_config(), methods, seeds, metrics=metrics,
                progress=lambda *a: pytest.fail("trained despite bad input"))


def test_gradient_methods_cannot_compare_single_task_architectures():
    with pytest.raises(ConfigError, match="shares none"):
        check_methods(tiny_config(arch="single"), ["static", "gradnorm"])
    check_methods(tiny_config(arch="single"), ["static", "uncertainty"])
    with pytest.raises(ConfigError, match="at least two tasks"):
        check_methods(tiny_config(tasks=["click"]), ["static"])


def test_a_missing_optional_dependency_names_the_install_command(monkeypatch):
    monkeypatch.setattr(weighting_base, "find_spec", _only_missing("torchjd"))
    with pytest.raises(ConfigError, match=r"UPGrad needs torchjd: pip install 'mtl-tradeoff-explorer\[torchjd\]'"):
        compare(feed_prepared(), tiny_config(), ["static", "upgrad"], 1, progress=lambda *a: pytest.fail("trained"))


# --------------------------------------------------------------- CLI
_main = run_cli  # (exit status, stdout, stderr) of the CLI in process


@pytest.fixture(scope="module")
def feed_csv(tmp_path_factory):
    return synth_csv(tmp_path_factory.mktemp("compare") / "feed.csv.gz")


def test_cli_compare_prints_a_table_and_writes_json(feed_csv, tmp_path):
    out_json = tmp_path / "cmp.json"
    code, out, err = _main(["compare", "--data", feed_csv, "--tasks", "click,watch_time", "--methods", "static,imtl_g",
                            "--seeds", 2, "--epochs", 1, "--batch-size", 256, "--device", "cpu", "--json", out_json,
                            "--quiet"])
    assert code == 0, err
    lines = out.splitlines()
    assert "2 seed(s) (0, 1)" in lines[0]
    assert lines[1].split() == ["method", "runs", "AUC", "click", "RMSE", "watch_time", "Δm", "%", "s", "per", "run"]
    assert [ln.split()[0] for ln in lines[2:]] == [BASELINE, "static", "imtl_g"]
    assert " ± " in lines[3] and lines[2].split()[1] == "2"
    assert lines[2].split()[-4:-1] == ["+0.00", "±", lines[2].split()[-2]]  # the baseline against itself
    doc = json.loads(out_json.read_text())
    assert set(doc) >= {"tasks", "metrics", "methods", "seeds", "baseline", "table", "runs", "stopped", "config"}
    assert doc["tasks"] == ["click", "watch_time"] and doc["methods"] == ["static", "imtl_g"] and doc["seeds"] == [0, 1]
    assert doc["metrics"] == {"click": "auc", "watch_time": "rmse"}
    assert len(doc["runs"]) == 6 and doc["config"]["epochs"] == 1
    # Δm from the JSON's own numbers, by hand: AUC higher-is-better, RMSE lower-is-better.
    base = {t: np.mean([r["test"][t][m] for r in doc["runs"] if r["method"] == BASELINE])
            for t, m in doc["metrics"].items()}
    assert doc["baseline"] == pytest.approx(base)
    for run in doc["runs"]:
        auc, rmse = run["test"]["click"]["auc"], run["test"]["watch_time"]["rmse"]
        want = 100 * ((auc - base["click"]) / base["click"] - (rmse - base["watch_time"]) / base["watch_time"]) / 2
        assert run["delta_m"] == pytest.approx(want)
    row = next(r for r in doc["table"] if r["method"] == "imtl_g")
    assert row["delta_m"] == pytest.approx(np.mean([r["delta_m"] for r in doc["runs"] if r["method"] == "imtl_g"]))


def _one_error_line(code, out, err, *needles):
    assert code == 2, (code, out, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.mark.parametrize("args,needles", [
    (["--tasks", "click,like", "--methods", "static", "--seeds", 0], ["--seeds must be at least 1"]),
    (["--tasks", "click", "--methods", "static"], ["at least two tasks"]),
    (["--tasks", "click,like", "--methods", "static,nope"], ["Unknown weighting method 'nope'", "upgrad"]),
    (["--tasks", "click,like", "--methods", "static,gradnorm", "--arch", "single"], ["GradNorm", "shares none"]),
    (["--tasks", "click,like", "--methods", "static", "--metrics", "click:auc"], ["task=metric"]),
    (["--tasks", "click,like", "--methods", "static", "--metrics", "click=mae"], ["'mae' is not a metric"]),
])
def test_cli_compare_bad_input(feed_csv, args, needles):
    _one_error_line(*_main(["compare", "--data", feed_csv, "--epochs", 1, "--quiet", *args]), *needles)


def test_cli_compare_missing_dependency(feed_csv, monkeypatch):
    monkeypatch.setattr(weighting_base, "find_spec", _only_missing("cvxpy"))
    _one_error_line(*_main(["compare", "--data", feed_csv, "--tasks", "click,like", "--methods", "static,cagrad"]),
                    "CAGrad needs cvxpy", "pip install 'mtl-tradeoff-explorer[cvxpy]'")


def test_cli_train_names_the_install_command(feed_csv, monkeypatch):
    monkeypatch.setattr(weighting_base, "find_spec", _only_missing("torchjd"))
    _one_error_line(*_main(["train", "--data", feed_csv, "--tasks", "click,like", "--weighting", "mgda", "--quiet"]),
                    "MGDA needs torchjd", "pip install 'mtl-tradeoff-explorer[torchjd]'")


def test_cli_compare_a_failed_training_prints_what_it_has_and_one_error_line(feed_csv, monkeypatch):
    import mtl.backends.local as cmp

    class Failing(cmp.Trainer):
        def fit(self, callback=None):
            if self.config.weighting == "imtl_g":
                raise ConfigError("the solver gave up")
            return super().fit(callback)

    monkeypatch.setattr(cmp, "Trainer", Failing)
    code, out, err = _main(["compare", "--data", feed_csv, "--tasks", "click,like", "--methods", "static,imtl_g",
                            "--seeds", 1, "--epochs", 1, "--batch-size", 256, "--device", "cpu", "--quiet"])
    _one_error_line(code, out, err, "Training IMTL-G with seed 0 failed (the solver gave up)")
    assert [ln.split()[0] for ln in out.splitlines()[2:]] == [BASELINE, "static"]
