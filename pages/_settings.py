"""Each page's settings as one small dataclass bound to its widgets (see
:class:`pages._state.Settings`): the Train page's, a method comparison's and a weight
sweep's. ``None`` means "not chosen": the page's default applies."""

from __future__ import annotations

from dataclasses import dataclass, field

from pages._state import Settings


@dataclass
class TrainSettings(Settings):
    PAGE = "train"
    PER_DATASET = ("tasks", "preference", "batch", "split", "cutoffs", "split_column")

    tasks: list[str] | None = None
    preference: dict[str, float] = field(default_factory=dict)
    arch: str | None = None
    weighting: str | None = None
    epochs: int | None = None
    batch: int | None = None
    lr: float | None = None
    patience: int | None = None
    emb: int | None = None
    hidden: str | None = None
    experts: int | None = None
    seed: int | None = None
    split: str | None = None
    cutoffs: str | None = None
    split_column: str | None = None
    device: str | None = None


@dataclass
class CompareSettings(Settings):
    PAGE = "cmp"
    PER_DATASET = ("tasks", "preference", "metrics")

    tasks: list[str] | None = None
    methods: list[str] | None = None
    seeds: int | None = None
    epochs: int | None = None
    arch: str | None = None
    preference: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, str] = field(default_factory=dict)


@dataclass
class SweepSettings(Settings):
    PAGE = "to"
    PER_DATASET = ("tasks",)

    tasks: list[str] | None = None
    points: int | None = None
    epochs: int | None = None
    arch: str | None = None
    cond: bool | None = None
