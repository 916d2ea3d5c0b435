"""Run setup (mtl.setup): suggested configs, splits, baselines, weights parsing, and
every training setting checked before anything trains (CLI included)."""

from __future__ import annotations

import json

import _fixtures  # noqa: F401  (one torch thread per test worker)
import pandas as pd
import pytest
from _fixtures import feed_data, feed_frame, run_cli, tiny_config

import mtl.data
from mtl.cli import _config as cli_config
from mtl.cli import build_parser, main
from mtl.data import SplitSpec
from mtl.data.samples import get_sample, load_sample
from mtl.errors import ConfigError, DataError
from mtl.models import ModelConfig
from mtl.setup import (
    MIN_STEPS,
    baseline_config,
    check_label,
    parse_weights,
    resolve_split,
    suggested_batch_size,
    suggested_config,
)
from mtl.train import TrainConfig

_main = run_cli  # (exit status, stdout, stderr) of the CLI in process


class _Prepared(Exception):
    """Raised by a stand-in for ``prepare``: the command got as far as preparing data."""


@pytest.fixture
def captured_splits(monkeypatch):
    """The split every CLI command hands to ``prepare`` (nothing is trained)."""
    seen: list[SplitSpec] = []

    def fake_prepare(data, tasks, split, seed=0, **kw):
        seen.append(split)
        raise _Prepared

    monkeypatch.setattr(mtl.data, "prepare", fake_prepare)
    return seen


@pytest.fixture(scope="module")
def feed_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("setup") / "feed.csv"
    feed_frame().to_csv(path, index=False)
    return path


# ------------------------------------------------------------------ splits
@pytest.mark.parametrize("command,extra", [("train", []), ("sweep", ["--points", 2]),
                                           ("compare", ["--methods", "static", "--seeds", 1])])
def test_every_command_seeds_a_samples_split_with_its_seed(captured_splits, command, extra):
    """``--seed`` changes the split of a bundled sample in every command alike
    (``sweep --seed`` once kept the sample's seed-0 split while ``train --seed`` did not)."""
    for seed in (0, 3):
        with pytest.raises(_Prepared):
            main([command, "--data", "sample:simulated", "--seed", str(seed), "--quiet", *map(str, extra)])
    suggested = get_sample("simulated").split
    assert captured_splits == [SplitSpec(**{**suggested.__dict__, "seed": 0}),
                               SplitSpec(**{**suggested.__dict__, "seed": 3})]


def test_resolve_split_keeps_a_samples_split_unless_another_is_asked_for():
    kuairand = get_sample("kuairand")
    data = load_sample("kuairand")
    assert resolve_split(data, kuairand, seed=5) == SplitSpec(**{**kuairand.split.__dict__, "seed": 5})
    assert resolve_split(data, kuairand, "time", seed=5).cutoffs == kuairand.split.cutoffs  # same method: its cut-offs
    assert resolve_split(data, kuairand, "random", seed=5) == SplitSpec("random", seed=5)
    assert resolve_split(data, None, seed=2) == SplitSpec("random", seed=2)


def test_resolve_split_time_options():
    data = feed_data()
    t = data.frame[data.schema.time]
    a, b = int(t.quantile(0.7)), int(t.quantile(0.85))
    spec = resolve_split(data, cutoffs=f"{a}, {b}")  # cut-offs alone mean the time split
    assert spec.method == "time" and spec.cutoffs == (a, b)
    with pytest.raises(ConfigError, match="belong to the time split"):
        resolve_split(data, method="random", cutoffs="1,2")
    with pytest.raises(ConfigError, match="later than the first"):
        resolve_split(data, method="time", cutoffs=f"{b},{a}")  # checked now, not when training


# ---------------------------------------------------------- suggested config
def test_suggested_config_fills_what_is_not_given():
    data, sample = load_sample("simulated"), get_sample("simulated")
    cfg = suggested_config(data, sample)
    assert cfg.tasks == list(sample.tasks) and cfg.preference is None
    assert cfg.lr == TrainConfig.lr and cfg.epochs == TrainConfig.epochs and cfg.model == ModelConfig()
    assert cfg.batch_size == suggested_batch_size(data.n_rows) and cfg.split.seed == 0
    cfg = suggested_config(data, sample, tasks=["click", "like"], preference=[1, 3], seed=4, epochs=None, n_experts=6,
                           hidden=[32], split="user")
    assert cfg.preference == {"click": 1.0, "like": 3.0} and cfg.seed == 4 and cfg.epochs == TrainConfig.epochs
    assert cfg.model.n_experts == 6 and cfg.model.n_shared_experts == 3 and cfg.model.hidden == (32,)
    assert cfg.split == SplitSpec("user", seed=4)
    assert suggested_config(data, sample, tasks=[]).tasks == []  # no tasks chosen is not "suggest some"
    with pytest.raises(TypeError, match="wieghts"):
        suggested_config(data, sample, wieghts=[1, 2])


def test_suggested_batch_size_leaves_enough_steps_per_epoch():
    assert suggested_batch_size(120_000) == 2048       # the simulated sample: 47 steps per epoch
    assert suggested_batch_size(3_000) == 64           # 2,400 training rows: 37 steps, not 2
    assert suggested_batch_size(100) == 32             # never below 32
    for n in (500, 3_000, 40_000, 120_000):
        batch = suggested_batch_size(n)
        assert batch == 32 or 0.8 * n / batch >= MIN_STEPS


def test_baseline_config_is_never_conditioned():
    """The app's baselines once kept a conditioned run's ``conditioned`` flag."""
    run = tiny_config(arch="mmoe", preference={"click": 3, "like": 1}, evals_per_epoch=4,
                      model=ModelConfig(hidden=(8,), conditioned=True))
    base = baseline_config(run)
    assert (base.arch, base.weighting, base.preference, base.evals_per_epoch) == ("single", "static", None, 1)
    assert base.model.conditioned is False and base.model.hidden == (8,)
    assert (base.seed, base.split, base.epochs, base.lr) == (run.seed, run.split, run.epochs, run.lr)
    base.validate()


# ------------------------------------------------------------------ weights
def test_parse_weights():
    assert parse_weights("1, 2") == [1.0, 2.0]
    assert parse_weights("click=1,like=2.5") == {"click": 1.0, "like": 2.5}
    for bad in ("1,x", "click=1,2", "click=x"):
        with pytest.raises(ConfigError, match="comma-separated numbers"):
            parse_weights(bad)


def test_old_configs_with_a_weights_list_still_load():
    old = tiny_config().to_dict()
    old.pop("preference")
    old["weights"] = [1, 3]
    assert TrainConfig.from_dict(json.loads(json.dumps(old))).preference == {"click": 1.0, "like": 3.0}
    old["weights"] = None
    assert TrainConfig.from_dict(old).preference is None


def test_weights_by_name_or_in_task_order_on_the_command_line():
    data, sample = load_sample("simulated"), get_sample("simulated")
    for weights in ("like=3,click=1", "1,3"):
        args = build_parser().parse_args(["train", "--data", "sample:simulated", "--tasks", "click,like",
                                          "--weights", weights])
        assert cli_config(args, data, sample).preference == {"click": 1.0, "like": 3.0}


# --------------------------------------------------------- bad settings, CLI
@pytest.mark.parametrize("args,needle", [
    (["--weights", "inf,1"], "weight of task 'click' must be a finite number"),
    (["--weights", "0,0"], "above zero"),
    (["--weights", "click=1,nope=2"], "'nope', which is not a task"),
    (["--weights", "click=1"], "missing: like"),
    (["--dropout", "2"], "dropout"),
    (["--dropout", "-0.5"], "dropout"),
    (["--dropout", "nan"], "dropout"),
    (["--experts", "0"], "number of experts"),
    (["--levels", "0"], "PLE levels"),
    (["--emb-dim", "100000000"], "embedding size"),
    (["--hidden", "16,100000000"], "hidden layer size"),
    (["--seed", "-1"], "seed"),
    (["--epochs", "0"], "epochs"),
    (["--batch-size", "-5"], "batch size"),
    (["--lr", "nan"], "learning rate"),
    (["--lr", "inf"], "learning rate"),
    (["--patience", "0"], "patience"),
])
def test_every_bad_setting_is_one_error_line_before_anything_is_prepared(feed_csv, captured_splits, args, needle):
    code, out, err = _main(["train", "--data", feed_csv, "--tasks", "click,like", "--quiet", *args])
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err + out, err
    assert needle in lines[0], lines[0]
    assert captured_splits == []  # refused before the data was prepared


@pytest.mark.parametrize("field,value", [
    ("lr", float("nan")), ("weight_decay", -1.0), ("pref_alpha", float("inf")), ("diagnostics_every", -1),
    ("evals_per_epoch", 0), ("tasks", ["click", "click"]), ("tasks", []), ("seed", 2**32),
])
def test_validate_refuses_each_bad_training_setting(field, value):
    with pytest.raises(ConfigError):
        tiny_config(**{field: value}).validate()


@pytest.mark.parametrize("change", [dict(n_shared_experts=0), dict(n_task_experts=0), dict(tower=(0,)),
                                    dict(hidden=()), dict(n_levels=100), dict(n_experts=1000)])
def test_validate_refuses_each_bad_model_size(change):
    with pytest.raises(ConfigError):
        tiny_config(model=ModelConfig(**change)).validate()


# -------------------------------------------------------------- label roles
def test_check_label():
    frame = pd.DataFrame({"ok": [0, 1, 1], "odd": [0, 2, 1], "text": ["a", "b", "c"]})
    check_label(frame, "ok", "binary")
    with pytest.raises(DataError, match="value 2 at row 2"):
        check_label(frame, "odd", "binary")
    with pytest.raises(DataError, match="'a' at row 1"):
        check_label(frame, "text", "regression")
    check_label(frame, "text", "multiclass")
