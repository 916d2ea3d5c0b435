"""Training in a background thread, watched from another thread (e.g. a web page).

:class:`BackgroundTraining` is the :class:`mtl.jobs.BackgroundJob` (start, poll, stop,
outcome, error, a place in the process's queue) that runs :class:`~mtl.train.Trainer`,
and keeps what a user interface needs to poll: the phase, the latest
:class:`~mtl.train.Progress` (:attr:`~BackgroundTraining.live`), every :class:`~mtl.train.Evaluation` so far (and the
same rows as :attr:`TrainResult.history <mtl.train.TrainResult.history>`, for live
learning curves), the gradient diagnostics rows so far (as
:attr:`TrainResult.diagnostics <mtl.train.TrainResult.diagnostics>`, updated with every
progress event, a few times per second), and at the end the :class:`~mtl.train.TrainResult` or a readable
error message. Every accessor returns a snapshot taken under a lock, so a poller
never sees a half-updated list.

``stop()`` may be called from any thread: the trainer checks it every batch, so
training ends within about one batch and the best model so far is kept and
evaluated, exactly as after early stopping. The data may be given already prepared
or as a zero-argument function that prepares it; preparing then happens in the
background thread too (a stop during preparation cancels the run: nothing has
been trained yet, so there is no result).

Errors never escape the thread: an :class:`~mtl.errors.MTLError` becomes
:attr:`error` with its message as written for users; any other exception is logged
with its traceback and summarized in :attr:`error` in one sentence.

Pure Python, no user-interface imports::

    job = BackgroundTraining(prepared, TrainConfig(tasks=["click", "like"])).start()
    while not job.done:
        show(job.phase, job.live, job.history)
        time.sleep(0.5)
    outcome = job.outcome  # state, result, error
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable

from ..data.dataset import PreparedData
from ..jobs import RUNNING, BackgroundJob, JobSlots
from .config import TrainConfig
from .diagnostics import auto_every
from .events import Done, Evaluation, Progress
from .result import TrainResult
from .trainer import Trainer

DataSource = PreparedData | Callable[[], PreparedData]

#: The two parts of a running job's ``running`` state (:attr:`BackgroundTraining.phase`).
PREPARING, TRAINING = "preparing", "training"

#: Above this many training rows, validate more than once per epoch so that live
#: charts move at least every ~50k rows (one point per epoch would leave a user
#: staring at a flat chart for a long time on large data).
ROWS_PER_EVALUATION = 50_000
MAX_EVALS_PER_EPOCH = 10

def evals_per_epoch_for(n_train: int) -> int:
    """Validation evaluations per epoch that keep live charts moving on ``n_train`` rows:
    1 up to 50k rows, then one more per further 50k rows, at most 10."""
    return max(1, min(MAX_EVALS_PER_EPOCH, math.ceil(n_train / ROWS_PER_EVALUATION)))


def live_config(config: TrainConfig, n_train: int) -> TrainConfig:
    """``config`` with enough evaluations per epoch (:func:`evals_per_epoch_for`) and
    diagnostics rows (:func:`~mtl.train.diagnostics.auto_every`) for live charts on ``n_train``
    training rows; never fewer than ``config`` asks for, and diagnostics stay off
    when ``diagnostics_every`` is 0."""
    evals = max(config.evals_per_epoch, evals_per_epoch_for(n_train))
    every = auto_every(config.diagnostics_every, math.ceil(n_train / config.batch_size) * config.epochs)
    return dataclasses.replace(config, evals_per_epoch=evals, diagnostics_every=every)


def evaluation_row(event: Evaluation, primary_metrics: dict[str, str]) -> dict:
    """One :class:`Evaluation` as a row in the format of ``TrainResult.history``
    (``epoch``, ``train_loss:<task>``, ``valid_loss:<task>``, ``valid_<metric>:<task>``,
    ``weight:<task>``); ``primary_metrics`` maps each task to its primary metric."""
    row: dict = {"epoch": round(event.epoch, 4)}
    for task, metric in primary_metrics.items():
        row[f"train_loss:{task}"] = event.train_losses[task]
        row[f"valid_loss:{task}"] = event.valid_losses[task]
        row[f"valid_{metric}:{task}"] = event.valid_metrics[task].get(metric, math.nan)
        row[f"weight:{task}"] = event.applied_weights[task]
    return row


class BackgroundTraining(BackgroundJob):
    """One training run in a daemon thread: a :class:`~mtl.jobs.BackgroundJob` whose
    result is a :class:`~mtl.train.TrainResult`, with live snapshots on top.

    ``prepared`` is a :class:`~mtl.data.PreparedData` for ``config.tasks`` or a
    function returning one (called in the thread). With ``auto_evals`` (default),
    ``config.evals_per_epoch`` is raised to :func:`evals_per_epoch_for` the size of
    the training split, and (unless diagnostics are off) ``diagnostics_every`` is
    lowered (:func:`~mtl.train.diagnostics.auto_every`) so that live charts have
    points to draw on short runs too. The config actually used
    is :attr:`config` (and ``result.config``).
    """

    failure = "Training failed unexpectedly"

    def __init__(self, prepared: DataSource, config: TrainConfig, *, auto_evals: bool = True,
                 slots: JobSlots | None = None):
        if not isinstance(prepared, PreparedData) and not callable(prepared):
            raise TypeError("prepared must be PreparedData or a function returning it")
        super().__init__(name="mtl-background-training", slots=slots)
        self._source = prepared
        self._config = config
        self._auto_evals = auto_evals
        self._lock = threading.Lock()  # guards what the training thread adds below
        self._trainer: Trainer | None = None
        self._prepared: PreparedData | None = prepared if isinstance(prepared, PreparedData) else None
        self._live: Progress | None = None
        self._evaluations: list[Evaluation] = []
        self._history: list[dict] = []
        self._diagnostics: list[dict] = []

    def stop(self) -> None:
        """Ask the run to end (thread-safe, returns at once). Training stops after the
        current batch and keeps the best model so far; a queued run, or one preparing
        its data, is cancelled (nothing has been trained yet, so there is no result)."""
        with self._lock:
            super().stop()
            trainer = self._trainer
        if trainer is not None:
            trainer.request_stop()

    # ---------------------------------------------------------------- snapshots
    @property
    def config(self) -> TrainConfig:
        return self._config

    @property
    def phase(self) -> str:
        """``ready``, ``queued``, ``preparing``, ``training``, then ``finished``, ``stopped``,
        ``failed`` or ``cancelled`` (:attr:`state`, with running told apart)."""
        state = self.state
        if state != RUNNING:
            return state
        with self._lock:
            return PREPARING if self._prepared is None or self._trainer is None else TRAINING

    @property
    def live(self) -> Progress | None:
        """The latest training progress report (``None`` before the first batch)."""
        with self._lock:
            return self._live

    @property
    def events(self) -> list[Evaluation]:
        """Every validation evaluation so far (a copy)."""
        with self._lock:
            return list(self._evaluations)

    @property
    def history(self) -> list[dict]:
        """The evaluations so far as ``TrainResult.history`` rows (a copy)."""
        with self._lock:
            return [dict(r) for r in self._history]

    @property
    def diagnostics(self) -> list[dict]:
        """Gradient diagnostics rows so far (a copy; see :mod:`mtl.train.diagnostics`)."""
        with self._lock:
            return [dict(r) for r in self._diagnostics]

    @property
    def prepared(self) -> PreparedData | None:
        """The prepared data (once preparation is done)."""
        with self._lock:
            return self._prepared

    # ------------------------------------------------------------------- thread
    def work(self, report, should_stop: Callable[[], bool]) -> TrainResult | None:
        """Prepare, train, return the result (``None``: cancelled while preparing)."""
        try:
            prepared = self._prepare(should_stop)
            if prepared is None:
                return None
            config = live_config(self._config, len(prepared.train)) if self._auto_evals else self._config
            trainer = Trainer(prepared, config)
            primary = {t.name: t.primary_metric for t in prepared.tasks}
            with self._lock:
                self._config = config
                self._trainer = trainer
                stop_now = should_stop()
            if stop_now:
                trainer.request_stop()
            for event in trainer.run():
                if isinstance(event, Progress):
                    report(event.fraction, 1, f"epoch {event.epoch}/{event.epochs}")
                with self._lock:
                    if isinstance(event, Progress):
                        self._live = event
                        self._diagnostics.extend(event.diagnostic_rows)
                    elif isinstance(event, Evaluation):
                        self._evaluations.append(event)
                        self._history.append(evaluation_row(event, primary))
                    elif isinstance(event, Done):
                        self._diagnostics = [dict(r) for r in event.result.diagnostics]  # incl. rows after the last progress
                        report(1, 1, "done")
                        return event.result
            raise RuntimeError("training ended without a result")  # pragma: no cover - run() always ends with Done
        finally:
            with self._lock:
                self._trainer = None  # frees the device copies of the data

    def _prepare(self, should_stop: Callable[[], bool]) -> PreparedData | None:
        if self._prepared is not None:
            return self._prepared
        prepared = self._source()  # type: ignore[operator]
        if not isinstance(prepared, PreparedData):
            raise TypeError(f"the data function returned {type(prepared).__name__}, not PreparedData")
        with self._lock:
            self._prepared = prepared
        return None if should_stop() else prepared
