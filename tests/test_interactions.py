"""Interaction blocks and numeric embeddings (mtl.models._interactions): each block's
formula on tiny examples, every architecture with every option (shapes, gradients,
the shared features still a cut), configuration checks, saving and loading, the CLI."""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace

import pytest
import torch
from _fixtures import TINY_MODEL, feed_prepared, run_cli, tiny_config

from mtl.errors import ConfigError, ModelFileError
from mtl.models import ModelConfig, available_interactions, available_models, available_num_embeddings, build_model
from mtl.models._interactions import INTERACTIONS, CrossNetwork, FMInteraction, InputExtras, PeriodicEmbedding
from mtl.models.layers import InputLayer
from mtl.tasks import TaskSpec
from mtl.train import TrainConfig, TrainedModel, Trainer

TASKS = [TaskSpec("click", "binary"), TaskSpec("watch_time", "regression", mean=10.0, std=5.0)]
CARDS = [7, 11, 3]
NUM_DIM = 2
B = 6
OPTIONS = [(i, n) for i in available_interactions() for n in available_num_embeddings()]


def _batch(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x_cat = torch.stack([torch.randint(0, c, (B,), generator=g) for c in CARDS], dim=1)
    return x_cat, torch.randn(B, NUM_DIM, generator=g)


def test_registries_list_every_option_with_a_one_line_description():
    assert list(available_interactions()) == ["none", "fm", "dcn"]
    assert list(available_num_embeddings()) == ["none", "periodic"]
    for text in [*available_interactions().values(), *available_num_embeddings().values()]:
        assert text and "\n" not in text and len(text) < 160


# ------------------------------------------------------------------ formulas
def test_fm_term_equals_the_explicit_sum_of_pairwise_dot_products():
    fields = torch.tensor([[[1.0, 2.0], [3.0, -1.0], [0.5, 4.0]],
                           [[0.0, 1.0], [2.0, 2.0], [-1.0, 3.0]]])  # [B=2, F=3, k=2]
    # By hand, row 0: <v0,v1> = 1, <v0,v2> = 8.5, <v1,v2> = -2.5 -> 7.
    assert FMInteraction.fm_term(fields)[0].item() == pytest.approx(7.0)
    block = FMInteraction(in_dim=6, n_fields=3, config=ModelConfig())
    explicit = torch.stack([torch.stack([fields[b, i] @ fields[b, j] for i in range(3) for j in range(i + 1, 3)])
                            for b in range(2)])
    assert torch.allclose(block.pairwise(fields), explicit)
    assert torch.allclose(FMInteraction.fm_term(fields).squeeze(1), explicit.sum(1))
    x = torch.zeros(2, 6)
    out = block(x, fields)
    assert out.shape == (2, 6 + 1 + 3) and block.extra_dim == 4
    assert torch.equal(out[:, :6], x)  # the plain input is kept, the interactions appended


def test_fm_term_on_random_fields_matches_the_quadratic_form():
    torch.manual_seed(1)
    fields = torch.randn(5, 7, 4)
    gram = fields @ fields.transpose(1, 2)
    explicit = (gram.sum((1, 2)) - gram.diagonal(dim1=1, dim2=2).sum(1)) / 2
    assert torch.allclose(FMInteraction.fm_term(fields).squeeze(1), explicit, atol=1e-5)


def test_dcn_v2_cross_layer_formula():
    torch.manual_seed(0)
    block = CrossNetwork(in_dim=5, n_fields=0, config=ModelConfig(cross_layers=2))
    with torch.no_grad():
        for layer in block.layers:
            layer.weight.normal_()
            layer.bias.normal_()
    x0 = torch.randn(3, 5)
    expected = x0
    for layer in block.layers:  # x_{l+1} = x0 * (W_l x_l + b_l) + x_l, Wang et al. 2021, eq. 1
        expected = x0 * (expected @ layer.weight.T + layer.bias) + expected
    assert torch.allclose(block(x0, None), expected, atol=1e-5)
    assert block.extra_dim == 0 and len(block.layers) == 2


def test_dcn_starts_near_the_identity():
    torch.manual_seed(0)
    block = CrossNetwork(in_dim=64, n_fields=0, config=ModelConfig())
    x = torch.randn(8, 64)
    assert (block(x, None) - x).norm() < 0.05 * x.norm()


def test_periodic_embedding_formula_and_shape():
    torch.manual_seed(0)
    emb = PeriodicEmbedding(num_dim=3, emb_dim=4)
    x = torch.randn(5, 3)
    out = emb(x)
    assert out.shape == (5, 3, 4) and (out >= 0).all()
    j, row = 2, 1  # one column of one row by hand: ReLU(W_j [sin(2 pi c_j x), cos(2 pi c_j x)] + b_j)
    angle = 2 * math.pi * emb.frequencies[j] * x[row, j]
    v = torch.cat([torch.sin(angle), torch.cos(angle)])
    assert torch.allclose(out[row, j], torch.relu(v @ emb.weight[j] + emb.bias[j]), atol=1e-5)


def test_narrow_embeddings_are_zero_padded_for_the_fm_pairs():
    """emb_sizing="cardinality" gives a 3-value column fewer dimensions; its pairs use them."""
    torch.manual_seed(0)
    layer = InputLayer(CARDS, 0, 8, sizing="cardinality", config=ModelConfig(interaction="fm", emb_dim=8))
    assert len(set(layer.dims)) > 1
    x_cat, _ = _batch()
    x = layer(x_cat, torch.zeros(B, 0))
    plain = sum(layer.dims)
    assert x.shape == (B, plain + 1 + 3)
    fields = layer.extras.fields(x[:, :plain], None)
    assert fields.shape == (B, 3, 8)
    assert torch.allclose(x[:, plain], FMInteraction.fm_term(fields).squeeze(1), atol=1e-6)


# ---------------------------------------------------- every architecture
@pytest.mark.parametrize("interaction,num_embedding", OPTIONS)
@pytest.mark.parametrize("arch", list(available_models()))
def test_every_architecture_takes_every_option(arch, interaction, num_embedding):
    torch.manual_seed(0)
    cfg = replace(TINY_MODEL, interaction=interaction, num_embedding=num_embedding)
    model = build_model(arch, CARDS, NUM_DIM, TASKS, cfg)
    out = model(*_batch())
    assert [tuple(o.shape) for o in out.outputs] == [(B,), (B,)]
    sum(o.pow(2).mean() for o in out.outputs).backward()
    # Gradients reach every parameter of the new blocks.
    blocks = [m for m in model.modules() if isinstance(m, InputExtras)]
    assert bool(blocks) == (interaction != "none" or num_embedding != "none")
    assert all(isinstance(b.interaction, INTERACTIONS[interaction] or type(None)) for b in blocks)
    extras = [(n, p) for n, p in model.named_parameters() if ".extras." in n]
    for name, p in extras:
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    # The blocks widen the network's input (FM) or add parameters (DCN, periodic).
    plain = build_model(arch, CARDS, NUM_DIM, TASKS, TINY_MODEL)
    assert (model.n_parameters() > plain.n_parameters()) == bool(blocks)


@pytest.mark.parametrize("interaction", ["fm", "dcn"])
def test_conditioned_models_take_the_blocks(interaction):
    torch.manual_seed(0)
    model = build_model("mmoe", CARDS, NUM_DIM, TASKS,
                        replace(TINY_MODEL, interaction=interaction, num_embedding="periodic", conditioned=True))
    a = model(*_batch(), pref=torch.tensor([0.9, 0.1]))
    assert all(torch.isfinite(o).all() for o in a.outputs)


@pytest.mark.parametrize("arch", ["shared_bottom", "mmoe", "ple"])
def test_shared_features_still_form_a_cut(arch):
    """Aggregating per-task gradients on ``features`` equals back-propagating the
    same combination of task losses (what gradient weighting methods rely on)."""
    prepared = feed_prepared()
    enc = prepared.encoder
    torch.manual_seed(0)
    cfg = replace(TINY_MODEL, interaction="fm", num_embedding="periodic")
    model = build_model(arch, enc.cardinalities, len(enc.numeric_names), prepared.tasks, cfg)
    x_cat, x_num, y = prepared.train.x_cat[:128], prepared.train.x_num[:128], prepared.train.y[:128]
    from mtl.tasks import task_loss

    def losses():
        out = model(x_cat, x_num)
        return out, [task_loss(t, o, y[:, j]) for j, (o, t) in enumerate(zip(out.outputs, prepared.tasks))]

    w = [0.3, 0.7]
    out, ls = losses()
    params = [p for p in model.parameters()]
    direct = torch.autograd.grad(sum(wi * li for wi, li in zip(w, ls)), params, allow_unused=True)
    out, ls = losses()
    feats = out.features
    per_task = [torch.autograd.grad(li, feats, retain_graph=True, allow_unused=True) for li in ls]
    combined = [sum(w[k] * (per_task[k][i] if per_task[k][i] is not None else 0) for k in range(2))
                for i in range(len(feats))]
    # Task-specific parameters: their own losses; shared ones: through the features.
    shared_grads = torch.autograd.grad(feats, params, grad_outputs=combined, allow_unused=True, retain_graph=True)
    shared_ids = {id(p) for p, g in zip(params, shared_grads) if g is not None}
    for p, d, s in zip(params, direct, shared_grads):
        if id(p) in shared_ids:
            assert torch.allclose(d, s, atol=1e-6)


# ------------------------------------------------------------- configuration
@pytest.mark.parametrize("interaction,needle", [("fm", "pairs every two of the model's 101 input fields"),
                                                ("dcn", "input is 4,140 values wide, over 4,096")])
def test_blocks_too_large_for_wide_data_are_refused_with_a_clear_error(interaction, needle):
    with pytest.raises(ConfigError, match=needle):
        build_model("shared_bottom", [3] * 101, 100, TASKS, replace(ModelConfig(), interaction=interaction,
                                                                      emb_dim=40))


@pytest.mark.parametrize("change,needle", [
    (dict(interaction="dot"), "interaction must be one of none, fm, dcn, not 'dot'"),
    (dict(interaction=None), "interaction must be one of"),
    (dict(num_embedding="ple"), "numeric embedding must be one of none, periodic, not 'ple'"),
    (dict(cross_layers=0), "number of cross layers must be a whole number from 1 to 8, got 0"),
    (dict(cross_layers=2.5), "number of cross layers"),
])
def test_bad_values_are_refused_with_one_clear_line(change, needle):
    config = TrainConfig(tasks=["click"], model=replace(ModelConfig(), **change))
    with pytest.raises(ConfigError) as err:
        config.validate()
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_config_round_trips_and_old_configs_mean_the_plain_network():
    cfg = TrainConfig(tasks=["click"], model=ModelConfig(interaction="dcn", cross_layers=3, num_embedding="periodic"))
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    old = cfg.to_dict()
    for key in ("interaction", "cross_layers", "num_embedding"):
        del old["model"][key]
    model = TrainConfig.from_dict(old).model
    assert (model.interaction, model.cross_layers, model.num_embedding) == ("none", 2, "none")


# ------------------------------------------------------------- saved models
@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    cfg = tiny_config(model=replace(TINY_MODEL, interaction="fm", num_embedding="periodic"))
    result = Trainer(feed_prepared(), cfg).fit()
    return result, result.trained.save(tmp_path_factory.mktemp("inter") / "model")


def _scores(trained):
    prepared = feed_prepared()
    with torch.no_grad():
        return [o.clone() for o in trained.model(prepared.test.x_cat[:50], prepared.test.x_num[:50]).outputs]


def test_a_model_with_the_blocks_saves_and_loads(saved):
    result, folder = saved
    meta = json.loads((folder / "model.json").read_text())
    assert meta["model_config"]["interaction"] == "fm" and meta["model_config"]["num_embedding"] == "periodic"
    loaded = TrainedModel.load(folder)
    assert loaded.model.config == result.trained.model.config
    for a, b in zip(_scores(loaded), _scores(result.trained)):
        assert torch.equal(a, b)


def test_a_model_saved_before_the_fields_existed_still_loads(tmp_path):
    cfg = tiny_config()
    result = Trainer(feed_prepared(), cfg).fit()
    folder = result.trained.save(tmp_path / "old")
    meta = json.loads((folder / "model.json").read_text())
    for key in ("interaction", "cross_layers", "num_embedding"):
        del meta["model_config"][key]
        del meta["train_config"]["model"][key]
    (folder / "model.json").write_text(json.dumps(meta))
    loaded = TrainedModel.load(folder)
    assert loaded.model.config.interaction == "none" and loaded.model.config.num_embedding == "none"
    for a, b in zip(_scores(loaded), _scores(result.trained)):
        assert torch.equal(a, b)


@pytest.mark.parametrize("key,value,needle", [
    ("interaction", "bogus", "model_config.interaction is str 'bogus'; one of none, fm, dcn expected"),
    ("num_embedding", 3, "model_config.num_embedding is int 3"),
    ("cross_layers", 10**6, "model_config.cross_layers is 1,000,000"),
])
def test_edited_fields_in_model_json_are_refused(saved, tmp_path, key, value, needle):
    folder = shutil.copytree(saved[1], tmp_path / "m")
    meta = json.loads((folder / "model.json").read_text())
    meta["model_config"][key] = value
    (folder / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="model.json") as err:
        TrainedModel.load(folder)
    assert needle in str(err.value)


def test_a_model_json_claiming_another_interaction_than_its_weights_is_refused(saved, tmp_path):
    folder = shutil.copytree(saved[1], tmp_path / "m")
    meta = json.loads((folder / "model.json").read_text())
    meta["model_config"]["interaction"] = "dcn"
    (folder / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="weights do not match"):
        TrainedModel.load(folder)


# ----------------------------------------------------------------------- CLI
def test_cli_trains_and_saves_with_the_flags(tmp_path):
    from _fixtures import feed_frame

    data = tmp_path / "feed.csv"
    feed_frame().to_csv(data, index=False)
    code, out, err = run_cli(["train", "--data", data, "--tasks", "click,like", "--epochs", "1", "--quiet",
                              "--emb-dim", "4", "--hidden", "16", "--interaction", "dcn", "--cross-layers", "1",
                              "--num-embedding", "periodic", "--device", "cpu", "--save", tmp_path / "m"])
    assert code == 0, err
    model = json.loads((tmp_path / "m" / "model.json").read_text())["model_config"]
    assert (model["interaction"], model["cross_layers"], model["num_embedding"]) == ("dcn", 1, "periodic")


def test_cli_refuses_a_bad_value(tmp_path):
    code, _, err = run_cli(["train", "--data", "sample:simulated", "--cross-layers", "0"])
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == ["error: number of cross layers must be a whole number from 1 to 8, got 0"]
    with pytest.raises(SystemExit) as exit_:
        run_cli(["train", "--data", "sample:simulated", "--interaction", "dot"])
    assert exit_.value.code == 2
