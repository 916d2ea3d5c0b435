"""Transfer to a new task (mtl.finetune) and its command line."""

from __future__ import annotations

import json
import math
import re

import pytest
import torch
from _fixtures import feed_data, run_cli, trained_feed

from mtl.data import prepare
from mtl.errors import ConfigError, DataError
from mtl.finetune import FRACTIONS, MODES, finetune


def _trained():
    return trained_feed()[2].trained


@pytest.fixture(scope="module")
def result():
    return finetune(_trained(), feed_data(), "long_view", fractions=(0.1, 1.0), epochs=3, seed=0)


def test_every_fraction_and_mode_has_held_out_metrics(result):
    assert [(r["fraction"], r["mode"]) for r in result.rows] == [(f, m) for f in (0.1, 1.0) for m in MODES]
    assert result.metric == "auc" and result.base_tasks == ["click", "like"]
    table = result.table()
    assert list(table["mode"]) == list(MODES) * 2
    # Nested subsets: 10% of the labelled training rows, then all of them.
    n01, n1 = (table.loc[table["fraction"] == f, "labelled rows"].iloc[0] for f in (0.1, 1.0))
    split = _trained().config.split
    train_part = prepare(feed_data(), ["long_view"], split, seed=_trained().config.seed, id_stats=False).train
    assert n1 == int((~torch.isnan(train_part.y[:, 0])).sum())
    assert n01 == math.ceil(0.1 * n1)
    for r in result.rows:
        assert 0.5 < r["test"]["auc"] < 1.0, r  # every mode learns the new task
        assert r["test"]["n"] == result.rows[0]["test"]["n"]  # the test part is never subsampled
    assert table.loc[table["mode"] == "scratch", "vs scratch"].isna().all()
    assert not table.loc[table["mode"] != "scratch", "vs scratch"].isna().any()
    doc = json.loads(json.dumps(result.to_json()))
    assert doc["task"] == "long_view" and len(doc["rows"]) == 6
    assert any("scratch" in s for s in result.findings())


def test_frozen_keeps_the_trained_layers_and_the_new_tower_learns(result):
    original = _trained().model.state_dict()
    frozen = result.models[(1.0, "frozen")]
    for name, value in frozen.base.state_dict().items():
        assert torch.equal(value, original[name]), name
    tuned = result.models[(1.0, "finetuned")]
    moved = [n for n, v in tuned.base.state_dict().items() if v.is_floating_point() and not torch.equal(v, original[n])]
    assert moved, "fine-tuning left every trained layer unchanged"
    # The trained model itself is untouched by either mode (they work on copies).
    assert all(torch.equal(v, original[n]) for n, v in _trained().model.state_dict().items())
    # The new tower moved away from its initialization: its predictions vary and beat chance.
    assert result.value(1.0, "frozen") > 0.55


def test_same_seed_same_numbers():
    a = finetune(_trained(), feed_data(), "long_view", fractions=(0.1,), modes=("frozen",), epochs=1, seed=3)
    b = finetune(_trained(), feed_data(), "long_view", fractions=(0.1,), modes=("frozen",), epochs=1, seed=3)
    assert a.rows[0]["test"] == b.rows[0]["test"]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"task": "click"}, ConfigError, "already a task of this model"),
    ({"task": "nope"}, ConfigError, "'nope' is not a label of tiny-feed"),
    ({"task": "long_view", "fractions": (0,)}, ConfigError, r"label fraction must be a number in \(0, 1\]"),
    ({"task": "long_view", "fractions": (1.5,)}, ConfigError, "label fraction"),
    ({"task": "long_view", "fractions": (0.001,)}, ConfigError, "at least 10 are needed"),
    ({"task": "long_view", "modes": ("warm",)}, ConfigError, "Unknown mode"),
])
def test_bad_settings_are_refused_by_name(kwargs, error, match):
    kwargs = {"epochs": 1, **kwargs}
    task = kwargs.pop("task")
    with pytest.raises(error, match=match):
        finetune(_trained(), feed_data(), task, **kwargs)


def test_data_without_the_model_inputs_is_refused():
    from mtl.data import from_frame

    frame = feed_data().frame.drop(columns=["item_category"])
    with pytest.raises(DataError, match="lacks the model's input column"):
        finetune(_trained(), from_frame(frame, name="other"), "long_view", epochs=1)


def test_default_fractions():
    assert FRACTIONS == (0.01, 0.1, 1.0)


# ---------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("ft") / "model"
    _trained().save(path)
    feed = tmp_path_factory.mktemp("ftdata") / "feed.csv"
    feed_data().frame.to_csv(feed, index=False)
    return path, feed


def test_cli_finetune_frozen_one_fraction(model_dir, tmp_path):
    path, feed = model_dir
    out = tmp_path / "ft.json"
    code, stdout, err = run_cli(["finetune", "--model", path, "--data", feed, "--task", "long_view", "--freeze-shared",
                                 "--label-fraction", "0.5", "--epochs", "2", "--json", out])
    assert code == 0, err
    doc = json.loads(out.read_text())
    assert [(r["fraction"], r["mode"]) for r in doc["rows"]] == [(0.5, "frozen"), (0.5, "scratch")]
    assert "frozen" in stdout and "scratch" in stdout and "auc" in stdout


@pytest.mark.parametrize("args, match", [
    (["--task", "click"], "already a task of this model"),
    (["--task", "nope"], "'nope' is not a label"),
    (["--task", "long_view", "--label-fraction", "2"], r"label fraction must be a number in \(0, 1\]"),
    (["--task", "long_view", "--label-fraction", "x"], "Expected comma-separated numbers"),
])
def test_cli_bad_task_or_fraction_is_one_error_line(model_dir, args, match):
    path, feed = model_dir
    code, stdout, err = run_cli(["finetune", "--model", path, "--data", feed, "--epochs", "1", *args])
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert re.search(match, lines[0]), lines[0]


def test_cli_bad_model_is_one_error_line(model_dir, tmp_path):
    _, feed = model_dir
    code, _, err = run_cli(["finetune", "--model", tmp_path / "none", "--data", feed, "--task", "long_view"])
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("arch,proj", [("mmoe", 0), ("ple", 0), ("mmoe", 4)])
def test_a_fused_expert_model_transfers_row_by_row(arch, proj):
    """Fused MMoE/PLE expose the fused columns' spread matrix (one row per value) as a
    feature; the new tower must read each row's representation, not that matrix (with
    an input projection, ``proj``, the features are per row already)."""
    from _fixtures import tiny_config

    from mtl.models import ModelConfig
    from mtl.train import Trainer

    cfg = tiny_config(epochs=1, arch=arch, model=ModelConfig(emb_dim=8, hidden=(8,), tower=(4,), n_experts=2,
                                                                     input_proj=proj))
    trainer = Trainer(prepare(feed_data(), ["click", "like"], cfg.split, seed=0), cfg)
    *_, done = trainer.run()
    trained = done.result.trained
    assert trained.model.input.fused, "the feed should have columns the input layer fuses"
    res = finetune(trained, feed_data(), "long_view", fractions=(1.0,), epochs=1, seed=0)
    model = res.models[(1.0, "frozen")].eval()
    x_cat, x_num = trained.encoder.transform(feed_data().frame.head(7))
    x_cat, x_num = torch.from_numpy(x_cat), torch.from_numpy(x_num)
    with torch.no_grad():
        batch = model(x_cat, x_num)
        alone = torch.stack([model(x_cat[i:i + 1], x_num[i:i + 1])[0] for i in range(7)])
    torch.testing.assert_close(batch, alone)
    assert trained.model.input.fused  # the trained model itself is left fused
