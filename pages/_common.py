"""The app's training configurations from a page's choices: thin wrappers over
:mod:`mtl.setup` that add what only the app knows (the active dataset, its cached task
suggestion, the device it prefers)."""

from __future__ import annotations

from mtl.data import SplitSpec
from mtl.data.schema import TIME_NAMES
from mtl.errors import ConfigError
from mtl.setup import APP_EPOCHS, resolve_split, suggested_config
from mtl.train import TrainConfig, available_devices
from pages._datasets import Dataset, default_tasks


def default_split(ds: Dataset) -> SplitSpec:
    return resolve_split(ds.data, ds.sample)


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
    """The split of a run (see :func:`mtl.setup.resolve_split`)."""
    return resolve_split(ds.data, ds.sample, split, cutoffs, split_column)


def default_device() -> str:
    devices = available_devices()
    return next((d for d in ("cuda", "mps") if d in devices), "cpu")


def make_config(ds: Dataset, tasks: list[str], preference: dict[str, float] | None = None, *,
                epochs: int = APP_EPOCHS, device: str | None = None, **settings) -> TrainConfig:
    """:func:`mtl.setup.suggested_config` for ``ds`` with the app's epochs and device;
    ``settings`` as there (``arch``, ``lr``, ``emb_dim``, ``n_experts``, ``split``, ...)."""
    return suggested_config(ds.data, ds.sample, tasks=list(tasks), preference=preference, epochs=epochs,
                            device=device or default_device(), **settings)


def default_config(ds: Dataset) -> TrainConfig:
    return make_config(ds, default_tasks(ds))


def parse_sizes(text: str) -> tuple[int, ...]:
    """``"128, 64"`` -> ``(128, 64)``; raises :class:`ConfigError` with a readable message."""
    try:
        sizes = tuple(int(p) for p in text.replace(";", ",").split(",") if p.strip())
    except ValueError:
        raise ConfigError(f"Hidden sizes must be comma-separated whole numbers, e.g. 128,64 (got '{text}')") from None
    if not sizes or min(sizes) < 1:
        raise ConfigError(f"Hidden sizes must be positive whole numbers, e.g. 128,64 (got '{text}')")
    return sizes
