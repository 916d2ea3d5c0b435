"""Runs kept in the workspace (:class:`mtl.store.RunStore`, at ``$MTL_WORKSPACE`` or
``./mtl-workspace``): every training, comparison and sweep the app finishes or stops is
saved there, and a new session (a reload, a new tab, a server restart) lists those runs
beside its own and opens one on demand, loading its result and model from the store.
:func:`manager` renames, tags, shares and deletes them (a deletion is confirmed first).

What is kept: the result (config, metrics, history, diagnostics) and a description of
the data (sizes, roles, label statistics, never the rows). A run on a bundled sample
also keeps its model and how to rebuild its dataset (the sample's key and the role
overrides), so every view works again. A run on uploaded data keeps neither the data
nor the model (a model holds the data's interactions, users and items, and the
workspace is shared by everyone who opens the app): it opens with its numbers and
charts only. In the shared-server mode (:mod:`pages._visitor`) runs belong to the
visitor who made them, so a run on uploaded data keeps its model for its owner alone.

The store is a convenience: when it cannot be read or written the page warns, and the
session's own runs are never lost.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mtl.data import RoleOverrides
from mtl.errors import MTLError
from mtl.jobs import FINISHED, STOPPED, Outcome
from mtl.store import RunInfo, RunStore, describe_model_data, training_from_model
from mtl.train import TrainConfig
from pages import _jobs as jobs
from pages import _visitor
from pages._datasets import DATASET, Dataset, sample_dataset
from pages._downloads import data_description
from pages._state import set_widget

#: Session key of the stored runs already opened here: store id -> session run id.
OPENED = "stored_opened"
#: Session key of a message to show once after a change in the run manager.
DONE = "stored_done"
KIND_NOUNS = {"training": "run", "comparison": "comparison", "sweep": "sweep"}
#: The session job (:mod:`pages._jobs`) that shows each stored kind.
JOB_KINDS = {"comparison": "compare", "sweep": "sweep"}
#: The page a shared link of each kind opens on (its URL path).
LINK_PAGES = {"training": "train", "comparison": "compare", "sweep": "tradeoffs"}


def store() -> RunStore:
    # Read the environment each time: a test (or an admin) may point it elsewhere.
    return RunStore()


def owner() -> str | None:
    """Whose runs this session's are: the visitor key in the shared-server mode, else nobody's."""
    return _visitor.visitor()


def mine(info: RunInfo) -> bool:
    """Whether this session may rename, tag, share or delete ``info`` (every run on a
    shared workspace; a visitor's own runs in the shared-server mode)."""
    key = owner()
    return key is None or info.owner == key


def listing(kind: str | None = None):
    """The kept runs this session may see (newest first; :class:`mtl.store.Listing`)."""
    return store().list_runs(kind=kind, visitor=owner(), include=_visitor.linked_runs())


def source_of(ds: Dataset) -> dict:
    """How to rebuild ``ds`` later: a sample's key and role overrides; an upload's file names."""
    if ds.sample is not None:
        return {"sample": ds.sample.key, "roles": ds.overrides.to_dict()}
    return {"upload": list(ds.files) or [ds.name]}


def save(run, prepared=None, baseline_of: str | None = None) -> str | None:
    """Keep ``run`` (a :class:`pages._runs.Run`) in the workspace and note its store id
    on it; returns a warning to show when the store refused (the run stays in the session).
    A run already saved is not saved again: two script runs of one session may both
    collect it (:func:`pages._jobs.collect`), and one may stop half way through."""
    with run.saving:
        if run.store_id is None:
            source = source_of(run.ds) if run.ds is not None else {"upload": [run.dataset]}
            extra = {"app": {"source": source, "origin": run.origin, "warnings": list(run.warnings),
                             "baseline_of": baseline_of}}
            key = owner()
            private = "sample" not in source
            dataset = (data_description(run.ds, prepared) if run.ds is not None
                       else dict(run.data or {"name": run.dataset}))
            try:
                # A model holds its data's rows: on a shared workspace only a sample's is kept; a
                # visitor's own upload keeps its model for that visitor alone (private_data).
                info = store().save(run.result, name=run.label.split(" · ", 1)[-1], dataset=dataset,
                                    model=not private or key is not None, extra=extra, owner=key,
                                    private_data=private)
            except (MTLError, OSError) as err:
                return (f"Run #{run.id} is kept in this session, but it could not be saved to the workspace, so a "
                        f"reload will not show it: {err}")
            run.store_id = info.id  # at once: a stop at the next session-state access must not lose it
        st.session_state.setdefault(OPENED, {})[run.store_id] = run.id
    return None


def kept(*, with_model: bool = False, kind: str = "training", notes: bool = True) -> list[RunInfo]:
    """Runs of ``kind`` kept in the workspace and not yet opened in this session, newest
    first (a warning is shown, and nothing listed, when the workspace cannot be read)."""
    try:
        found = listing(kind)
    except (MTLError, OSError) as err:
        st.warning(f"The runs kept in the workspace cannot be listed: {err}", icon=":material/warning:")
        return []
    if notes and found.notes:  # damaged entries: skipped, never a crash; their ids only for whoever looks
        n = len(found.notes)
        st.caption(f":material/warning: {n} kept run{'s' if n != 1 else ''} could not be read and "
                   f"{'are' if n != 1 else 'is'} not listed (damaged in the workspace folder).",
                   help="\n\n".join(found.notes))
    # This session's own runs, by the id each got when saved (set before anything can stop the save).
    opened = set(st.session_state.get(OPENED, {})) | {r.store_id for r in _session_runs()}
    return [i for i in found if i.id not in opened and (not with_model or _model_for_me(i))]


def _session_runs():
    from pages import _runs as app_runs

    return app_runs.runs()


def _model_for_me(info: RunInfo) -> bool:
    """Whether this session can load ``info``'s model (a shared run on someone's upload
    is shared without it: :meth:`mtl.store.RunStore.model_dir`)."""
    key = owner()
    return info.has_model and not (info.summary.get("private_data") and key is not None and info.owner != key)


def link_to_open(key: str, kind: str = "training") -> None:
    """Point run selector ``key`` at the run of the address's ``run=`` link (once), when
    it is a ``kind`` run this session may see: the page then opens it like a picked one.
    A link to a run that is gone, or not visible, is said once."""
    run_id = _visitor.pending_link()
    if run_id is None:
        return
    try:
        info = store().get(run_id, visitor=owner())
    except (MTLError, OSError):
        _visitor.take_link()
        st.warning(f"The link names the kept run '{run_id}', which is not in this workspace (it was deleted, or it "
                   "is not shared with you).", icon=":material/link_off:")
        return
    if info.kind != kind:
        return  # another page opens it
    _visitor.take_link()
    set_widget(key, st.session_state.get(OPENED, {}).get(run_id, run_id))


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
    key = owner()
    try:
        with st.spinner("Opening the kept run ..."):
            runs_store = store()
            stored = runs_store.load(store_id, visitor=key)
            result = stored.result
    except (MTLError, OSError) as err:
        st.warning(f"The kept run could not be opened: {err}", icon=":material/warning:")
        return None
    if stored.info.has_model:
        try:
            result.trained = runs_store.load_model(store_id, visitor=key)
        except (MTLError, OSError) as err:  # e.g. shared without its model: open its numbers
            st.info(f"Opened without its model: {err}", icon=":material/info:")
    app = (stored.document.get("extra") or {}).get("app") or {}
    source = app.get("source") or {}
    ds = _dataset_of(source)
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


def _dataset_of(source: dict) -> Dataset | None:
    """A kept run's bundled sample, rebuilt with its roles (``None`` for uploaded data)."""
    ds = None
    if "sample" in source:
        try:
            ds = sample_dataset(source["sample"], RoleOverrides.from_dict(source.get("roles")))
        except (MTLError, OSError, TypeError) as err:
            st.warning(f"The bundled sample of this run could not be loaded ({err}); its data views are off.",
                       icon=":material/warning:")
    return ds


# ------------------------------------------------------------ saved model zips
def open_model(name: str, content: bytes):
    """Open a model zip ("Download model", ``train --save`` zipped) as a run of this
    session, usable on every page that takes a model; returns the new :class:`Run`.
    Raises :class:`MTLError` with one clear message for a bad file (the zip is read
    defensively: :mod:`mtl.export`, :mod:`mtl.train.model_check`)."""
    from mtl.export import load_model
    from pages import _runs as app_runs

    trained = load_model(content)
    history = app_runs.runs()
    run = app_runs.Run(id=(history[-1].id + 1 if history else 1), ds=None, result=training_from_model(trained),
                       prepared_key="", origin="saved model", data=describe_model_data(trained))
    history.append(run)
    set_widget(app_runs.RECOMMEND_RUN, run.id)
    set_widget(app_runs.RESULTS_RUN, run.id)
    if (ds := st.session_state.get(DATASET)) is not None:
        # Recommendations follows the active dataset's latest model: mark that one as
        # followed already, so the page shows the model just opened.
        models = [r for r in history if r.result.trained is not None]
        st.session_state[f"{app_runs.RECOMMEND_RUN}.latest"] = app_runs.latest_run(models, ds).id
    if (problem := save(run)) is not None:
        st.session_state[DONE] = ("warning", problem)
    return run


# ------------------------------------------------------ comparisons and sweeps
def _save_job(entry: jobs.SessionJob) -> tuple[str, str] | None:
    """A finished or stopped comparison or sweep is kept in the workspace (what it needs
    to be shown again: its result, data description and the sample to rebuild)."""
    if not jobs.usable(entry.result) or entry.meta.get("store_id") is not None:
        return None  # nothing to keep, or kept already (a collection stopped half way runs this again)
    ds = entry.ds
    source = source_of(ds) if ds is not None else {}
    extra = {"app": {"source": source, "meta": {k: entry.meta[k] for k in ("arch", "epochs", "tasks")
                                                 if k in entry.meta}}}
    config = entry.meta.get("config")
    try:
        # The sweep's conditioned model joins the run history (and the workspace) as a training of its own.
        info = store().save(entry.result, dataset=data_description(ds) if ds is not None else None, model=False,
                            extra=extra, config=config, owner=owner(), private_data="sample" not in source)
    except (MTLError, OSError) as err:
        noun = jobs.KINDS[entry.kind].noun
        return "warning", f"{noun} is shown below, but it could not be saved to the workspace: {err}"
    entry.meta["store_id"] = info.id
    entry.meta["uid"] = info.id
    return None


def open_job(kind: str, store_id: str) -> jobs.SessionJob | None:
    """Show a kept comparison or sweep on its page again: it becomes the page's last
    result (``None``, after saying why, when it cannot be read)."""
    try:
        stored = store().load(store_id, visitor=owner())
    except (MTLError, OSError) as err:
        st.warning(f"The kept {KIND_NOUNS[kind]} could not be opened: {err}", icon=":material/warning:")
        return None
    app = (stored.document.get("extra") or {}).get("app") or {}
    result = stored.result
    meta = dict(app.get("meta") or {})
    config = getattr(result, "config", None)
    if config is None and isinstance(stored.document.get("config"), dict):
        try:
            config = TrainConfig.from_dict(stored.document["config"])
        except (MTLError, KeyError, TypeError, ValueError):
            config = None
    if config is not None:
        meta.setdefault("arch", config.arch)
        meta.setdefault("epochs", config.epochs)
        meta.setdefault("config", config)
    meta.setdefault("arch", "the stored architecture")
    meta.setdefault("epochs", 0)
    meta.update(store_id=store_id, uid=store_id, run_id=None, dataset=stored.dataset,
                data_name=stored.info.data_name or "uploaded data", kept=stored.info)
    entry = jobs.SessionJob(JOB_KINDS[kind], None, _dataset_of(app.get("source") or {}), meta,  # type: ignore[arg-type]
                            Outcome(STOPPED if getattr(result, "stopped", False) else FINISHED, result))
    st.session_state.setdefault(jobs.RESULTS, {})[JOB_KINDS[kind]] = entry
    return entry


def data_name(entry: jobs.SessionJob) -> str:
    """The data a comparison or sweep was run on (an opened one may have no dataset)."""
    return entry.ds.name if entry.ds is not None else str(entry.meta.get("data_name") or "uploaded data")


def job_dataset(entry: jobs.SessionJob) -> dict:
    """The data description of a comparison's or sweep's report."""
    if entry.ds is not None:
        return data_description(entry.ds)
    return dict(entry.meta.get("dataset") or {"name": data_name(entry)})


def job_picker(kind: str, key: str) -> None:
    """"Open a kept comparison / sweep": the kept ones (and one named by a link) open
    as the page's result. Call before the page reads :func:`pages._jobs.result`."""
    link_to_open(key, kind)
    if isinstance(picked := st.session_state.get(key), str):
        st.session_state[key] = None
        open_job(kind, picked)
    shown = jobs.result(JOB_KINDS[kind])
    current = shown.meta.get("store_id") if shown is not None else None
    infos = [i for i in kept(kind=kind) if i.id != current]
    if not infos:
        return
    labels = {i.id: label(i) for i in infos}
    noun = KIND_NOUNS[kind]
    st.selectbox(f"Open a kept {noun}", list(labels), index=None, key=key, format_func=labels.get,
                 placeholder=f"{len(infos)} {noun}{'s' if len(infos) != 1 else ''} kept in the workspace",
                 help=f"Every {noun} run from this app (and from the command line with --workspace) is kept in the "
                      "workspace: a reload, another tab or a server restart finds it here")


# ------------------------------------------------------------------ run manager
def manager(kind: str, key: str) -> None:
    """An expander to rename, tag, share (shared-server mode) and delete the kept runs
    of ``kind``; deleting asks for a confirmation first. A run already opened in this
    session stays there when it is deleted from the workspace."""
    if (done := st.session_state.pop(DONE, None)) is not None:
        level, text = done
        (st.success if level == "success" else st.warning)(text, icon=":material/check_circle:"
                                                           if level == "success" else ":material/warning:")
    try:
        found = listing(kind).runs
    except (MTLError, OSError) as err:
        st.warning(f"The runs kept in the workspace cannot be listed: {err}", icon=":material/warning:")
        return
    noun = KIND_NOUNS[kind]
    if (note := _visitor.note()) is not None:
        st.info(f"Your runs on this server are private to this address: {note}", icon=":material/bookmark:")
    if not found:
        return
    with st.expander(f"Kept {noun}s: rename, tag, share or delete ({len(found)})", icon=":material/inventory:"):
        c1, c2 = st.columns(2)
        text = c1.text_input("Name contains", key=f"{key}.filter", placeholder="any name")
        tags = sorted({t for i in found for t in i.tags})
        tag = c2.selectbox("Tag", tags, index=None, key=f"{key}.tag", placeholder="any tag", disabled=not tags)
        shown = [i for i in found if (not text or text.lower() in i.name.lower()) and (tag is None or tag in i.tags)]
        if not shown:
            st.caption("No kept run matches.")
            return
        st.dataframe(manage_table(shown), hide_index=True, key=f"{key}.table")
        labels = {i.id: label(i) for i in shown}
        picked = st.selectbox(f"Kept {noun}", list(labels), key=f"{key}.pick", format_func=labels.get)
        info = next(i for i in shown if i.id == picked)
        if not mine(info):
            st.caption("Only its owner can rename, tag, share or delete this run "
                       + ("(it was prepared for everyone on this server)." if info.owner is None
                          else "(it was shared with you by a link)."))
            return
        _edit(info, key, noun)


def manage_table(infos: list[RunInfo]) -> pd.DataFrame:
    key = owner()
    rows = [{"kept": i.created_text, "name": i.name, "tags": ", ".join(i.tags), "status": i.status,
             "dataset": i.data_name, "model kept": i.has_model,
             **({"yours": i.owner == key, "shared": i.shared} if key is not None else {})} for i in infos]
    return pd.DataFrame(rows)


def _act(doing, message: str) -> None:
    """Run a store change; say how it went on the next run (the lists are redrawn)."""
    try:
        doing()
    except (MTLError, OSError) as err:
        st.session_state[DONE] = ("warning", f"Nothing was changed: {err}")
    else:
        st.session_state[DONE] = ("success", message)
    st.rerun()


def _edit(info: RunInfo, key: str, noun: str) -> None:
    runs_store, who = store(), owner()
    with st.form(f"{key}.edit.{info.id}", border=False):
        c1, c2 = st.columns(2)
        name = c1.text_input("Name", value=info.name, max_chars=120)
        tags = c2.text_input("Tags (comma-separated)", value=", ".join(info.tags), max_chars=300,
                             help="Tags filter the lists here and in python -m mtl runs list --tag")
        if st.form_submit_button("Save name and tags", icon=":material/edit:"):
            wanted = [t.strip() for t in tags.split(",") if t.strip()]

            def change():
                runs_store.rename(info.id, name, visitor=who)
                runs_store.tag(info.id, add=wanted, remove=[t for t in info.tags if t not in wanted], visitor=who)

            _act(change, f"Saved: {name.strip()}" + (f" (tags {', '.join(wanted)})" if wanted else ""))
    if who is not None:
        shared = st.toggle("Share with a link", value=info.shared, key=f"{key}.share.{info.id}",
                           help="Anyone with the link can open this run (runs on uploaded data without their model, "
                                "which holds the data); it never shows in other visitors' lists otherwise")
        if shared != info.shared:
            _act(lambda: runs_store.share(info.id, shared, visitor=who),
                 f"{info.name} is {'shared: send the link below' if shared else 'private again'}.")
        if info.shared:
            st.code(_visitor.share_link(info.id, LINK_PAGES[info.kind]), language=None)
            st.caption("The link opens this run for whoever has it; it does not hold your own key.")
    else:
        st.caption(f"Link to open this {noun}: `{_visitor.share_link(info.id, LINK_PAGES[info.kind])}`")
    c1, c2 = st.columns([3, 1], vertical_alignment="center")
    sure = c1.checkbox(f"Delete **{info.name}** ({info.created_text}) and everything kept with it",
                       key=f"{key}.sure.{info.id}",
                       help="Tick to unlock the button: a deletion cannot be undone. A run opened in this session "
                            "stays here until the session ends")
    if c2.button("Delete", key=f"{key}.delete.{info.id}", icon=":material/delete:", type="primary", disabled=not sure):
        def delete():
            runs_store.delete(info.id, visitor=who)
            _forget(info.id)

        _act(delete, f"Deleted {info.name} from the workspace.")


def _forget(store_id: str) -> None:
    """A deleted run opened in this session stays, no longer tied to the store."""
    from pages import _runs as app_runs

    session_id = st.session_state.get(OPENED, {}).pop(store_id, None)
    for run in app_runs.runs():
        if run.store_id == store_id or run.id == session_id:
            run.store_id = None
    for entry in st.session_state.get(jobs.RESULTS, {}).values():
        if entry.meta.get("store_id") == store_id:
            entry.meta["store_id"] = None


jobs.KINDS["compare"] = jobs.JobKind("The comparison", on_done=_save_job)
jobs.KINDS["sweep"] = jobs.JobKind("The sweep", on_done=_save_job)


def model_picker(label_text: str, key: str, candidates, ds: Dataset, *, where=lambda info: True,
                 noun: str = "model"):
    """A selectbox of this session's models (``candidates()``: session id -> Run) then the
    kept ones that ``where`` accepts; a kept one picked is opened first (it joins the run
    history). Returns the chosen :class:`Run`, or ``None`` (nothing to choose, or a kept
    one not chosen yet: a caption says so). Call where the selector belongs."""
    from pages import _runs as app_runs

    if isinstance(picked := st.session_state.get(key), str):  # a kept model chosen below: open it first
        opened = open_kept(picked)
        set_widget(key, opened.id if opened is not None else None)
    found = candidates()
    kept_models = [i for i in kept(with_model=True, notes=False) if where(i)]
    if not found and not kept_models:
        return None
    if found:
        app_runs.follow_latest(key, list(found.values()), ds)
    labels = {i: r.label for i, r in found.items()} | {k.id: label(k) for k in kept_models}
    if st.session_state.get(key) not in labels:
        set_widget(key, None)
    choice = st.selectbox(label_text, list(found)[::-1] + [k.id for k in kept_models], key=key,
                          format_func=labels.get, placeholder=f"Choose a {noun} kept in the workspace",
                          help=f"This session's {noun}s, then the {noun}s kept in the workspace (earlier sessions, "
                               "other tabs, the command line with --workspace), newest first")
    if choice is None or choice not in found:
        n = len(kept_models)
        st.caption(f"{n} {noun}{'s' if n != 1 else ''} kept in the workspace: choose one to open it here.")
        return None
    return found[choice]
