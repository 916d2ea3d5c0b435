"""Trade-offs: Pareto fronts from weight sweeps, instant weights from one conditioned
model, relevance-versus-efficiency curves, and quality against compute."""

from __future__ import annotations

import dataclasses
import json
import time

import pandas as pd
import streamlit as st

from mtl.data import prepare
from mtl.data.samples import SAMPLES
from mtl.errors import ConfigError, MTLError
from mtl.jobs import BackgroundJob
from mtl.models import ModelConfig, available_models, get_model_class
from mtl.plots import tradeoff as tplots
from mtl.report import json_safe, network_label, plural
from mtl.tradeoff import (
    ConditionedExplorer,
    alpha_from_fusion,
    conditioned_front,
    curve_for_model,
    objective,
    sweep,
    sweep_steps,
    weight_grid,
)
from mtl.tradeoff.curves import Sides, candidate_counts, default_k, derived_labels, side_conflicts, suggest_sides
from mtl.train import TrainConfig
from mtl.weighting import get_weighting_class
from pages import _jobs as jobs
from pages._backend import BackendChoice, backend_choice
from pages._common import default_tasks, make_config
from pages._datasets import active_dataset
from pages._downloads import download_buttons, new_uid
from pages._features import history_box, history_problem, interaction_select, numeric_select
from pages._nav import TRAIN
from pages._present import advanced, details
from pages._runs import Run, add_run, baseline_run, runs, start_training
from pages._settings import CurveSettings, InstantSettings, TradeoffView, TrainSettings
from pages._settings import SweepSettings as S
from pages._state import UI, Settings, cached, ui_default
from pages._stored import data_name, job_dataset, job_picker, kept, manager, model_picker
from pages._url import TABS, TRADEOFFS, one_of, say_ignored, say_upload_stays, some_of, task_weights, within
from pages._widgets import page_setup, show_error

SLIDER_ROWS = 20_000

page_setup()
st.title("Trade-offs")
with details("What this page does"):
    st.markdown(
        "What does one task gain when another gets more weight? Sweep the task weights and see the **Pareto front**, "
        "move the weights **instantly** with one preference-conditioned model, see what ranking by engagement costs "
        "in **relevance**, and weigh quality against **compute**."
    )
url_notes = TRADEOFFS.restore()  # a fresh session opened from a copied address: its settings first
ds = active_dataset()
labels = ds.data.schema.labels
st.caption(f"Dataset: **{ds.name}** ({ds.data.n_rows:,} rows). Change it on the Data page.")
say_ignored(url_notes)
say_upload_stays(ds)
if TRADEOFFS.waiting():
    st.caption("A link cannot carry a model: its choices for one (instant weights, the curve's sides and α, the "
               "fronts' axes, the compute chart's quality) apply to the first model or sweep this page shows.")
#: What the page shows, section by section: the address mirrors it at the end.
mirrored: list[Settings] = []


def _download(label: str, frame: pd.DataFrame, doc: dict, stem: str, key: str) -> None:
    c1, c2 = st.columns(2)
    c1.download_button(f"{label} (CSV)", frame.to_csv(index=False), f"{stem}.csv", "text/csv", key=f"{key}.csv",
                       icon=":material/download:")
    c2.download_button(f"{label} (JSON)", json.dumps(json_safe(doc), indent=2), f"{stem}.json", "application/json",
                       key=f"{key}.json", icon=":material/download:")


def _axes(names: list[str], x_field: str, y_field: str) -> tuple[str, str]:
    """A front's x and y tasks: the two tasks, or chosen when there are more
    (``x_field``/``y_field``: their :class:`TradeoffView` fields)."""
    if len(names) <= 2:
        return names[0], names[1]
    x_key, y_key = TradeoffView.key(x_field), TradeoffView.key(y_field)
    notes = TRADEOFFS.take(TradeoffView, "", **{x_field: one_of(names)})
    x_now = st.session_state.get(x_key, names[0])
    notes += TRADEOFFS.take(TradeoffView, "", **{y_field: one_of(n for n in names if n != x_now)})
    say_ignored(notes)
    c1, c2 = st.columns(2)
    x_task = c1.selectbox("x axis", names, index=0, key=x_key)
    y_task = c2.selectbox("y axis", [n for n in names if n != x_task], index=0, key=y_key)
    mirrored.append(TradeoffView(**{x_field: x_task, y_field: y_task}))
    return x_task, y_task


# ===================================================================== sweep
def _start_sweep(tasks: list[str], points: int, arch: str, epochs: int, conditioned: bool,
                 backend: BackendChoice, *, interaction: str, num_emb: str, history: bool) -> None:
    config = make_config(ds, tasks, arch=arch, epochs=epochs, interaction=interaction, num_embedding=num_emb,
                         history=history)
    config.validate()
    grid = weight_grid(len(tasks), points)
    data = ds.data
    total = sweep_steps(len(grid), conditioned=conditioned)

    def work(report, should_stop):
        if backend.name != "local":
            report(0, total, f"connecting to {backend.describe()}")
        runner = backend.make()
        report(0, total, "preparing the data (splitting rows, fitting encoders on the training split)")
        prepared = prepare(data, list(tasks), config.split, seed=config.seed, history=config.history)
        return sweep(prepared, config, grid, conditioned=conditioned, progress=report, should_stop=should_stop,
                     backend=runner)

    jobs.start("sweep", BackgroundJob(work, "mtl-sweep", slots=backend.slots), ds, tasks=list(tasks), arch=arch,
               config=config, backend=backend.describe())


def _sweep_text(entry: jobs.SessionJob) -> str:
    job = entry.job
    done, total, message = job.progress
    if job.stop_requested:
        return "Stopping: keeping the models trained so far ..."
    return (f"{message[:1].upper()}{message[1:]} · {min(done / total, 1.0):.0%} · {job.elapsed:.0f} s elapsed"
            f" · {jobs.eta_text(job.eta)}")


def _network(entry: jobs.SessionJob) -> str:
    """The sweep's network in words (a kept sweep without its configuration: its architecture)."""
    config = entry.meta.get("config")
    return network_label(config) if config is not None else entry.meta["arch"]


def _sweep_title(entry: jobs.SessionJob) -> str:
    return (f"**Sweeping {', '.join(entry.meta['tasks'])}** with {_network(entry)} on {entry.ds.name}: "
            f"{entry.job.progress[1]} models to train")


def sweep_section() -> None:
    st.subheader("Weight sweep and Pareto front")
    choices = [c for c, k in labels.items() if k != "multiclass"] or list(labels)
    default = [t for t in default_tasks(ds) if t in choices][:2] or choices[:2]
    busy = jobs.busy("sweep")
    if busy:  # progress and Stop above the form, where the user's eyes are after pressing Run
        st.fragment(jobs.progress_panel, run_every=jobs.POLL_S)(
            "sweep", _sweep_text, "Stop the sweep", "Abandons the model in training; the points trained so far are kept",
            _sweep_title)
    where = backend_choice("to")  # outside the form: choosing Ray shows its address field at once
    with st.form("sweep.form", border=False):
        # Values come from session state only (ui_default), never from value=/default=: a widget given both
        # logs a warning, and the choices must survive a visit to another page (keep_widget_state).
        tasks = st.multiselect("Tasks to trade off (two or more)", choices,
                               key=ui_default(S.key("tasks", ds.short), default))
        c1, c2, c3 = st.columns(3)
        points = c1.slider("Weightings", 3, 21, key=ui_default(S.key("points"), 7),
                           help="Number of weight vectors (two tasks: a line; three or more: a simplex grid)")
        with c2, advanced("to-epochs"):
            epochs = st.number_input("Epochs per model", 1, 50, key=ui_default(S.key("epochs"), 3))
        archs = [a for a in available_models() if a != "single"]
        # Not archs[0]: the registry's order is the order the model modules were imported in.
        first = "shared_bottom" if "shared_bottom" in archs else archs[0]
        with c3, advanced("to-arch"):
            arch = st.selectbox("Architecture", archs, key=ui_default(S.key("arch"), first))
        with advanced("to-network"):
            n1, n2 = st.columns(2)
            with n1:
                interaction = interaction_select(ui_default(S.key("interaction"), ModelConfig.interaction), in_form=True)
            with n2:
                num_emb = numeric_select(ui_default(S.key("num_emb"), ModelConfig.num_embedding), in_form=True)
            history = history_box(ui_default(S.key("history"), TrainConfig.history))
        with advanced("to-cond"):
            conditioned = st.checkbox("Also train one preference-conditioned model and compare it with the retrains",
                                      key=ui_default(S.key("cond"), True))
        submitted = st.form_submit_button("Run the sweep", type="primary", icon=":material/play_arrow:", disabled=busy)
    mirrored.append(S(tasks=list(tasks), points=int(points), epochs=int(epochs), arch=arch, interaction=interaction,
                      num_emb=num_emb, history=history or None, cond=bool(conditioned)))
    if submitted:
        if len(tasks) < 2:
            st.error("Choose at least two tasks: a trade-off needs something to trade.", icon=":material/error:")
        elif where.problem:
            st.error(where.problem, icon=":material/error:")
        elif no_history := history_problem(ds, history):
            st.error(f"{no_history}: untick user-history features to sweep.", icon=":material/error:")
        else:
            try:
                _start_sweep(tasks, points, arch, int(epochs), conditioned, where, interaction=interaction,
                             num_emb=num_emb, history=history)
                st.rerun()
            except MTLError as err:
                show_error(err)
    jobs.show_outcome("sweep")
    job_picker("sweep", "to.kept")  # sweeps kept in the workspace (earlier sessions, the CLI)
    entry = jobs.result("sweep")
    if entry is None:
        manager("sweep", "kept.sweep")
        if not busy:
            st.info("Run a sweep to draw the front. Each weighting trains one model, plus one set of single-task "
                    "baselines for reference.", icon=":material/info:")
        return
    if busy:
        st.caption("Below: your previous sweep, until this one finishes.")
    show_front(entry)
    manager("sweep", "kept.sweep")


def show_front(entry: jobs.SessionJob) -> None:
    result = entry.result
    names = [t.name for t in result.tasks]
    where = entry.meta.get("backend", "this server")
    st.markdown(f"**{_network(entry)}** on **{data_name(entry)}**, tasks {', '.join(names)}"
                + (f", trained on {where}" if where != "this server" else "")
                + (" (stopped early: partial sweep)" if result.stopped else ""))
    which = "points" if result.points else "conditioned"
    flat = result.flatness(which)
    if flat:
        st.info(flat, icon=":material/horizontal_rule:")
    x_task, y_task = _axes(names, "x", "y")
    chart, text = st.columns([3, 2])
    chart.plotly_chart(tplots.pareto_front(result, x_task, y_task))
    with text, details("How to read it"):
        st.markdown(
            "**How to read it.** Each dot is a model trained with fixed task weights (colour: the weight of the y task). "
            "A model is **Pareto-optimal** (a star) when no other model is better on both tasks; the blue line joins "
            "them. Moving along the front, one task gains exactly what the other loses: that is the trade-off. "
            "Dotted lines are **single-task baselines**: a shared model above and to the right of both beats "
            "training separate models. The orange dashed line is **one conditioned model** evaluated at the same "
            "weights: if it hugs the front, you can explore weights instantly instead of retraining."
        )
    with text:
        if result.points:
            st.metric("Hypervolume of the front", f"{result.hypervolume():.5f}",
                      help="Volume of quality space dominated by the front, measured from a no-skill model "
                           f"({', '.join(f'{n} {v:.3f}' for n, v in zip(result.objective_names, result.reference))}). "
                           "Bigger is better: the front moved outward or widened.")
    table = tplots.front_table(result, which)
    with details("The front in numbers"):
        st.dataframe(table, hide_index=True)
    if result.conditioned and result.points:
        with details("The conditioned model against the retrains"):
            st.markdown("**Fidelity of the conditioned model**: its gain over the model retrained at the same weights "
                        "(above 0 it is better, below worse; for RMSE, lower counts as better). No retraining noise "
                        "was measured in this sweep: a retrain with another seed moves these numbers too.")
            st.markdown(result.response_text())
            st.plotly_chart(tplots.fidelity_bars(result))
            # Full width under the chart: beside it, a column per task and side was cut off on the right.
            fidelity = tplots.fidelity_table(result)
            st.dataframe(fidelity, hide_index=True, key="to.fidelity",
                         column_config={c: st.column_config.NumberColumn(c, format="%+.4f" if c.endswith(" gain") else "%.4f")
                                        for c in fidelity.columns[1:]})
            st.caption(f"Time to this front: retraining {result.retrain_seconds:.1f} s; one conditioned model "
                       f"{result.conditioned_train_seconds + result.conditioned_eval_seconds:.1f} s.")
    _download("Download the front", table, result.to_json(), "tradeoff_front", "to.front")
    download_buttons(entry.meta.setdefault("uid", new_uid()), result, dataset=lambda: job_dataset(entry),
                     config=entry.meta.get("config"), trained=getattr(result.conditioned_result, "trained", None), key="to.dl",
                     stem=f"tradeoff_{'_'.join(names)}")


# ============================================================ instant weights
def _adopt_sweep_model() -> None:
    """A sweep's conditioned model joins the run history once, so Instant weights (and
    every other page) can use it without training another."""
    entry = jobs.result("sweep")
    if entry is None or "run_id" in entry.meta or entry.ds is None:
        return
    trained = getattr(entry.result, "conditioned_result", None)
    if trained is None or trained.trained is None:
        return
    entry.meta["run_id"] = add_run(entry.ds, trained, origin="sweep").id


def _conditioned_runs() -> dict[int, Run]:
    return {r.id: r for r in runs() if r.result.trained is not None and r.config.model.conditioned}


def _explorer(run: Run) -> ConditionedExplorer:
    """One explorer at a time: it holds the encoded test rows."""
    return cached("explorer", run.id, lambda: ConditionedExplorer.from_trained(run.result.trained, max_rows=SLIDER_ROWS))


def _own_front(run: Run, explorer: ConditionedExplorer):
    """The conditioned model's front over a weight grid (forward passes only), once per run."""
    def compute():
        with st.spinner("Evaluating the conditioned model across the weightings ..."):
            return conditioned_front(explorer, points=11)

    return cached("instant_front", run.id, compute)


def _conditioned_config() -> tuple[TrainConfig, str]:
    """The network the Train page is set up to train on this dataset (its defaults where
    the user has set nothing there), made preference-conditioned, with the weighting
    method it leaves out (its display name; ``""`` for static weights). Raises
    :class:`MTLError` saying what to change there when it cannot be trained conditioned."""
    config = TrainSettings.current(ds).config(ds)
    if len(config.tasks) < 2:
        raise ConfigError(f"a conditioned model trades tasks off against each other, and the Train page has "
                          f"{plural(len(config.tasks), 'task')} chosen: choose two or more there")
    if not get_model_class(config.arch).shares_parameters:
        raise ConfigError(f"the {config.arch} architecture trains one independent network per task, so a task's "
                          "weight changes nothing the others learn: choose a shared architecture on the Train page")
    if no_history := history_problem(ds, config.history):
        raise ConfigError(f"{no_history}: untick user-history features on the Train page")
    # Rather than refusing: a conditioned model draws its own task weights while
    # training, so no weighting method would apply to it anyway.
    dropped = "" if config.weighting == "static" else get_weighting_class(config.weighting).display_name()
    config = dataclasses.replace(config, weighting="static",
                                 model=dataclasses.replace(config.model, conditioned=True))
    config.validate()
    return config, dropped


def _offer_conditioned(training: bool) -> None:
    """No conditioned model yet: train one of the network the user set up on the Train
    page, saying which beside the button."""
    st.info("No conditioned model yet. Run a sweep with *Also train one preference-conditioned model* (Pareto front "
            f"tab), or train one on **{ds.name}** here (it joins your run history; watch it on the Train page).",
            icon=":material/info:")
    try:
        config, dropped = _conditioned_config()
    except MTLError as err:
        st.error(f"Cannot train a conditioned model from the Train page's settings: {str(err).rstrip('.')}.",
                 icon=":material/error:")
        st.page_link(TRAIN, label="Go to the Train page", icon=":material/model_training:")
        return
    chosen = TrainSettings.read(ds.short) != TrainSettings()
    st.caption(f"Trains **{network_label(config)}** (hidden {', '.join(map(str, config.model.hidden))}, "
               f"{plural(config.epochs, 'epoch')}) on {', '.join(config.tasks)}, preference-conditioned: "
               + ("your Train page settings" if chosen else "the defaults; set your own on the Train page")
               + (f" (its weighting method, {dropped}, does not apply: the model draws its own task weights)"
                  if dropped else "") + ".")
    if st.button("Train a conditioned model", icon=":material/play_arrow:", disabled=training):
        try:
            start_training(ds, config)
            st.switch_page(TRAIN)
        except MTLError as err:
            show_error(err)


def instant_section() -> None:
    st.subheader("Instant weights: one preference-conditioned model")
    with details("What this model is"):
        st.markdown(
            "A **preference-conditioned** network takes the task weights as an input (FiLM-modulated features, as in "
            "YOTO) and is trained with weights drawn at random, so one training run covers every weighting. "
            "Moving a slider below recomputes the predictions and test metrics without retraining."
        )
    _adopt_sweep_model()
    training = jobs.busy("train")
    run = model_picker("Conditioned model", f"{UI}to.crun", _conditioned_runs, ds, noun="conditioned model",
                       where=lambda info: bool(info.summary.get("conditioned")))
    if run is None and (_conditioned_runs() or [i for i in kept(with_model=True, notes=False)
                                                 if i.summary.get("conditioned")]):
        return  # kept models to choose from: the picker says so
    if run is None:
        _offer_conditioned(training)
        return
    explorer = _explorer(run)
    names = [t.name for t in explorer.tasks]
    say_ignored(TRADEOFFS.take(InstantSettings, str(run.id),
                               weights=task_weights(names, 0, 1, f"the tasks of run #{run.id}")))
    prefix = InstantSettings.key("weights", str(run.id))
    cols = st.columns(min(len(names), 4))
    weights = [cols[i % len(cols)].slider(f"{n} weight", 0.0, 1.0, step=0.01, key=ui_default(f"{prefix}.{n}", 0.5))
               for i, n in enumerate(names)]
    mirrored.append(InstantSettings(weights=dict(zip(names, weights))))
    if sum(weights) <= 0:
        st.error("At least one weight must be above zero.", icon=":material/error:")
        return
    start = time.perf_counter()
    metrics = explorer.quick_metrics(weights)
    ms = 1000 * (time.perf_counter() - start)
    share = [w / sum(weights) for w in weights]
    st.caption(f"Shares: {', '.join(f'{n} {s:.0%}' for n, s in zip(names, share))} · recomputed on "
               f"{explorer.n_rows:,} test rows in **{ms:.0f} ms**")
    trained_at = run.result.test
    front = _own_front(run, explorer)
    baselines = baseline_run(run)
    entry = jobs.result("sweep")
    sweep_result = entry.result if entry is not None and [t.name for t in entry.result.tasks] == names else None
    # The conditioned model's own front, with the retrained points and single-task
    # baselines of a sweep on the same tasks when there is one.
    shown = dataclasses.replace(
        front, points=sweep_result.points if sweep_result is not None else [],
        baselines=(sweep_result.baselines if sweep_result is not None and sweep_result.baselines
                   else (baselines.result.test if baselines is not None else {})))
    x_task, y_task = _axes(names, "ix", "iy")
    current = {t.name: objective(t, metrics[t.name]) for t in explorer.tasks}
    response = shown.response()
    if response is not None and response["flat"]:
        st.warning(shown.response_text(), icon=":material/trending_flat:")
    chart, bars = st.columns([3, 2])
    chart.plotly_chart(tplots.pareto_front(shown, x_task, y_task, current=current), key="to.instant.front")
    bars.plotly_chart(tplots.instant_bars(explorer.tasks, metrics, trained_at), key="to.instant.bars")
    st.caption(
        "Left: the orange dashed line is this one model evaluated at 11 weightings (no retraining); the red cross is "
        "the model at the slider weights and moves along it as you slide"
        + ("; dots and stars are your sweep's retrained models" if sweep_result is not None and sweep_result.points else "")
        + ". Right: each task's test quality at these weights minus its quality at the model's default weights "
        f"({', '.join(f'{n} {w:.0%}' for n, w in zip(names, explorer.model.default_pref.tolist()))}), which its "
        "training run reported; up is better."
    )
    rows = []
    for t in explorer.tasks:
        m = t.primary_metric
        rows.append({"task": t.name, f"{m} at these weights": metrics[t.name].get(m),
                     f"{m} at training weights": trained_at[t.name].get(m),
                     "logloss" if t.kind == "binary" else "mae": metrics[t.name].get("logloss" if t.kind == "binary" else "mae")})
    with details("The metrics in numbers"):
        st.dataframe(pd.DataFrame(rows).round(4), hide_index=True)


# =================================================== relevance vs efficiency
def _default_sides(run: Run, tasks: list[str]) -> Sides:
    """Efficiency / relevance defaults: the sample's own lists (none invented where it
    lists no efficiency label), else by task name; never a label and its source apart."""
    sample = run.ds.sample if run.ds is not None else None
    if sample is None and run.data:  # a run kept by the CLI names its sample only by title
        sample = next((s for s in SAMPLES.values() if s.title == run.data.get("name")), None)
    lists = sample is not None and bool(sample.efficiency or sample.relevance)
    return suggest_sides(tasks, efficiency=sample.efficiency if lists else None,
                         relevance=sample.relevance if lists else None, derived=_derived(run, tasks))


def _derived(run: Run, tasks: list[str]) -> dict[str, str]:
    trained = run.result.trained
    return cached("curve-derived", (run.id, tuple(tasks)),
                  lambda: derived_labels(trained.test_rows, tasks, trained.schema.derived))


def curve_section() -> None:
    st.subheader("Relevance versus efficiency")
    with details("What the two sides are"):
        st.markdown(
            "**Efficiency** tasks measure attention captured per impression (click, watch time); **relevance** tasks "
            "measure value to the user (like, long view, follow, rating). Each user's held-out impressions are ranked by "
            "`(1 − α) · efficiency score + α · relevance score` for α from 0 to 1."
        )
    def usable() -> dict[int, Run]:
        return {r.id: r for r in runs() if r.result.trained is not None and r.result.trained.schema.user
                and len([t for t in r.result.trained.tasks if t.kind != "multiclass"]) >= 2}

    run = model_picker("Model", f"{UI}to.vrun", usable, ds, where=lambda info: info.summary.get("users") is not False
                       and len(info.summary.get("tasks") or []) >= 2)
    if run is None:
        if not usable() and not [i for i in kept(with_model=True, notes=False) if i.summary.get("users") is not False]:
            st.info("Train a model with at least two tasks on data with user ids (e.g. the simulated feed or "
                    "KuaiRand).", icon=":material/info:")
            st.page_link(TRAIN, label="Go to the Train page", icon=":material/model_training:")
        return
    trained = run.result.trained
    tasks = [t.name for t in trained.tasks if t.kind != "multiclass"]
    where = f"the tasks of run #{run.id}"
    say_ignored(TRADEOFFS.take(CurveSettings, str(run.id), eff=some_of(tasks, where), rel=some_of(tasks, where),
                               k=within(1, 100), alpha=_on_alpha_grid))
    sides = _default_sides(run, tasks)
    try:
        auto_k = cached("curve-k", run.id, lambda: default_k(candidate_counts(trained.test_rows, trained.schema.user)))
    except MTLError as err:
        show_error(err)
        return
    c1, c2, c3 = st.columns([2, 2, 1])
    eff = c1.multiselect("Efficiency tasks", tasks,
                         key=ui_default(CurveSettings.key("eff", str(run.id)), sides.efficiency))
    rel_key = ui_default(CurveSettings.key("rel", str(run.id)), [t for t in sides.relevance if t not in eff])
    st.session_state[rel_key] = [t for t in st.session_state[rel_key] if t not in eff]  # a task is on one side only
    rel = c2.multiselect("Relevance tasks", [t for t in tasks if t not in eff], key=rel_key)
    k = c3.number_input("K (top-K)", 1, 100, key=ui_default(CurveSettings.key("k", str(run.id)), auto_k),
                        help=f"How many of each user's held-out impressions a feed would show. The default, {auto_k}, "
                             "is the largest K (up to 10) that at least half the users have more impressions than: "
                             "for a user with K or fewer every ranking shows them all, so they are not counted.")
    for note in sides.notes:
        st.caption(note)
    for warning in side_conflicts(eff, rel, _derived(run, tasks)):
        st.warning(warning, icon=":material/warning:")
    if not eff or not rel:
        mirrored.append(CurveSettings(eff=list(eff), rel=list(rel), k=int(k)))
        st.error("Mark at least one efficiency task and one relevance task.", icon=":material/error:")
        return
    # On the curve's 0.05 grid, so the marker is a measured point of the curve.
    start = round(20 * (alpha_from_fusion({t: 1.0 for t in tasks}, eff, rel) or 0.5)) / 20
    alpha = st.slider("Your current fusion: α (0 = rank by efficiency only, 1 = by relevance only)", 0.0, 1.0,
                      step=0.05, key=ui_default(CurveSettings.key("alpha", str(run.id)), float(start)))
    mirrored.append(CurveSettings(eff=list(eff), rel=list(rel), k=int(k), alpha=float(alpha)))
    def compute():
        with st.spinner("Ranking every user's held-out impressions at 21 values of α ..."):
            return curve_for_model(trained, eff, rel, k=int(k))

    try:
        curve = cached("curve", (run.id, tuple(eff), tuple(rel), int(k)), compute)
    except MTLError as err:
        show_error(err)
        return
    curve.current_alpha = alpha
    chart, text = st.columns([3, 2])
    chart.plotly_chart(tplots.efficiency_relevance(curve))
    with text:
        st.markdown("**What the curve shows.** " + curve.finding().markdown())
        here = curve.at(alpha)
        st.markdown(
            f"At your α = {here['alpha']:.2f} (red cross): efficiency {here['efficiency_at_k']:.3f} ± "
            f"{here['efficiency_se']:.3f}, relevance {here['relevance_ndcg_at_k']:.3f} ± {here['relevance_se']:.3f} "
            "(± standard error across users; hover a point for its numbers)."
        )
        st.caption(
            "How to read it: left to right is more attention captured, bottom to top more value delivered; each dot "
            "is one α. The grey square is a random ranking"
            + (", the green dashed curve the oracle that knows the true probabilities" if curve.oracle is not None else "")
            + ". " + curve.coverage() + " The axes span at least a tenth of their level, so a curve that looks flat "
            "is flat."
        )
        for note in curve.notes:
            st.caption(note)
    table = curve.points.copy()
    if curve.oracle is not None:
        table = table.merge(curve.oracle[["alpha", "efficiency_at_k", "relevance_ndcg_at_k"]], on="alpha",
                            suffixes=("", "_oracle"))
    _download("Download the curve", table, curve.to_json(), "relevance_efficiency", "to.curve")


# ====================================================================== compute
def compute_section() -> None:
    st.subheader("Quality against compute")
    with details("What this shows"):
        st.markdown(
            "Every run of this session as a point: quality against training time, parameter count or inference latency. "
            "Single-task baselines (one network per task) usually cost the most parameters; a shared model that matches "
            "their quality for a fraction of the compute is the point of multi-task learning."
        )
    history = runs()
    if not history:
        st.info("No runs yet: train a model (and its single-task baselines) on the Train page.", icon=":material/info:")
        return
    rows = []
    for r in history:
        lat = r.result.latency
        row = {"label": tplots.run_short_label(r.id, r.config.arch, r.config.weighting, r.config.model.conditioned,
                                               r.baseline_for is not None),
               "run": r.label, "arch": r.config.arch, "train_seconds": r.result.train_seconds,
               "params": r.result.params, "latency_ms_per_1k": r.result.latency_ms_per_1k,
               "latency_q25": lat.get("q25"), "latency_q75": lat.get("q75")}
        for t in r.result.tasks:
            row[f"{t.name} {t.primary_metric}"] = r.result.test[t.name].get(t.primary_metric)
        rows.append(row)
    table = pd.DataFrame(rows)
    fixed = ("label", "run", "arch", "train_seconds", "params", "latency_ms_per_1k", "latency_q25", "latency_q75")
    quality_cols = [c for c in table.columns if c not in fixed]
    say_ignored(TRADEOFFS.take(TradeoffView, "", quality=one_of(quality_cols)))
    c1, c2 = st.columns(2)
    quality = c1.selectbox("Quality", quality_cols, key=TradeoffView.key("quality"))
    axis = c2.radio("Compute", list(tplots.COMPUTE_AXES), format_func=tplots.COMPUTE_AXES.get, horizontal=True,
                    key=TradeoffView.key("axis"))
    mirrored.append(TradeoffView(quality=quality, axis=axis))
    shown = table.dropna(subset=[quality])
    st.plotly_chart(tplots.quality_vs_compute(shown, quality, axis))
    st.caption("Runs that did not train this task are left out. Lower RMSE is better; higher AUC or accuracy is better. "
               "The quality axis spans at least a tenth of its level, so runs that look level are level. "
               "Inference latency is the median of repeated timings; its whiskers span the middle half of them.")
    st.dataframe(table, hide_index=True, column_config={
        "label": None, "arch": "architecture",
        "train_seconds": st.column_config.NumberColumn("training time (s)", format="%.1f"),
        "params": st.column_config.NumberColumn("parameters", format="localized"),
        "latency_ms_per_1k": st.column_config.NumberColumn("inference (ms per 1,000 rows)", format="%.2f"),
        "latency_q25": st.column_config.NumberColumn("inference, fast quarter", format="%.2f"),
        "latency_q75": st.column_config.NumberColumn("inference, slow quarter", format="%.2f"),
        **{c: st.column_config.NumberColumn(format="%.4f") for c in quality_cols}})
    _download("Download run metrics", table, {"runs": table.to_dict(orient="records")}, "runs_compute", "to.runs")


def _on_alpha_grid(value) -> str:
    """α as the curve's slider takes it: 0 to 1 in steps of 0.05."""
    return within(0, 1)(value) or ("" if abs(20 * value - round(20 * value)) < 1e-9 else f"{value!r} is not a multiple of 0.05")


# The open tab is state (a rerun on switching), so the address can name it and a link can open it.
front_tab, instant_tab, curve_tab, compute_tab = st.tabs(list(TABS), key=TradeoffView.key("tab"), on_change="rerun")
mirrored.append(TradeoffView(tab=st.session_state.get(TradeoffView.key("tab"), TABS[0])))
with front_tab:
    sweep_section()
with instant_tab:
    instant_section()
with curve_tab:
    curve_section()
with compute_tab:
    compute_section()
# The address mirrors the page: copying it reproduces the tab and its choices in a fresh browser.
TRADEOFFS.mirror(*mirrored, ds=ds)
