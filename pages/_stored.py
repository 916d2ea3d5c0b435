"""Runs kept in the workspace (:class:`mtl.store.RunStore`, at ``$MTL_WORKSPACE`` or
``./mtl-workspace``): every training the app finishes or stops is saved there, and a
new session (a reload, a new tab, a server restart) lists those runs beside its own and
opens one on demand, loading its result and model from the store.

What is kept: the result (config, metrics, history, diagnostics) and a description of
the data (sizes, roles, label statistics, never the rows). A run on a bundled sample
also keeps its model and how to rebuild its dataset (the sample's key and the role
overrides), so every view works again. A run on uploaded data keeps neither the data
nor the model (a model holds the data's interactions, users and items, and the
workspace is shared by everyone who opens the app): it opens with its numbers and
charts only.

The store is a convenience: when it cannot be read or written the page warns, and the
session's own runs are never lost.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mtl.data import RoleOverrides
from mtl.errors import MTLError
from mtl.store import RunInfo, RunStore
from pages._datasets import Dataset, sample_dataset
from pages._downloads import data_description

#: Session key of the stored runs already opened here: store id -> session run id.
OPENED = "stored_opened"


def store() -> RunStore:
    # Read the environment each time: a test (or an admin) may point it elsewhere.
    return RunStore()


def source_of(ds: Dataset) -> dict:
    """How to rebuild ``ds`` later: a sample's key and role overrides; an upload's file names."""
    if ds.sample is not None:
        return {"sample": ds.sample.key, "roles": ds.overrides.to_dict()}
    return {"upload": list(ds.files) or [ds.name]}


def save(run, prepared=None, baseline_of: str | None = None) -> str | None:
    """Keep ``run`` (a :class:`pages._runs.Run`) in the workspace and note its store id
    on it; returns a warning to show when the store refused (the run stays in the session)."""
    source = source_of(run.ds)
    extra = {"app": {"source": source, "origin": run.origin, "warnings": list(run.warnings),
                     "baseline_of": baseline_of}}
    try:
        info = store().save(run.result, name=run.label.split(" · ", 1)[-1], dataset=data_description(run.ds, prepared),
                            model="sample" in source, extra=extra)
    except (MTLError, OSError) as err:
        return (f"Run #{run.id} is kept in this session, but it could not be saved to the workspace, so a reload "
                f"will not show it: {err}")
    run.store_id = info.id
    st.session_state.setdefault(OPENED, {})[info.id] = run.id
    return None


def kept(*, with_model: bool = False) -> list[RunInfo]:
    """Trainings kept in the workspace and not yet opened in this session, newest first
    (a warning is shown, and nothing listed, when the workspace cannot be read)."""
    try:
        listing = store().list_runs(kind="training")
    except (MTLError, OSError) as err:
        st.warning(f"The runs kept in the workspace cannot be listed: {err}", icon=":material/warning:")
        return []
    for note in listing.notes:  # a damaged or half-written entry: skipped, never a crash
        st.caption(f":material/warning: {note}")
    opened = st.session_state.get(OPENED, {})
    return [i for i in listing if i.id not in opened and (i.has_model or not with_model)]


def label(info: RunInfo) -> str:
    status = "" if info.status == "completed" else f" ({info.status})"
    return f"kept {info.created_text} · {info.name}{status}"


def kept_table(infos: list[RunInfo]) -> pd.DataFrame:
    """One row per kept run: when, name, status, data, setup and each task's primary test metric."""
    rows = []
    for i in infos:
        summary = i.summary
        row = {"kept": i.created_text, "name": i.name, "status": i.status, "dataset": i.data_name,
               "architecture": summary.get("arch"), "weighting": summary.get("weighting"),
               "epochs": summary.get("epochs"), "seed": summary.get("seed"), "model kept": i.has_model}
        for task, (metric, value) in (summary.get("metrics") or {}).items():
            row[f"{task} {metric}"] = value
        rows.append(row)
    return pd.DataFrame(rows)


def open_kept(store_id: str):
    """Load a kept run into this session's run history; returns the new :class:`Run`, or
    ``None`` after showing why it could not be opened."""
    from pages import _runs as app_runs

    opened = st.session_state.setdefault(OPENED, {})
    if store_id in opened and (run := app_runs.get_run(opened[store_id])) is not None:
        return run
    try:
        with st.spinner("Opening the kept run ..."):
            runs_store = store()
            stored = runs_store.load(store_id)
            result = stored.result
            if stored.info.has_model:
                result.trained = runs_store.load_model(store_id)
    except (MTLError, OSError) as err:
        st.warning(f"The kept run could not be opened: {err}", icon=":material/warning:")
        return None
    app = (stored.document.get("extra") or {}).get("app") or {}
    source = app.get("source") or {}
    ds = None
    if "sample" in source:
        try:
            ds = sample_dataset(source["sample"], RoleOverrides.from_dict(source.get("roles")))
        except (MTLError, OSError, TypeError) as err:
            st.warning(f"The bundled sample of this run could not be loaded ({err}); its data views are off.",
                       icon=":material/warning:")
    history = app_runs.runs()
    parent = opened.get(app.get("baseline_of"))
    run = app_runs.Run(id=(history[-1].id + 1 if history else 1), ds=ds, result=result,
                       prepared_key=app_runs.prepared_key(ds.token, result.config) if ds is not None else "",
                       warnings=list(app.get("warnings") or []), baseline_for=parent, origin=app.get("origin"),
                       store_id=store_id, data=stored.dataset, uid=store_id)
    history.append(run)
    opened[store_id] = run.id
    if parent is not None and (parent_run := app_runs.get_run(parent)) is not None and parent_run.ds is not None:
        st.session_state.setdefault(app_runs.BASELINES, {})[app_runs.baseline_key(parent_run)] = run.id
    return run
