"""The session's background jobs (training, method comparisons, weight sweeps): one
helper for all of them. A page starts a :class:`mtl.jobs.BackgroundJob` under a kind,
polls it in a fragment (:func:`progress_panel`), stops it, and reads the outcome once it
has been collected: the last usable result of each kind (:func:`result`) and a message
for the user (:func:`show_outcome`).

At most one job of each kind runs per session. A job whose session goes away (a closed
tab) is stopped, so it does not keep a CPU busy for nobody.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from mtl.errors import ConfigError
from mtl.jobs import CANCELLED, FAILED, QUEUED, SLOTS, BackgroundJob, Outcome
from pages._datasets import Dataset

# Jobs run below the priority of the threads that draw pages and answer clicks.
SLOTS.nice = 5

JOBS, RESULTS, OUTCOMES, ANCHOR = "jobs", "results", "outcomes", "session_anchor"
#: Polling interval of live parts (seconds).
POLL_S = 0.5
#: How long a script run waits for another run of its session to finish collecting a job
#: (saving a large model takes a few seconds) before drawing the job as still running.
COLLECT_WAIT_S = 30.0


@dataclass
class SessionJob:
    """A job of this session, what it was started on, and (once collected) how it ended."""

    kind: str
    job: BackgroundJob
    ds: Dataset
    meta: dict[str, Any] = field(default_factory=dict)
    outcome: Outcome | None = None
    #: Held while the job is collected (:func:`collect`).
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def result(self) -> Any:
        return self.outcome.result if self.outcome is not None else None


@dataclass(frozen=True)
class JobKind:
    """What a kind of job is called, and what collecting a finished one does: ``on_done``
    may keep the result elsewhere (the run history) and returns the message to show, or
    ``None`` for the default one."""

    noun: str
    on_done: Callable[[SessionJob], tuple[str, str] | None] | None = None


#: Kinds of job, by name; ``pages._runs`` adds training's.
KINDS: dict[str, JobKind] = {
    "compare": JobKind("The comparison"),
    "sweep": JobKind("The sweep"),
}


def _jobs() -> dict[str, SessionJob]:
    return st.session_state.setdefault(JOBS, {})


def current(kind: str) -> SessionJob | None:
    """The session's job of ``kind`` until it is collected (running or just ended)."""
    return _jobs().get(kind)


def busy(kind: str) -> bool:
    entry = current(kind)
    return entry is not None and not entry.job.done


class _SessionAnchor:
    """Lives exactly as long as one browser session's state."""


def stop_when_collected(anchor: object, job: BackgroundJob) -> None:
    """Stop ``job`` once ``anchor`` is garbage-collected: a closed tab's session state
    goes away, and its job must not keep a CPU busy for nobody. Holds ``job`` weakly
    (its thread keeps it alive while it runs), so finished jobs are freed."""
    weakref.finalize(anchor, _stop_if_alive, weakref.ref(job))


def _stop_if_alive(ref: weakref.ref) -> None:
    job = ref()
    if job is not None:
        job.stop()


def start(kind: str, job: BackgroundJob, ds: Dataset, **meta) -> SessionJob:
    """Start ``job`` as this session's job of ``kind`` (raises :class:`ConfigError` while one runs)."""
    if busy(kind):
        raise ConfigError(f"{KINDS[kind].noun} is already in progress; stop it or wait for it to finish")
    entry = SessionJob(kind, job, ds, dict(meta))
    _jobs()[kind] = entry
    st.session_state.setdefault(OUTCOMES, {}).pop(kind, None)
    stop_when_collected(st.session_state.setdefault(ANCHOR, _SessionAnchor()), job)
    job.start()
    return entry


def collect(kind: str) -> SessionJob | None:
    """Once the job of ``kind`` has ended: keep its outcome (and its result, when it has
    one worth showing) and return it; ``None`` while it runs or when there is none.

    A click while a run collects starts the session's next script run at once (Streamlit's
    fast reruns) while this one goes on to its next session-state access, where it stops.
    So two runs may collect one job, and either may stop half way: one collects at a time
    (the other waits, and so never lists a run this one is still saving), ``on_done``
    must be safe to redo, and the job leaves the session's jobs last, so a stopped
    collection is finished by the next run instead of losing the result."""
    entry = current(kind)
    if entry is None or not entry.job.done:
        return None
    if not entry.lock.acquire(timeout=COLLECT_WAIT_S):
        return None  # the other run is still at it (a slow disk): this page shows the job as running
    try:
        if current(kind) is not entry:
            return None  # the run this one waited for collected it
        entry.outcome = entry.job.outcome
        spec = KINDS[kind]
        message = spec.on_done(entry) if spec.on_done is not None else None
        if message is None:
            message = default_message(spec.noun, entry.outcome)
        if usable(entry.outcome.result):
            st.session_state.setdefault(RESULTS, {})[kind] = entry
        if message is not None:
            st.session_state.setdefault(OUTCOMES, {})[kind] = message
        _jobs().pop(kind, None)
    finally:
        entry.lock.release()
    return entry


def collect_all() -> None:
    for kind in list(_jobs()):
        collect(kind)


def usable(result: Any) -> bool:
    """A result to show: not nothing, and not an empty comparison or sweep."""
    if result is None:
        return False
    runs = getattr(result, "runs", None)
    return runs is None or bool(runs)


def default_message(noun: str, outcome: Outcome) -> tuple[str, str] | None:
    """``(level, text)`` for a job that failed or produced nothing; ``None`` when its result says it all."""
    if outcome.state == FAILED:
        return "error", outcome.error or f"{noun} failed."
    if outcome.state == CANCELLED:
        return "info", f"{noun} was stopped before it started: nothing was trained."
    if not usable(outcome.result):
        error = getattr(outcome.result, "error", None)
        return ("error", error) if error else ("info", f"{noun} was stopped before any model was trained.")
    return None


def result(kind: str) -> SessionJob | None:
    """The last job of ``kind`` with a usable result (kept when a later one produced nothing)."""
    return st.session_state.get(RESULTS, {}).get(kind)


def show_outcome(kind: str) -> None:
    """Say once how the last job of ``kind`` ended, if it needs saying."""
    message = st.session_state.get(OUTCOMES, {}).pop(kind, None)
    if message is not None:
        level, text = message
        show, icon = {"error": (st.error, ":material/error:"), "warning": (st.warning, ":material/warning:")}.get(
            level, (st.info, ":material/info:"))
        show(text, icon=icon)


def eta_text(seconds: float | None) -> str:
    """``"about 40 s left"``, ``"about 2.5 min left"``; ``"estimating the time left"`` before any progress."""
    if seconds is None or seconds != seconds:  # None or NaN
        return "estimating the time left"
    return f"about {seconds:.0f} s left" if seconds < 90 else f"about {seconds / 60:.1f} min left"


def queued_text(job: BackgroundJob) -> str | None:
    """"Waiting for a free CPU ..." while the job is queued behind other sessions' jobs."""
    if job.state != QUEUED:
        return None
    ahead = (job.queue_position or 1) - 1
    return (f"Queued: {job.slots.running} other job(s) are using this server's CPU cores"
            + (f", and {ahead} more wait before yours" if ahead else "") + ". Yours starts as soon as one ends.")


def stop_button(entry: SessionJob, label: str, help: str) -> None:
    """Stop as a callback: it runs first thing in the next script run, before anything is
    drawn, so it takes effect even when the server is busy drawing other pages."""
    st.button(label, icon=":material/stop:", key=f"{entry.kind}.stop", disabled=entry.job.stop_requested, help=help,
              on_click=entry.job.stop)


def progress_panel(kind: str, text: Callable[[SessionJob], str], stop_label: str, stop_help: str,
                   title: Callable[[SessionJob], str] | None = None) -> None:
    """A job's progress bar (``text(entry)`` words it, under ``title(entry)``) and Stop;
    reruns the page once the job ends."""
    entry = current(kind)
    if entry is None:
        return
    job = entry.job
    if job.done:
        st.rerun()  # the whole page collects the job and shows its outcome
    if title is not None:
        st.markdown(title(entry))
    done, total, _ = job.progress
    waiting = queued_text(job)
    st.progress(min(done / total, 1.0), text=waiting or text(entry))
    stop_button(entry, stop_label, stop_help)
