"""The Train page's "Add a task to this model" section: a trained model's shared
layers reused for a label it was not trained on, against training that task from
scratch, at several shares of its labels (:func:`mtl.finetune.finetune`)."""

from __future__ import annotations

import streamlit as st

from mtl.errors import MTLError
from mtl.finetune import FRACTIONS, MODES, finetune
from mtl.metrics import higher_is_better
from mtl.plots import finetune as plots
from mtl.report import METRIC_LABELS
from pages._widgets import show_error

#: Session key of each run's last transfer: ``{run uid: FinetuneResult}``.
RESULTS = "finetune.results"
APP_EPOCHS = 3


def _pct(f: float) -> str:
    return f"{f:.0%}"


def finetune_section(run) -> None:
    """Draw the section for ``run`` (a :class:`pages._runs.Run`)."""
    st.markdown("**Add a task to this model**")
    trained = run.result.trained
    if trained is None or run.ds is None:
        st.caption("Adding a task needs the trained model and its data; this run has not kept them.")
        return
    if not trained.model.shares_parameters:
        st.caption("This run trains one independent network per task, so it has no shared layers to reuse.")
        return
    data = run.ds.data
    candidates = [c for c in data.schema.labels if c not in trained.task_names]
    if not candidates:
        st.caption("Every label of this data is already a task of this model.")
        return
    st.caption("Reuse this model's shared layers for a label it was not trained on: a new tower learns the new task "
               "on top of them. It is compared with the same network trained from scratch on the same labels, at "
               "several shares of the new task's training labels: transfer pays off when labels are scarce.")
    with st.form(key=f"finetune.form.{run.id}", border=False):
        c1, c2 = st.columns(2)
        task = c1.selectbox("New task", candidates, key=f"finetune.task.{run.id}")
        fractions = c2.multiselect("Shares of its labels", list(FRACTIONS), default=list(FRACTIONS),
                                   format_func=_pct, key=f"finetune.fractions.{run.id}")
        freeze = c1.toggle("Keep the shared layers frozen", key=f"finetune.freeze.{run.id}",
                           help=f"On: {MODES['frozen']}. Off: {MODES['finetuned']}.")
        epochs = c2.number_input("Epochs per model", 1, 50, APP_EPOCHS, key=f"finetune.epochs.{run.id}",
                                 help="At most; each model stops early when its validation score stops improving")
        go = st.form_submit_button("Train the new task", icon=":material/add_task:")
    results = st.session_state.setdefault(RESULTS, {})
    if go:
        bar = st.progress(0.0, text="Adding the task ...")

        def progress(done: int, total: int, message: str) -> None:
            bar.progress(min(1.0, done / total), text=f"{message} ({done} of {total} trained)")

        try:
            results[run.uid] = finetune(trained, data, task, fractions=fractions,
                                        modes=["frozen" if freeze else "finetuned", "scratch"],
                                        epochs=int(epochs), seed=run.result.config.seed, progress=progress)
        except MTLError as err:
            show_error(err)  # the previous comparison, if any, stays below
        finally:
            bar.empty()
    result = results.get(run.uid)
    if result is None:
        return
    for note in result.notes:
        st.info(note, icon=":material/info:")
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(plots.transfer_curve(result), key=f"finetune.chart.{run.id}")
    with right:
        st.dataframe(result.table(), hide_index=True, key=f"finetune.table.{run.id}", column_config={
            "fraction": st.column_config.NumberColumn("share of labels", format="percent"),
            result.metric: st.column_config.NumberColumn(f"test {result.metric}", format="%.4f"),
            "vs scratch": st.column_config.NumberColumn(format="%+.4f"),
            "seconds": st.column_config.NumberColumn(format="%.1f")})
    for sentence in result.findings():
        st.markdown(f"- {sentence}")
    st.caption(transfer_caption(result))


def transfer_caption(result) -> str:
    """How to read the transfer chart, with the side of the scratch line that is better for
    this metric: "above" was wrong for RMSE, where the transfer that helps is below."""
    label = METRIC_LABELS.get(result.metric, result.metric)
    higher = higher_is_better(result.metric)
    return (f"New task **{result.task}** on this {result.arch} model of {', '.join(result.base_tasks)}: its test "
            f"{label} on the held-out rows of this run's split (never subsampled), for each share of its training "
            "labels. *From scratch* (dashed) is a fresh network of the same architecture on the same labels: a line "
            f"better than it ({'higher' if higher else 'lower'} {label} is better, so **{'above' if higher else 'below'}** "
            "it here) means the trained layers carry knowledge the new task can use. *vs scratch* is the difference, "
            "signed so that positive is better.")
