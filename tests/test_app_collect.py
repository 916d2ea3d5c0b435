"""Collecting a finished training (pages._jobs.collect) when Streamlit runs two script
runs of one session at once: a click while a run is collected starts the next run
straight away (fast reruns), and the first stops at its next session-state access.

Issue: Recommendations, opened while the Train page was saving the run it had just
collected, warned "Skipped 20261202-103627-950e1e: it is still being saved": the
session's own run, by its raw id. Called here in Streamlit's bare mode (no page), the
session state being the process's."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import StopException

from mtl.jobs import FINISHED, Outcome
from mtl.store import RunStore
from pages import _jobs as jobs
from pages import _runs as app_runs
from pages import _stored as stored
from tests._apptest import tiny_dataset, trained_run


@dataclass
class Finished:
    """A training job that has ended (what collect reads of a BackgroundTraining)."""

    outcome: Outcome
    done: bool = True
    prepared: None = None


@pytest.fixture
def session():
    st.session_state.clear()
    yield st.session_state
    st.session_state.clear()


@pytest.fixture(scope="module")
def finished():
    ds = tiny_dataset()
    return ds, trained_run(ds).result


def start(ds, result) -> jobs.SessionJob:
    entry = jobs.SessionJob("train", Finished(Outcome(FINISHED, result)), ds,
                            {"prepared_key": "k", "baseline_key": None, "baseline_for": None})
    st.session_state[jobs.JOBS] = {"train": entry}
    return entry


def test_a_collection_stopped_half_way_is_finished_once_by_the_next_run(session, finished, monkeypatch):
    entry = start(*finished)
    real, stops = stored.save, []

    def save_then_stop(run, *args, **kwargs):
        out = real(run, *args, **kwargs)
        if not stops:  # the click's rerun stops this run at its next session-state access
            stops.append(run.id)
            raise StopException()
        return out

    monkeypatch.setattr(app_runs.stored, "save", save_then_stop)
    with pytest.raises(StopException):
        jobs.collect("train")
    assert jobs.current("train") is entry  # still to collect: the result is not lost

    assert jobs.collect("train") is entry  # the next run finishes it
    assert jobs.current("train") is None
    assert [r.id for r in app_runs.runs()] == [1]  # added once
    assert len(RunStore().list_runs()) == 1  # saved once
    assert stored.kept() == []  # the session's own run is not offered again as a kept one
    assert st.session_state[app_runs.RESULTS_RUN] == 1


def test_a_second_run_waits_for_the_save_and_never_sees_it_half_written(session, finished, monkeypatch):
    start(*finished)
    real, writing, go_on = stored.store, threading.Event(), threading.Event()

    class SlowStore(RunStore):
        def save(self, *args, **kwargs):
            writing.set()
            go_on.wait(30)
            return super().save(*args, **kwargs)

    monkeypatch.setattr(stored, "store", lambda: SlowStore(real().path))
    first = threading.Thread(target=jobs.collect, args=("train",))
    first.start()
    assert writing.wait(30)
    seen = []
    second = threading.Thread(target=lambda: seen.append((jobs.collect("train"), stored.kept())))
    second.start()
    second.join(0.5)
    assert second.is_alive()  # it waits for the first run's save rather than listing the workspace mid-save
    go_on.set()
    first.join(30)
    second.join(30)
    assert seen == [(None, [])]  # collected by the first; its run is the session's own, not a kept one
    assert [r.id for r in app_runs.runs()] == [1] and len(RunStore().list_runs()) == 1


def test_a_save_in_progress_elsewhere_is_not_a_warning_and_damage_names_no_id(session, monkeypatch):
    """Another tab's save under way is not worth a word; a damaged entry is said without its raw id."""
    runs_dir = RunStore().runs_dir
    runs_dir.mkdir(parents=True)
    (runs_dir / ".tmp-20261202-103627-950e1e").mkdir()
    (runs_dir / "20261202-103700-abcdef").mkdir()  # no meta.json: damaged
    captions = []
    monkeypatch.setattr(st, "caption", lambda text, **kw: captions.append((text, kw.get("help"))))
    assert stored.kept() == []
    assert len(captions) == 1, captions
    text, help_text = captions[0]
    assert "1 kept run could not be read" in text and "20261202" not in text
    assert "20261202-103700-abcdef" in help_text and "950e1e" not in help_text


@dataclass
class Running:
    """A job in progress, as the sidebar reads it."""

    progress: tuple[float, int, str]
    state: str = "running"
    done: bool = False


def test_the_sidebar_says_each_job_s_share_as_its_page_does(app):
    """Its share is the job's report, redrawn with the pages' bars (issue: sidebar 0%, page 28%)."""
    from pages import _nav as nav
    from tests._apptest import open_page

    at = open_page(app, nav.HOME, tiny_dataset())
    ds = at.session_state["dataset"]
    at.session_state[jobs.JOBS] = {
        "train": jobs.SessionJob("train", Running((0.28, 1, "epoch 1/3")), ds, {"baseline_for": None}),
        "sweep": jobs.SessionJob("sweep", Running((2, 7, "weighting 2 of 7")), ds),
        "compare": jobs.SessionJob("compare", Running((0, 5, ""), state="queued"), ds)}
    at.switch_page(nav.DATA).run()
    side = [c.value for c in at.sidebar.caption]
    assert ":material/sync: Training in progress (28%): see the Train page" in side
    assert ":material/sync: Weight sweep in progress (29%): see Trade-offs" in side
    assert ":material/hourglass_top: Method comparison waiting for a free CPU: see Compare methods" in side
