"""Train: choose tasks, weights, model and hyperparameters; train live; read the results."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from mtl import report
from mtl.data import SPLITS
from mtl.errors import MTLError
from mtl.models import available_models, get_model_class
from mtl.plots import diagnostics as dplots
from mtl.plots import train as train_plots
from mtl.setup import MIN_STEPS
from mtl.train import available_devices
from mtl.train.cost import method_costs
from mtl.train.diagnostics import Explanation, explain
from mtl.weighting import available_weightings, get_weighting_class, weighting_status
from pages import _jobs as jobs
from pages._common import (
    default_config,
    default_split,
    split_spec,
    time_columns,
)
from pages._datasets import active_dataset, task_suggestion
from pages._downloads import data_description, download_buttons
from pages._features import history_box, history_problem, interaction_select, numeric_select
from pages._finetune import finetune_section
from pages._nav import DATA
from pages._present import advanced, details, presenting
from pages._runs import (
    PREPARED,
    RESULTS_RUN,
    Run,
    baseline_run,
    current_training,
    get_run,
    runs,
    start_baselines,
    start_training,
)
from pages._settings import TrainSettings as S
from pages._state import recall, set_widget, ui_default
from pages._stored import kept, kept_table, link_to_open, manager, open_kept
from pages._stored import label as kept_label
from pages._url import mirror_train, restore_train
from pages._widgets import describe_split, page_setup, show_error, weight_sliders

REASONS = {
    "completed": "ran all epochs",
    "early stopping": "stopped early: the validation score stopped improving",
    "stopped": "stopped by you",
    "diverged": "stopped: training diverged",
}

page_setup()
st.title("Train")
url_notes = restore_train()  # a fresh session opened from a copied address: its settings first
ds = active_dataset()
labels = ds.data.schema.labels
defaults = default_config(ds)
busy = jobs.busy("train")


def key(name: str, default) -> str:
    """The widget key of setting ``name`` (:class:`TrainSettings`), with its first value."""
    return ui_default(S.key(name, ds.short), default)


st.caption(f"Dataset: **{ds.name}** ({ds.data.n_rows:,} rows). Change it on the Data page.")
if url_notes:
    st.warning("Some settings in the address were ignored (their defaults apply): " + "; ".join(url_notes) + ".",
               icon=":material/link_off:")
# A running job's progress and Stop go here, at the top, where "Train with defaults" lands the user;
# the panel itself is defined further down.
live_slot = st.container()

# -------------------------------------------------------------------- setup
if not labels:
    st.warning("This dataset has no label columns. Mark the outcome columns as labels on the Data page.")
    st.page_link(DATA, label="Go to the Data page", icon=":material/table:")
    st.stop()

tasks = st.multiselect(
    "Tasks: the label columns the model learns to predict",
    list(labels), key=key("tasks", defaults.tasks),
    format_func=lambda c: f"{c} ({labels[c]})",
)
suggestion = task_suggestion(ds.token, ds.data)
if tasks and set(tasks) == set(defaults.tasks) and defaults.tasks == suggestion.tasks:
    st.caption("Suggested because " + suggestion.summary().replace("; ", " · ")
               + ". Rarer labels are left out; see the Data page for every label's reason.")
preference = weight_sliders(
    ds, tasks, S, "**Task weights**: the training loss is the weighted sum of the task losses; only ratios matter.")
if tasks:
    if sum(preference.values()) <= 0:
        st.error("At least one task weight must be above zero.")
else:
    st.error("Choose at least one task to train.", icon=":material/error:")

models, methods, status = available_models(), available_weightings(), weighting_status()
c1, c2 = st.columns(2)
with c1:
    arch = st.selectbox("Architecture", list(models), key=key("arch", defaults.arch))
    st.caption(models[arch])
with c2:
    weighting = st.selectbox(
        "Weighting method", list(methods), key=key("weighting", defaults.weighting),
        format_func=lambda m: get_weighting_class(m).display_name() + ("" if status[m].available else " (not installed)"),
    )
    st.caption(methods[weighting])
    if (costs := method_costs()) and (cost := costs.caption(weighting)):
        st.caption(f"Cost: {cost}.", help=costs.note())
method_class = get_weighting_class(weighting)
# Problems with the chosen method, said before anything is trained.
method_problem = ""
if not status[weighting].available:
    method_problem = f"{status[weighting].hint}, then restart the app."
elif method_class.needs_shared and not get_model_class(arch).shares_parameters:
    method_problem = (f"{method_class.display_name()} balances the tasks' gradients on shared layers, and the "
                      f"{arch} architecture shares none: choose another architecture, or static weights.")
if method_problem:
    st.warning(method_problem, icon=":material/extension:")
elif weighting != "static" and len(tasks) > 1:
    st.caption("Your slider weights act as this method's preference: it balances the tasks around them."
               if method_class.uses_preference else
               f"{method_class.display_name()} decides the balance itself and ignores the slider weights.")

# What the network's input is made of, in view as on Compare and Trade-offs: a link that sets them
# (num_emb=periodic, history=true) must never change the model behind a collapsed expander.
n1, n2 = st.columns(2)
with n1:
    interaction = interaction_select(key("interaction", defaults.model.interaction))
with n2:
    num_emb = numeric_select(key("num_emb", defaults.model.num_embedding))
    history = history_box(key("history", defaults.history))
if no_history := history_problem(ds, history):
    no_history += ": untick user-history features to train."
    st.error(no_history, icon=":material/error:")

devices = available_devices()
with advanced("train"), st.expander("Hyperparameters and device"):
    h1, h2, h3, h4 = st.columns(4)
    epochs = h1.number_input("Epochs", 1, 500, key=key("epochs", defaults.epochs),
                             help="Passes over the training split (training stops early when validation stalls)")
    batch_size = h2.number_input("Batch size", 16, 65536, step=256,
                                 key=key("batch", defaults.batch_size),
                                 help="Rows per optimizer step (the default gives at least "
                                      f"{MIN_STEPS} steps per epoch on this data)")
    lr = h3.number_input("Learning rate", 1e-5, 1.0, step=1e-3, format="%.4f",
                         key=key("lr", defaults.lr))
    patience = h4.number_input("Patience", 1, 50, key=key("patience", defaults.patience),
                               help="Stop after this many epochs without a better validation score")
    h5, h6, h7, h8 = st.columns(4)
    emb_dim = h5.number_input("Embedding size", 1, 512, key=key("emb", defaults.model.emb_dim))
    hidden = h6.text_input("Hidden sizes", key=key("hidden", ", ".join(map(str, defaults.model.hidden))),
                           help="Shared bottom, or each expert (MMoE, PLE): comma-separated layer widths")
    experts = h7.number_input("Experts", 1, 64, key=key("experts", defaults.model.n_experts),
                              help="MMoE: shared experts. PLE: half of them are shared experts per level")
    seed = h8.number_input("Seed", 0, 2**31 - 1, key=key("seed", defaults.seed),
                           help="Same seed, same split and same model (on CPU)")
    proj = st.number_input(
        "Input projection (MMoE, PLE)", 0, 1024, key=key("proj", defaults.model.input_proj),
        help="The experts and gates read one shared linear projection of the input this wide (0: the input "
             "itself). A wide input is then multiplied once per row, not once per expert: faster epochs")
    h9, h10 = st.columns(2)
    split = h9.selectbox("Split", list(SPLITS), key=key("split", default_split(ds).method),
                         help="random rows; time: train on the past, test on the future; user: test on unseen users")
    device = h10.selectbox("Device", list(devices), format_func=lambda d: devices[d],
                           key=key("device", defaults.device))
    cutoffs, split_column, time_options = "", None, time_columns(ds)
    if split == "time" and time_options:
        suggested = default_split(ds)
        h11, h12 = st.columns(2)
        cutoffs = h11.text_input(
            "Time cut-offs (end of training, end of validation)",
            key=key("cutoffs", ", ".join(map(str, suggested.cutoffs or ()))),
            placeholder="empty: at the 80% / 90% quantiles of time", help=(
                "Two dates or times, e.g. 20220505, 20220506 or 2022-05-05, 2022-05-06 12:00 (or values of the time "
                "column): rows up to the first train, up to the second validate, later rows test."))
        split_column = h12.selectbox(
            "Time column", time_options, help="The column the time split reads",
            key=key("split_column", suggested.column if suggested.column in time_options else time_options[0]))
    try:
        spec = split_spec(ds, split, cutoffs, split_column)
    except MTLError as err:
        split_problem = str(err)
        st.error(split_problem, icon=":material/error:")
    else:
        split_problem = ""
        st.caption(describe_split(spec, ds))
if split_problem and presenting():  # its control is hidden: the reason Train is off must not be
    st.error(split_problem, icon=":material/error:")

# The address mirrors the setup: copying it reproduces this page in a fresh browser.
mirror_train(S(tasks=list(tasks), preference=preference, arch=arch, weighting=weighting, epochs=int(epochs),
               batch=int(batch_size), lr=float(lr), patience=int(patience), emb=int(emb_dim), hidden=hidden,
               experts=int(experts), proj=int(proj), interaction=interaction, num_emb=num_emb,
               history=bool(history) or None, seed=int(seed), split=split,
               cutoffs=cutoffs if split == "time" else None, split_column=split_column, device=device), ds)
if ds.sample is None:
    st.caption("The address keeps these settings, not the uploaded data: a link opens them on the bundled sample.")

if st.button("Train", type="primary", icon=":material/play_arrow:",
             disabled=busy or not tasks or bool(method_problem) or bool(split_problem) or bool(no_history),
             key="train.start"):
    try:
        # The widgets are the page's TrainSettings; the Trade-offs page reads them the same way.
        config = S.current(ds).config(ds)
        start_training(ds, config)
    except MTLError as err:
        show_error(err)
    else:
        st.rerun()  # redraw the page as busy: Train disabled, live progress below

if not busy:
    jobs.show_outcome("train")


# ------------------------------------------------------- gradient diagnostics
DIAGNOSTICS_TEXT = (
    "**How to read these.** Every task's loss pulls the shared layers in some direction: its *gradient*. "
    "**Left, conflict:** the cosine between two tasks' gradients is +1 when they pull the same way, 0 when they "
    "are unrelated, and negative (shaded) when a step that helps one task hurts the other. Tasks that often "
    "conflict are where gradient-balancing methods (UPGrad, PCGrad, CAGrad, Nash-MTL) earn their keep. "
    "**Middle, dominance:** the size (norm) of each task's own, unweighted gradient (log scale); times the "
    "task's weight (right) it is how hard the task pulls the shared layers. A task whose weighted pull is several "
    "times the others' decides most of what the shared layers learn, and the others get little say. "
    "**Right:** the weights the method applied: flat for static weights, changing batch by batch for adaptive "
    "methods (GradNorm, UPGrad, ...), which shows how they respond to conflict and dominance. Lines are smoothed; "
    "faint dots are single batches."
)


def diagnostics_panel(rows: list[dict], config, key: str, live: bool = False) -> Explanation | None:
    """Cosine, norm and weight charts of a run's gradient diagnostics, with findings;
    returns what :func:`~mtl.train.diagnostics.explain` found (``None`` without rows)."""
    tasks = list(config.tasks)
    if not get_model_class(config.arch).shares_parameters:
        st.caption("Single-task networks share no layers, so their tasks cannot conflict: there are no gradient "
                   "diagnostics. Train a shared architecture to see them.")
        return None
    if config.diagnostics_every == 0:
        st.caption("Gradient diagnostics were turned off for this run.")
        return None
    if not rows:
        st.caption("The diagnostics charts appear after the first measured batch.")
        return None
    def build():
        return (dplots.cosine_curves(rows, tasks), dplots.norm_curves(rows, tasks), dplots.weight_curves(rows, tasks),
                explain(rows, tasks, method=config.weighting, conditioned=config.model.conditioned))

    cos, norm, weight, found = build()
    a, b, c = st.columns(3)
    a.plotly_chart(cos, key=f"{key}.diag.cos")
    b.plotly_chart(norm, key=f"{key}.diag.norm")
    c.plotly_chart(weight, key=f"{key}.diag.weight")
    every = config.diagnostics_every
    findings = "\n".join(f"- {f.markdown()}" for f in found.findings)
    if len(tasks) >= 3 and not live:  # many pairs: the matrix shows at a glance which tasks fight
        left, right = st.columns([3, 2])
        left.markdown(findings)
        right.plotly_chart(dplots.cosine_heatmap(found.pairs, tasks), key=f"{key}.diag.matrix")
    else:
        st.markdown(findings)
    drawn = (" This is a preference-conditioned model: its weights are drawn at random for every batch, so the "
             "weights chart shows the draws." if config.model.conditioned else "")
    with details("How to read these charts"):
        st.caption(DIAGNOSTICS_TEXT + drawn + f" Measured on the training batches, every {every} batch{'es' if every > 1 else ''} "
                   f"({len(rows)} {'so far' if live else 'in all'}), on the shared representation; measuring never "
                   "changes training.")
    return found


# --------------------------------------------------------------------- live
#: Seconds between redraws of the live charts (``live_charts``); the progress bar and
#: Stop refresh every ``jobs.POLL_S``.
LIVE_REDRAW_S = 3.0


def _eta(seconds: float) -> str:
    if seconds is None or math.isnan(seconds):
        return "estimating"
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def live_panel() -> None:
    """Progress and Stop of the running job (reruns on its own)."""
    entry = current_training()
    if entry is None:
        return
    bg = entry.job
    if bg.done:
        st.rerun()  # the full page collects the run and shows its results
    what = "single-task baselines" if entry.meta["baseline_for"] is not None else f"{bg.config.arch} + {bg.config.weighting}"
    st.subheader(f"Training {what}")
    progress, waiting = bg.live, jobs.queued_text(bg)
    if waiting:
        st.progress(0.0, text=waiting)
    elif bg.stop_requested:
        st.progress(progress.fraction if progress else 0.0,
                    text="Stopping: evaluating the best model so far on the test split ...")
    elif bg.phase == "preparing" or progress is None:
        st.progress(0.0, text=f"Preparing the data (splitting rows, fitting encoders on the training split) ... "
                              f"{bg.elapsed:.0f} s")
    else:
        st.progress(min(progress.fraction, 1.0), text=(
            f"Epoch {progress.epoch}/{progress.epochs} · {progress.fraction:.0%} · {progress.elapsed:.0f} s elapsed "
            f"· about {_eta(progress.eta)} left"))
    jobs.stop_button(entry, "Stop", "Ends training after the current batch and keeps the best model so far")


def live_charts() -> None:
    """Live learning curves and diagnostics of the running job, redrawn every
    ``LIVE_REDRAW_S`` (a fragment of its own: sending five charts to the browser with
    every progress update slowed the training thread several times over)."""
    entry = current_training()
    if entry is None or entry.job.done or entry.job.live is None:
        return  # queued or preparing: nothing to draw yet
    bg = entry.job
    history = bg.history
    task_names = list(bg.config.tasks)
    if history:
        loss, metric = train_plots.loss_curves(history, task_names), train_plots.metric_curves(history, task_names)
        a, b = st.columns(2)
        a.plotly_chart(loss, key="live.loss")
        b.plotly_chart(metric, key="live.metric")
        st.caption(
            "Left: each task's loss on the training rows (solid) and on held-out validation rows (dashed). "
            "Both should fall; a validation loss that turns up while training loss keeps falling is overfitting. "
            "Right: each task's validation metric (AUC for 0/1 tasks: 0.5 is guessing, 1 is perfect). "
            "Watch whether the tasks improve together or one stalls while another gains."
        )
    else:
        st.caption("The charts appear after the first validation pass (each epoch; several times per epoch on "
                   "large data).")
    if len(task_names) > 1:
        with details("Gradient diagnostics, live"):
            st.markdown("**Gradient diagnostics, live**")
            diagnostics_panel(bg.diagnostics, bg.config, "live", live=True)


if busy:
    with live_slot:
        st.fragment(live_panel, run_every=jobs.POLL_S)()
        st.fragment(live_charts, run_every=LIVE_REDRAW_S)()
        st.divider()


# ------------------------------------------------------------------ results
def metrics_frame(result) -> pd.DataFrame:
    table = report.metrics_table(result).dropna(axis=1, how="all")  # e.g. no GAUC without user ids
    return table.rename(columns={m: report.METRIC_LABELS[m] for m in report.METRIC_LABELS if m in table})


def show_run(run: Run) -> None:
    result = run.result
    cfg = result.config
    st.markdown(
        f"**{run.label}**  \n{result.params:,} parameters · {result.train_seconds:.1f} s on {result.device} · "
        f"best epoch {result.best_epoch:g} of {result.epochs_run:g} · {REASONS.get(result.reason, result.reason)} · "
        f"inference {result.latency_text()}"
    )
    if result.fault:
        st.error(result.fault["message"], icon=":material/error:")
    prepared = recall(PREPARED, run.prepared_key)
    download_buttons(run.uid, result, dataset=lambda: run.data or data_description(run.ds, prepared),
                     trained=result.trained, stem=f"run{run.id}_{cfg.arch}_{cfg.weighting}", key=f"results.dl.{run.id}")
    if run.store_id is not None and run.ds is None:
        st.info(f"Opened from the workspace. It was trained on uploaded data (**{run.dataset}**), which the "
                "workspace does not keep, nor the model trained on it: its numbers and charts are here; to see its "
                "recommendations or baselines, upload the data again and retrain.", icon=":material/inventory_2:")
    for warning in run.warnings:
        st.warning(warning)
    with st.expander("All settings of this run"):
        settings = report.flat_config(cfg)
        st.dataframe(pd.DataFrame({"setting": list(settings), "value": [str(v) for v in settings.values()]}),
                     hide_index=True, key=f"results.settings.{run.id}")
    st.markdown("**Test metrics per task**")
    st.dataframe(metrics_frame(result), hide_index=True, key=f"results.table.{run.id}",
                 column_config={c: st.column_config.NumberColumn(format="%.4f") for c in report.METRIC_LABELS.values()})
    with details("What these metrics mean"):
        st.caption(
            "Measured on the held-out test rows, with the model from the best validation epoch. AUC: how well the "
            "model ranks positives above negatives (0.5 = chance). GAUC: the same within each user, which is what a "
            "feed ranking needs. Accuracy at a 0.5 threshold; logloss: the penalty for confident mistakes (lower is "
            "better). RMSE / MAE for numeric tasks (lower is better), R²: share of variance explained."
        )

    # Baselines
    st.markdown("**Versus single-task baselines**")
    if run.baseline_for is not None:
        st.caption(f"These are the single-task baselines of run #{run.baseline_for}: one independent network per "
                   "task, same split and hyperparameters.")
    elif cfg.arch == "single":
        st.caption("This run already trains one independent network per task: it is its own baseline.")
    else:
        base = baseline_run(run)
        if base is None and run.ds is None:
            st.caption("Baselines need the run's data, which was uploaded and is not kept.")
        elif base is None:
            st.caption("Train one independent network per task on the same split, with the same hyperparameters, "
                       "to see what sharing gains or costs each task.")
            if st.button("Train single-task baselines", key=f"train.baselines.{run.id}", disabled=busy,
                         icon=":material/compare_arrows:"):
                try:
                    start_baselines(run)
                except MTLError as err:
                    show_error(err)
                else:
                    st.rerun()
        else:
            comparison = report.baseline_comparison(result, base.result)
            c1, c2 = st.columns([3, 2])
            with c1:
                st.dataframe(
                    comparison.drop(columns="primary").assign(metric=lambda d: d.metric.map(report.METRIC_LABELS)),
                    hide_index=True, key=f"results.baseline.{run.id}",
                    column_config={"model": st.column_config.NumberColumn(f"this run (#{run.id})", format="%.4f"),
                                   "single-task": st.column_config.NumberColumn(f"single-task (#{base.id})",
                                                                                format="%.4f"),
                                   "gain %": st.column_config.NumberColumn(format="%+.2f%%")},
                )
            with c2:
                st.plotly_chart(train_plots.gain_bars(comparison, cfg.tasks), key=f"chart.gain.{run.id}")
            with details("How to read the gains"):
                st.caption(
                    "Relative gain of this run over single-task networks trained on the same split, in % of the "
                    "baseline; positive is better (for lower-is-better metrics such as logloss and RMSE the sign is "
                    "flipped). Sharing helps a task when it borrows signal from related tasks, often a sparse one "
                    "such as likes; it hurts when tasks pull the shared layers apart (negative transfer)."
                )

    # Curves
    if result.history:
        with details("Learning curves"):
            st.markdown("**Learning curves**")
            a, b = st.columns(2)
            a.plotly_chart(train_plots.loss_curves(result.history, cfg.tasks), key=f"chart.loss.{run.id}")
            b.plotly_chart(train_plots.metric_curves(result.history, cfg.tasks), key=f"chart.metric.{run.id}")
            st.caption(
                f"Loss (left: training solid, validation dashed) and validation metric (right) at each evaluation. "
                f"The model kept is the one from epoch {result.best_epoch:g}, where the weighted validation score "
                "was best."
            )

    if len(cfg.tasks) > 1:
        with details("Gradient diagnostics"):
            st.markdown("**Gradient diagnostics**")
            found = diagnostics_panel(result.diagnostics, cfg, f"results.{run.id}")
            if found is not None and not found.empty:
                with st.expander("Diagnostics in numbers"):
                    st.dataframe(found.pairs, hide_index=True, key=f"results.diag.pairs.{run.id}", column_config={
                        "a": "task A", "b": "task B",
                        "mean_cosine": st.column_config.NumberColumn("mean cosine", format="%+.3f"),
                        "conflict_share": st.column_config.NumberColumn("share of batches in conflict", format="percent"),
                        "measured": "batches measured"})
                    st.dataframe(found.tasks, hide_index=True, key=f"results.diag.tasks.{run.id}", column_config={
                        "mean_norm": st.column_config.NumberColumn("mean gradient norm", format="%.4g"),
                        "mean_weight": st.column_config.NumberColumn("mean weight", format="%.3f"),
                        "contribution": st.column_config.NumberColumn("weighted pull (weight x norm)", format="%.4g"),
                        "share": st.column_config.NumberColumn("share of the pull", format="percent")})
                    st.download_button("Download every measured batch (CSV)", result.diagnostics_frame().to_csv(index=False),
                                       f"diagnostics_run{run.id}.csv", "text/csv", key=f"results.diag.csv.{run.id}",
                                       icon=":material/download:")

    finetune_section(run)


st.divider()
st.header("Results")
link_to_open(RESULTS_RUN)  # an address with run=<id> (a shared link) opens that kept run
if isinstance(picked := st.session_state.get(RESULTS_RUN), str):  # a kept run chosen below: open it first
    opened = open_kept(picked)
    set_widget(RESULTS_RUN, opened.id if opened is not None else None)
history, kept_runs = runs(), kept()
if not history and not kept_runs:
    st.info("No runs yet: press **Train** above.", icon=":material/info:")
else:
    ids = [r.id for r in history]
    labels_by_id = {r.id: r.label for r in history} | {k.id: kept_label(k) for k in kept_runs}
    options = ids[::-1] + [k.id for k in kept_runs]
    if st.session_state.get(RESULTS_RUN) not in options:
        set_widget(RESULTS_RUN, ids[-1] if ids else None)
    shown = st.selectbox("Show run", options, key=RESULTS_RUN, format_func=labels_by_id.get,
                         placeholder="Choose a run kept in the workspace",
                         help="This session's runs, then the runs kept in the workspace (earlier sessions, other "
                              "tabs, the command line with --workspace), newest first")
    if shown is None:
        st.caption(f"{report.plural(len(kept_runs), 'run')} kept in the workspace: choose one to open it.")
    elif (run := get_run(shown)) is not None:
        show_run(run)

    # ------------------------------------------------------------- history
    st.divider()
    st.header("Run history")
    st.caption("Every run opened in this session with its setup and each task's primary test metric (AUC for 0/1 "
               "tasks, RMSE for numeric ones). Runs are also kept in the workspace, so a reload, another tab or "
               "anyone opening this app finds them under *Show run*.")
    if history:
        rows = [{"run": r.id, "dataset": r.dataset, **report.run_summary(r.result)} for r in history]
        st.dataframe(pd.DataFrame(rows), hide_index=True, key="history.table")
    if kept_runs:
        st.markdown(f"**Kept in the workspace, not opened yet** ({len(kept_runs)})")
        st.dataframe(kept_table(kept_runs), hide_index=True, key="history.kept")
    manager("training", "kept.train")
    if len(history) >= 2:
        st.subheader("Compare two runs")
        c1, c2 = st.columns(2)
        a_id = c1.selectbox("Run A", ids[::-1], index=1, format_func=labels_by_id.get, key="compare.a")
        b_id = c2.selectbox("Run B", ids[::-1], index=0, format_func=labels_by_id.get, key="compare.b")
        if a_id == b_id:
            st.info("Choose two different runs.")
        else:
            run_a, run_b = get_run(a_id), get_run(b_id)
            table = report.compare_runs(run_a.result, run_b.result)
            left, right = st.columns([3, 2])
            left.dataframe(
                table.assign(metric=table.metric.map(report.METRIC_LABELS)), hide_index=True, key="compare.table",
                column_config={"A": st.column_config.NumberColumn(f"A (#{a_id})", format="%.4f"),
                               "B": st.column_config.NumberColumn(f"B (#{b_id})", format="%.4f"),
                               "B - A": st.column_config.NumberColumn(format="%+.4f")},
            )
            primary = {t.name: t.primary_metric for t in [*run_a.result.tasks, *run_b.result.tasks]}
            right.plotly_chart(train_plots.run_comparison_bars(table, (f"#{a_id}", f"#{b_id}"), primary),
                               key="compare.chart")
            st.caption("Each task's test metrics in both runs; *better* names the run that wins on that metric "
                       "(higher AUC, lower logloss or RMSE). The panels show each task's primary metric.")
            diff = report.config_differences(run_a.config, run_b.config)
            st.markdown("**What differs in the setup**")
            if diff.empty:
                st.caption("Nothing: the two runs have the same settings (differences come from the data).")
            else:
                st.dataframe(diff.rename(columns={"A": f"A (#{a_id})", "B": f"B (#{b_id})"}), hide_index=True,
                             key="compare.config")
