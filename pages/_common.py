"""The app's training configurations: defaults, the split of a run, and a
:class:`~mtl.train.TrainConfig` from a page's choices (moving to the library, see
``mtl/setup.py``)."""

from __future__ import annotations

import dataclasses

import pandas as pd

from mtl.data import SplitSpec
from mtl.data.schema import MAX_CLASSES, TIME_NAMES
from mtl.data.split import parse_cutoffs, resolve_cutoffs
from mtl.errors import ConfigError, DataError
from mtl.models import ModelConfig
from mtl.train import TrainConfig, available_devices
from pages._datasets import Dataset, task_suggestion

#: Hyperparameters the app starts with: small enough that "Train with defaults" on the
#: simulated sample takes seconds on a laptop CPU, large enough to learn something.
#: The batch size is the largest power of two up to ``batch_size`` that still gives
#: ``min_steps`` optimizer steps per epoch (see :func:`default_batch_size`).
APP_DEFAULTS = dict(epochs=2, batch_size=2048, min_steps=25, lr=3e-3, patience=2, emb_dim=16, hidden=(128, 64),
                    experts=4, seed=0)


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
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise DataError(f"Column '{column}' cannot be a {kind} label: it has the value '{s.iloc[row]}' at row "
                        f"{row + 1}, which is not a number", column=column, row=row)
    if kind == "binary":
        odd = num.notna() & ~num.isin([0, 1])
        if odd.any():
            row = int(odd.to_numpy().nonzero()[0][0])
            raise DataError(f"Column '{column}' cannot be a binary label: it has the value {num.iloc[row]:g} at row "
                            f"{row + 1} (expected 0 or 1)", column=column, row=row)


def default_tasks(ds: Dataset) -> list[str]:
    """A sample's curated tasks; otherwise (or once the user derived labels) the
    suggested ones: usable positive rates, an engagement and value mix."""
    labels = ds.data.schema.labels
    if (ds.sample is not None and ds.sample.tasks and not ds.data.schema.derived
            and all(t in labels for t in ds.sample.tasks)):
        return list(ds.sample.tasks)
    return task_suggestion(ds.token, ds.data).tasks


def default_weight(ds: Dataset, task: str) -> float:
    if ds.sample is not None and task in ds.sample.tasks and len(ds.sample.weights) == len(ds.sample.tasks):
        return float(ds.sample.weights[ds.sample.tasks.index(task)])
    return 1.0


def default_split(ds: Dataset) -> SplitSpec:
    return ds.sample.split if ds.sample is not None else SplitSpec("random")


def time_columns(ds: Dataset) -> list[str]:
    """Columns a time split can read: the timestamp first, then other time-like
    columns (KuaiRand's ``date`` next to ``time_ms``)."""
    schema, frame = ds.data.schema, ds.data.frame
    others = [c for c in frame.columns if c != schema.time and c not in schema.labels
              and (c.lower() in TIME_NAMES or "timestamp" in schema.notes.get(c, "")
                   or any(w in c.lower().split("_") for w in ("date", "time", "day", "ts")))]
    return ([schema.time] if schema.time else []) + others


def split_spec(ds: Dataset, split: str | None = None, cutoffs: str | tuple | None = None,
               split_column: str | None = None) -> SplitSpec:
    """The split of a run: the dataset's suggested one (KuaiRand's dates) unless another
    method, cut-offs (``"20220505, 20220506"``) or a time column are chosen. Cut-offs
    are checked against the column now, so a typo is reported before training."""
    suggested = default_split(ds)
    if isinstance(cutoffs, str):
        cutoffs = parse_cutoffs(cutoffs) if cutoffs.strip() else None
    if split != "time" and (cutoffs or split_column):
        raise ConfigError("Cut-offs and a time column belong to the time split")
    if split in (None, suggested.method) and cutoffs is None and not split_column:
        return suggested
    spec = SplitSpec(split or "random", cutoffs=tuple(cutoffs) if cutoffs else None, column=split_column or None)
    column = spec.column or ds.data.schema.time
    if spec.cutoffs is not None and column in ds.data.frame.columns:
        resolve_cutoffs(spec.cutoffs, ds.data.frame[column])
    return spec


def default_batch_size(n_rows: int, largest: int = APP_DEFAULTS["batch_size"],
                       min_steps: int = APP_DEFAULTS["min_steps"]) -> int:
    """Large batches are fast on big data, but on a few thousand rows they leave only a
    handful of optimizer steps per epoch and the model barely moves: halve from
    ``largest`` until an epoch of the training split (~80% of rows) has ``min_steps``
    steps, down to 32."""
    batch = largest
    while batch > 32 and 0.8 * n_rows / batch < min_steps:
        batch //= 2
    return batch


def default_device() -> str:
    devices = available_devices()
    return next((d for d in ("cuda", "mps") if d in devices), "cpu")


def make_config(ds: Dataset, tasks: list[str], weights: list[float] | None = None, *, arch: str = "shared_bottom",
                weighting: str = "static", epochs: int = APP_DEFAULTS["epochs"],
                batch_size: int | None = None, lr: float = APP_DEFAULTS["lr"],
                patience: int = APP_DEFAULTS["patience"], emb_dim: int = APP_DEFAULTS["emb_dim"],
                hidden: tuple[int, ...] = APP_DEFAULTS["hidden"], experts: int = APP_DEFAULTS["experts"],
                seed: int = APP_DEFAULTS["seed"], device: str | None = None, split: str | None = None,
                cutoffs: str | tuple | None = None, split_column: str | None = None) -> TrainConfig:
    """A training configuration for ``ds``; ``split`` is a method name, and the
    dataset's suggested split (e.g. KuaiRand's dates) when it matches its method and
    no ``cutoffs`` (``"20220505, 20220506"``) or ``split_column`` are given (time split
    only); ``batch_size`` defaults to :func:`default_batch_size` of the data."""
    if batch_size is None:
        batch_size = default_batch_size(ds.data.n_rows)
    spec = split_spec(ds, split, cutoffs, split_column)
    spec = dataclasses.replace(spec, seed=seed)
    model = ModelConfig(emb_dim=emb_dim, hidden=tuple(hidden), n_experts=experts, n_shared_experts=max(1, experts // 2))
    return TrainConfig(tasks=list(tasks), weights=list(weights) if weights is not None else None, arch=arch,
                       weighting=weighting, epochs=epochs, batch_size=batch_size, lr=lr, patience=patience, seed=seed,
                       device=device or default_device(), model=model, split=spec)


def default_config(ds: Dataset) -> TrainConfig:
    tasks = default_tasks(ds)
    return make_config(ds, tasks, [default_weight(ds, t) for t in tasks])


def parse_sizes(text: str) -> tuple[int, ...]:
    """``"128, 64"`` -> ``(128, 64)``; raises :class:`ConfigError` with a readable message."""
    try:
        sizes = tuple(int(p) for p in text.replace(";", ",").split(",") if p.strip())
    except ValueError:
        raise ConfigError(f"Hidden sizes must be comma-separated whole numbers, e.g. 128,64 (got '{text}')") from None
    if not sizes or min(sizes) < 1:
        raise ConfigError(f"Hidden sizes must be positive whole numbers, e.g. 128,64 (got '{text}')")
    return sizes
