"""Background jobs: run a long library call (training, a method comparison, a weight
sweep) in a thread and poll it from another, e.g. a web page.

:class:`BackgroundJob` wraps ``fn(report, should_stop)``: the function calls
``report(done, total, message)`` as it goes and checks ``should_stop()`` between steps.
A job is started, polled (:attr:`~BackgroundJob.state`, :attr:`~BackgroundJob.progress`,
:attr:`~BackgroundJob.eta`), stopped, and read at the end as one
:class:`Outcome` (finished, stopped, failed or cancelled, with the result or the error).
Errors never escape the thread: an :class:`~mtl.errors.MTLError` keeps its user-facing
message; anything else is logged with its traceback and summarized in one line
(``"<failure> (<ExceptionType>: <message>)"``).

Jobs of one process share :class:`JobSlots`: at most ``limit`` run at once (by default
one per CPU core), the others wait in line in the ``queued`` state and a stop cancels
them at once. Eight training threads on two cores finish no sooner than two at a time,
but they hold Python's interpreter lock in turn with the web server's threads, which
then answered a click (Stop included) minutes late. A server may also give running
jobs a lower OS priority than the threads that serve pages (``SLOTS.nice``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import MTLError

log = logging.getLogger(__name__)

#: ``report(done, total, message)``; ``done`` may be fractional (half way through a step).
Report = Callable[[float, int, str], None]

#: Job states; the last four are final.
READY, QUEUED, RUNNING, FINISHED, STOPPED, FAILED, CANCELLED = (
    "ready", "queued", "running", "finished", "stopped", "failed", "cancelled",
)


class JobSlots:
    """At most ``limit`` jobs of a process run at once; the others wait first come, first served.

    ``nice`` lowers the OS scheduling priority of a running job's thread (Linux), so the
    threads that answer users win when both want the CPU."""

    def __init__(self, limit: int, nice: int = 0):
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.nice = nice
        self._cond = threading.Condition()
        self._running = 0
        self._waiting: deque[object] = deque()

    def acquire(self, ticket: object, should_stop: Callable[[], bool]) -> bool:
        """Wait for a slot in line; False when ``should_stop()`` became true first."""
        with self._cond:
            self._waiting.append(ticket)
            try:
                while self._waiting[0] is not ticket or self._running >= self.limit:
                    if should_stop():
                        return False
                    self._cond.wait(0.05)
                self._running += 1
                return True
            finally:
                self._waiting.remove(ticket)
                self._cond.notify_all()

    def release(self) -> None:
        with self._cond:
            self._running -= 1
            self._cond.notify_all()

    def position(self, ticket: object) -> int | None:
        """1 for the next job to run, 2 for the one after; ``None`` when not waiting."""
        with self._cond:
            return self._waiting.index(ticket) + 1 if ticket in self._waiting else None

    @property
    def running(self) -> int:
        with self._cond:
            return self._running


def _default_limit() -> int:
    """``MTL_MAX_JOBS`` if set, else the number of CPU cores this process may use."""
    env = os.environ.get("MTL_MAX_JOBS", "").strip()
    if env:
        return max(1, int(env))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


#: The process-wide slots every job uses unless given its own.
SLOTS = JobSlots(_default_limit())


def _lower_priority(nice: int) -> None:
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    try:  # on Linux a thread id names one thread
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except OSError:  # pragma: no cover - not permitted: run at normal priority
        pass


@dataclass(frozen=True)
class Outcome:
    """How a job ended: ``state`` is finished, stopped (ended early on request, with
    what it had), cancelled (stopped before it produced anything) or failed."""

    state: str
    result: Any = None
    error: str | None = None
    seconds: float = 0.0


class BackgroundJob:
    """One long call in a daemon thread. Create, :meth:`start`, poll, :meth:`stop`, read :attr:`outcome`."""

    #: Said in the error when ``fn`` raises something that is not an :class:`MTLError`.
    failure = "The job failed unexpectedly"

    def __init__(self, fn: Callable[[Report, Callable[[], bool]], Any] | None = None, name: str = "mtl-job",
                 failure: str | None = None, slots: JobSlots | None = None):
        self._fn = fn
        self._name = name
        if failure is not None:
            self.failure = failure
        self._slots = slots if slots is not None else SLOTS
        self._state_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._queued = False
        self._progress: tuple[float, int, str] = (0, 1, "starting")
        self._result: Any = None
        self._error: str | None = None
        self._done = False
        self._started = 0.0
        self._finished: float | None = None

    # ------------------------------------------------------------------ control
    def start(self) -> BackgroundJob:
        """Start the thread (once); the job waits for a free slot, then runs. Returns ``self``."""
        if self._thread is not None:
            raise RuntimeError("this job was already started")
        self._started = time.perf_counter()
        self._queued = True
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the job to stop at its next check (thread-safe, returns at once); a queued job is cancelled."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True when it has (or never started)."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def work(self, report: Report, should_stop: Callable[[], bool]) -> Any:
        """What the thread runs: ``fn`` (subclasses may override this instead)."""
        if self._fn is None:
            raise TypeError("BackgroundJob needs a function, or a subclass overriding work()")
        return self._fn(report, should_stop)

    # ---------------------------------------------------------------- snapshots
    @property
    def state(self) -> str:
        """``ready``, ``queued``, ``running``, then ``finished``, ``stopped``, ``failed`` or ``cancelled``."""
        with self._state_lock:
            if self._thread is None:
                return READY
            if not self._done:
                return QUEUED if self._queued else RUNNING
            if self._error is not None:
                return FAILED
            if self._result is None:
                return CANCELLED
            return STOPPED if self._stop.is_set() or getattr(self._result, "stopped", False) else FINISHED

    @property
    def outcome(self) -> Outcome | None:
        """How the job ended (``None`` while it runs)."""
        state = self.state
        if not self.done:
            return None
        return Outcome(state, self.result, self.error, self.elapsed)

    @property
    def slots(self) -> JobSlots:
        """The slots this job waits for and runs in."""
        return self._slots

    @property
    def queue_position(self) -> int | None:
        """While queued: 1 when this job runs next; ``None`` otherwise."""
        return self._slots.position(self)

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def done(self) -> bool:
        with self._state_lock:
            return self._done

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def progress(self) -> tuple[float, int, str]:
        """``(done, total, message)`` as last reported."""
        with self._state_lock:
            return self._progress

    @property
    def result(self) -> Any:
        with self._state_lock:
            return self._result

    @property
    def error(self) -> str | None:
        with self._state_lock:
            return self._error

    @property
    def elapsed(self) -> float:
        """Seconds since the job left the queue (frozen when it ends)."""
        with self._state_lock:
            end = self._finished if self._finished is not None else time.perf_counter()
            return end - self._started if self._started else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the pace so far (``None`` until some progress is reported)."""
        done, total, _ = self.progress
        elapsed = self.elapsed
        if done <= 0 or elapsed <= 0:
            return None
        return max(elapsed * (total - done) / done, 0.0)

    # ------------------------------------------------------------------- thread
    def _report(self, done: float, total: int, message: str) -> None:
        with self._state_lock:
            self._progress = (done, max(total, 1), message)

    def _run(self) -> None:
        acquired = False
        try:
            acquired = self._slots.acquire(self, self._stop.is_set)
            with self._state_lock:
                self._queued = False
                self._started = time.perf_counter()  # the time in line is not the job's
            if not acquired:
                return  # stopped while queued: cancelled
            _lower_priority(self._slots.nice)
            result = self.work(self._report, self._stop.is_set)
            with self._state_lock:
                self._result = result
        except MTLError as err:
            with self._state_lock:
                self._error = str(err)
        except Exception as err:
            log.exception("background job %s failed", self._name)
            with self._state_lock:
                self._error = f"{self.failure} ({type(err).__name__}: {err})"
        finally:
            if acquired:
                self._slots.release()
            with self._state_lock:
                self._done = True
                self._finished = time.perf_counter()
