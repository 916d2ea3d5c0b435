"""The command line (mtl.cli), run in-process through ``main([...])``, plus one
real subprocess to check the exit status and message of ``python -m mtl``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import _fixtures  # noqa: F401  (one torch thread per test worker)
import pandas as pd
import pytest
from _fixtures import run_cli

from mtl.cli import main

REPO = Path(__file__).resolve().parents[1]
TASKS = "click,like,watch_time"   # two binary tasks and a regression task


_main = run_cli  # (exit status, stdout, stderr) of the CLI in process


def _strict_json(text: str):
    def no_constants(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=no_constants)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """synth -> train (1 epoch, JSON, saved model): the files and what was printed."""
    tmp = tmp_path_factory.mktemp("cli")
    data = tmp / "x.csv.gz"
    synth = _main(["synth", "--out", data, "--users", 50, "--items", 80, "--impressions", 2000, "--seed", 3])
    model_dir, json_path = tmp / "model", tmp / "out.json"
    train = _main(["train", "--data", data, "--tasks", TASKS, "--epochs", 1, "--json", json_path,
                   "--save", model_dir, "--quiet", "--emb-dim", 4, "--hidden", "16", "--batch-size", 256,
                   "--device", "cpu"])
    return {"tmp": tmp, "data": data, "model": model_dir, "json": json_path, "synth": synth, "train": train}


def _assert_one_error_line(code: int, out: str, err: str, *needles: str) -> str:
    assert code == 2, (code, out, err)
    assert "Traceback" not in err and "Traceback" not in out
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


# --------------------------------------------------------------- happy path
def test_synth_writes_a_file(run):
    code, out, err = run["synth"]
    assert code == 0, err
    assert run["data"].is_file() and run["data"].stat().st_size > 0
    df = pd.read_csv(run["data"])
    assert len(df) == 2000
    assert df.user_id.nunique() <= 50 and df.item_id.nunique() <= 80
    assert {"click", "like", "watch_time", "item_title"} <= set(df.columns)
    assert "wrote 2,000 impressions" in out and str(run["data"]) in out


def test_synth_creates_missing_folders_and_writes_parquet(tmp_path, capsys):
    target = tmp_path / "a" / "b" / "feed.parquet"
    assert main(["synth", "--out", str(target), "--users", "20", "--items", "30", "--impressions", "300"]) == 0
    assert len(pd.read_parquet(target)) == 300
    assert "wrote 300 impressions" in capsys.readouterr().out


def test_train_prints_a_per_task_table(run):
    code, out, err = run["train"]
    assert code == 0, err
    assert "Traceback" not in err
    lines = out.splitlines()
    header = next(i for i, ln in enumerate(lines) if ln.split()[:3] == ["task", "kind", "n"])
    cols = lines[header].split()
    assert {"auc", "accuracy", "logloss", "rmse", "mae"} <= set(cols)
    rows = [ln.split() for ln in lines[header + 1: header + 4]]
    assert [r[0] for r in rows] == ["click", "like", "watch_time"]
    assert [r[1] for r in rows] == ["binary", "binary", "regression"]
    auc = float(rows[0][cols.index("auc")])
    assert 0 <= auc <= 1
    assert rows[2][cols.index("auc")] == "-"        # not a metric of a regression task
    assert float(rows[2][cols.index("rmse")]) > 0
    assert "shared_bottom + static" in out and f"saved model to {run['model']}" in out
    # Gradient diagnostics in words: one line per task pair, one about dominance.
    at = next(i for i, ln in enumerate(lines) if ln.startswith("gradient diagnostics ("))
    findings = [ln for ln in lines[at + 1:] if ln.startswith("  - ")]
    assert len(findings) == 4 and "**" not in "".join(findings)
    # A short run measures every 4th batch (the default 50 would leave it with one row).
    doc = json.loads(run["json"].read_text())
    assert doc["config"]["diagnostics_every"] == 4 and doc["diagnostics"][1]["step"] == 5
    assert sum(" and " in f and "(mean cosine" in f for f in findings) == 3
    # --quiet: no progress line, only the per-evaluation summary.
    assert "eta" not in err and "epoch 1: valid" in err


def test_train_diagnostics_can_be_turned_off(run):
    code, out, err = _main(["train", "--data", run["data"], "--tasks", TASKS, "--epochs", 1, "--quiet",
                            "--emb-dim", 4, "--hidden", "16", "--batch-size", 256, "--device", "cpu",
                            "--diagnostics-every", 0])
    assert code == 0, err
    assert "gradient diagnostics" not in out


def test_train_json_document(run):
    doc = _strict_json(run["json"].read_text())
    assert {"test", "valid", "train_seconds", "params", "config"} <= set(doc)
    assert isinstance(doc["params"], int) and doc["params"] > 0
    assert doc["train_seconds"] > 0
    click = doc["test"]["click"]
    assert {"auc", "accuracy", "logloss"} <= set(click)
    assert 0 <= click["auc"] <= 1 and 0 <= click["accuracy"] <= 1 and click["logloss"] > 0
    wt = doc["test"]["watch_time"]
    assert {"rmse", "mae"} <= set(wt) and wt["rmse"] >= wt["mae"] > 0
    assert "auc" not in wt
    assert set(doc["valid"]) == {"click", "like", "watch_time"}
    cfg = doc["config"]
    assert cfg["tasks"] == ["click", "like", "watch_time"] and cfg["epochs"] == 1
    assert cfg["arch"] == "shared_bottom" and cfg["model"]["emb_dim"] == 4 and cfg["model"]["hidden"] == [16]


def test_train_saves_a_loadable_model(run):
    names = {p.name for p in run["model"].iterdir()}
    assert {"model.safetensors", "model.json", "encoder.json"} <= names
    assert not any(n.endswith((".pt", ".pkl")) for n in names)


def _known_user(run) -> str:
    return str(pd.read_csv(run["data"]).user_id.value_counts().index[0])


def test_recommend_prints_k_rows(run):
    code, out, err = _main(["recommend", "--model", run["model"], "--user", _known_user(run), "--k", 3,
                            "--fusion", "like=0.7,click=0.3"])
    assert code == 0, err
    lines = _table_lines(out)
    assert len(lines) == 1 + 3                      # header + 3 items
    header = lines[0].split()
    assert header[:5] == ["rank", "item_id", "score", "+like", "+click"]
    assert {"click", "like", "watch_time", "item_category"} <= set(header)
    assert [ln.split()[0] for ln in lines[1:]] == ["1", "2", "3"]
    scores = [float(ln.split()[2]) for ln in lines[1:]]
    assert scores == sorted(scores, reverse=True)
    # The per-task contributions explain the score: they add up to it.
    for ln in lines[1:]:
        cells = ln.split()
        assert float(cells[3]) + float(cells[4]) == pytest.approx(float(cells[2]), abs=2e-4)
    assert "score = sum of the +task columns" in out


def _table_lines(out: str) -> list[str]:
    """The ranking table of ``recommend``'s output (the explanation follows it)."""
    lines = [ln for ln in out.splitlines() if ln.strip()]
    return lines[:next(i for i, ln in enumerate(lines) if ln.startswith("score = "))]


def test_recommend_include_seen_and_default_fusion(run):
    user = _known_user(run)
    code, out, _ = _main(["recommend", "--model", run["model"], "--user", user, "--k", 500, "--include-seen"])
    assert code == 0
    n_items = pd.read_csv(run["data"]).item_id.nunique()
    assert len(_table_lines(out)) == 1 + n_items
    code, out2, _ = _main(["recommend", "--model", run["model"], "--user", user, "--k", 500])
    assert code == 0
    assert len(_table_lines(out2)) < len(_table_lines(out))


def test_inspect_shows_roles(run):
    code, out, err = _main(["inspect", "--data", run["data"]])
    assert code == 0, err
    assert "2,000 rows" in out
    assert "user_id" in out and "binary" in out and "regression" in out


# ------------------------------------------------------------- bad inputs
def test_missing_data_file(tmp_path):
    _assert_one_error_line(*_main(["train", "--data", tmp_path / "missing.csv", "--tasks", "click", "--quiet"]),
                           "missing.csv")


def test_unknown_task(run):
    line = _assert_one_error_line(*_main(["train", "--data", run["data"], "--tasks", "click,nope", "--quiet",
                                          "--epochs", 1]), "nope")
    assert "click" in line  # lists the available labels


def test_bad_weights(run):
    _assert_one_error_line(*_main(["train", "--data", run["data"], "--tasks", "click,like", "--weights", "1,x",
                                   "--quiet", "--epochs", 1]), "1,x")


def test_weights_length_mismatch(run):
    _assert_one_error_line(*_main(["train", "--data", run["data"], "--tasks", "click,like", "--weights", "1,2,3",
                                   "--quiet", "--epochs", 1]), "3 task weights", "2 tasks")


@pytest.mark.parametrize("args,needle", [(["--epochs", 0], "epochs"), (["--lr", "-1"], "learning rate"),
                                        (["--batch-size", 0], "batch"), (["--hidden", "16,a"], "16,a")])
def test_bad_training_settings(run, args, needle):
    _assert_one_error_line(*_main(["train", "--data", run["data"], "--tasks", "click", "--quiet", *args]), needle)


def test_train_without_tasks_uses_the_suggested_tasks_and_says_why(run):
    code, out, err = _main(["train", "--data", run["data"], "--quiet", "--epochs", 1, "--emb-dim", 4, "--hidden", "16",
                            "--device", "cpu"])
    assert code == 0, err
    said = next(ln for ln in err.splitlines() if ln.startswith("tasks (none given, suggested)"))
    assert "click:" in said and "positive" in said and "engagement" in said
    table = out.splitlines()[2:5]
    assert [r.split()[0] for r in table] == ["click", "like", "long_view"]


def test_inspect_suggests_tasks_with_reasons(run):
    code, out, err = _main(["inspect", "--data", run["data"]])
    assert code == 0, err
    assert "suggested tasks: click, " in out
    assert any(ln.strip().startswith("* click:") and "positive" in ln for ln in out.splitlines())


def test_unknown_user(run):
    line = _assert_one_error_line(*_main(["recommend", "--model", run["model"], "--user", "no-such-user"]),
                                  "no-such-user")
    assert "e.g." in line


def test_missing_model_folder(tmp_path):
    _assert_one_error_line(*_main(["recommend", "--model", tmp_path / "nothing", "--user", "1"]), "nothing")


@pytest.mark.parametrize("fusion,needle", [("like0.7", "like0.7"), ("like=abc", "abc"), ("nope=1", "nope"),
                                           ("like=0,click=0", "non-zero")])
def test_bad_fusion(run, fusion, needle):
    _assert_one_error_line(*_main(["recommend", "--model", run["model"], "--user", _known_user(run),
                                   "--fusion", fusion]), needle)


def test_bad_k(run):
    _assert_one_error_line(*_main(["recommend", "--model", run["model"], "--user", _known_user(run), "--k", 0]))


def test_damaged_model_folder(run, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(run["model"], broken)
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    _assert_one_error_line(*_main(["recommend", "--model", broken, "--user", _known_user(run)]), "weights")


def test_errors_use_capsys_streams(capsys, tmp_path):
    # The same contract through pytest's own capture (sys.stderr replaced, not redirected).
    assert main(["train", "--data", str(tmp_path / "nope.csv"), "--tasks", "a"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1


def test_subprocess_missing_file_exit_status():
    proc = subprocess.run([sys.executable, "-m", "mtl", "train", "--data", "/nonexistent.csv", "--tasks", "a"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "/nonexistent.csv" in lines[0]
    assert proc.stdout == ""


# ------------------------------------------------ derived labels and time cut-offs
def test_derive_on_train_and_inspect(run, tmp_path):
    """`--derive liked=...` (repeatable) makes 0/1 tasks; the run's config records them."""
    small = ["--epochs", 1, "--quiet", "--emb-dim", 4, "--hidden", "16", "--batch-size", 256, "--device", "cpu"]
    out_json = tmp_path / "d.json"
    code, out, err = _main(["train", "--data", run["data"], "--derive", "good=rating>=4", "--derive",
                            "long=watch_time>=20", "--tasks", "good,long,click", "--json", out_json, *small])
    assert code == 0, err
    assert out.splitlines()[1].split()[0] == "task" and "good" in out and "long" in out
    assert _strict_json(out_json.read_text())["config"]["derive"] == ["good=rating>=4", "long=watch_time>=20"]
    code, out, err = _main(["inspect", "--data", run["data"], "--derive", "good=rating>=4,missing=negative"])
    assert code == 0, err
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("good"))
    assert "binary" in line and "derived from 'rating'" in line


@pytest.mark.parametrize("command", ["sweep", "compare"])
def test_derive_is_accepted_by_every_command_that_loads_data(run, command):
    extra = ["--methods", "static", "--seeds", 1] if command == "compare" else ["--points", 2]
    code, out, err = _main([command, "--data", run["data"], "--derive", "good=rating>>4", "--tasks", "good,click",
                            *extra])
    _assert_one_error_line(code, out, err, "Derived label 'good=rating>>4'", "needs a number")


def test_derive_errors(run):
    code, out, err = _main(["inspect", "--data", run["data"], "--derive", "good=stars>=4"])
    _assert_one_error_line(code, out, err, "no column 'stars'")


def test_time_split_cutoffs_and_column(run, tmp_path):
    """`--split time --cutoffs A,B [--split-column C]`: the run's settings say so."""
    frame = pd.read_csv(run["data"])
    day = pd.to_datetime(frame["timestamp"], unit="s").dt.strftime("%Y%m%d").astype(int)
    frame["date"] = day
    path = tmp_path / "dated.csv"
    frame.to_csv(path, index=False)
    days = sorted(day.unique())
    a, b = days[len(days) // 2], days[len(days) // 2 + 1]
    out_json = tmp_path / "t.json"
    code, out, err = _main(["train", "--data", path, "--tasks", "click", "--split", "time", "--cutoffs",
                            f"{a},{str(b)[:4]}-{str(b)[4:6]}-{str(b)[6:]}", "--split-column", "date", "--epochs", 1,
                            "--quiet", "--emb-dim", 4, "--hidden", "16", "--device", "cpu", "--json", out_json])
    assert code == 0, err
    split = _strict_json(out_json.read_text())["config"]["split"]
    assert split["method"] == "time" and split["column"] == "date"
    assert split["cutoffs"] == [int(a), f"{str(b)[:4]}-{str(b)[4:6]}-{str(b)[6:]}"]
    n_valid = int((day == b).sum())
    assert _strict_json(out_json.read_text())["valid"]["click"]["n"] == n_valid


@pytest.mark.parametrize("args, needle", [
    (["--cutoffs", "20220505"], "Give two cut-offs"),
    (["--split", "random", "--cutoffs", "1,2"], "belong to the time split"),
    (["--split", "time", "--cutoffs", "9,3"], "must be later than the first"),
    (["--split", "time", "--split-column", "nope"], "split column 'nope' is not in the data"),
])
def test_time_split_cutoff_errors(run, args, needle):
    code, out, err = _main(["train", "--data", run["data"], "--tasks", "click", "--epochs", 1, *args])
    _assert_one_error_line(code, out, err, needle)


def test_train_embedding_sizes_by_cardinality(run, tmp_path):
    out = tmp_path / "run.json"
    code, _, err = _main(["train", "--data", run["data"], "--tasks", TASKS, "--epochs", 1, "--quiet",
                          "--emb-dim", 8, "--emb-sizing", "cardinality", "--hidden", "16", "--batch-size", 256,
                          "--device", "cpu", "--json", out])
    assert code == 0, err
    assert json.loads(out.read_text())["config"]["model"]["emb_sizing"] == "cardinality"
    from mtl.errors import ConfigError
    from mtl.models import ModelConfig
    from mtl.train import TrainConfig

    with pytest.raises(ConfigError, match="embedding sizing"):
        TrainConfig(tasks=["click"], model=ModelConfig(emb_sizing="log")).validate()
