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

from mtl.data import InteractionData, PreparedData, RoleOverrides, SplitSpec, from_frame, prepare, read_table
from mtl.data.dataset import check_usable
from mtl.data.derive import parse_derived
from mtl.data.samples import SAMPLES, Sample, get_sample
from mtl.data.schema import TIME_NAMES
from mtl.data.suggest import TaskSuggestion, suggest_tasks
from mtl.errors import ConfigError, DataError
from mtl.setup import (  # noqa: F401  (ROLE_CHOICES, roles_table, suggested_batch_size: used by the pages)
    APP_EPOCHS,
    MIN_STEPS,
    ROLE_CHOICES,
    baseline_config,
    check_labels,
    overrides_from_edits,
    resolve_split,
    roles_table,
    suggested_batch_size,
    suggested_config,
    suggested_tasks,
    suggested_weight,
)
from mtl.train import BackgroundTraining, TrainConfig, TrainResult, available_devices, resolve_device
from mtl.weighting import preference_shares
from pages._nav import COMPARE, DATA, HOME, LEARN, RECOMMEND, TRADEOFFS, TRAIN, use_explicit_navigation  # noqa: F401

DEFAULT_SAMPLE = "simulated"
#: Value widgets (not buttons or uploaders) whose key starts with this keep their value
#: when the user visits another page (see :func:`keep_widget_state`).
UI = "ui."
#: Polling interval of live parts (seconds).
POLL_S = 0.5



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
def apply_roles(ds: Dataset, edited: pd.DataFrame) -> Dataset:
    """``ds`` rebuilt with the roles of an edited :func:`roles_table`; ``ds`` itself is
    untouched, so a failure (:class:`MTLError`) leaves the session's data usable."""
    ov = overrides_from_edits(ds.data.schema, ds.overrides, edited)
    if ov == ds.overrides:
        return ds
    check_labels(ds.data.frame, ov.labels)
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
    return suggested_tasks(ds.data, ds.sample, task_suggestion(ds.token, ds.data))


def weight_sliders(ds: Dataset, tasks: list[str], scope: str, intro: str) -> dict[str, float]:
    """One weight slider per task (0 to 5, starting at the dataset's suggested weight)
    with each task's share of the total under it; returns the preference ``{task:
    weight}``. ``scope`` keeps each page's sliders apart (``ui.<scope>.w.<dataset>.<task>``)."""
    if not tasks:
        return {}
    st.markdown(intro)
    cols = st.columns(min(len(tasks), 4))
    preference = {}
    for i, task in enumerate(tasks):
        with cols[i % len(cols)]:
            preference[task] = st.slider(f"{task} weight", 0.0, 5.0, step=0.1,
                                         key=ui_default(f"{UI}{scope}.w.{ds.short}.{task}",
                                                        suggested_weight(task, ds.sample)))
    shares = preference_shares(preference, tasks) if sum(preference.values()) > 0 else {}
    for i, task in enumerate(tasks):
        with cols[i % len(cols)]:
            st.caption(f"share: **{shares[task]:.0%}**" if shares else "share: -")
    return preference


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
    for k in ("arch", "weighting", "preference", "evals_per_epoch"):
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
    config.validate()
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
    return start_training(run.ds, baseline_config(run.config), baseline_for=run)


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
