"""What every page draws: the per-run setup with the sidebar's status, errors, task
weight sliders and the split in words."""

from __future__ import annotations

import threading

import streamlit as st

from mtl.data import SplitSpec
from mtl.data.samples import get_sample
from mtl.jobs import QUEUED
from mtl.setup import suggested_weight
from mtl.weighting import preference_shares
from pages import _jobs as jobs
from pages import _nav, _runs, _visitor
from pages._datasets import DATASET, DEFAULT_SAMPLE, Dataset
from pages._state import Settings, keep_widget_state, ui_default


def page_setup() -> None:
    """Per-run bookkeeping every page starts with: keep widget choices, collect finished
    jobs (a training joins the run history), and show the session's status in the sidebar.

    Pages call this themselves (rather than relying on ``app.py`` alone) because
    Streamlit may run a file under ``pages/`` directly, e.g. on the first request
    after a server start when the URL names a page.
    """
    # A first visit through a link runs the linked page's file alone: whatever it imports,
    # it leaves Streamlit's legacy pages/ mode here (Learn imports nothing else of _nav).
    _nav.use_explicit_navigation()
    keep_widget_state()
    _visitor.capture_link()  # a shared link's run=, before the page rewrites the address
    jobs.collect_all()
    with st.sidebar:
        _sidebar.dataset = st.empty()
        show_dataset()
        if any(jobs.current(kind) is not None for kind in JOB_PLACES):
            # Redrawn as often as the pages' own progress bars, from the same report: a status
            # drawn once per page run fell behind the page (sidebar 0%, page 28%).
            st.fragment(job_status, run_every=jobs.POLL_S)()
        st.caption(f"Runs this session: {len(_runs.runs())}")
        if _visitor.visitor() is not None:  # the shared-server mode: the key rides in the address
            st.caption(":material/bookmark: Your runs are private to this address: bookmark it to come back.")


_sidebar = threading.local()  # this script run's sidebar slots (a session's runs run in its own thread)


def show_dataset() -> None:
    """The sidebar's line naming the active dataset. :func:`page_setup` draws it before
    the page reads its address, and a link's ``data=`` switches the dataset after that
    (``pages._url``), which redraws the line in the same run."""
    slot = getattr(_sidebar, "dataset", None)
    if slot is not None:
        ds = st.session_state.get(DATASET)
        slot.caption(f"Dataset: **{ds.name if ds is not None else get_sample(DEFAULT_SAMPLE).title}**")


#: Each kind of session job: what it is called in the sidebar, and the page that shows it.
JOB_PLACES = {"train": ("Training", "the Train page"), "compare": ("Method comparison", "Compare methods"),
              "sweep": ("Weight sweep", "Trade-offs")}


def job_status() -> None:
    """One sidebar line per job of this session: its share done (what its page's progress
    bar shows), waiting for a CPU, or finished."""
    for kind, (what, where) in JOB_PLACES.items():
        entry = jobs.current(kind)
        if entry is None:
            continue
        job = entry.job
        if job.done:
            st.caption(f":material/check_circle: {what} finished: see {where}")
        elif job.state == QUEUED:
            st.caption(f":material/hourglass_top: {what} waiting for a free CPU: see {where}")
        else:
            done, total, _ = job.progress
            st.caption(f":material/sync: {what} in progress ({min(done / total, 1):.0%}): see {where}")


def show_error(err: BaseException) -> None:
    st.error(str(err), icon=":material/error:")


def weight_sliders(ds: Dataset, tasks: list[str], settings: type[Settings], intro: str) -> dict[str, float]:
    """One weight slider per task (0 to 5, starting at the dataset's suggested weight)
    with each task's share of the total under it; returns the preference ``{task:
    weight}``. The sliders are the ``preference`` of a page's ``settings``."""
    if not tasks:
        return {}
    st.markdown(intro)
    prefix = settings.key("preference", ds.short)
    cols = st.columns(min(len(tasks), 4))
    preference = {}
    for i, task in enumerate(tasks):
        with cols[i % len(cols)]:
            preference[task] = st.slider(f"{task} weight", 0.0, 5.0, step=0.1,
                                         key=ui_default(f"{prefix}.{task}", suggested_weight(task, ds.sample)))
    shares = preference_shares(preference, tasks) if sum(preference.values()) > 0 else {}
    for i, task in enumerate(tasks):
        with cols[i % len(cols)]:
            st.caption(f"share: **{shares[task]:.0%}**" if shares else "share: -")
    return preference


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
