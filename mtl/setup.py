"""Setting up a run from data, in one place for the CLI, the app, comparisons and sweeps.

* :func:`suggested_config`: a :class:`~mtl.train.TrainConfig` for a dataset (tasks,
  task weights, split and batch size suggested from the data or a bundled sample,
  every other setting from ``TrainConfig``'s defaults), with any setting overridden.
* :func:`baseline_config`: the single-task baseline of a configuration.
* :func:`resolve_split`: the split of a run (a sample's suggested one unless another
  is asked for), seeded by the run's seed.
* :func:`parse_weights`: ``--weights 1,2`` or ``click=1,like=2``.
* Column roles chosen by a user: :func:`roles_table`, :func:`overrides_from_edits`
  and :func:`check_label`, the check training would make, made when the role is chosen.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace

import pandas as pd

from .data import InteractionData, PreparedData, RoleOverrides, Schema, SplitSpec
from .data.samples import Sample
from .data.schema import MAX_CLASSES, mostly_numeric
from .data.split import parse_cutoffs, resolve_cutoffs
from .data.suggest import suggested_tasks
from .errors import ConfigError, DataError
from .models import ModelConfig
from .train import TrainConfig
from .weighting import as_preference

#: Epochs per model in the app, where a first result should come in seconds (the CLI's
#: ``train`` uses ``TrainConfig.epochs``; early stopping ends either sooner).
APP_EPOCHS = 2
#: Epochs per model for the commands that train many models (``sweep``, ``compare``).
MANY_MODELS_EPOCHS = 5
#: The suggested batch size leaves at least this many optimizer steps per epoch ...
MIN_STEPS = 25
#: ... down to this batch size.
SMALLEST_BATCH = 32

_TRAIN_FIELDS = {f.name for f in fields(TrainConfig)} - {"model", "split"}
_MODEL_FIELDS = {f.name for f in fields(ModelConfig)}
_SPLIT_KEYS = {"split", "cutoffs", "split_column"}


# ---------------------------------------------------------------- suggestions
def suggested_weight(task: str, sample: Sample | None = None) -> float:
    """A task's starting weight: the sample's, else 1."""
    if sample is not None and task in sample.tasks and len(sample.weights) == len(sample.tasks):
        return float(sample.weights[sample.tasks.index(task)])
    return 1.0


def suggested_preference(tasks: Sequence[str], sample: Sample | None = None) -> dict[str, float] | None:
    """The starting ``{task: weight}``; ``None`` (equal) when every weight is 1."""
    pref = {t: suggested_weight(t, sample) for t in tasks}
    return None if all(w == 1.0 for w in pref.values()) else pref


def suggested_batch_size(n_rows: int, largest: int = TrainConfig.batch_size, min_steps: int = MIN_STEPS) -> int:
    """Large batches are fast on big data, but on a few thousand rows they leave only a
    handful of optimizer steps per epoch and the model barely moves: halve from
    ``largest`` until an epoch of the training split (~80% of rows) has ``min_steps``
    steps, down to :data:`SMALLEST_BATCH`."""
    batch = largest
    while batch > SMALLEST_BATCH and 0.8 * n_rows / batch < min_steps:
        batch //= 2
    return batch


def resolve_split(data: InteractionData, sample: Sample | None = None, method: str | None = None,
                  cutoffs: str | Sequence | None = None, column: str | None = None, seed: int = 0) -> SplitSpec:
    """The split of a run, seeded by ``seed``: the sample's suggested split (KuaiRand's
    dates) unless another ``method``, ``cutoffs`` (``"20220505, 20220506"``) or a time
    ``column`` are asked for (cut-offs or a column alone mean the time split). Cut-offs
    are checked against the column now, so a typo is reported before anything trains."""
    suggested = sample.split if sample is not None else SplitSpec("random")
    if isinstance(cutoffs, str):
        cutoffs = parse_cutoffs(cutoffs) if cutoffs.strip() else None
    column = column or None
    if method is not None and method != "time" and (cutoffs or column):
        raise ConfigError(f"Cut-offs and a time column belong to the time split, not the {method} split")
    if method in (None, suggested.method) and cutoffs is None and column is None:
        spec = suggested
    else:
        spec = SplitSpec(method or ("time" if cutoffs or column else "random"),
                         cutoffs=tuple(cutoffs) if cutoffs else None, column=column)
    read = spec.column or data.schema.time
    if spec.cutoffs is not None and read in data.frame.columns:
        resolve_cutoffs(spec.cutoffs, data.frame[read])
    return replace(spec, seed=seed)


def suggested_config(data: InteractionData, sample: Sample | None = None, **overrides) -> TrainConfig:
    """A training configuration for ``data``: the given settings, everything else
    suggested. Overrides are ``TrainConfig`` fields (``tasks``, ``preference`` as a
    mapping or a list in task order, ``epochs``, ``lr``, ...), ``ModelConfig`` fields
    (``emb_dim``, ``hidden``, ``n_experts``, ``dropout``, ...; or a whole ``model``) and
    ``split`` (a method name or a :class:`SplitSpec`), ``cutoffs``, ``split_column``
    (see :func:`resolve_split`); ``None`` means "not given". Not validated here: call
    :meth:`TrainConfig.validate` (the trainer does) to check the result."""
    given = {k: v for k, v in overrides.items() if v is not None}
    unknown = sorted(set(given) - _TRAIN_FIELDS - _MODEL_FIELDS - _SPLIT_KEYS - {"model"})
    if unknown:
        raise TypeError(f"suggested_config() got unknown settings: {', '.join(unknown)}")
    tasks = list(given.pop("tasks")) if "tasks" in given else suggested_tasks(data, sample)
    pref = given.pop("preference", None)
    preference = as_preference(pref, tasks) if pref is not None else suggested_preference(tasks, sample)
    seed = given.pop("seed", TrainConfig.seed)
    split = given.pop("split", None)
    cutoffs, column = given.pop("cutoffs", None), given.pop("split_column", None)
    spec = (replace(split, seed=seed) if isinstance(split, SplitSpec)
            else resolve_split(data, sample, split, cutoffs, column, seed))
    sizes = {k: given.pop(k) for k in list(given) if k in _MODEL_FIELDS}
    if "hidden" in sizes:
        sizes["hidden"] = tuple(sizes["hidden"])
    if "n_experts" in sizes and "n_shared_experts" not in sizes:
        sizes["n_shared_experts"] = max(1, sizes["n_experts"] // 2)  # PLE: half of them shared
    model = replace(given.pop("model", ModelConfig()), **sizes)
    given.setdefault("batch_size", suggested_batch_size(data.n_rows))
    return TrainConfig(tasks=tasks, preference=preference, seed=seed, split=spec, model=model, **given)


def baseline_config(config: TrainConfig) -> TrainConfig:
    """The single-task baseline of ``config``: one independent network per task, static
    equal weights, not preference-conditioned, evaluated once per epoch; everything else
    (data, split, seed, epochs, sizes) as ``config``."""
    return replace(config, arch="single", weighting="static", preference=None, evals_per_epoch=1,
                   model=replace(config.model, conditioned=False))


def check_prepared_history(prepared: PreparedData, config: TrainConfig) -> None:
    """Raise :class:`ConfigError` unless ``prepared`` has the user-history features
    exactly when ``config.history`` asks for them. A trainer reads whatever columns the
    data was prepared with, so a mismatch would record one network and train another;
    runs that share one prepared data set (comparisons, sweeps) check it up front."""
    if config.history != (prepared.encoder.history is not None):
        raise ConfigError(f"The configuration says history={config.history} but the data was prepared "
                          f"{'without' if config.history else 'with'} user-history features: prepare it with "
                          f"history={config.history}")


def parse_weights(text: str) -> list[float] | dict[str, float]:
    """``"1,2"`` (one weight per task, in task order) or ``"click=1,like=2"``."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    named = ["=" in p for p in parts]
    try:
        if parts and all(named):
            return {k.strip(): float(v) for k, v in (p.split("=", 1) for p in parts)}
        if not any(named):
            return [float(p) for p in parts]
    except ValueError:
        pass
    raise ConfigError(f"Weights must be comma-separated numbers (1,2) or task=weight pairs (click=1,like=2), "
                      f"got '{text}'")


# ---------------------------------------------------------------- column roles
ROLE_CHOICES = (
    "user id", "item id", "timestamp", "binary label", "regression label", "multiclass label",
    "categorical feature", "numeric feature", "ignored", "text", "oracle",
)
#: Roles inference assigns but a user cannot choose (no override exists for them).
AUTOMATIC_ROLES = ("text", "oracle")


def role_label(schema: Schema, column: str) -> str:
    role = schema.role_of(column)
    return f"{schema.labels[column]} label" if role == "label" else role


def roles_table(schema: Schema) -> pd.DataFrame:
    """Editable view of a schema: ``column``, ``role`` (one of :data:`ROLE_CHOICES`), ``why``."""
    cols = list(schema.notes)
    return pd.DataFrame({"column": cols, "role": [role_label(schema, c) for c in cols],
                         "why": [schema.notes[c] for c in cols]})


def overrides_from_edits(schema: Schema, base: RoleOverrides, edited: pd.DataFrame) -> RoleOverrides:
    """Fold the roles a user changed in :func:`roles_table` into ``base`` overrides.

    Only changed columns are pinned, so everything else keeps being inferred.
    Raises :class:`ConfigError` naming the column for an impossible choice.
    """
    current = {c: role_label(schema, c) for c in schema.notes}
    chosen = dict(zip(edited["column"], edited["role"]))
    for col, role in chosen.items():
        if role is None or (isinstance(role, float) and pd.isna(role)) or role == "":
            raise ConfigError(f"Column '{col}' has no role; choose one")
        if role not in ROLE_CHOICES:
            raise ConfigError(f"Column '{col}': unknown role '{role}'")
    changed = {c: r for c, r in chosen.items() if current.get(c) != r}
    for col, role in changed.items():
        if role in AUTOMATIC_ROLES:
            raise ConfigError(f"Column '{col}': the '{role}' role is assigned automatically; "
                              "choose a feature role or 'ignored'")
    if not changed:
        return base
    ov = RoleOverrides.from_dict(json.loads(json.dumps(base.to_dict())))
    for col in changed:
        ov.labels.pop(col, None)
        for lst in (ov.features, ov.categorical, ov.numeric, ov.ignore):
            while col in lst:
                lst.remove(col)
    for attr, role in (("user", "user id"), ("item", "item id"), ("time", "timestamp")):
        holders = [c for c, r in chosen.items() if r == role]
        if len(holders) > 1:
            raise ConfigError(f"Only one column can be the {role}; you chose {', '.join(repr(h) for h in holders)}")
        if any(role in (r, current.get(c)) for c, r in changed.items()):
            setattr(ov, attr, holders[0] if holders else "")
    for col, role in changed.items():
        if role.endswith(" label"):
            ov.labels[col] = role.split()[0]
        elif role == "categorical feature":
            ov.categorical.append(col)
        elif role == "numeric feature":
            ov.numeric.append(col)
        elif role == "ignored":
            ov.ignore.append(col)
    return ov


def check_label(frame: pd.DataFrame, column: str, kind: str) -> None:
    """Can ``column`` be a label of ``kind``? The check training would make, made when
    the role is chosen. Raises :class:`DataError` naming the column and a bad row."""
    s = frame[column]
    if kind == "multiclass":
        n = s.nunique(dropna=True)
        if not 2 <= n <= MAX_CLASSES * 5:
            raise DataError(f"Column '{column}' has {n} distinct values; a multiclass label needs between 2 and "
                            f"{MAX_CLASSES * 5}", column=column)
        return
    num = pd.to_numeric(s, errors="coerce") if not pd.api.types.is_bool_dtype(s) else s.astype(float)
    bad = num.isna() & s.notna()
    # A few words among ratings are read as missing (and said), as when the role is inferred.
    if bad.any() and not (kind == "regression" and mostly_numeric(s)):
        row = int(bad.to_numpy().nonzero()[0][0])
        raise DataError(f"Column '{column}' cannot be a {kind} label: it has the value '{s.iloc[row]}' at row "
                        f"{row + 1}, which is not a number", column=column, row=row)
    if kind == "binary":
        odd = num.notna() & ~num.isin([0, 1])
        if odd.any():
            row = int(odd.to_numpy().nonzero()[0][0])
            raise DataError(f"Column '{column}' cannot be a binary label: it has the value {num.iloc[row]:g} at row "
                            f"{row + 1} (expected 0 or 1)", column=column, row=row)


def check_labels(frame: pd.DataFrame, labels: Mapping[str, str]) -> None:
    """:func:`check_label` for every ``{column: kind}`` present in ``frame``."""
    for col, kind in labels.items():
        if col in frame.columns:
            check_label(frame, col, kind)
