"""Scale out on `Ray <https://docs.ray.io>`_: every training of a sweep or a
comparison is one Ray task with its own CPU (and GPU) request.

Without an address a Ray runtime starts on this machine (``num_cpus`` of its cores);
with one (``ray://head:10001`` through Ray Client, ``head:6379`` or ``auto`` from a
node of the cluster) the trainings run on that cluster. The prepared data goes into
Ray's object store once per run, and this package travels with the connection
(``runtime_env`` ``py_modules``), so the cluster's nodes need the project's
dependencies (torch, pandas, scikit-learn, ...) but not this exact version of it. A
Ray connection this process made before (``ray.init`` by the caller) is used as it
is: its workers must then import the same ``mtl``.

Progress and Stop go through one small actor: tasks post what they do to it and read
its stop flag a few times per second; the caller polls it. Trainings are submitted as
workers free up; Stop submits no more and, for a sweep, stops those under way within
a batch. A task sets torch's thread count to its CPU request, so a training gives the
same metrics as on the local backend with as many threads (the app runs one).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from ..data.dataset import PreparedData
from ..errors import ConfigError
from ..train.result import TrainResult
from .base import Backend, Listener, Training, Update, failure_reason
from .local import train_one
from .registry import register

INSTALL = "pip install 'mtl-tradeoff-explorer[ray]'"
#: How often a task reads the stop flag (seconds): a stop takes about this long plus a batch.
STOP_POLL_S = 0.25
#: How long the caller waits for a task to end before it reads the progress again (seconds).
WAIT_S = 0.2

_CONNECT_LOCK = threading.Lock()
#: What this process connected to: "" for the local runtime it started, else the address.
_connected: list[str] = []
_remote: dict[str, object] = {}


def _package_dir() -> str:
    return str(Path(__file__).resolve().parents[1])


def _ray_installed() -> bool:
    return importlib.util.find_spec("ray") is not None


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Refuse an address nothing answers on, in seconds: Ray itself retries for
    minutes before it gives up."""
    if address == "auto":
        return
    hostport = address.removeprefix("ray://").rsplit("/", 1)[0]
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"A Ray address looks like ray://HOST:10001, HOST:6379 or auto, got '{address}'")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as err:
        raise ConfigError(f"Could not reach the Ray cluster at {address}: nothing answers on {host}:{port} "
                          f"({err.strerror or err})") from None


def _board_class():
    """The board: what each run's tasks reported since the caller last read, and its
    stop flag. Defined in a function so that Ray ships the
    class itself, not a reference to this module: the actor's process then starts
    without importing torch (seconds on a busy machine). One board serves every run of
    a connection, each under its own id."""

    class Board:
        def __init__(self):
            self.updates: dict[str, list] = {}
            self.stops: set[str] = set()

        def report(self, run: str, index: int, kind: str, fraction: float, detail: str) -> None:
            self.updates.setdefault(run, []).append((index, kind, fraction, detail))

        def request_stop(self, run: str) -> None:
            self.stops.add(run)

        def stopped(self, run: str) -> bool:
            return run in self.stops

        def read(self, run: str) -> list:
            return self.updates.pop(run, [])

        def forget(self, run: str) -> None:
            self.updates.pop(run, None)
            self.stops.discard(run)

    return Board


def _task(prepared: PreparedData, training: Training, index: int, board, run: str, stop_running: bool,
          threads: int) -> TrainResult | None:
    """One training inside a Ray worker."""
    import ray
    import torch

    torch.set_num_threads(threads)
    checked = [0.0, False]

    def should_stop() -> bool:
        now = time.monotonic()
        if now - checked[0] >= STOP_POLL_S:
            checked[0], checked[1] = now, bool(ray.get(board.stopped.remote(run)))
        return checked[1]

    def listener(update: Update) -> None:
        board.report.remote(run, update.index, update.kind, update.fraction, update.detail)

    result = train_one(prepared, training, index, listener, should_stop, stop_running)
    if result is not None and not training.keep_model:
        result.trained = None  # the metrics are what the caller needs; the network stays here
    return result


def _remotes():
    """The Ray task and the board actor, made once per connection (Ray is imported on
    first use: it is slow to import and optional)."""
    if not _remote:
        import ray

        _remote["task"] = ray.remote(max_retries=0)(_task)
        _remote["board"] = ray.remote(num_cpus=0)(_board_class()).remote()
    return _remote["task"], _remote["board"]


@register
class RayBackend(Backend):
    name = "ray"
    description = "Ray: one Ray task per training, on a Ray runtime started here or on a cluster"

    def __init__(self, address: str | None = None, num_cpus: int | None = None, cpus_per_task: float = 1,
                 gpus_per_task: float = 0):
        """``address``: an existing cluster (default: ``RAY_ADDRESS`` if set, else a
        runtime started here with ``num_cpus`` CPUs, all of this machine's by default).
        Each training asks Ray for ``cpus_per_task`` CPUs and ``gpus_per_task`` GPUs (a
        configuration with ``device="cuda"`` asks for at least one)."""
        address = (address or os.environ.get("RAY_ADDRESS") or "").strip() or None
        if num_cpus is not None and num_cpus < 1:
            raise ConfigError(f"The local Ray runtime needs at least 1 CPU, got {num_cpus}")
        if not cpus_per_task > 0:
            raise ConfigError(f"Each training needs a positive number of CPUs, got {cpus_per_task}")
        if not gpus_per_task >= 0:
            raise ConfigError(f"GPUs per training must be 0 or more, got {gpus_per_task}")
        self.address = address
        self.num_cpus = num_cpus
        self.cpus_per_task = float(cpus_per_task)
        self.gpus_per_task = float(gpus_per_task)

    @classmethod
    def missing(cls) -> str | None:
        return None if _ray_installed() else f"The Ray backend needs Ray: {INSTALL}"

    # ---------------------------------------------------------------- runtime
    def connect(self) -> None:
        """Start the local runtime or join the cluster, once per process (Ray allows one
        connection per process: a later backend with another address is refused)."""
        import ray

        with _CONNECT_LOCK:
            wanted = self.address or ""
            if self.address is not None and _connected[:1] != [wanted]:
                _check_reachable(self.address)
            if ray.is_initialized():
                if _connected and _connected[0] != wanted:
                    where = f"the Ray cluster at {_connected[0]}" if _connected[0] else "a local Ray runtime"
                    raise ConfigError(f"This process already uses {where}; Ray allows one per process, so restart "
                                      f"it to use {'the cluster at ' + wanted if wanted else 'a local runtime'}")
                return
            # Local folders can only travel at the job level, so the package is given here: a
            # runtime that someone else started in this process must already import it.
            options: dict = {"log_to_driver": False, "logging_level": logging.WARNING,
                             "runtime_env": {"py_modules": [_package_dir()], "excludes": ["__pycache__"]}}
            if self.address is None:
                options.update(num_cpus=self.num_cpus, include_dashboard=False)
            else:
                options["address"] = self.address
            try:
                ray.init(**options)
            except Exception as err:  # Ray raises ConnectionError, RuntimeError, ValueError, ...
                where = f"reach the Ray cluster at {self.address}" if self.address else "start a local Ray runtime"
                raise ConfigError(f"Could not {where} ({type(err).__name__}: {err})") from None
            _connected[:] = [wanted]
            _remote.clear()  # a new connection needs its own board

    @property
    def workers(self) -> int:
        """How many trainings run at once: the cluster's CPUs over each one's request."""
        import ray

        self.connect()
        return max(1, int(ray.cluster_resources().get("CPU", 1) // self.cpus_per_task))

    def describe(self) -> str:
        where = f"the Ray cluster at {self.address}" if self.address else "a Ray runtime on this machine"
        return f"{where}, {self.workers} training(s) at once"

    def _options(self, training: Training) -> dict:
        gpus = self.gpus_per_task or (1.0 if training.config.device == "cuda" else 0.0)
        return {"num_cpus": self.cpus_per_task, "num_gpus": gpus}

    # -------------------------------------------------------------------- run
    def run(self, prepared: PreparedData, plan: Sequence[Training], *, listener: Listener | None = None,
            should_stop: Callable[[], bool] | None = None, stop_running: bool = True,
            ) -> Iterator[tuple[int, TrainResult | None]]:
        import ray
        from ray.exceptions import RayTaskError, TaskCancelledError

        self.connect()
        if should_stop is not None and should_stop():
            return
        task, board = _remotes()
        run = uuid.uuid4().hex
        data = ray.put(prepared)
        threads = max(1, int(self.cpus_per_task))
        # No more tasks in flight than can run: a task waiting in Ray's queue makes it
        # start a fresh worker for it (importing torch, seconds) while the worker that
        # just finished a training sits idle and is later killed; submitted as slots
        # free up, every training reuses a warm worker. Stop then simply submits nothing.
        capacity = self.workers
        waiting = list(enumerate(plan))
        pending: dict = {}
        stopping = False
        try:
            while pending or (waiting and not stopping):
                if not stopping and should_stop is not None and should_stop():
                    stopping = True
                    if stop_running:
                        board.request_stop.remote(run)
                while waiting and not stopping and len(pending) < capacity:
                    i, t = waiting.pop(0)
                    pending[task.options(**self._options(t)).remote(data, t, i, board, run, stop_running, threads)] = i
                if not pending:
                    break
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=WAIT_S)
                updates = ray.get(board.read.remote(run))
                if listener is not None:
                    for index, kind, fraction, detail in updates:
                        listener(Update(index, kind, fraction, detail))
                for ref in ready:
                    index = pending.pop(ref)
                    try:
                        result = ray.get(ref)
                    except TaskCancelledError:
                        continue
                    except RayTaskError as err:
                        cause = err.cause if err.cause is not None else err
                        raise failure_reason(index, plan[index].label, cause) from None
                    yield index, result
        finally:
            if pending:  # ended early (a failure, the caller closing the iterator): stop the others
                board.request_stop.remote(run)
                for ref in pending:
                    ray.cancel(ref)
            else:
                board.forget.remote(run)
