"""Each page's settings as small dataclasses bound to its widgets (see
:class:`pages._state.Settings`): the Train page's, a method comparison's, the Trade-offs
page's (its tab, a weight sweep, instant weights, the curve) and the Recommendations
page's. ``None`` means "not chosen": the page's default applies. The field names are
also the page's parameters in the address (:mod:`pages._url`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from mtl.setup import suggested_weight
from mtl.train import TrainConfig
from pages._common import default_split, default_tasks, make_config, parse_sizes, time_columns
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
    proj: int | None = None
    interaction: str | None = None
    num_emb: str | None = None
    history: bool | None = None
    seed: int | None = None
    split: str | None = None
    cutoffs: str | None = None
    split_column: str | None = None
    device: str | None = None

    @classmethod
    def current(cls, ds) -> TrainSettings:
        """What the Train page's Train button would train on ``ds`` now (read from any
        page): its widgets' values, defaults where the page has set none, and of what the
        widgets keep only what the page shows. The weights of tasks no longer chosen, and
        the cut-offs and time column of a time split since left, stay in the session to
        come back when chosen again, but do not apply."""
        s = cls.read(ds.short)
        tasks = s.tasks if s.tasks is not None else default_tasks(ds)
        if s.preference:  # a slider not drawn yet (a task from a link) starts where the page would start it
            s.preference = {t: s.preference.get(t, suggested_weight(t, ds.sample)) for t in tasks}
        if (s.split or default_split(ds).method) != "time" or not time_columns(ds):
            s.cutoffs = s.split_column = None
        return s

    def config(self, ds) -> TrainConfig:
        """The training configuration these settings describe on ``ds``; unset fields
        take :func:`pages._common.make_config`'s defaults (raises :class:`MTLError`)."""
        given = {"arch": self.arch, "weighting": self.weighting, "epochs": self.epochs, "batch_size": self.batch,
                 "lr": self.lr, "patience": self.patience, "emb_dim": self.emb, "n_experts": self.experts,
                 "input_proj": self.proj,
                 "interaction": self.interaction, "num_embedding": self.num_emb, "history": self.history,
                 "seed": self.seed, "device": self.device, "split": self.split, "cutoffs": self.cutoffs or None,
                 "split_column": self.split_column,
                 "hidden": parse_sizes(self.hidden) if self.hidden is not None else None}
        return make_config(ds, self.tasks if self.tasks is not None else default_tasks(ds), self.preference or None,
                           **{k: v for k, v in given.items() if v is not None})


@dataclass
class CompareSettings(Settings):
    PAGE = "cmp"
    PER_DATASET = ("tasks", "preference", "metrics")

    tasks: list[str] | None = None
    methods: list[str] | None = None
    seeds: int | None = None
    epochs: int | None = None
    arch: str | None = None
    interaction: str | None = None
    num_emb: str | None = None
    history: bool | None = None
    preference: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, str] = field(default_factory=dict)


@dataclass
class TradeoffView(Settings):
    """The Trade-offs page's open tab and the axes of its charts: the tasks on a sweep's
    front (``x``, ``y``) and on the instant front (``ix``, ``iy``) when there are more
    than two, and the compute chart's (``quality`` names a column of the run table).
    All but ``tab`` and ``axis`` depend on a result or model."""

    PAGE = "to"

    tab: str | None = None
    x: str | None = None
    y: str | None = None
    ix: str | None = None
    iy: str | None = None
    quality: str | None = None
    axis: str | None = None


@dataclass
class SweepSettings(Settings):
    PAGE = "to"
    PER_DATASET = ("tasks",)

    tasks: list[str] | None = None
    points: int | None = None
    epochs: int | None = None
    arch: str | None = None
    interaction: str | None = None
    num_emb: str | None = None
    history: bool | None = None
    cond: bool | None = None


@dataclass
class InstantSettings(Settings):
    """The Instant weights tab's sliders: per conditioned model (pass its run id)."""

    PAGE = "to"
    PER_DATASET = ("weights",)

    weights: dict[str, float] = field(default_factory=dict)


@dataclass
class CurveSettings(Settings):
    """The relevance-versus-efficiency curve's choices per model (pass its run id): the
    sides, K (its default comes from the model's held-out rows) and α."""

    PAGE = "to"
    PER_DATASET = ("eff", "rel", "k", "alpha")

    eff: list[str] | None = None
    rel: list[str] | None = None
    k: int | None = None
    alpha: float | None = None


@dataclass
class RecommendSettings(Settings):
    """The Recommendations page's choices. The user and the fusion weights depend on the
    model, so their widgets are per run: pass the run id where others pass a dataset."""

    PAGE = "rec"
    PER_DATASET = ("user", "fusion")

    user: str | None = None  # ids travel as text (a URL has no integers)
    fusion: dict[str, float] = field(default_factory=dict)
    k: int | None = None
    exclude_seen: bool | None = None

