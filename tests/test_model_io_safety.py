"""Loading a saved model never executes code, blocks or balloons (mtl.train.model_files,
mtl.train.model_check): every damaged or hostile folder of issue 16 gets a clear
ModelFileError naming the file, and ``recommend`` never ranks by NaN scores."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import pickle
import shutil
import threading

import numpy as np
import pandas as pd
import pytest
import torch
from _fixtures import TINY_MODEL, feed_data, feed_prepared, trained_feed
from safetensors.torch import load_file, save_file

from mtl import recommend
from mtl.cli import main
from mtl.errors import DataError, ModelFileError
from mtl.models import ModelConfig, available_models, build_model
from mtl.train import TrainedModel, model_files
from mtl.train.model_check import expected_shapes


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    _, _, result = trained_feed()
    return result.trained.save(tmp_path_factory.mktemp("safety") / "model")


@pytest.fixture()
def folder(base, tmp_path):
    return shutil.copytree(base, tmp_path / "m")


def _edit(folder, name, change):
    doc = json.loads((folder / name).read_text())
    change(doc)
    (folder / name).write_text(json.dumps(doc))


def _load_in_time(folder, seconds: float = 20.0):
    """Load in a thread: a regression that blocks (a FIFO) fails the test instead of hanging it."""
    outcome: dict = {}

    def go():
        try:
            outcome["model"] = TrainedModel.load(folder)
        except Exception as err:
            outcome["error"] = err

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"loading {folder} blocked for over {seconds} s"
    return outcome


def _refused(folder, *needles: str) -> str:
    outcome = _load_in_time(folder)
    err = outcome.get("error")
    assert isinstance(err, ModelFileError), outcome
    msg = str(err)
    assert "\n" not in msg and str(folder) in msg
    for needle in needles:
        assert needle in msg, (needle, msg)
    return msg


def test_the_saved_model_loads(base):
    loaded = _load_in_time(base)["model"]
    assert loaded.task_names == ["click", "like"]


# --------------------------------------------------------- sizes in model.json
@pytest.mark.parametrize("value,needle", [
    (1e12, "cardinality 1 must be a whole number, not float 1000000000000.0"),
    (10**12, "cardinality 1 is 1,000,000,000,000, outside 1..2,147,483,647"),
    ("abc", "cardinality 1 must be a whole number, not str 'abc'"),
    (0, "cardinality 1 is 0, outside"),
    (True, "cardinality 1 must be a whole number, not bool True"),
])
def test_cardinality_is_checked_before_anything_is_allocated(folder, value, needle):
    _edit(folder, "model.json", lambda m: m["cardinalities"].__setitem__(0, value))
    _refused(folder, "model.json is damaged or was edited", needle)


@pytest.mark.parametrize("field,value,needle", [
    ("emb_dim", 10**9, "model_config.emb_dim is 1,000,000,000, outside 1..4,096"),
    ("emb_dim", 1e9, "model_config.emb_dim must be a whole number"),
    ("hidden", [10**6, 10**6], "model_config.hidden[0] is 1,000,000, outside 1..65,536"),
    ("hidden", [16] * 1000, "model_config.hidden has 1,000 layers, over 32"),
    ("n_experts", 10**7, "model_config.n_experts is 10,000,000"),
    ("dropout", 2.0, "model_config.dropout is 2.0, outside [0, 1)"),
    ("emb_sizing", "huge", "model_config.emb_sizing is str 'huge'"),
    ("conditioned", "yes", "model_config.conditioned must be true or false"),
    ("bogus", 1, "model_config has unknown fields: bogus"),
])
def test_model_sizes_are_checked(folder, field, value, needle):
    _edit(folder, "model.json", lambda m: m["model_config"].__setitem__(field, value))
    _refused(folder, needle)


def test_sizes_within_bounds_but_not_the_weights_are_refused_without_allocating(folder):
    """emb_dim 4096 with 100 hidden units per layer is allowed by the bounds, but not what the
    weights hold: the mismatch is found on the meta device, before the real network is built."""
    _edit(folder, "model.json", lambda m: m["model_config"].update(emb_dim=4096, hidden=[60_000]))
    _refused(folder, "the weights do not match the model description", "in model.safetensors but")


def test_too_many_layers_in_all(folder):
    _edit(folder, "model.json", lambda m: m.update(arch="ple") or m["model_config"].update(
        n_levels=32, n_shared_experts=256, hidden=[8] * 32))
    _refused(folder, "its sizes imply about", "layers, over 20,000")


def test_deeply_nested_model_json(folder):
    (folder / "model.json").write_text("[" * 100_000 + "]" * 100_000)
    _refused(folder, "model.json is nested too deeply")


@pytest.mark.parametrize("text,needle", [
    ("[1, 2]", "it is not a model description"),
    ('{"format_version": 1}', "arch must be text"),
    ('{"format_version": 1, "arch": "transformer"}', "unknown architecture 'transformer'"),
])
def test_model_json_that_is_not_a_description(folder, text, needle):
    (folder / "model.json").write_text(text)
    _refused(folder, needle)


def test_model_json_that_is_not_utf8(folder):
    (folder / "model.json").write_bytes(b"\xff\xfe{")
    _refused(folder, "model.json is damaged: not valid JSON")


@pytest.mark.parametrize("change,needle", [
    (lambda t: t.__setitem__("std", float("nan")), "standard deviation must be a finite number, not float nan"),
    (lambda t: t.__setitem__("kind", "bogus"), "has kind str 'bogus'"),
    (lambda t: t.__setitem__("name", 7), "task 1's name must be text, not int 7"),
    (lambda t: t.__setitem__("classes", ["a"]), "binary task 'click' lists classes"),
])
def test_task_descriptions_are_checked(folder, change, needle):
    _edit(folder, "model.json", lambda m: change(m["tasks"][0]))
    _refused(folder, needle)


def test_cardinalities_must_match_the_vocabularies(folder):
    _edit(folder, "model.json", lambda m: m["cardinalities"].__setitem__(0, m["cardinalities"][0] + 5))
    _refused(folder, "embedding rows but encoder.json's vocabulary has", "the files do not belong together")


# --------------------------------------------------------------- encoder.json
@pytest.mark.parametrize("change,needle", [
    (lambda e: e.__setitem__("vocab", {k: list(range(len(v))) for k, v in e["vocab"].items()}),
     "the vocabulary of 'user_id' holds int 0 at position 0, where the model saves text"),
    (lambda e: e["vocab"]["user_id"].__setitem__(1, e["vocab"]["user_id"][0]), "the vocabulary of 'user_id' lists"),
    (lambda e: e["vocab"].pop("item_id"), "the vocabularies do not match the categorical columns"),
    (lambda e: [s.__setitem__("std", 0) for s in e["numeric_stats"].values()], "std must be positive, not 0"),
    (lambda e: [s.__setitem__("mean", float("nan")) for s in e["numeric_stats"].values()],
     "mean must be a finite number, not float nan"),
    (lambda e: e["id_stats"][0]["values"].pop(), "values for"),
    (lambda e: e["id_stats"][0].__setitem__("id_column", "nobody"), "reads 'nobody', which is not a categorical column"),
    (lambda e: e.__setitem__("categorical", "user_id"), "the categorical column list must be a list"),
])
def test_encoder_is_checked(folder, change, needle):
    _edit(folder, "encoder.json", change)
    _refused(folder, "encoder.json is damaged or was edited", needle)


def test_a_longer_vocabulary_than_the_network_was_built_for(folder):
    _edit(folder, "encoder.json", lambda e: e["vocab"]["user_id"].extend(["new1", "new2"]))
    _refused(folder, "model.json gives 'user_id'", "the files do not belong together")


# --------------------------------------------------------------------- weights
def test_a_pickle_is_never_unpickled(folder):
    class Boom:
        def __reduce__(self):
            return (os.system, ("touch pwned",))

    (folder / "model.safetensors").write_bytes(pickle.dumps(Boom()))
    _refused(folder, "the weights file model.safetensors is damaged or not a safetensors file")
    assert not (folder / "pwned").exists()


def test_a_header_larger_than_the_file(folder):
    (folder / "model.safetensors").write_bytes((10**12).to_bytes(8, "little") + b"{}")
    _refused(folder, "its header claims 1,000,000,000,000 bytes")


def test_a_tensor_described_beyond_the_file(folder):
    data = (folder / "model.safetensors").read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    key = next(k for k in header if k != "__metadata__")
    header[key]["shape"] = [10**9, 10**9]
    raw = json.dumps(header).encode()
    (folder / "model.safetensors").write_bytes(len(raw).to_bytes(8, "little") + raw + data[8 + n:])
    _refused(folder, f"tensor '{key}' is described inconsistently")


def test_weights_missing_a_tensor(folder):
    state = load_file(str(folder / "model.safetensors"))
    state.pop(sorted(state)[0])
    save_file(state, str(folder / "model.safetensors"))
    _refused(folder, "model.safetensors lacks")


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused(folder, value):
    state = load_file(str(folder / "model.safetensors"))
    save_file({k: torch.full_like(v, value) for k, v in state.items()}, str(folder / "model.safetensors"))
    total = sum(v.numel() for v in state.values())
    _refused(folder, f"holds {total:,} non-finite weights (NaN or infinity) of {total:,}", "retrain it")


def test_one_non_finite_weight_is_refused(folder):
    state = load_file(str(folder / "model.safetensors"))
    key = sorted(state)[-1]
    state[key].view(-1)[0] = float("nan")
    save_file(state, str(folder / "model.safetensors"))
    _refused(folder, "holds 1 non-finite weights", f"'{key}'")


# --------------------------------------------------- files that are not files
def test_a_link_to_an_endless_device_is_refused_unread(folder):
    (folder / "model.json").unlink()
    os.symlink("/dev/zero", folder / "model.json")
    _refused(folder, "model.json is a link to /dev/zero, outside the model folder")


def test_a_link_to_a_file_outside_the_folder(folder, tmp_path):
    outside = tmp_path / "elsewhere.json"
    shutil.move(folder / "encoder.json", outside)
    os.symlink(outside, folder / "encoder.json")
    _refused(folder, "encoder.json is a link to", "outside the model folder")


def test_a_link_inside_the_folder_is_fine(folder):
    (folder / "model.safetensors").rename(folder / "weights.bin")
    os.symlink("weights.bin", folder / "model.safetensors")
    assert "model" in _load_in_time(folder)


def test_a_fifo_as_the_weights_file_does_not_block(folder):
    (folder / "model.safetensors").unlink()
    os.mkfifo(folder / "model.safetensors")
    _refused(folder, "model.safetensors is a FIFO (named pipe), not a regular file")


def test_a_folder_where_a_table_belongs(folder):
    (folder / "items.parquet").unlink()
    (folder / "items.parquet").mkdir()
    _refused(folder, "items.parquet is a folder, not a regular file")


def test_a_broken_link(folder):
    (folder / "model.json").unlink()
    os.symlink("nowhere.json", folder / "model.json")
    _refused(folder, "model.json is missing or a broken link")


def test_oversized_files_are_refused_before_reading(folder):
    with open(folder / "encoder.json", "ab") as f:
        f.truncate(3 * 2**30)  # sparse: 3 GiB without using the disk
    _refused(folder, "encoder.json is 3,072 MiB, over the 512 MiB a saved model's file may have")


def test_a_table_that_would_balloon_when_decompressed(folder, monkeypatch):
    monkeypatch.setattr(model_files, "MAX_TABLE_UNCOMPRESSED", 1000)
    _refused(folder, "once decompressed, over the 1,000 bytes a saved model's table may")


# ---------------------------------------------------------------------- tables
@pytest.mark.parametrize("table,column", [("items", "item_id"), ("users", "user_id"), ("interactions", "item_id")])
def test_a_table_without_its_id_column(folder, table, column):
    frame = pd.read_parquet(folder / f"{table}.parquet")
    frame.drop(columns=[column]).to_parquet(folder / f"{table}.parquet")
    _refused(folder, f"{table}.parquet lacks the id column '{column}'")


# ------------------------------------------------------------------------- CLI
def test_cli_recommend_on_a_damaged_folder_is_one_error_line(folder):
    _edit(folder, "model.json", lambda m: m["model_config"].__setitem__("emb_dim", 10**9))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["recommend", "--model", str(folder), "--user", "1"])
    lines = err.getvalue().strip().splitlines()
    assert code == 2 and out.getvalue() == "" and len(lines) == 1
    assert lines[0].startswith(f"error: {folder}: model.json is damaged or was edited: model_config.emb_dim")


# ------------------------------------------------------ never NaN scores silently
def test_recommend_refuses_a_model_with_nan_weights_in_memory():
    _, _, result = trained_feed()
    trained = copy.deepcopy(result.trained)
    with torch.no_grad():
        for p in trained.model.parameters():
            p.fill_(float("nan"))
    user = recommend.users(trained)[0]
    with pytest.raises(ModelFileError, match=r"click predictions are not finite .* its weights are not finite"):
        recommend.recommend(trained, user, k=5)


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_predictions_made_non_finite_by_extreme_inputs_are_a_data_error():
    _, _, result = trained_feed()
    trained = result.trained
    frame = feed_data().frame.iloc[feed_prepared().test.rows[:10]].copy()
    numeric = trained.encoder.numeric[0]
    frame[numeric] = frame[numeric].astype(float)
    frame.loc[frame.index[:3], numeric] = 1e300  # overflows float32 once standardized
    with pytest.raises(DataError, match="for 3 of 10 rows: check those rows' numeric features"):
        trained.predict_arrays(frame)


# -------------------------------------- the allocation-free check fits every model
@pytest.mark.parametrize("arch", list(available_models()))
@pytest.mark.parametrize("conditioned,sizing", [(False, "fixed"), (True, "cardinality"), (False, "bag")])
def test_meta_shapes_equal_the_real_networks(arch, conditioned, sizing):
    tasks = feed_prepared().tasks
    cfg = ModelConfig(**{**TINY_MODEL.to_dict(), "hidden": (16,), "tower": (8,), "conditioned": conditioned,
                         "emb_sizing": sizing})
    cards, num_dim = [120, 200, 7, 3], 5
    real = {k: tuple(v.shape) for k, v in build_model(arch, cards, num_dim, tasks, cfg).state_dict().items()}
    assert expected_shapes(arch, cards, num_dim, tasks, cfg) == real


def test_meta_check_leaves_other_models_initialized():
    """The meta build skips weight initialization only for its own meta tensors."""
    tasks = feed_prepared().tasks
    expected_shapes("mmoe", [10, 10], 2, tasks, TINY_MODEL)
    model = build_model("mmoe", [10, 10], 2, tasks, TINY_MODEL)
    weights = model.state_dict()["input.tables.0.weight"]
    assert np.isfinite(weights.numpy()).all() and weights.std() > 0
