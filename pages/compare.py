"""Compare methods: several weighting methods x seeds on the same data and split, with
per-task test metrics as mean ± std and Δm over single-task baselines."""

from __future__ import annotations

import json

import streamlit as st

from mtl import report
from mtl.compare import check_methods, compare
from mtl.data import prepare
from mtl.errors import MTLError
from mtl.jobs import BackgroundJob
from mtl.metrics import METRICS_BY_KIND
from mtl.models import ModelConfig, available_models, get_model_class
from mtl.plots import compare as cplots
from mtl.setup import APP_EPOCHS
from mtl.train import TrainConfig
from mtl.train.cost import method_costs
from mtl.weighting import available_weightings, get_weighting_class, weighting_status
from pages import _jobs as jobs
from pages._backend import BackendChoice, backend_choice
from pages._common import default_config, default_tasks, make_config
from pages._datasets import active_dataset
from pages._downloads import download_buttons, new_uid
from pages._features import history_box, history_problem, interaction_select, numeric_select
from pages._nav import DATA, TRAIN
from pages._present import advanced, details
from pages._settings import CompareSettings as S
from pages._settings import TrainSettings
from pages._state import ui_default
from pages._stored import data_name, job_dataset, job_picker, manager
from pages._url import COMPARE, say_ignored, say_upload_stays
from pages._widgets import page_setup, show_error, weight_sliders

#: Preselected: the classic weighted sum, a loss-based and two gradient-based methods.
DEFAULT_METHODS = ("static", "uncertainty", "gradnorm", "upgrad")

page_setup()
st.title("Compare methods")
with details("What this page does"):
    st.markdown(
        "How should you weight your tasks? Train several **weighting methods** on the same data and split, each with "
        "several **seeds**, next to single-task networks. The table and charts show each task's test metric as "
        "mean ± standard deviation over seeds, and **Δm**: the average relative gain over training each task on its "
        "own."
    )
url_notes = COMPARE.restore()  # a fresh session opened from a copied address: its settings first
ds = active_dataset()
labels = ds.data.schema.labels
st.caption(f"Dataset: **{ds.name}** ({ds.data.n_rows:,} rows). Change it on the Data page.")
say_ignored(url_notes)
progress_slot = st.container()  # a running comparison's progress and Stop: at the top, not below the settings
if len(labels) < 2:
    st.warning("A comparison needs at least two label columns. Mark the outcome columns as labels on the Data page.")
    st.page_link(DATA, label="Go to the Data page", icon=":material/table:")
    st.stop()

status = weighting_status()
methods_all = available_weightings()


def method_label(name: str) -> str:
    return get_weighting_class(name).display_name() + ("" if status[name].available else " (not installed)")


def key(name: str, default) -> str:
    """The widget key of setting ``name`` (:class:`CompareSettings`), with its first value."""
    return ui_default(S.key(name, ds.short), default)


# ===================================================================== setup
busy = jobs.busy("compare")
tasks = st.multiselect("Tasks (two or more)", list(labels), key=key("tasks", default_tasks(ds)),
                       format_func=lambda c: f"{c} ({labels[c]})")
methods = st.multiselect("Weighting methods", list(methods_all), format_func=method_label,
                         key=key("methods", [m for m in DEFAULT_METHODS if status[m].available]))
costs = method_costs()
if costs and (chosen := [m for m in methods if m in costs.costs]):
    st.caption("Training time per epoch vs static weights: " + ", ".join(
        f"{get_weighting_class(m).display_name()} {costs.costs[m].time_ratio:.1f}x" for m in chosen) + ".",
        help=costs.note())
with st.expander("What each method does"):
    for name, text in methods_all.items():
        cls = get_weighting_class(name)
        steer = "uses your task weights as its preference" if cls.uses_preference else "ignores the task weights"
        extra = "" if status[name].available else f" **Not installed:** `{status[name].hint.split(': ', 1)[-1]}`"
        cost = f" *Cost: {costs.caption(name)}.*" if costs and costs.caption(name) else ""
        st.markdown(f"- **{cls.display_name()}**: {text} ({steer}.){cost}{extra}")
    if costs:
        st.caption(costs.note())

with advanced("cmp-run"):
    c1, c2, c3 = st.columns(3)
    seeds = c1.number_input("Seeds per method", 1, 10, key=key("seeds", 3),
                            help="Each seed changes the initialization and the batch order, not the split: the spread "
                                 "over seeds shows how much of a difference is luck")
    epochs = c2.number_input("Epochs per model", 1, 50, key=key("epochs", APP_EPOCHS))
    sharing = [a for a in available_models() if get_model_class(a).shares_parameters]
    arch = c3.selectbox("Architecture", sharing, key=key("arch", "shared_bottom"),
                        help="Weighting methods balance what tasks share, so only sharing architectures are offered")
    # Every method and the baseline get the same network inputs, so a comparison on a DCN, periodic or history
    # network compares the methods where that network is used.
    n1, n2 = st.columns(2)
    with n1:
        interaction = interaction_select(key("interaction", ModelConfig.interaction))
    with n2:
        num_emb = numeric_select(key("num_emb", ModelConfig.num_embedding))
        history = history_box(key("history", TrainConfig.history))

where = backend_choice("cmp")

preference = weight_sliders(
    ds, tasks, S, "**Task weights**: the preference of the methods that take one (static weights use them as is).")

metrics: dict[str, str] = {}
with advanced("cmp-metrics"), st.expander("Metric compared per task, and the other settings"):
    st.caption("Δm and the charts compare one test metric per task: AUC for 0/1 tasks, RMSE for numeric ones, "
               "accuracy for classes, unless you choose another (GAUC, the AUC within each user, needs user ids).")
    has_users = ds.data.schema.user is not None
    m_cols = st.columns(min(max(len(tasks), 1), 4))
    for i, task in enumerate(tasks):
        choices = [m for m in METRICS_BY_KIND[labels[task]] if has_users or m != "gauc"]
        metrics[task] = m_cols[i % len(m_cols)].selectbox(
            f"{task}", choices, format_func=lambda m: report.METRIC_LABELS.get(m, m),
            key=ui_default(f"{S.key('metrics', ds.short)}.{task}", choices[0]))
    d = default_config(ds)
    st.caption(f"Everything else is the Train page's default: batch size {d.batch_size:,}, "
               f"learning rate {d.lr:g}, patience {d.patience}, embeddings of {d.model.emb_dim}, hidden layers "
               f"{', '.join(map(str, d.model.hidden))}, the dataset's suggested split, seeds from {d.seed}.")

# The address mirrors the setup: copying it reproduces this page in a fresh browser.
COMPARE.mirror(S(tasks=list(tasks), methods=list(methods), seeds=int(seeds), epochs=int(epochs), arch=arch,
                 interaction=interaction, num_emb=num_emb, history=history or None, preference=preference,
                 metrics=metrics), ds=ds)
say_upload_stays(ds)

problems = []
if len(tasks) < 2:
    problems.append("Choose at least two tasks: weighting methods balance tasks against each other.")
if not methods:
    problems.append("Choose at least one weighting method.")
problems += [f"{status[m].hint}, then restart the app (or leave it out)." for m in methods if not status[m].available]
if tasks and sum(preference.values()) <= 0:
    problems.append("At least one task weight must be above zero.")
if where.problem:
    problems.append(where.problem)
if no_history := history_problem(ds, history):
    problems.append(f"{no_history}: untick user-history features to compare.")
for problem in problems:
    st.error(problem, icon=":material/error:")
n_runs = (len(methods) + 1) * int(seeds)
if not problems:
    st.caption(f"This trains **{n_runs} models**: {len(methods)} method{'s' if len(methods) != 1 else ''} and the "
               f"single-task baseline, {int(seeds)} seed{'s' if seeds != 1 else ''} each, all on the same split "
               f"({int(epochs)} epoch{'s' if epochs != 1 else ''} per model).")


def start(config, chosen: list[str], n_seeds: int, compared: dict[str, str], backend: BackendChoice) -> None:
    data = ds.data

    def work(report_progress, should_stop):
        if backend.name != "local":
            report_progress(0, 1, "connecting")
        runner = backend.make()
        report_progress(0, 1, "starting")
        prepared = prepare(data, list(config.tasks), config.split, seed=config.seed, history=config.history)
        return compare(prepared, config, chosen, n_seeds, metrics=compared, progress=report_progress,
                       should_stop=should_stop, backend=runner)

    jobs.start("compare", BackgroundJob(work, "mtl-compare", slots=backend.slots), ds, arch=config.arch,
               epochs=config.epochs, backend=backend.describe())


if st.button("Run the comparison", type="primary", icon=":material/play_arrow:", key="cmp.start",
             disabled=busy or bool(problems)):
    try:
        config = make_config(ds, tasks, preference, arch=arch, epochs=int(epochs), interaction=interaction,
                             num_embedding=num_emb, history=history)
        check_methods(config, methods)  # a method that cannot run fails here, before anything is trained
        start(config, list(methods), int(seeds), dict(metrics), where)
    except MTLError as err:
        show_error(err)
    else:
        st.rerun()


# ================================================================== progress
def progress_text(entry: jobs.SessionJob) -> str:
    job = entry.job
    done, total, message = job.progress
    if job.stop_requested:
        return "Stopping: comparing the models trained so far ..."
    if message == "connecting":
        return f"Connecting to {entry.meta['backend']} ... {job.elapsed:.0f} s"
    if message == "starting":
        return f"Preparing the data (splitting rows, fitting encoders on the training split) ... {job.elapsed:.0f} s"
    return f"Training {message} · model {min(done + 1, total)} of {total} · {job.elapsed:.0f} s · {jobs.eta_text(job.eta)}"


jobs.show_outcome("compare")
if busy:
    with progress_slot:
        st.fragment(jobs.progress_panel, run_every=jobs.POLL_S)(
            "compare", progress_text, "Stop the comparison",
            "Stops before the next model; the models trained so far are compared")


# =================================================================== results
def show(entry: jobs.SessionJob) -> None:
    result = entry.result
    st.subheader("Results")
    complete = result.complete_seeds()
    st.markdown(
        f"**{report.network_label(result.config)}** on **{data_name(entry)}**, tasks {', '.join(t.name for t in result.tasks)}; "
        f"{len(result.runs)} models, {len(complete)} seed{'s' if len(complete) != 1 else ''} complete, "
        f"{report.plural(entry.meta['epochs'], 'epoch')} each"
        + (f", trained on {entry.meta['backend']}" if entry.meta.get("backend", "this server") != "this server" else "")
    )
    if result.error:
        st.error(result.error, icon=":material/error:")
    if result.stopped:
        counted = len(result.counted())
        st.info(f"Stopped early: the table and charts count the {counted} models of the seeds completed by every "
                f"method{'' if complete else ' (no seed is complete yet, so methods may have different seeds)'}; "
                "every model trained is listed at the bottom.", icon=":material/info:")
    download_buttons(entry.meta.setdefault("uid", new_uid()), result, dataset=lambda: job_dataset(entry),
                     key="cmp.dl", stem=f"comparison_{entry.meta['arch']}")
    for finding in report.comparison_findings(result):
        st.markdown(f"- {finding.markdown()}")
    st.dataframe(report.comparison_table(result), hide_index=True, key="cmp.table")
    with details("How to read the table"):
        st.caption(
            "Test metrics as **mean ± standard deviation over seeds** (one metric per task: AUC for 0/1 tasks, higher "
            "is better; RMSE for numeric ones, lower is better). **Δm** is the relative gain over the single-task "
            "baseline averaged over tasks, in % (Maninis et al., 2019), with the sign flipped for lower-is-better "
            "metrics: positive means the shared model beats training each task on its own. The baseline's own ± is "
            "the seed noise: differences smaller than that are luck."
        )
    st.plotly_chart(cplots.delta_m_bars(result), key="cmp.delta_m")
    st.caption("Δm per method: the bar is the mean over seeds and the whisker one standard deviation. Green beats "
               "training each task on its own, red loses to it; whiskers that cross zero mean the seeds disagree.")
    with details("Each task's metric per method"):
        st.plotly_chart(cplots.metric_bars(result), key="cmp.metrics")
        st.caption("Each task's test metric per method (mean ± one standard deviation over seeds), with the "
                   "single-task baseline as the dashed line. A method can win on Δm by lifting one task a lot while "
                   "costing another a little: read both charts.")
    best = result.best()
    if best is not None and entry.ds is not None and entry.ds.token == ds.token:
        title = get_weighting_class(best).display_name()
        if st.button(f"Train with {title} on the Train page", icon=":material/model_training:", key="cmp.use",
                     help="Opens the Train page set up like this comparison (tasks, weights, network, epochs) "
                          "with the method of the best Δm, to look at its diagnostics and predictions"):
            use_on_train_page(result, best)
    with st.expander("Every model trained"):
        long = result.long()
        st.dataframe(long, hide_index=True, key="cmp.runs", column_config={
            "value": st.column_config.NumberColumn(format="%.4f"),
            "higher_is_better": st.column_config.CheckboxColumn("higher is better"),
            "compared": st.column_config.CheckboxColumn("compared (used in Δm)")})
        d1, d2 = st.columns(2)
        d1.download_button("Download every metric (CSV)", long.to_csv(index=False), "method_comparison.csv",
                           "text/csv", key="cmp.csv", icon=":material/download:")
        d2.download_button("Download the comparison (JSON)", json.dumps(report.json_safe(result.to_json()), indent=2),
                           "method_comparison.json", "application/json", key="cmp.json", icon=":material/download:")


def use_on_train_page(result, method: str) -> None:
    """Hand this comparison's setup and ``method`` to the Train page, and go there."""
    cfg = result.config
    TrainSettings(tasks=list(cfg.tasks), preference=dict(cfg.preference or {}), arch=cfg.arch,
                  weighting=method, epochs=cfg.epochs, interaction=cfg.model.interaction,
                  num_emb=cfg.model.num_embedding, history=cfg.history).apply(ds.short)
    st.switch_page(TRAIN)


job_picker("comparison", "cmp.kept")  # comparisons kept in the workspace (earlier sessions, the CLI)
entry = jobs.result("compare")
if entry is None:
    if not busy:
        st.info("Choose methods and press **Run the comparison**. Tip: two or three seeds show whether a difference "
                "is real or seed noise; the same comparison runs from the command line with "
                "`python -m mtl compare`.", icon=":material/info:")
else:
    show(entry)
manager("comparison", "kept.cmp")
