"""Run any long library call in a background thread and poll it (e.g. from a web page).

:class:`BackgroundJob` wraps a function ``fn(report, should_stop)``: the function
calls ``report(done, total, message)`` as it goes and checks ``should_stop()``
between steps. Snapshots (progress, result, error) are read under a lock. Errors
never escape the thread: an :class:`~mtl.errors.MTLError` keeps its user-facing
message; anything else is logged with its traceback and summarized in one line
(``"<failure> (<ExceptionType>: <message>)"``). :class:`mtl.train.BackgroundTraining`
runs training on one, adding live history and diagnostics.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from .errors import MTLError

log = logging.getLogger(__name__)

#: ``report(done, total, message)``; ``done`` may be fractional (half way through a step).
Report = Callable[[float, int, str], None]


class BackgroundJob:
    def __init__(self, fn: Callable[[Report, Callable[[], bool]], Any], name: str = "mtl-job",
                 failure: str = "The job failed unexpectedly"):
        self._fn = fn
        self._name = name
        self._failure = failure
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._progress: tuple[float, int, str] = (0, 1, "starting")
        self._result: Any = None
        self._error: str | None = None
        self._done = False
        self._started = 0.0
        self._finished: float | None = None

    def start(self) -> BackgroundJob:
        if self._thread is not None:
            raise RuntimeError("this job was already started")
        self._started = time.perf_counter()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        return self

    def _report(self, done: float, total: int, message: str) -> None:
        with self._lock:
            self._progress = (done, max(total, 1), message)

    def _run(self) -> None:
        try:
            result = self._fn(self._report, self._stop.is_set)
            with self._lock:
                self._result = result
        except MTLError as err:
            with self._lock:
                self._error = str(err)
        except Exception as err:
            log.exception("background job %s failed", self._name)
            with self._lock:
                self._error = f"{self._failure} ({type(err).__name__}: {err})"
        finally:
            with self._lock:
                self._done = True
                self._finished = time.perf_counter()

    def stop(self) -> None:
        """Ask the job to stop at its next check (thread-safe)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def progress(self) -> tuple[float, int, str]:
        with self._lock:
            return self._progress

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def done(self) -> bool:
        with self._lock:
            return self._done

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def result(self) -> Any:
        with self._lock:
            return self._result

    @property
    def error(self) -> str | None:
        with self._lock:
            return self._error

    @property
    def eta(self) -> float | None:
        """Seconds left at the pace so far (``None`` until some progress is reported)."""
        with self._lock:
            done, total, _ = self._progress
            end = self._finished if self._finished is not None else time.perf_counter()
            elapsed = end - self._started if self._started else 0.0
        if done <= 0 or elapsed <= 0:
            return None
        return max(elapsed * (total - done) / done, 0.0)

    @property
    def elapsed(self) -> float:
        with self._lock:
            end = self._finished if self._finished is not None else time.perf_counter()
            return end - self._started if self._started else 0.0
