"""Comparisons and sweeps on a network with feature interactions, numeric embeddings and
user-history features: the library refuses data prepared differently from what the
configuration says, the ``compare`` and ``sweep`` commands take the Train command's
flags and record them, and results name the network in words."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from _fixtures import TINY_MODEL, feed_prepared, run_cli, synth_csv, tiny_config

from mtl.compare import compare
from mtl.errors import ConfigError
from mtl.models import ModelConfig
from mtl.report import network_label
from mtl.tradeoff import sweep


def test_network_label_names_the_blocks_beyond_the_plain_network():
    assert network_label(tiny_config(arch="mmoe")) == "mmoe"
    both = tiny_config(model=replace(TINY_MODEL, interaction="dcn", num_embedding="periodic"), history=True)
    assert network_label(both) == "shared_bottom with dcn interactions, periodic numeric embeddings, user-history features"
    assert network_label(tiny_config(history=True)) == "shared_bottom with user-history features"
    assert network_label(tiny_config(arch="ple", model=ModelConfig(input_proj=32))) == "ple with a 32-wide input projection"
    assert network_label(tiny_config(model=ModelConfig(input_proj=32))) == "shared_bottom"  # it reads no projection


@pytest.mark.parametrize("run", [
    lambda cfg, progress: compare(feed_prepared(), cfg, ["static"], 1, progress=progress),
    lambda cfg, progress: sweep(feed_prepared(), cfg, points=2, progress=progress),
], ids=["compare", "sweep"])
def test_history_asked_for_but_not_prepared_fails_before_training(run):
    # feed_prepared() has no user-history features: training it as a history network
    # would record one network and train another.
    with pytest.raises(ConfigError, match="prepared without user-history features: prepare it with history=True"):
        run(tiny_config(history=True), lambda *a: pytest.fail("trained"))


@pytest.fixture(scope="module")
def feed_csv(tmp_path_factory):
    return synth_csv(tmp_path_factory.mktemp("network") / "feed.csv.gz", impressions=1500)


#: Each command a different network (with dcn, periodic embeddings train 3x slower).
NETWORKS = {"compare": ["--interaction", "dcn", "--cross-layers", 1, "--history-features"],
            "sweep": ["--num-embedding", "periodic", "--history-features"]}
COMMON = ["--tasks", "click,like", "--epochs", 1, "--batch-size", 256, "--device", "cpu", "--quiet"]


def test_cli_compare_and_sweep_train_on_the_chosen_network(feed_csv, tmp_path):
    code, out, err = run_cli(["compare", "--data", feed_csv, *COMMON, "--methods", "static", "--seeds", 1,
                              *NETWORKS["compare"], "--json", tmp_path / "compare.json"])
    assert code == 0, err
    assert "shared_bottom with dcn interactions, user-history features, 1 seed(s)" in out.splitlines()[0]
    code, _, err = run_cli(["sweep", "--data", feed_csv, *COMMON, "--points", 2, *NETWORKS["sweep"],
                            "--json", tmp_path / "sweep.json"])
    assert code == 0, err
    want = {"compare": ("dcn", 1, "none", True), "sweep": ("none", 2, "periodic", True)}
    for command, network in want.items():
        config = json.loads((tmp_path / f"{command}.json").read_text())["config"]
        model = config["model"]
        assert (model["interaction"], model["cross_layers"], model["num_embedding"], config["history"]) == network


@pytest.mark.parametrize("command,extra", [("compare", ["--methods", "static"]), ("sweep", ["--points", 2])])
def test_cli_bad_network_flags_are_one_error_line(feed_csv, command, extra):
    code, out, err = run_cli([command, "--data", feed_csv, *COMMON, *extra, "--interaction", "dcn",
                              "--cross-layers", 0])
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and "number of cross layers" in lines[0] and "Traceback" not in err, err


def test_cli_history_features_need_ids_and_a_topic_column(tmp_path):
    path = tmp_path / "no_ids.csv"
    path.write_text("x,click,like\n" + "".join(f"{i % 7},{i % 2},{i % 3 == 0:d}\n" for i in range(200)))
    code, out, err = run_cli(["compare", "--data", path, *COMMON, "--methods", "static", "--seeds", 1,
                              "--history-features"])
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    assert "User-history features need a user id and an item id column" in lines[0]
