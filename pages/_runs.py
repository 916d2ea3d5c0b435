"""The session's runs: trained models with their dataset, training started from the
pages (a background job of kind ``train``), and single-task baselines."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import streamlit as st

from mtl.data import PreparedData, prepare
from mtl.errors import ConfigError
from mtl.jobs import BackgroundJob
from mtl.setup import baseline_config
from mtl.train import BackgroundTraining, TrainConfig, TrainResult, resolve_device
from pages import _jobs as jobs
from pages import _stored as stored
from pages._datasets import Dataset
from pages._settings import TrainSettings
from pages._state import recall, remember, set_widget

RUNS, BASELINES, PREPARED = "runs", "baselines", "prepared"


@dataclass
class Run:
    """A finished training run of this session (trained here, or opened from the workspace)."""

    id: int
    #: ``None`` for a run opened from the workspace whose data was uploaded (the data is not kept).
    ds: Dataset | None
    result: TrainResult
    prepared_key: str
    warnings: list[str] = field(default_factory=list)
    #: For single-task baselines: the run they were trained for.
    baseline_for: int | None = None
    #: Where the run was trained when not on the Train page (e.g. "sweep").
    origin: str | None = None
    #: Unique across sessions: keys shared caches (a report, a model zip).
    uid: str = field(default_factory=lambda: uuid.uuid4().hex)
    #: The run's id in the workspace (:mod:`pages._stored`), once saved there.
    store_id: str | None = None
    #: The stored description of its data (a run opened from the workspace).
    data: dict | None = None
    #: Held while the run is saved to the workspace (:func:`pages._stored.save`).
    saving: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def config(self) -> TrainConfig:
        return self.result.config

    @property
    def dataset(self) -> str:
        return self.ds.name if self.ds is not None else str((self.data or {}).get("name") or "uploaded data")

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


def _key(*parts) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def prepared_key(token: str, config: TrainConfig) -> str:
    """Identifies prepared data: dataset, tasks, split and seed."""
    # History features are part of the prepared data; without them the key is as before.
    return _key(token, list(config.tasks), config.split.to_dict(), config.seed, *(["history"] if config.history else []))


def baseline_key(run: Run) -> str:
    """Identifies single-task baselines for a run: its data, tasks, split, seed and
    every hyperparameter except architecture, weighting and task weights."""
    cfg = run.config.to_dict()
    for k in ("arch", "weighting", "preference", "evals_per_epoch"):
        cfg.pop(k)
    return _key(run.ds.token if run.ds is not None else run.store_id, cfg)


def runs() -> list[Run]:
    return st.session_state.setdefault(RUNS, [])


def add_run(ds: Dataset, result: TrainResult, origin: str) -> Run:
    """Keep a model trained outside the Train page (e.g. a sweep's conditioned model)
    in the run history, so every page can use it."""
    history = runs()
    # Once per result, however often it is asked: a run stopped half way through asks again.
    run = next((r for r in history if r.result is result), None)
    if run is None:
        run = Run(id=(history[-1].id + 1 if history else 1), ds=ds, result=result,
                  prepared_key=prepared_key(ds.token, result.config), origin=origin)
        history.append(run)
    if (problem := stored.save(run)) is not None:
        st.warning(problem, icon=":material/warning:")
    return run


def latest_run(candidates: list[Run], ds: Dataset) -> Run:
    """The run a results page should follow: the newest model trained on ``ds`` (single-
    task baselines only when there is nothing else), else the newest of all."""
    on_ds = [r for r in candidates if r.ds is not None and r.ds.token == ds.token]
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


def baseline_run(run: Run) -> Run | None:
    """The single-task baselines trained for ``run``'s setup, if any."""
    if run.baseline_for is not None or run.config.arch == "single":
        return None
    return get_run(st.session_state.get(BASELINES, {}).get(baseline_key(run)))


def current_training() -> jobs.SessionJob | None:
    """The session's training job until it is collected (at most one at a time)."""
    return jobs.current("train")


class SharedPrepared:
    """Prepared data of the bundled samples, shared by every session of the server (like
    the samples themselves: same data, split and seed give the same tensors, which no
    one mutates), computed once per key: a session asking for data another thread is
    preparing waits for that preparation instead of starting a second one."""

    def __init__(self, size: int = 4):
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[str, Future] = OrderedDict()
        self._prefetched: set[str] = set()

    def get(self, key: str, compute: Callable[[], PreparedData]) -> PreparedData:
        with self._lock:
            future = self._items.get(key)
            mine = future is None
            if mine:
                future = self._items[key] = Future()
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
            self._items.move_to_end(key)
        if mine:
            try:
                future.set_result(compute())
            except BaseException as err:
                with self._lock:  # not kept: the next caller tries again and sees the error itself
                    if self._items.get(key) is future:
                        del self._items[key]
                future.set_exception(err)
        return future.result()

    def has(self, key: str) -> bool:
        """Whether ``key``'s data is prepared or being prepared."""
        with self._lock:
            return key in self._items

    def first_prefetch(self, key: str) -> bool:
        """True the first time ``key`` is asked to be prefetched (later pages draw it again)."""
        with self._lock:
            first = key not in self._prefetched and key not in self._items
            self._prefetched.add(key)
            return first


SHARED_PREPARED = SharedPrepared()


def _prepare_source(ds: Dataset, config: TrainConfig) -> PreparedData | Callable[[], PreparedData]:
    """The run's prepared data, or how to prepare it (in the training thread): this
    session's last ones, else, for a bundled sample, the server's shared ones."""
    key = prepared_key(ds.token, config)
    cached = recall(PREPARED, key)
    if cached is not None:
        return cached
    data, tasks, split, seed, history = ds.data, list(config.tasks), config.split, config.seed, config.history

    def compute() -> PreparedData:
        return prepare(data, tasks, split, seed=seed, history=history)

    return (lambda: SHARED_PREPARED.get(key, compute)) if ds.sample is not None else compute


def prefetch(ds: Dataset, config: TrainConfig) -> None:
    """Prepare ``config``'s data on a bundled sample once per server, as a background job
    (in the server's queue and at its priority, like training): the Home page does it for
    *Train with defaults* while its visitor reads, so that the click goes straight to
    training. A failure is left for the run to report: it prepares the data again."""
    key = prepared_key(ds.token, config)
    if ds.sample is None or recall(PREPARED, key) is not None or not SHARED_PREPARED.first_prefetch(key):
        return
    source = _prepare_source(ds, config)
    BackgroundJob(lambda report, should_stop: source(), name="mtl-prefetch").start()


def start_training(ds: Dataset, config: TrainConfig, *, baseline_for: Run | None = None) -> jobs.SessionJob:
    """Validate ``config`` and start training it on ``ds`` in the background (raises
    :class:`MTLError` for a bad setting; data problems surface as the job's error)."""
    if jobs.busy("train"):
        raise ConfigError("A training run is already in progress; stop it or wait for it to finish")
    config.validate()
    resolve_device(config.device)
    return jobs.start("train", BackgroundTraining(_prepare_source(ds, config), config), ds,
                      prepared_key=prepared_key(ds.token, config),
                      baseline_key=baseline_key(baseline_for) if baseline_for is not None else None,
                      baseline_for=baseline_for.id if baseline_for is not None else None)


def start_baselines(run: Run) -> jobs.SessionJob:
    """Train one independent network per task of ``run`` on the same data and split."""
    if run.ds is None:
        raise ConfigError(f"Run #{run.id} was trained on uploaded data, which the workspace does not keep: upload "
                          "it again and train there to compare with single-task baselines")
    return start_training(run.ds, baseline_config(run.config), baseline_for=run)


def _training_done(entry: jobs.SessionJob) -> tuple[str, str] | None:
    """A finished training joins the run history (once, though a stopped collection
    runs this again: :func:`pages._jobs.collect`); its prepared data is kept for the next run."""
    bg: BackgroundTraining = entry.job  # type: ignore[assignment]
    prepared: PreparedData | None = bg.prepared
    if prepared is not None:
        remember(PREPARED, entry.meta["prepared_key"], prepared, size=2)  # prepared tensors can be large
    result: TrainResult | None = entry.result
    if result is None:
        return None
    if (run := get_run(entry.meta.get("run_id"))) is None:
        history = runs()
        run = Run(id=(history[-1].id + 1 if history else 1), ds=entry.ds, result=result,
                  prepared_key=entry.meta["prepared_key"],
                  warnings=list(prepared.warnings) if prepared is not None else [],
                  baseline_for=entry.meta["baseline_for"])
        # No session-state access between these two lines: a stop cannot add the run twice.
        history.append(run)
        entry.meta["run_id"] = run.id
    parent = get_run(entry.meta["baseline_for"])
    problem = stored.save(run, prepared, baseline_of=parent.store_id if parent is not None else None)
    if entry.meta["baseline_key"] is not None:
        st.session_state.setdefault(BASELINES, {})[entry.meta["baseline_key"]] = run.id
        set_widget(RESULTS_RUN, entry.meta["baseline_for"])
    else:
        set_widget(RESULTS_RUN, run.id)
        set_widget(RECOMMEND_RUN, run.id)
    if result.stopped:
        stopped = f"Run #{run.id} was stopped: the best model so far (epoch {result.best_epoch:g}) was kept and evaluated."
        return ("warning", f"{stopped} {problem}") if problem else ("info", stopped)
    return ("warning", problem) if problem else None


#: The run selectors of the Train page's results and of the Recommendations page.
RESULTS_RUN = TrainSettings.key("run")
RECOMMEND_RUN = "ui.rec.run"

jobs.KINDS["train"] = jobs.JobKind("Training", on_done=_training_done)
