"""The command line's run store, reports and MLflow options: ``--workspace`` on train,
compare and sweep, ``runs list|show|rename|tag|delete|export``, ``report``,
``recommend --model`` with a zip, ``--mlflow-uri``."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import sqlite3
import sys

import _fixtures  # noqa: F401  (one torch thread per test worker)
import pytest
from _fixtures import run_cli

from mtl.store import RunStore

TINY = ["--epochs", 1, "--quiet", "--batch-size", 256, "--device", "cpu"]


_main = run_cli  # (exit status, stdout, stderr) of the CLI in process


def _one_error(code, out, err, *needles):
    assert code == 2 and "Traceback" not in err, (code, out, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """A workspace filled by the CLI: one training (model kept), one comparison, one sweep."""
    tmp = tmp_path_factory.mktemp("cli-store")
    data = tmp / "x.csv.gz"
    assert _main(["synth", "--out", data, "--users", 50, "--items", 80, "--impressions", 2000, "--seed", 3])[0] == 0
    work = tmp / "ws"
    train = _main(["train", "--data", data, "--tasks", "click,like", *TINY, "--emb-dim", 4, "--hidden", "16",
                   "--json", tmp / "run.json", "--save", tmp / "model", "--workspace", work, "--name", "first",
                   "--tag", "demo", "--tag", "class"])
    compare = _main(["compare", "--data", data, "--tasks", "click,like", "--methods", "static,uncertainty",
                     "--seeds", 1, *TINY, "--workspace", work, "--json", tmp / "cmp.json"])
    sweep = _main(["sweep", "--data", data, "--tasks", "click,like", "--points", 3, "--epochs", 1, "--quiet",
                   "--device", "cpu", "--workspace", work, "--tag", "demo", "--json", tmp / "sweep.json"])
    return {"tmp": tmp, "data": data, "work": work, "train": train, "compare": compare, "sweep": sweep}


def test_train_compare_and_sweep_keep_their_results(ws):
    for step in ("train", "compare", "sweep"):
        code, out, err = ws[step]
        assert code == 0, (step, err)
        assert f"in {ws['work']}" in out and "kept as run" in out
    assert "(with its model)" in ws["train"][1]
    runs = RunStore(ws["work"]).list_runs().runs
    assert sorted(r.kind for r in runs) == ["comparison", "sweep", "training"]
    trained = next(r for r in runs if r.kind == "training")
    assert trained.name == "first" and trained.tags == ["class", "demo"] and trained.has_model
    # the stored training is the one the JSON describes
    doc = json.loads((ws["tmp"] / "run.json").read_text())
    assert RunStore(ws["work"]).load(trained.id).result.test["click"]["auc"] == pytest.approx(doc["test"]["click"]["auc"])


def test_runs_list_filters_and_json(ws):
    code, out, err = _main(["runs", "list", "--workspace", ws["work"]])
    assert code == 0 and not err
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["id", "kind", "status", "created"] and len(lines) == 4
    assert "shared_bottom + static: click auc" in out and "best " in out and "3 weightings, hypervolume" in out
    code, out, _ = _main(["runs", "list", "--workspace", ws["work"], "--tag", "demo", "--json"])
    assert sorted(r["kind"] for r in json.loads(out)) == ["sweep", "training"]
    code, out, _ = _main(["runs", "list", "--workspace", ws["work"], "--kind", "comparison", "--name", "nope"])
    assert code == 0 and "no runs" in out and "matching" in out


def test_runs_list_says_a_save_under_way(ws, tmp_path):
    import shutil

    work = tmp_path / "ws"
    shutil.copytree(ws["work"], work)
    (work / "runs" / ".tmp-20260101-000000-abcdef").mkdir()  # another process saving a run
    code, out, err = _main(["runs", "list", "--workspace", work])
    assert code == 0 and len(out.splitlines()) == 4
    assert err.strip() == "note: 1 run is being saved right now and listed once written"


def test_runs_list_uses_the_environment_variable(ws, monkeypatch):
    monkeypatch.setenv("MTL_WORKSPACE", str(ws["work"]))
    code, out, _ = _main(["runs", "list", "--kind", "sweep"])
    assert code == 0 and len(out.splitlines()) == 2


def _id(ws, kind: str) -> str:
    return next(r.id for r in RunStore(ws["work"]).list_runs(kind=kind))


def test_runs_show(ws):
    code, out, _ = _main(["runs", "show", _id(ws, "training"), "--workspace", ws["work"]])
    assert code == 0 and out.startswith("first  (training, completed") and "auc" in out and "click" in out
    code, out, _ = _main(["runs", "show", _id(ws, "comparison"), "--workspace", ws["work"]])
    assert code == 0 and "Δm %" in out and "single-task" in out
    code, out, _ = _main(["runs", "show", _id(ws, "sweep"), "--workspace", ws["work"]])
    assert code == 0 and "retrained:" in out and "w[click]" in out and "pareto" in out
    code, out, _ = _main(["runs", "show", _id(ws, "sweep"), "--workspace", ws["work"], "--json"])
    doc = json.loads(out)
    assert doc["kind"] == "sweep" and len(doc["points"]) == 3 and doc["run"]["tags"] == ["demo"]
    _one_error(*_main(["runs", "show", "20990101-000000-000000", "--workspace", ws["work"]]), "No run")


def test_reports_from_the_cli(ws):
    tmp = ws["tmp"]
    for source in (["--run", tmp / "run.json"], ["--run", tmp / "cmp.json"], ["--run", tmp / "sweep.json"],
                   ["--model", tmp / "model"], ["--id", _id(ws, "training"), "--workspace", ws["work"]]):
        out_file = tmp / "report.html"
        code, out, err = _main(["report", *source, "--out", out_file])
        assert code == 0, err
        assert "opens offline" in out
        page = out_file.read_text()
        assert all(f'<section id="{s}">' in page for s in ("summary", "findings", "metrics", "config", "data"))
    _one_error(*_main(["report", "--out", tmp / "r.html"]), "Give one of")
    (tmp / "bad.json").write_text("{broken")
    _one_error(*_main(["report", "--run", tmp / "bad.json", "--out", tmp / "r.html"]), "not valid JSON")
    (tmp / "other.json").write_text('{"hello": 1}')
    _one_error(*_main(["report", "--run", tmp / "other.json", "--out", tmp / "r.html"]), "not a training")


def test_export_a_run_model_and_recommend_from_the_zip(ws):
    zip_path = ws["tmp"] / "model.zip"
    code, out, err = _main(["runs", "export", _id(ws, "training"), "--workspace", ws["work"], "--out", zip_path])
    assert code == 0, err
    user = json.loads(RunStore(ws["work"]).load_model(_id(ws, "training")).users.iloc[:1].to_json(orient="records"))
    user_id = next(iter(user[0].values()))
    code, from_zip, err = _main(["recommend", "--model", zip_path, "--user", user_id, "--k", 3])
    assert code == 0, err
    code, from_dir, _ = _main(["recommend", "--model", ws["tmp"] / "model", "--user", user_id, "--k", 3])
    assert from_zip == from_dir and "rank" in from_zip
    _one_error(*_main(["runs", "export", _id(ws, "comparison"), "--workspace", ws["work"], "--out", zip_path]),
               "has no saved model")


def test_rename_tag_and_delete_with_confirmation(ws, tmp_path):
    work = tmp_path / "copy"
    import shutil

    shutil.copytree(ws["work"], work)
    run_id = _id({"work": work}, "comparison")
    assert _main(["runs", "rename", run_id, "kept comparison", "--workspace", work])[0] == 0
    code, out, _ = _main(["runs", "tag", run_id, "--add", "x", "--add", "y", "--remove", "x", "--workspace", work])
    assert code == 0 and out.strip().endswith("tags: y")
    _one_error(*_main(["runs", "tag", run_id, "--workspace", work]), "--add or --remove")
    # without --yes and without a terminal (CI, a pipe): refuse, delete nothing
    with contextlib.redirect_stdout(io.StringIO()):
        sys_stdin, sys.stdin = sys.stdin, io.StringIO("y\n")
        try:
            _one_error(*_main(["runs", "delete", run_id, "--workspace", work]), "--yes")
        finally:
            sys.stdin = sys_stdin
    assert len(RunStore(work).list_runs()) == 3
    _one_error(*_main(["runs", "delete", run_id, "20990101-000000-000000", "--workspace", work, "--yes"]), "No run")
    assert len(RunStore(work).list_runs()) == 3  # one unknown id: nothing deleted
    code, out, _ = _main(["runs", "delete", run_id, "--workspace", work, "--yes"])
    assert code == 0 and "deleted" in out and "kept comparison" in out
    assert {r.kind for r in RunStore(work).list_runs()} == {"training", "sweep"}


def test_delete_asks_on_a_terminal(ws, tmp_path, monkeypatch):
    import shutil

    work = tmp_path / "copy"
    shutil.copytree(ws["work"], work)
    run_id = _id({"work": work}, "sweep")

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Terminal("n\n"))
    asked = []
    monkeypatch.setattr("builtins.input", lambda q: asked.append(q) or "n")
    code, out, _ = _main(["runs", "delete", run_id, "--workspace", work])
    assert code == 1 and "nothing deleted" in out and "Delete 1 run" in asked[0]
    monkeypatch.setattr("builtins.input", lambda q: "y")
    assert _main(["runs", "delete", run_id, "--workspace", work])[0] == 0
    assert len(RunStore(work).list_runs()) == 2


def test_a_damaged_entry_is_a_note_not_a_crash(ws, tmp_path):
    import shutil

    work = tmp_path / "copy"
    shutil.copytree(ws["work"], work)
    (work / "runs" / _id({"work": work}, "sweep") / "meta.json").write_text("{")
    code, out, err = _main(["runs", "list", "--workspace", work])
    assert code == 0 and len(out.splitlines()) == 3 and err.startswith("note: Skipped")


def test_an_unwritable_workspace_is_one_error_line(ws, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _one_error(*_main(["train", "--data", ws["data"], "--tasks", "click,like", *TINY, "--emb-dim", 4,
                       "--workspace", blocker / "ws"]), "workspace")


# ------------------------------------------------------------------- MLflow
mlflow_missing = importlib.util.find_spec("mlflow") is None


def test_without_mlflow_the_option_says_how_to_install_it(ws, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow now raises ImportError
    code, out, err = _main(["train", "--data", ws["data"], "--tasks", "click,like", *TINY,
                            "--mlflow-uri", "sqlite:///x.db"])
    _one_error(code, out, err, "pip install 'mtl-tradeoff-explorer[mlflow]'")
    assert not out  # refused before training


@pytest.mark.skipif(mlflow_missing, reason="mlflow is not installed (pip install 'mtl-tradeoff-explorer[mlflow]')")
def test_mlflow_logging_to_a_sqlite_tracking_uri(ws, tmp_path):
    pytest.importorskip("sqlalchemy", reason="an SQLite tracking store needs sqlalchemy (full mlflow has it)")
    import mlflow

    db = tmp_path / "mlflow.db"
    uri = f"sqlite:///{db}"
    code, out, err = _main(["train", "--data", ws["data"], "--tasks", "click,like", "--epochs", 2, "--quiet",
                            "--batch-size", 256, "--device", "cpu", "--emb-dim", 4, "--mlflow-uri", uri,
                            "--name", "tracked", "--mlflow-experiment", "tests"])
    assert code == 0, err
    assert "logged to MLflow" in out
    client = mlflow.tracking.MlflowClient(uri)
    exp = client.get_experiment_by_name("tests")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.run_name == "tracked" and run.data.tags["mtl.kind"] == "training"
    assert run.data.params["arch"] == "shared_bottom" and run.data.params["tasks"] == "click, like"
    assert 0 <= run.data.metrics["test_auc:click"] <= 1 and "train_seconds" in run.data.metrics
    assert 0 <= run.data.metrics["best_valid_auc:click"] <= 1
    history = client.get_metric_history(run.info.run_id, "valid_auc:click")
    assert [m.step for m in history] == [0, 1]  # one point per evaluation
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"report.html", "result.json", "model"} <= artifacts
    assert {a.path for a in client.list_artifacts(run.info.run_id, "model")} >= {"model/model.safetensors"}
    assert (tmp_path / "mlartifacts").is_dir()  # beside the database, not in the current folder
    assert sqlite3.connect(db).execute("SELECT count(*) FROM runs").fetchone()[0] == 1


@pytest.mark.skipif(mlflow_missing, reason="mlflow is not installed (pip install 'mtl-tradeoff-explorer[mlflow]')")
def test_mlflow_logging_of_a_comparison_and_a_sweep_to_a_file_store(ws, tmp_path, monkeypatch):
    import mlflow

    from mtl.store import from_document
    from mtl.tracking import log_to_mlflow

    # MLflow 3 keeps its file store for those who opt in; a temp folder is the lightest tracking URI
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    cmp = from_document(json.loads((ws["tmp"] / "cmp.json").read_text()))
    sw = from_document(json.loads((ws["tmp"] / "sweep.json").read_text()))
    a = log_to_mlflow(cmp, uri, experiment="e")
    b = log_to_mlflow(sw, uri, experiment="e")
    client = mlflow.tracking.MlflowClient(uri)
    got = client.get_run(a).data
    assert got.tags["mtl.kind"] == "comparison" and "uncertainty.delta_m" in got.metrics
    got = client.get_run(b).data
    assert "points.hypervolume" in got.metrics
    assert len(client.get_metric_history(b, "points.weight:click")) == 3
    assert {"report.html", "result.json"} <= {f.path for f in client.list_artifacts(b)}
