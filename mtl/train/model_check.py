"""Checking a saved model's description against itself and its weights before
anything is allocated.

``model.json`` says how big the network is (architecture, embedding and hidden sizes,
each categorical column's vocabulary size) and ``encoder.json`` holds the
vocabularies. Both are plain text anyone can edit: a vocabulary size of 1e12 or an
embedding size of 1e9 would ask PyTorch for terabytes, a word where a number belongs
would end in a traceback deep inside a layer. So every field is checked for its type
and range, the two files against each other, and the network the description implies
(built on PyTorch's ``meta`` device, which allocates nothing) against the tensors the
weights file holds; only then is the real network built. Every problem is a
:class:`ModelFileError` that names the file and the field.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import torch
from torch.overrides import TorchFunctionMode

from ..data.encode import FeatureEncoder, IdStat, NumericStat
from ..data.history import HistoryFeatures
from ..data.schema import Schema
from ..errors import ModelFileError
from ..models import available_interactions, available_models, available_num_embeddings, build_model
from ..models.base import ModelConfig
from ..models.layers import EMB_SIZINGS
from ..tasks import TASK_KINDS, TaskSpec
from .config import TrainConfig

#: Bounds on a saved description (far above anything the app or CLI trains).
MAX_CARDINALITY = 2**31 - 1
MAX_COLUMNS = 100_000
MAX_TASKS = 1_000
MAX_CLASSES = 100_000
MAX_EMB_DIM = 4_096
MAX_WIDTH = 65_536
MAX_DEPTH = 32          # hidden or tower layers
MAX_EXPERTS = 256
MAX_LEVELS = 32
#: Bound on the layers an architecture may build from the description (experts x
#: levels x depth and towers), so even the allocation-free check stays quick.
MAX_LAYERS = 20_000


class _Check:
    """Raises :class:`ModelFileError` with the folder and file named."""

    def __init__(self, folder: Path, name: str):
        self.folder, self.name = folder, name

    def fail(self, what: str):
        raise ModelFileError(f"{self.folder}: {self.name} is damaged or was edited: {what}")

    def int_(self, value, field: str, lo: int, hi: int) -> int:
        if not (isinstance(value, int) and not isinstance(value, bool)):
            self.fail(f"{field} must be a whole number, not {_show(value)}")
        if not lo <= value <= hi:
            self.fail(f"{field} is {value:,}, outside {lo:,}..{hi:,}")
        return value

    def float_(self, value, field: str, positive: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.fail(f"{field} must be a finite number, not {_show(value)}")
        if positive and value <= 0:
            self.fail(f"{field} must be positive, not {value}")
        return float(value)

    def type_(self, value, kind: type | tuple, field: str):
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            self.fail(f"{field} must be {_A.get(names, names)}, not {_show(value)}")
        return value

    def strings(self, value, field: str, limit: int = 10**9, unique: bool = True) -> list[str]:
        self.type_(value, list, field)
        if len(value) > limit:
            self.fail(f"{field} has {len(value):,} entries, over {limit:,}")
        for i, v in enumerate(value):
            if not isinstance(v, str):
                self.fail(f"{field} holds {_show(v)} at position {i}, where the model saves text")
        if unique and len(set(value)) != len(value):
            seen: set[str] = set()
            dup = next(v for v in value if v in seen or seen.add(v))
            self.fail(f"{field} lists '{dup[:40]}' twice")
        return value


_A = {"dict": "a table (JSON object)", "list": "a list", "str": "text", "bool": "true or false"}


def _show(value) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"


# ----------------------------------------------------------------- model.json
def check_description(meta, folder: Path):
    """The parts of ``model.json`` needed to rebuild the network, each checked:
    ``(arch, tasks, model_config, cardinalities, num_dim, train_config, schema)``."""
    c = _Check(folder, "model.json")
    c.type_(meta, dict, "the description")
    arch = c.type_(meta.get("arch"), str, "arch")
    if arch not in available_models():
        c.fail(f"unknown architecture '{arch[:40]}' (this version has: {', '.join(available_models())})")
    tasks = _tasks(c, meta.get("tasks"))
    model_config = _model_config(c, meta.get("model_config"))
    cards = c.type_(meta.get("cardinalities"), list, "cardinalities")
    if len(cards) > MAX_COLUMNS:
        c.fail(f"cardinalities has {len(cards):,} columns, over {MAX_COLUMNS:,}")
    cards = [c.int_(v, f"cardinality {i + 1}", 1, MAX_CARDINALITY) for i, v in enumerate(cards)]
    num_dim = c.int_(meta.get("num_dim"), "num_dim", 0, MAX_COLUMNS)
    try:
        config = TrainConfig.from_dict(c.type_(meta.get("train_config"), dict, "train_config"))
        schema = Schema.from_dict(c.type_(meta.get("schema"), dict, "schema"))
    except (TypeError, ValueError, KeyError, AttributeError) as err:
        c.fail(f"invalid training settings or schema ({str(err)[:120]})")
    if list(config.tasks) != [t.name for t in tasks]:
        c.fail("the training settings name other tasks than the model predicts")
    for role in ("user", "item"):
        if getattr(schema, role) is not None:
            c.type_(getattr(schema, role), str, f"the schema's {role} column")
    layers = (model_config.n_levels * (model_config.n_experts + model_config.n_shared_experts
                                       + model_config.n_task_experts * len(tasks)) * (len(model_config.hidden) + 1)
              + len(tasks) * (len(model_config.tower) + 1))
    if layers > MAX_LAYERS:
        c.fail(f"its sizes imply about {layers:,} layers, over {MAX_LAYERS:,}")
    return arch, tasks, model_config, cards, num_dim, config, schema


def _tasks(c: _Check, value) -> list[TaskSpec]:
    c.type_(value, list, "tasks")
    if not 1 <= len(value) <= MAX_TASKS:
        c.fail(f"it lists {len(value):,} tasks (1..{MAX_TASKS:,} expected)")
    tasks = []
    for i, t in enumerate(value):
        c.type_(t, dict, f"task {i + 1}")
        name = c.type_(t.get("name"), str, f"task {i + 1}'s name")
        kind = t.get("kind")
        if kind not in TASK_KINDS:
            c.fail(f"task '{name[:40]}' has kind {_show(kind)}; one of {', '.join(TASK_KINDS)} expected")
        mean = c.float_(t.get("mean", 0.0), f"task '{name[:40]}''s mean")
        std = c.float_(t.get("std", 1.0), f"task '{name[:40]}''s standard deviation", positive=True)
        classes = c.type_(t.get("classes", []), list, f"task '{name[:40]}''s classes")
        if kind == "multiclass" and not 2 <= len(classes) <= MAX_CLASSES:
            c.fail(f"multiclass task '{name[:40]}' has {len(classes):,} classes (2..{MAX_CLASSES:,} expected)")
        if kind != "multiclass" and classes:
            c.fail(f"{kind} task '{name[:40]}' lists classes")
        if any(not isinstance(k, (str, int, float)) or isinstance(k, bool) for k in classes):
            c.fail(f"task '{name[:40]}''s classes must be text or numbers")
        extra = c.type_(t.get("extra", {}), dict, f"task '{name[:40]}''s extra")
        unknown = set(t) - {"name", "kind", "classes", "mean", "std", "extra"}
        if unknown:
            c.fail(f"task '{name[:40]}' has unknown fields: {', '.join(sorted(map(str, unknown)))[:80]}")
        tasks.append(TaskSpec(name, kind, tuple(classes), mean, std, extra))
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        c.fail("two tasks have the same name")
    return tasks


def _model_config(c: _Check, value) -> ModelConfig:
    c.type_(value, dict, "model_config")
    defaults = ModelConfig()
    unknown = set(value) - set(defaults.to_dict())
    if unknown:
        c.fail(f"model_config has unknown fields: {', '.join(sorted(map(str, unknown)))[:80]}")
    d = {**defaults.to_dict(), **ModelConfig.LEGACY, **value}
    sizes = {}
    for key in ("hidden", "tower"):
        layers = c.type_(d[key], list, f"model_config.{key}")
        if len(layers) > MAX_DEPTH:
            c.fail(f"model_config.{key} has {len(layers):,} layers, over {MAX_DEPTH}")
        sizes[key] = tuple(c.int_(v, f"model_config.{key}[{i}]", 1, MAX_WIDTH) for i, v in enumerate(layers))
    if d["emb_sizing"] not in EMB_SIZINGS:
        c.fail(f"model_config.emb_sizing is {_show(d['emb_sizing'])}; one of {', '.join(map(repr, EMB_SIZINGS))} "
               "expected")
    dropout = c.float_(d["dropout"], "model_config.dropout")
    if not 0 <= dropout < 1:
        c.fail(f"model_config.dropout is {dropout}, outside [0, 1)")
    for key, choices in (("interaction", available_interactions()), ("num_embedding", available_num_embeddings())):
        if not isinstance(d[key], str) or d[key] not in choices:
            c.fail(f"model_config.{key} is {_show(d[key])}; one of {', '.join(choices)} expected")
    return ModelConfig(
        emb_dim=c.int_(d["emb_dim"], "model_config.emb_dim", 1, MAX_EMB_DIM), emb_sizing=d["emb_sizing"],
        hidden=sizes["hidden"], tower=sizes["tower"],
        n_experts=c.int_(d["n_experts"], "model_config.n_experts", 1, MAX_EXPERTS),
        n_shared_experts=c.int_(d["n_shared_experts"], "model_config.n_shared_experts", 0, MAX_EXPERTS),
        n_task_experts=c.int_(d["n_task_experts"], "model_config.n_task_experts", 0, MAX_EXPERTS),
        n_levels=c.int_(d["n_levels"], "model_config.n_levels", 1, MAX_LEVELS),
        conditioned=c.type_(d["conditioned"], bool, "model_config.conditioned"), dropout=dropout,
        interaction=d["interaction"], num_embedding=d["num_embedding"],
        cross_layers=c.int_(d["cross_layers"], "model_config.cross_layers", 1, MAX_DEPTH),
        input_proj=c.int_(d["input_proj"], "model_config.input_proj", 0, MAX_WIDTH),
    )


# --------------------------------------------------------------- encoder.json
def check_encoder(d, folder: Path) -> FeatureEncoder:
    """``encoder.json`` as a :class:`FeatureEncoder`, every field checked."""
    c = _Check(folder, "encoder.json")
    c.type_(d, dict, "the encoder")
    unknown = set(d) - {"categorical", "numeric", "vocab", "numeric_stats", "id_stats", "level", "context_defaults",
                        "history"}
    if unknown:
        c.fail(f"unknown fields: {', '.join(sorted(map(str, unknown)))[:80]}")
    categorical = c.strings(d.get("categorical"), "the categorical column list", MAX_COLUMNS)
    numeric = c.strings(d.get("numeric"), "the numeric column list", MAX_COLUMNS)
    vocab = c.type_(d.get("vocab"), dict, "vocab")
    if set(vocab) != set(categorical):
        c.fail("the vocabularies do not match the categorical columns")
    for col in categorical:
        c.strings(vocab[col], f"the vocabulary of '{col[:40]}'", MAX_CARDINALITY - 1)
    raw_stats = c.type_(d.get("numeric_stats"), dict, "numeric_stats")
    if set(raw_stats) != set(numeric):
        c.fail("numeric_stats do not match the numeric columns")
    numeric_stats = {}
    for col in numeric:
        s = c.type_(raw_stats[col], dict, f"numeric_stats of '{col[:40]}'")
        where = f"numeric_stats of '{col[:40]}'"
        numeric_stats[col] = NumericStat(
            log=c.type_(s.get("log"), bool, f"{where}: log"), mean=c.float_(s.get("mean"), f"{where}: mean"),
            std=c.float_(s.get("std"), f"{where}: std", positive=True), fill=c.float_(s.get("fill"), f"{where}: fill"))
    id_stats = []
    for i, s in enumerate(c.type_(d.get("id_stats", []), list, "id_stats")):
        c.type_(s, dict, f"id statistic {i + 1}")
        name = c.type_(s.get("name"), str, f"id statistic {i + 1}'s name")
        where = f"id statistic '{name[:40]}'"
        id_column = c.type_(s.get("id_column"), str, f"{where}: id_column")
        if id_column not in categorical:
            c.fail(f"{where} reads '{id_column[:40]}', which is not a categorical column")
        label = s.get("label")
        if label is not None:
            c.type_(label, str, f"{where}: label")
        categories = c.strings(s.get("categories"), f"{where}: categories", MAX_CARDINALITY - 1)
        values = c.type_(s.get("values"), list, f"{where}: values")
        if len(values) != len(categories):
            c.fail(f"{where} has {len(values):,} values for {len(categories):,} ids")
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in values):
            c.fail(f"{where} holds a value that is not a finite number")
        id_stats.append(IdStat(
            name=name, id_column=id_column, label=label, categories=categories, values=[float(v) for v in values],
            default=c.float_(s.get("default"), f"{where}: default"), mean=c.float_(s.get("mean", 0.0), f"{where}: mean"),
            std=c.float_(s.get("std", 1.0), f"{where}: std", positive=True),
            log_label=c.type_(s.get("log_label", False), bool, f"{where}: log_label")))
    level = c.type_(d.get("level", {}), dict, "level")
    if any(not isinstance(v, str) for v in level.values()):
        c.fail("level must map columns to 'user', 'item' or 'context'")
    defaults = c.type_(d.get("context_defaults", {}), dict, "context_defaults")
    for col, v in defaults.items():
        if v is not None and (isinstance(v, bool) or not isinstance(v, (str, int, float))):
            c.fail(f"the typical value of '{col[:40]}' is {_show(v)}, not text or a number")
    history = _check_history(c, d["history"], categorical) if d.get("history") is not None else None
    return FeatureEncoder(categorical=categorical, numeric=numeric, vocab=vocab, numeric_stats=numeric_stats,
                          id_stats=id_stats, level=level, context_defaults=defaults, history=history)


def _check_history(c: _Check, h, categorical: list[str]) -> HistoryFeatures:
    """The user-history tables (:mod:`mtl.data.history`): columns the encoder reads,
    one row of finite numbers per user and item over the topics, a rate per pair key."""
    c.type_(h, dict, "history")
    names = [f.name for f in dataclasses.fields(HistoryFeatures)]
    if set(h) != set(names):
        c.fail("history: the fields are not those of user-history features")
    for key in ("user_column", "item_column", "topic_column"):
        if c.type_(h[key], str, f"history: {key}") not in categorical:
            c.fail(f"history: {key} '{h[key][:40]}' is not a categorical column")
    topics = c.strings(h["topics"], "history: topics", MAX_CARDINALITY)
    labels = c.strings(h["labels"], "history: labels", MAX_COLUMNS)

    def numbers(value, what: str, n: int | None = None) -> list:
        c.type_(value, list, f"history: {what}")
        if n is not None and len(value) != n:
            c.fail(f"history: {what} has {len(value):,} values, not {n:,}")
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in value):
            c.fail(f"history: {what} holds a value that is not a finite number")
        return value

    numbers(h["prior"], "prior", len(topics))
    for rows, keys in (("shares", "users"), ("audience", "items")):
        ids = c.strings(h[keys], f"history: {keys}", MAX_CARDINALITY)
        if len(c.type_(h[rows], list, f"history: {rows}")) != len(ids):
            c.fail(f"history: {rows} has {len(h[rows]):,} rows for {len(ids):,} {keys}")
        for row in h[rows]:
            numbers(row, rows, len(topics))
    for part in ("pair_keys", "pair_rates", "pair_default"):
        if set(c.type_(h[part], dict, f"history: {part}")) != set(labels):
            c.fail(f"history: {part} does not match the labels")
    for label in labels:
        keys = c.strings(h["pair_keys"][label], f"history: pair keys of '{label[:40]}'")
        numbers(h["pair_rates"][label], f"rates of '{label[:40]}'", len(keys))
        numbers([h["pair_default"][label]], f"default rate of '{label[:40]}'")
    numbers(h["mean"], "mean", 2 + len(labels))
    if any(v <= 0 for v in numbers(h["std"], "std", 2 + len(labels))):
        c.fail("history: a standard deviation is not positive")
    return HistoryFeatures.from_dict(h)


# ---------------------------------------------------------- against each other
def check_consistent(encoder: FeatureEncoder, cards: list[int], num_dim: int, folder: Path) -> None:
    """The encoder's vocabularies and numeric inputs are the ones the network was built for."""
    if len(cards) != len(encoder.categorical):
        raise ModelFileError(f"{folder}: model.json describes {len(cards):,} categorical inputs but encoder.json "
                             f"encodes {len(encoder.categorical):,}; the files do not belong together")
    for col, card, want in zip(encoder.categorical, cards, encoder.cardinalities):
        if card != want:
            raise ModelFileError(f"{folder}: model.json gives '{col}' {card:,} embedding rows but encoder.json's "
                                 f"vocabulary has {want - 1:,} values (+1 for unseen ones); the files do not "
                                 "belong together")
    if num_dim != len(encoder.numeric_names):
        raise ModelFileError(f"{folder}: model.json describes {num_dim:,} numeric inputs but encoder.json encodes "
                             f"{len(encoder.numeric_names):,}; the files do not belong together")


class _SkipInPlaceOnMeta(TorchFunctionMode):
    """In-place ops on meta tensors (weight initialization: ``normal_``, ``uniform_``,
    ``zero_``) return their tensor untouched. They change no shape, and on the meta
    device PyTorch runs them through its reference implementations, whose first use
    imports the compiler stack (2 s idle, 10+ s on a busy machine). Modes are
    per-thread, so models built by other threads are unaffected."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name.endswith("_") and not name.endswith("__"):
            # Tensor methods pass the tensor first; torch.nn.init functions as ``tensor=``.
            target = args[0] if args else kwargs.get("tensor")
            if isinstance(target, torch.Tensor) and target.is_meta:
                return target
        return func(*args, **kwargs)


def expected_shapes(arch: str, cards: list[int], num_dim: int, tasks: list[TaskSpec],
                    config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor the described network saves, computed on the
    ``meta`` device (no memory is allocated, whatever the sizes)."""
    with torch.device("meta"), _SkipInPlaceOnMeta():
        model = build_model(arch, cards, num_dim, tasks, config)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def check_shapes(expected: dict[str, tuple[int, ...]], found: dict[str, tuple[int, ...]], folder: Path) -> None:
    missing = [k for k in expected if k not in found]
    extra = [k for k in found if k not in expected]
    if missing or extra:
        which = f"lacks '{missing[0]}'" if missing else f"has an unexpected '{extra[0]}'"
        raise ModelFileError(f"{folder}: the weights do not match the model description: model.safetensors {which} "
                             f"({len(missing)} missing, {len(extra)} unexpected tensors)")
    for k, shape in expected.items():
        if found[k] != shape:
            raise ModelFileError(f"{folder}: the weights do not match the model description: '{k}' is "
                                 f"{list(found[k])} in model.safetensors but {list(shape)} in model.json")


def check_finite(state: dict[str, torch.Tensor], folder: Path) -> None:
    bad = {k: int((~torch.isfinite(v)).sum()) for k, v in state.items() if v.is_floating_point()}
    bad = {k: n for k, n in bad.items() if n}
    if bad:
        total = sum(v.numel() for v in state.values())
        raise ModelFileError(f"{folder}: model.safetensors holds {sum(bad.values()):,} non-finite weights (NaN or "
                             f"infinity) of {total:,}, in {len(bad)} of {len(state)} tensors (e.g. '{next(iter(bad))}'): "
                             "the model diverged before it was saved or the file is damaged; retrain it")
