"""What the dashboard's pages share: the session's dataset, training jobs and runs.

Everything that belongs to one user lives in ``st.session_state`` (datasets, jobs,
runs, caches of prepared data and scores), so two browser tabs never see each
other's work. ``st.cache_resource`` holds only immutable shared things: the raw
tables of the bundled samples and the datasets built from them, which no page
mutates; ``st.cache_data`` holds per-dataset statistics keyed by the dataset's
content token. The ML work itself is done by :mod:`mtl`; this module only wires it to
the session.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from mtl.data import InteractionData, PreparedData, RoleOverrides, Schema, SplitSpec, from_frame, prepare, read_table
from mtl.data.dataset import check_usable
from mtl.data.derive import parse_derived
from mtl.data.samples import SAMPLES, Sample, get_sample
from mtl.data.schema import MAX_CLASSES, TIME_NAMES
from mtl.data.split import parse_cutoffs, resolve_cutoffs
from mtl.data.suggest import TaskSuggestion, suggest_tasks
from mtl.errors import ConfigError, DataError
from mtl.models import ModelConfig
from mtl.train import BackgroundTraining, TrainConfig, TrainResult, available_devices, resolve_device
from mtl.weighting import normalize_preference
from pages._nav import COMPARE, DATA, HOME, LEARN, RECOMMEND, TRADEOFFS, TRAIN, use_explicit_navigation  # noqa: F401

DEFAULT_SAMPLE = "simulated"
#: Value widgets (not buttons or uploaders) whose key starts with this keep their value
#: when the user visits another page (see :func:`keep_widget_state`).
UI = "ui."
#: Polling interval of live parts (seconds).
POLL_S = 0.5

#: Hyperparameters the app starts with: small enough that "Train with defaults" on the
#: simulated sample takes seconds on a laptop CPU, large enough to learn something.
#: The batch size is the largest power of two up to ``batch_size`` that still gives
#: ``min_steps`` optimizer steps per epoch (see :func:`default_batch_size`).
APP_DEFAULTS = dict(epochs=2, batch_size=2048, min_steps=25, lr=3e-3, patience=2, emb_dim=16, hidden=(128, 64),
                    experts=4, seed=0)

ROLE_CHOICES = (
    "user id", "item id", "timestamp", "binary label", "regression label", "multiclass label",
    "categorical feature", "numeric feature", "ignored", "text", "oracle",
)
#: Roles inference assigns but a user cannot choose (no override exists for them).
AUTOMATIC_ROLES = ("text", "oracle")


# ------------------------------------------------------------------ widgets
#: Where :func:`keep_widget_state` keeps a copy of every ``ui.`` value (not a ``ui.`` key itself).
SAVED = "_ui_saved"


def keep_widget_state() -> None:
    """Streamlit forgets a widget's value when a page without it runs; copying the
    ``ui.`` keys into plain session state keeps choices across page visits.

    The copy alone is not enough while a fragment reruns on its own (a sweep's or a
    training's live progress): a fragment run drops the state of the page's other
    widgets, so leaving the page then found the sweep form back at its defaults. A
    second copy outside widget state, refreshed on every full run, restores them."""
    saved = st.session_state.setdefault(SAVED, {})
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith(UI):
            saved[key] = st.session_state[key]
            st.session_state[key] = saved[key]
    for key, value in saved.items():
        if key not in st.session_state:
            st.session_state[key] = value


def page_setup() -> None:
    """Per-run bookkeeping every page starts with: keep widget choices, move a finished
    training job into the run history, and show the session's status in the sidebar.

    Pages call this themselves (rather than relying on ``app.py`` alone) because
    Streamlit may run a file under ``pages/`` directly, e.g. on the first request
    after a server start when the URL names a page.
    """
    keep_widget_state()
    collect_finished_job()
    ds = st.session_state.get("dataset")
    with st.sidebar:
        st.caption(f"Dataset: **{ds.name if ds is not None else get_sample(DEFAULT_SAMPLE).title}**")
        job = current_job()
        if job is not None:
            st.caption(":material/sync: Training in progress: see the Train page")
        if "cmp.job" in st.session_state and not st.session_state["cmp.job"]["job"].done:
            st.caption(":material/sync: Method comparison in progress: see Compare methods")
        sweep = st.session_state.get("sweep.job")
        if sweep is not None and not sweep["job"].done:
            done, total, _ = sweep["job"].progress
            st.caption(f":material/sync: Weight sweep in progress ({min(done / total, 1):.0%}): see Trade-offs")
        st.caption(f"Runs this session: {len(runs())}")


def eta_text(seconds: float | None) -> str:
    """``"about 40 s left"``, ``"about 2.5 min left"``; ``"estimating the time left"`` before any progress."""
    if seconds is None or seconds != seconds:  # None or NaN
        return "estimating the time left"
    return f"about {seconds:.0f} s left" if seconds < 90 else f"about {seconds / 60:.1f} min left"


def ui_default(key: str, value) -> str:
    """Give widget ``key`` its first value (widgets then take no ``value=``); returns the key."""
    if key not in st.session_state:
        st.session_state[key] = value
    return key


def show_error(err: BaseException) -> None:
    st.error(str(err), icon=":material/error:")


# ------------------------------------------------------------------ datasets
@dataclass(frozen=True)
class Dataset:
    """The session's active dataset and how to rebuild it with other column roles."""

    data: InteractionData = field(repr=False)
    #: Identifies source and roles: equal tokens mean the same data.
    token: str
    #: Identifies the files or tables the data came from (without roles).
    source_id: str
    frame: pd.DataFrame = field(repr=False)          # the interaction table as read (before joins)
    user_table: pd.DataFrame | None = field(default=None, repr=False)
    item_table: pd.DataFrame | None = field(default=None, repr=False)
    overrides: RoleOverrides = field(default_factory=RoleOverrides)
    sample: Sample | None = None
    files: tuple[str, ...] = ()          # uploaded file names

    @property
    def name(self) -> str:
        return self.data.name

    @property
    def short(self) -> str:
        """A short key for widget names that belong to this dataset."""
        return self.token[:10]

    @property
    def source(self) -> str:
        if self.sample is not None:
            return f"bundled sample ({self.sample.license})"
        return "uploaded: " + ", ".join(self.files)


def _token(source: str, overrides: RoleOverrides) -> str:
    roles = json.dumps(overrides.to_dict(), sort_keys=True)
    return hashlib.sha1(f"{source}|{roles}".encode()).hexdigest()


@st.cache_resource(show_spinner=False, max_entries=4)
def _sample_tables(key: str) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    s = get_sample(key)
    path = s.path(s.file)
    if not path.exists():
        raise DataError(f"Bundled sample '{key}' is missing at {path}; is sample_data/ present?")
    side = [read_table(s.path(n), max_bytes=None) if n else None for n in (s.user_features, s.item_features)]
    return read_table(path, max_bytes=None), side[0], side[1]


@st.cache_resource(show_spinner=False, max_entries=8)
def _sample_data(key: str, roles_json: str) -> InteractionData:
    frame, users, items = _sample_tables(key)
    return from_frame(frame, user_table=users, item_table=items, roles=json.loads(roles_json), name=get_sample(key).title)


def sample_dataset(key: str, overrides: RoleOverrides | None = None) -> Dataset:
    """A bundled sample with its curated roles (plus ``overrides``), shared read-only
    between sessions. The same tables and roles as :func:`mtl.data.samples.load_sample`."""
    s = get_sample(key)
    ov = overrides or RoleOverrides.from_dict(s.roles)
    frame, users, items = _sample_tables(key)
    data = _sample_data(key, json.dumps(ov.to_dict(), sort_keys=True))
    source_id = f"sample:{key}"
    return Dataset(data, _token(source_id, ov), source_id, frame, users, items, ov, sample=s)


def dataset_from_frames(frame: pd.DataFrame, name: str, user_table: pd.DataFrame | None = None,
                        item_table: pd.DataFrame | None = None, overrides: RoleOverrides | None = None,
                        source_id: str | None = None, files: tuple[str, ...] = ()) -> Dataset:
    """A dataset from in-memory tables (uploads, tests). Raises :class:`MTLError`."""
    ov = overrides or RoleOverrides()
    data = from_frame(frame, user_table=user_table, item_table=item_table, roles=ov, name=name)
    if source_id is None:
        digest = hashlib.sha1(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        source_id = f"frame:{name}:{digest.hexdigest()}"
    return Dataset(data, _token(source_id, ov), source_id, frame, user_table, item_table, ov, files=files)


def dataset_from_upload(main: tuple[str, bytes], users: tuple[str, bytes] | None = None,
                        items: tuple[str, bytes] | None = None) -> Dataset:
    """Read uploaded ``(file name, bytes)`` (CSV, CSV.gz or Parquet; the upload limit
    is enforced by the uploader) and build a dataset. Raises :class:`MTLError` with a
    message naming the file or column at fault."""
    digest = hashlib.sha1()
    tables = []
    for upload in (main, users, items):
        if upload is None:
            tables.append(None)
            continue
        name, content = upload
        digest.update(name.encode() + b"\0" + content)
        tables.append(read_table(content, name=name, max_bytes=None))
    files = tuple(u[0] for u in (main, users, items) if u is not None)
    ds = dataset_from_frames(tables[0], main[0], tables[1], tables[2], source_id=f"upload:{digest.hexdigest()}",
                             files=files)
    check_usable(ds.data)  # the check the CLI's load makes: a file is accepted or refused the same way in both
    return ds


def active_dataset() -> Dataset:
    """The session's dataset; the bundled simulated sample until the user picks another."""
    if "dataset" not in st.session_state:
        with st.spinner(f"Loading the bundled sample ({get_sample(DEFAULT_SAMPLE).title}) ..."):
            st.session_state["dataset"] = sample_dataset(DEFAULT_SAMPLE)
    return st.session_state["dataset"]


@st.cache_data(show_spinner=False, max_entries=16)
def label_summary(token: str, _data: InteractionData) -> pd.DataFrame:
    """``_data.label_summary()``, computed once per dataset (``token`` identifies it)."""
    return _data.label_summary()


@st.cache_data(show_spinner=False, max_entries=16)
def id_counts(token: str, _data: InteractionData) -> tuple[int | None, int | None]:
    """Distinct users and items of a dataset (``None`` without that id column)."""
    s, frame = _data.schema, _data.frame
    return (int(frame[s.user].nunique()) if s.user else None, int(frame[s.item].nunique()) if s.item else None)


def set_active_dataset(ds: Dataset) -> None:
    st.session_state["dataset"] = ds


# ------------------------------------------------------------- column roles
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


def apply_roles(ds: Dataset, edited: pd.DataFrame) -> Dataset:
    """``ds`` rebuilt with the roles of an edited :func:`roles_table`; ``ds`` itself is
    untouched, so a failure (:class:`MTLError`) leaves the session's data usable."""
    ov = overrides_from_edits(ds.data.schema, ds.overrides, edited)
    if ov == ds.overrides:
        return ds
    for col, kind in ov.labels.items():
        if col in ds.data.frame:
            check_label(ds.data.frame, col, kind)
    return with_overrides(ds, ov)


def with_overrides(ds: Dataset, ov: RoleOverrides) -> Dataset:
    """``ds`` rebuilt with other roles (raises :class:`MTLError`; ``ds`` is untouched)."""
    if ds.sample is not None:
        return sample_dataset(ds.sample.key, ov)
    data = from_frame(ds.frame, user_table=ds.user_table, item_table=ds.item_table, roles=ov, name=ds.name)
    return dataclasses.replace(ds, data=data, token=_token(ds.source_id, ov), overrides=ov)


def add_derived(ds: Dataset, expression: str) -> Dataset:
    """``ds`` with one more derived label (``"liked=rating>=4"``); raises :class:`MTLError`
    naming the problem (bad expression, missing column, name taken)."""
    label = parse_derived(expression)
    if label.name in ds.data.frame.columns:
        raise ConfigError(f"There is already a column named '{label.name}'; choose another name")
    ov = RoleOverrides.from_dict(json.loads(json.dumps(ds.overrides.to_dict())))
    ov.derive.append(label.expression)
    return with_overrides(ds, ov)


def remove_derived(ds: Dataset, name: str) -> Dataset:
    """``ds`` without the derived label ``name`` (and any role chosen for it)."""
    ov = RoleOverrides.from_dict(json.loads(json.dumps(ds.overrides.to_dict())))
    ov.derive = [e for e in ov.derive if parse_derived(e).name != name]
    ov.labels.pop(name, None)
    ov.ignore = [c for c in ov.ignore if c != name]
    return with_overrides(ds, ov)


# ------------------------------------------------------------------ defaults
@st.cache_data(show_spinner=False, max_entries=16)
def task_suggestion(token: str, _data: InteractionData) -> TaskSuggestion:
    """:func:`mtl.data.suggest.suggest_tasks` of a dataset, once per dataset."""
    return suggest_tasks(_data)


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


def weight_sliders(ds: Dataset, tasks: list[str], scope: str, intro: str) -> list[float]:
    """One weight slider per task (0 to 5, starting at the dataset's suggested weight)
    with each task's share of the total under it; returns the weights. ``scope``
    keeps each page's sliders apart (``ui.<scope>.w.<dataset>.<task>``)."""
    if not tasks:
        return []
    st.markdown(intro)
    cols = st.columns(min(len(tasks), 4))
    weights = []
    for i, task in enumerate(tasks):
        with cols[i % len(cols)]:
            weights.append(st.slider(f"{task} weight", 0.0, 5.0, step=0.1,
                                     key=ui_default(f"{UI}{scope}.w.{ds.short}.{task}", default_weight(ds, task))))
    total = sum(weights)
    for i, w in enumerate(weights):
        with cols[i % len(cols)]:
            st.caption(f"share: **{w / total:.0%}**" if total > 0 else "share: -")
    return weights


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


def describe_split(spec: SplitSpec, ds: Dataset) -> str:
    """The split in words, for a caption beside the split controls."""
    if spec.method == "random":
        return "Random rows: {:.0%} train, {:.0%} validation, {:.0%} test.".format(*spec.fractions)
    if spec.method == "user":
        return "Whole users held out: the test measures users the model has never seen."
    column = spec.column or ds.data.schema.time or "the timestamp"
    if spec.cutoffs is None:
        return (f"By time on **{column}**: the oldest {spec.fractions[0]:.0%} of rows train, the next "
                f"{spec.fractions[1]:.0%} validate, the newest test (cut at those quantiles).")
    a, b = spec.cutoffs
    return (f"By time on **{column}**: rows up to **{a}** train, after {a} up to **{b}** validate, "
            f"after {b} test.")


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


# -------------------------------------------------------------- jobs & runs
@dataclass
class Run:
    """A finished training run of this session."""

    id: int
    ds: Dataset
    result: TrainResult
    prepared_key: str
    warnings: list[str] = field(default_factory=list)
    #: For single-task baselines: the run they were trained for.
    baseline_for: int | None = None
    #: Where the run was trained when not on the Train page (e.g. "sweep").
    origin: str | None = None

    @property
    def config(self) -> TrainConfig:
        return self.result.config

    @property
    def dataset(self) -> str:
        return self.ds.name

    @property
    def label(self) -> str:
        cfg = self.config
        if self.baseline_for is not None:
            kind = "single-task baselines"
        elif cfg.model.conditioned:  # trained over random weightings: its weighting method does not apply
            kind = f"{cfg.arch}, preference-conditioned"
        else:
            kind = f"{cfg.arch} + {cfg.weighting}"
        origin = f" (from a {self.origin})" if self.origin else ""
        return f"#{self.id} · {kind}{origin} · {', '.join(cfg.tasks)} · {self.dataset}"


@dataclass
class Job:
    """A training run in progress (at most one per session)."""

    bg: BackgroundTraining
    ds: Dataset
    prepared_key: str
    baseline_key: str | None = None
    baseline_for: int | None = None

    @property
    def is_baseline(self) -> bool:
        return self.baseline_key is not None


def _key(*parts) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def prepared_key(token: str, config: TrainConfig) -> str:
    """Identifies prepared data: dataset, tasks, split and seed."""
    return _key(token, list(config.tasks), config.split.to_dict(), config.seed)


def baseline_key(run: Run) -> str:
    """Identifies single-task baselines for a run: its data, tasks, split, seed and
    every hyperparameter except architecture, weighting and task weights."""
    cfg = run.config.to_dict()
    for k in ("arch", "weighting", "weights", "evals_per_epoch"):
        cfg.pop(k)
    return _key(run.ds.token, cfg)


def _prepared_cache() -> OrderedDict:
    return st.session_state.setdefault("prepared", OrderedDict())


def _remember_prepared(key: str, prepared: PreparedData) -> None:
    cache = _prepared_cache()
    cache[key] = prepared
    cache.move_to_end(key)
    while len(cache) > 2:  # prepared tensors can be large: keep the last two
        cache.popitem(last=False)


def current_job() -> Job | None:
    return st.session_state.get("job")


def runs() -> list[Run]:
    return st.session_state.setdefault("runs", [])


def add_run(ds: Dataset, result: TrainResult, origin: str) -> Run:
    """Keep a model trained outside the Train page (e.g. a sweep's conditioned model)
    in the run history, so every page can use it."""
    history = runs()
    run = Run(id=(history[-1].id + 1 if history else 1), ds=ds, result=result,
              prepared_key=prepared_key(ds.token, result.config), origin=origin)
    history.append(run)
    return run


def latest_run(candidates: list[Run], ds: Dataset) -> Run:
    """The run a results page should follow: the newest model trained on ``ds`` (single-
    task baselines only when there is nothing else), else the newest of all."""
    on_ds = [r for r in candidates if r.ds.token == ds.token]
    return max([r for r in on_ds if r.baseline_for is None] or on_ds or candidates, key=lambda r: r.id)


def follow_latest(key: str, candidates: list[Run], ds: Dataset) -> Run:
    """Point run selector ``key`` at the active dataset's latest run whenever that
    changes (a new run, another dataset); a run picked by hand stays until then.
    Returns the latest run. Call before the selector is drawn."""
    latest = latest_run(candidates, ds)
    seen = f"{key}.latest"  # not a widget key: remembers which latest run was last followed
    if st.session_state.get(key) not in {r.id for r in candidates} or st.session_state.get(seen) != latest.id:
        st.session_state[key] = latest.id
    st.session_state[seen] = latest.id
    return latest


def get_run(run_id: int | None) -> Run | None:
    return next((r for r in runs() if r.id == run_id), None)


class _SessionAnchor:
    """Lives exactly as long as one browser session's state."""


def stop_when_collected(anchor: object, bg: BackgroundTraining) -> None:
    """Stop ``bg`` once ``anchor`` is garbage-collected: a closed tab's session state
    goes away, and its training must not keep a CPU busy for nobody. Holds ``bg``
    weakly (its thread keeps it alive while it runs), so finished runs are freed."""
    weakref.finalize(anchor, _stop_if_alive, weakref.ref(bg))


def _stop_if_alive(ref: weakref.ref) -> None:
    bg = ref()
    if bg is not None:
        bg.stop()


def _session_anchor() -> _SessionAnchor:
    return st.session_state.setdefault("session.anchor", _SessionAnchor())


def start_training(ds: Dataset, config: TrainConfig, *, baseline_for: Run | None = None) -> Job:
    """Validate ``config`` and start training it on ``ds`` in the background (raises
    :class:`MTLError` for a bad setting; data problems surface as the job's error)."""
    job = current_job()
    if job is not None and not job.bg.done:
        raise ConfigError("A training run is already in progress; stop it or wait for it to finish")
    if not config.tasks:
        raise ConfigError("Choose at least one task (a label column) to train")
    config.validate()
    normalize_preference(config.weights, len(config.tasks))
    resolve_device(config.device)
    key = prepared_key(ds.token, config)
    cached = _prepared_cache().get(key)
    data = ds.data
    source: PreparedData | Callable[[], PreparedData] = cached if cached is not None else (
        lambda: prepare(data, list(config.tasks), config.split, seed=config.seed))
    bg = BackgroundTraining(source, config)
    job = Job(bg, ds, key,
              baseline_key=baseline_key(baseline_for) if baseline_for is not None else None,
              baseline_for=baseline_for.id if baseline_for is not None else None)
    st.session_state["job"] = job
    st.session_state.pop("job_outcome", None)
    stop_when_collected(_session_anchor(), bg)
    bg.start()
    return job


def start_baselines(run: Run) -> Job:
    """Train one independent network per task of ``run`` on the same data and split."""
    cfg = dataclasses.replace(run.config, arch="single", weighting="static", weights=None, evals_per_epoch=1)
    return start_training(run.ds, cfg, baseline_for=run)


def collect_finished_job() -> None:
    """Move a finished job into the run history (call on every script run)."""
    job = current_job()
    if job is None or not job.bg.done:
        return
    del st.session_state["job"]
    bg = job.bg
    if bg.prepared is not None:
        _remember_prepared(job.prepared_key, bg.prepared)
    if bg.result is None:
        st.session_state["job_outcome"] = ("error", bg.error) if bg.error else (
            "info", "Training was stopped before it started: nothing was trained.")
        return
    history = runs()
    run = Run(id=(history[-1].id + 1 if history else 1), ds=job.ds, result=bg.result, prepared_key=job.prepared_key,
              warnings=list(bg.prepared.warnings) if bg.prepared is not None else [], baseline_for=job.baseline_for)
    history.append(run)
    if job.baseline_key is not None:
        st.session_state.setdefault("baselines", {})[job.baseline_key] = run.id
        st.session_state[UI + "train.run"] = job.baseline_for
    else:
        st.session_state[UI + "train.run"] = run.id
        st.session_state[UI + "rec.run"] = run.id
    result = bg.result
    if result.stopped:
        st.session_state["job_outcome"] = ("info", f"Run #{run.id} was stopped: the best model so far "
                                                   f"(epoch {result.best_epoch:g}) was kept and evaluated.")


def baseline_run(run: Run) -> Run | None:
    """The single-task baselines trained for ``run``'s setup, if any."""
    if run.baseline_for is not None or run.config.arch == "single":
        return None
    run_id = st.session_state.get("baselines", {}).get(baseline_key(run))
    return get_run(run_id)


def describe_devices() -> str:
    return " · ".join(available_devices().values())


def sample_choices() -> dict[str, Sample]:
    return dict(SAMPLES)
