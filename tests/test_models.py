"""Architectures (mtl.models): registry, output shapes, sharing, parameter counts."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from _fixtures import shared_parameters  # also: one torch thread per test worker

from mtl.errors import ConfigError
from mtl.models import (
    ModelConfig,
    ModelOutput,
    MultiTaskModel,
    available_models,
    build_model,
    get_model_class,
)
from mtl.models.layers import (
    BAG_MAX_VALUES,
    FUSE_VALUES_PER_DIM,
    ExpertBank,
    GroupedLinear,
    InputLayer,
    Towers,
    embedding_dims,
    mix,
    mlp,
    mlp_out_dim,
    split_columns,
)
from mtl.tasks import TaskSpec, predict
from mtl.weighting.jacobian import task_jacobian

TASKS = [
    TaskSpec("click", "binary"),
    TaskSpec("watch_time", "regression", mean=10.0, std=5.0),
    TaskSpec("mood", "multiclass", classes=("a", "b", "c", "d")),
]
CARDS = [7, 11, 3]   # three categorical columns (code 0 = out of vocabulary)
NUM_DIM = 5
CFG = ModelConfig(emb_dim=4, hidden=(16,), tower=(8,))
B = 9


def _batch(seed: int = 0, batch: int = B):
    g = torch.Generator().manual_seed(seed)
    x_cat = torch.stack([torch.randint(0, c, (batch,), generator=g) for c in CARDS], dim=1)
    x_num = torch.randn(batch, NUM_DIM, generator=g)
    return x_cat, x_num


def test_builtin_architectures_are_registered_in_display_order():
    models = available_models()
    assert list(models)[:4] == ["single", "shared_bottom", "mmoe", "ple"]
    assert all(isinstance(d, str) and d for d in models.values())


@pytest.mark.parametrize("name", list(available_models()))
def test_forward_gives_one_output_per_task_with_the_right_shape(name):
    torch.manual_seed(0)
    model = build_model(name, CARDS, NUM_DIM, TASKS, CFG)
    assert isinstance(model, MultiTaskModel) and model.name == name
    out = model(*_batch())
    assert isinstance(out, ModelOutput)
    assert len(out.outputs) == len(TASKS)
    assert out.outputs[0].shape == (B,)          # binary logit
    assert out.outputs[1].shape == (B,)          # regression value
    assert out.outputs[2].shape == (B, 4)        # multiclass logits
    assert all(torch.isfinite(o).all() for o in out.outputs)
    # Every task's output depends on the inputs and is trainable end to end.
    sum(o.float().pow(2).mean() for o in out.outputs).backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    # Predictions are on the labels' scales.
    probs = predict(TASKS[2], out.outputs[2].detach())
    assert torch.allclose(probs.sum(-1), torch.ones(B), atol=1e-5)


@pytest.mark.parametrize("name", list(available_models()))
def test_n_parameters_and_sharing(name):
    model = build_model(name, CARDS, NUM_DIM, TASKS, CFG)
    assert model.n_parameters() == sum(p.numel() for p in model.parameters()) > 0
    shared = shared_parameters(model, model(*_batch()))
    if name == "single":
        assert shared == [] and model.shares_parameters is False
        assert model(*_batch()).features == []
    else:
        assert len(shared) > 0 and model.shares_parameters is True
        own = {id(p) for p in model.parameters()}
        assert all(id(p) in own for p in shared)
        # Shared parameters are a strict subset: the towers belong to single tasks.
        assert sum(p.numel() for p in shared) < model.n_parameters()
        assert len(model(*_batch()).features) >= 1


@pytest.mark.parametrize("name", ["shared_bottom", "mmoe", "ple"])
def test_shared_parameters_receive_gradient_from_every_task(name):
    model = build_model(name, CARDS, NUM_DIM, TASKS, CFG)
    out = model(*_batch())
    for j in range(len(TASKS)):
        model.zero_grad()
        out = model(*_batch())
        shared = shared_parameters(model, out)
        out.outputs[j].float().sum().backward()
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in shared), j


def test_single_task_networks_are_independent():
    model = build_model("single", CARDS, NUM_DIM, TASKS, CFG)
    out = model(*_batch())
    out.outputs[0].sum().backward()
    # Only the first task's input layer and net get gradients.
    assert model.inputs[0].tables[0].weight.grad is not None
    assert model.inputs[1].tables[0].weight.grad is None
    assert all(p.grad is None for p in model.nets[2].parameters())


def test_ple_with_two_levels():
    cfg = ModelConfig(emb_dim=4, hidden=(16,), tower=(8,), n_levels=2, n_shared_experts=2, n_task_experts=2)
    model = build_model("ple", CARDS, NUM_DIM, TASKS, cfg)
    assert len(model.levels) == 2
    assert model.levels[0].shared_gate is not None and model.levels[1].shared_gate is None
    out = model(*_batch())
    assert [tuple(o.shape) for o in out.outputs] == [(B,), (B,), (B, 4)]
    one = build_model("ple", CARDS, NUM_DIM, TASKS, ModelConfig(emb_dim=4, hidden=(16,), tower=(8,)))
    assert model.n_parameters() > one.n_parameters()


def test_mmoe_expert_count_changes_size():
    small = build_model("mmoe", CARDS, NUM_DIM, TASKS, ModelConfig(emb_dim=4, hidden=(16,), tower=(8,), n_experts=2))
    big = build_model("mmoe", CARDS, NUM_DIM, TASKS, ModelConfig(emb_dim=4, hidden=(16,), tower=(8,), n_experts=5))
    assert len(big.experts) == 5 and big.n_parameters() > small.n_parameters()


@pytest.mark.parametrize("name,cfg", [("mmoe", dict(n_experts=0)), ("ple", dict(n_levels=0)),
                                      ("ple", dict(n_shared_experts=0))])
def test_invalid_expert_settings(name, cfg):
    with pytest.raises(ValueError):
        build_model(name, CARDS, NUM_DIM, TASKS, ModelConfig(emb_dim=4, hidden=(16,), tower=(8,), **cfg))


def test_unknown_architecture_lists_choices():
    with pytest.raises(ConfigError) as err:
        build_model("transformer", CARDS, NUM_DIM, TASKS, CFG)
    for name in available_models():
        assert name in str(err.value)
    assert "transformer" in str(err.value)
    with pytest.raises(ConfigError):
        get_model_class("")


@pytest.mark.parametrize("name", list(available_models()))
def test_oov_code_zero_is_accepted(name):
    # Seeded: a tiny network drawn at random can have every ReLU of a path dead, and
    # then a task's output does not depend on the input at all.
    torch.manual_seed(0)
    model = build_model(name, CARDS, NUM_DIM, TASKS, CFG).eval()
    x_cat = torch.zeros(4, len(CARDS), dtype=torch.long)
    out = model(x_cat, torch.zeros(4, NUM_DIM))
    assert all(torch.isfinite(o).all() for o in out.outputs)
    # Code 0 is a real (learned) embedding, not padding: it differs from code 1.
    other = model(torch.ones(4, len(CARDS), dtype=torch.long), torch.zeros(4, NUM_DIM))
    assert any(not torch.equal(a, b) for a, b in zip(out.outputs, other.outputs))


def test_no_categorical_or_no_numeric_inputs():
    # Tabular data without ids (numeric only), and categorical-only data.
    m = build_model("shared_bottom", [], 3, TASKS[:1], CFG)
    assert m(torch.zeros(5, 0, dtype=torch.long), torch.randn(5, 3)).outputs[0].shape == (5,)
    m = build_model("mmoe", [4, 6], 0, TASKS[:1], CFG)
    assert m(torch.ones(5, 2, dtype=torch.long), torch.zeros(5, 0)).outputs[0].shape == (5,)


def test_input_layer_offsets_keep_columns_apart():
    layer = InputLayer([3, 4], num_dim=2, emb_dim=2, sizing="fixed")
    assert layer.out_dim == 2 * 2 + 2
    assert len(layer.tables) == 1 and layer.tables[0].num_embeddings == 7
    x = layer(torch.tensor([[0, 0]]), torch.tensor([[5.0, 6.0]]))
    w = layer.tables[0].weight
    # Code 0 of column 2 is row 3 of the shared table, not row 0.
    assert torch.equal(x[0, :2], w[0]) and torch.equal(x[0, 2:4], w[3])
    assert torch.equal(x[0, 4:], torch.tensor([5.0, 6.0]))


def test_mlp_helpers():
    net = mlp(6, (5, 4), dropout=0.1, out_dim=2)
    assert net(torch.zeros(3, 6)).shape == (3, 2)
    assert any(isinstance(m, torch.nn.Dropout) for m in net)
    assert mlp_out_dim(6, (5, 4)) == 4 and mlp_out_dim(6, ()) == 6


def test_model_config_round_trip():
    cfg = ModelConfig(emb_dim=3, hidden=(8, 4), tower=(2,), n_levels=2, dropout=0.1)
    d = cfg.to_dict()
    assert d["hidden"] == [8, 4]
    assert ModelConfig.from_dict(d) == cfg


def test_same_seed_same_initialization():
    torch.manual_seed(3)
    a = build_model("mmoe", CARDS, NUM_DIM, TASKS, CFG)
    torch.manual_seed(3)
    b = build_model("mmoe", CARDS, NUM_DIM, TASKS, CFG)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)


def test_embedding_sizes_follow_cardinality():
    assert embedding_dims([3, 10, 100, 20_000], 16, "cardinality") == [3, 6, 16, 16]
    assert embedding_dims([3, 20_000], 16) == [16, 16]
    assert embedding_dims([2, 2], 1, "cardinality") == [1, 1]


def test_input_layer_groups_columns_by_size():
    # Columns 0 and 2 share a size (and a table); each reads its own rows.
    layer = InputLayer([3, 20_000, 3], num_dim=1, emb_dim=8, sizing="cardinality")
    assert layer.dims == [3, 8, 3] and layer.out_dim == 3 + 8 + 3 + 1
    x = layer(torch.tensor([[1, 5, 2]]), torch.tensor([[7.0]]))
    big, small = layer.tables  # largest size first
    assert torch.equal(x[0, :8], big.weight[5])
    assert torch.equal(x[0, 8:11], small.weight[1]) and torch.equal(x[0, 11:14], small.weight[3 + 2])
    assert x[0, -1] == 7.0


def test_bag_sums_the_columns_with_few_values():
    """``emb_sizing="bag"``: columns over BAG_MAX_VALUES values keep their own
    embedding; the others are summed into one vector after them, each value its own row."""
    assert embedding_dims([3, BAG_MAX_VALUES + 1, 5], 8, "bag") == [0, 8, 0]
    layer = InputLayer([3, BAG_MAX_VALUES + 1, 5], num_dim=1, emb_dim=4, sizing="bag")
    assert layer.dims == [4, 4] and layer.out_dim == 4 + 4 + 1
    x = layer(torch.tensor([[1, 50, 2], [0, 7, 4]]), torch.tensor([[7.0], [8.0]]))
    (table,) = layer.tables
    assert torch.equal(x[0, :4], table.weight[50])
    assert torch.allclose(x[0, 4:8], layer.bag.weight[1] + layer.bag.weight[3 + 2])
    assert torch.allclose(x[1, 4:8], layer.bag.weight[0] + layer.bag.weight[3 + 4])
    assert x[0, -1] == 7.0 and x[1, -1] == 8.0
    only_small = InputLayer([3, 5], num_dim=0, emb_dim=4, sizing="bag")
    assert only_small.dims == [4] and not only_small.tables
    assert only_small(torch.tensor([[1, 2]]), torch.zeros(1, 0)).shape == (1, 4)


def test_expert_bank_equals_separate_mlps():
    torch.manual_seed(0)
    bank = ExpertBank(3, 5, (4, 2))
    x = torch.randn(7, 5)
    out = bank(x)
    assert out.shape == (3, 7, 2)
    for e in range(3):
        h = x
        for layer in bank.layers:
            h = torch.relu(h @ layer.weight[e] + layer.bias[e])
        assert torch.allclose(out[e], h, atol=1e-6)
    # One input per expert gives the same as the shared input repeated.
    assert torch.allclose(bank(x.expand(3, 7, 5)), out, atol=1e-6)


def test_grouped_linear_initialized_like_linear():
    torch.manual_seed(0)
    layer = GroupedLinear(200, 50, 4)
    bound = 1 / 50 ** 0.5
    assert layer.weight.abs().max() <= bound and layer.bias.abs().max() <= bound
    assert layer.weight.std() > bound / 2  # uniform over the whole range, not collapsed


# A column with too many values to fuse (an id) next to columns with few (fused).
FUSE_CARDS = [7, FUSE_VALUES_PER_DIM * 4 + 1, 3, 2]


def _fused_and_plain(name: str, cfg: ModelConfig, seed: int = 0):
    torch.manual_seed(seed)
    fused = build_model(name, FUSE_CARDS, NUM_DIM, TASKS, cfg)
    torch.manual_seed(seed)
    plain = build_model(name, FUSE_CARDS, NUM_DIM, TASKS, cfg)
    plain.input.fused = False  # the concatenation, then the product: the reference
    g = torch.Generator().manual_seed(seed)
    x_cat = torch.stack([torch.randint(0, c, (64,), generator=g) for c in FUSE_CARDS], dim=1)
    return fused, plain, x_cat, torch.randn(64, NUM_DIM, generator=g)


@pytest.mark.parametrize("name,sizing,levels,proj", [("shared_bottom", "fixed", 1, 0), ("mmoe", "fixed", 1, 0),
                                                     ("ple", "fixed", 1, 0), ("ple", "fixed", 2, 0),
                                                     ("mmoe", "cardinality", 1, 0), ("mmoe", "fixed", 1, 5),
                                                     ("ple", "fixed", 2, 5)])
def test_fused_first_layer_is_the_same_network(name, sizing, levels, proj):
    """The first layers computed through the fused columns' projections give the
    outputs and the gradients of the plain concatenation (to float rounding), and the
    fused columns (all but the id column) are not multiplied per row; with an input
    projection (``proj``) that projection is the layer fused."""
    cfg = ModelConfig(emb_dim=4, hidden=(16, 8), tower=(8,), emb_sizing=sizing, n_levels=levels, input_proj=proj)
    fused, plain, x_cat, x_num = _fused_and_plain(name, cfg)
    assert fused.input.fused and sorted(fused.input.fused_cols.tolist()) == [0, 2, 3]
    a, b = fused(x_cat, x_num).outputs, plain(x_cat, x_num).outputs
    for o, p in zip(a, b):
        assert torch.allclose(o, p, atol=1e-6)
    sum(o.sum() for o in a).backward()
    sum(o.sum() for o in b).backward()
    for (k, p), q in zip(fused.named_parameters(), plain.parameters()):
        assert p.grad is not None and torch.allclose(p.grad, q.grad, atol=1e-6, rtol=1e-4), k


@pytest.mark.parametrize("name,proj", [("mmoe", 0), ("ple", 0), ("mmoe", 3), ("ple", 3)])
def test_fused_features_form_a_cut(name, proj):
    """With fused columns the features still form a cut of the graph: the per-task
    feature gradients, back-propagated, give each task's gradient on every shared
    parameter (MMoE: the gates' own views and the experts; PLE: the spread matrix and
    the unfused columns)."""
    fused, _, x_cat, x_num = _fused_and_plain(name, ModelConfig(emb_dim=4, hidden=(16,), tower=(8,), input_proj=proj))
    out = fused(x_cat, x_num)
    losses = torch.stack([o.float().pow(2).mean() for o in out.outputs])
    shared = shared_parameters(fused, out)
    assert fused.input.tables[0].weight in shared
    jac = task_jacobian(losses, out.features)
    sizes = [f.numel() for f in out.features]
    for t in range(len(losses)):
        want = torch.autograd.grad(losses[t], shared, retain_graph=True, allow_unused=True)
        grads = [g.reshape(f.shape) for g, f in zip(jac[t].split(sizes), out.features)]
        got = torch.autograd.grad(out.features, shared, grad_outputs=grads, retain_graph=True, allow_unused=True)
        for w, g in zip(want, got):
            w = torch.zeros_like(g) if w is None else w
            g = torch.zeros_like(w) if g is None else g
            assert torch.allclose(w, g, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("name", ["mmoe", "ple"])
def test_input_projection_is_what_the_experts_and_gates_read(name):
    """``input_proj``: one shared linear layer of that width between the input and every
    expert and gate (fewer parameters than the experts' own first layers on a wide
    input); shared-bottom and single-task networks ignore it."""
    cfg = ModelConfig(emb_dim=4, hidden=(16,), tower=(8,))
    wide = build_model(name, FUSE_CARDS, NUM_DIM, TASKS, cfg)
    narrow = build_model(name, FUSE_CARDS, NUM_DIM, TASKS, replace(cfg, input_proj=3))
    assert type(narrow).reads_input_proj
    assert wide.proj is None and narrow.proj.in_features == narrow.input.out_dim
    experts = narrow.experts if name == "mmoe" else narrow.levels[0].experts
    assert narrow.proj.out_features == experts.in_dim == 3
    assert narrow.n_parameters() < wide.n_parameters()
    x = torch.zeros(5, len(FUSE_CARDS), dtype=torch.long), torch.zeros(5, NUM_DIM)
    assert [o.shape for o in narrow(*x).outputs] == [o.shape for o in wide(*x).outputs]
    for other in ("shared_bottom", "single"):
        a = build_model(other, FUSE_CARDS, NUM_DIM, TASKS, cfg)
        b = build_model(other, FUSE_CARDS, NUM_DIM, TASKS, replace(cfg, input_proj=3))
        assert a.n_parameters() == b.n_parameters() and not type(a).reads_input_proj


def test_a_saved_config_without_input_proj_reads_as_none():
    d = ModelConfig(input_proj=32).to_dict()
    assert ModelConfig.from_dict(d).input_proj == 32
    del d["input_proj"]
    assert ModelConfig.from_dict(d).input_proj == 0


def test_no_fusion_with_film_or_interactions_or_bag_or_without_small_columns():
    assert not build_model("mmoe", FUSE_CARDS, NUM_DIM, TASKS, ModelConfig(conditioned=True)).input.fused
    assert not build_model("mmoe", FUSE_CARDS, NUM_DIM, TASKS, ModelConfig(interaction="fm")).input.fused
    assert not build_model("mmoe", [4 * FUSE_VALUES_PER_DIM + 1], NUM_DIM, TASKS, CFG).input.fused
    # The bag already sums its columns into emb_dim values: fusing them would cost more.
    assert not build_model("mmoe", FUSE_CARDS, NUM_DIM, TASKS, ModelConfig(emb_dim=4, emb_sizing="bag")).input.fused


@pytest.mark.parametrize("pools", [None, [[0, 3, 4], [1, 3, 4], [2, 3, 4]]])
def test_mix_is_the_batched_product_forward_and_backward(pools):
    """mix (whole-batch multiply-adds) gives the per-row product of the gate weights and
    the experts, and the same gradients on both (PLE: each task mixes its own pool)."""
    g = torch.Generator().manual_seed(0)
    experts = torch.randn(5, 33, 6, generator=g).transpose(0, 1).requires_grad_()  # [B, E, D] view
    m = 5 if pools is None else 3
    w = torch.softmax(torch.randn(3, m, 33, generator=g), dim=1).requires_grad_()
    out = mix(w, experts, pools)
    picked = experts if pools is None else torch.stack([experts[:, p] for p in pools], 1)  # [B, T, m, D]
    ref = (w.permute(2, 0, 1).unsqueeze(2) @ (picked if pools else picked.unsqueeze(1))).squeeze(2).transpose(0, 1)
    assert out.shape == (3, 33, 6) and torch.allclose(out, ref, atol=1e-6)
    up = torch.randn(3, 33, 6, generator=g)
    got = torch.autograd.grad(out, [w, experts], up)
    want = torch.autograd.grad(ref, [w, experts], up)
    for a, b in zip(got, want):
        assert torch.allclose(a, b, atol=1e-5)


def test_mix_leaves_unpooled_experts_without_gradient():
    experts = torch.randn(4, 3, 2).transpose(0, 1).requires_grad_()
    out = mix(torch.full((1, 2, 3), 0.5), experts, [[0, 2]])  # [B, E, D] = [3, 4, 2]
    (grad,) = torch.autograd.grad(out.sum(), experts)
    assert grad[:, [1, 3]].abs().sum() == 0 and grad[:, [0, 2]].abs().sum() > 0


@pytest.mark.parametrize("shared", [False, True])
def test_batched_towers_are_the_towers_one_by_one(shared):
    """Towers of one shape run as one batched product per layer: the outputs and every
    tower's gradients are those of each tower run alone, and a task's output reaches
    no other tower's parameters."""
    torch.manual_seed(0)
    towers = Towers(6, (5, 4), 0.0, [1, 1, 1])
    assert towers.batched
    x = torch.randn(7, 6) if shared else torch.randn(3, 7, 6)
    outs = towers(x)
    for k, (o, tower) in enumerate(zip(outs, towers)):
        assert torch.allclose(o, tower(x if shared else x[k]), atol=1e-6)
    params = list(towers.parameters())
    got = torch.autograd.grad(outs[1].sum(), params, allow_unused=True)
    want = torch.autograd.grad(towers[1](x if shared else x[1]).sum(), list(towers[1].parameters()))
    mine = {id(p) for p in towers[1].parameters()}
    for p, g in zip(params, got):
        if id(p) not in mine:
            assert g is None or not g.any()
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip([g for p, g in zip(params, got) if id(p) in mine], want))
    # Different output sizes or dropout: one tower at a time.
    assert not Towers(6, (5,), 0.0, [1, 4]).batched and not Towers(6, (5,), 0.1, [1, 1]).batched


def test_split_columns_backward_is_the_concatenated_gradients():
    x = torch.randn(4, 7, requires_grad=True)
    a, b, c = split_columns(x, [2, 0, 5])
    assert torch.equal(a, x[:, :2]) and c.shape == (4, 5)
    (grad,) = torch.autograd.grad((a * 3).sum() + c.sum(), x)
    assert torch.equal(grad, torch.tensor([[3.0, 3.0, 1, 1, 1, 1, 1]]).expand(4, 7))
    (grad,) = torch.autograd.grad(c.sum(), x)  # a part without gradient counts as zeros
    assert grad[:, :2].abs().sum() == 0 and grad[:, 2:].eq(1).all()
