"""AppTest tests of the Train page: setup, live training, stop, errors, baselines, history."""

from __future__ import annotations

import dataclasses
import time
import types

import pandas as pd
import pytest

from mtl.metrics import relative_gain
from mtl.models import available_models
from mtl.setup import baseline_config
from mtl.weighting import available_weightings, get_weighting_class, weighting_status
from pages import _common as cfg
from pages import _datasets as datasets
from pages import _jobs as jobs
from pages import _nav as nav
from pages import _runs as app_runs
from tests._apptest import (
    button,
    fast_settings,
    no_errors,
    open_page,
    table_with,
    tiny_dataset,
    trained_run,
    training,
    wait_for_job,
)


def open_train(app, ds=None, runs=()):
    at = open_page(app, nav.TRAIN, ds or tiny_dataset(), runs)
    fast_settings(at)
    return at.run()


def tasks_widget(at):
    return at.multiselect(key=f"ui.train.tasks.{at.session_state['dataset'].short}")


def weight(at, task):
    return at.slider(key=f"ui.train.preference.{at.session_state['dataset'].short}.{task}")


def test_setup_lists_labels_weights_models_and_devices(app):
    at = open_train(app)
    no_errors(at)
    assert tasks_widget(at).value == ["click", "like", "long_view"]
    assert tasks_widget(at).options == ["click (binary)", "like (binary)", "long_view (binary)",
                                        "watch_time (regression)", "rating (regression)"]
    assert at.selectbox(key="ui.train.arch").options == list(available_models())
    shown = at.selectbox(key="ui.train.weighting").options  # display names; uninstalled ones say so
    assert [o.removesuffix(" (not installed)") for o in shown] == [
        get_weighting_class(m).display_name() for m in available_weightings()]
    captions = [c.value for c in at.caption]
    assert available_models()["shared_bottom"] in captions
    assert available_weightings()["static"] in captions
    assert "cpu" in at.selectbox(key="ui.train.device").options[0].lower()
    # Weight sliders show normalized shares.
    weight(at, "like").set_value(2.0).run()
    shares = [c.value for c in at.caption if c.value.startswith("share")]
    assert shares == ["share: **25%**", "share: **50%**", "share: **25%**"]
    assert any("No runs yet" in i.value for i in at.info)


def test_no_task_chosen_is_an_error_and_train_is_disabled(app):
    at = open_train(app)
    tasks_widget(at).set_value([]).run()
    assert any("Choose at least one task" in e.value for e in at.error)
    assert button(at, "Train").disabled


def test_all_weights_zero_is_an_error(app):
    at = open_train(app)
    tasks_widget(at).set_value(["click"]).run()
    weight(at, "click").set_value(0.0).run()
    assert any("At least one task weight must be above zero" in e.value for e in at.error)
    button(at, "Train").click().run()
    assert training(at) is None


def test_bad_hidden_sizes_are_reported_before_training(app):
    at = open_train(app)
    at.text_input(key="ui.train.hidden").set_value("64, lots").run()
    button(at, "Train").click().run()
    assert any("Hidden sizes must be comma-separated whole numbers" in e.value for e in at.error)
    assert training(at) is None


def test_data_errors_from_the_background_thread_are_shown(app):
    # A time split needs a timestamp: the error is raised while preparing, in the thread.
    frame = tiny_dataset().frame.drop(columns=["timestamp"])
    at = open_train(app, datasets.dataset_from_frames(frame, "no-time.csv"))
    at.selectbox(key=f"ui.train.split.{at.session_state['dataset'].short}").set_value("time").run()
    button(at, "Train").click().run()
    wait_for_job(at)
    assert not at.exception
    assert [e.value for e in at.error] == [
        "A time split needs a timestamp column; this data has none (choose random or user)"]
    assert at.session_state["runs"] == []


def test_training_shows_results_and_baselines_with_relative_gains(app):
    at = open_train(app)
    weight(at, "like").set_value(2.0)
    button(at, "Train").click().run()
    assert training(at) is not None or at.session_state["runs"]
    wait_for_job(at)
    no_errors(at)
    run = at.session_state["runs"][0]
    assert run.config.preference == {"click": 1.0, "like": 2.0, "long_view": 1.0} and run.config.epochs == 2 and run.config.model.hidden == (16,)
    table = table_with(at, "task", "AUC")
    assert table["task"].tolist() == ["click", "like", "long_view"]
    assert table.set_index("task").loc["click", "AUC"] == pytest.approx(run.result.test["click"]["auc"])
    assert len(at.get("plotly_chart")) == 6  # learning curves; cosines, norms, weights; the cosine matrix
    # Gradient diagnostics: findings in words and the numbers behind them.
    findings = [m.value for m in at.markdown if m.value.startswith("- **")]
    assert findings and any(w in findings[0] for w in ("conflict", "aligned", "unrelated", "dominat"))
    assert any("How to read these" in c.value for c in at.caption)
    pairs = table_with(at, "a", "b", "mean_cosine", "conflict_share")
    assert len(pairs) == 3 and pairs["measured"].iloc[0] == len(run.result.diagnostics) > 0
    assert table_with(at, "task", "mean_norm", "share")["share"].sum() == pytest.approx(1.0)

    button(at, "Train single-task baselines").click().run()
    wait_for_job(at)
    no_errors(at)
    runs = at.session_state["runs"]
    assert len(runs) == 2 and runs[1].config.arch == "single" and runs[1].baseline_for == 1
    assert runs[1].result.config.split == run.config.split  # the same split
    # The page still shows run #1, now next to its baselines.
    gains = table_with(at, "task", "metric", "gain %")
    row = gains[(gains.task == "click") & (gains.metric == "AUC")].iloc[0]
    assert row["gain %"] == pytest.approx(relative_gain(run.result.test["click"]["auc"],
                                                        runs[1].result.test["click"]["auc"], "auc"))
    assert not [b for b in at.button if b.label == "Train single-task baselines"]  # cached
    # The run history lists both runs; compare them side by side.
    history = table_with(at, "run", "architecture")
    assert history["run"].tolist() == [1, 2]
    comparison = table_with(at, "task", "metric", "A", "B", "B - A", "better")
    assert set(comparison["task"]) == {"click", "like", "long_view"}
    setup = table_with(at, "setting")
    assert "arch" in setup["setting"].tolist()


def test_baselines_are_cached_per_setup(app):
    ds = tiny_dataset()
    first = trained_run(ds, 1, ("click", "like"))
    at = open_page(app, nav.TRAIN, ds, [first])
    assert [b for b in at.button if b.label == "Train single-task baselines"]
    base = trained_run(ds, 2, ("click", "like"), arch="single")
    base.baseline_for = 1
    at.session_state["runs"] = [first, base]
    at.session_state["baselines"] = {app_runs.baseline_key(first): 2}
    at.run()
    no_errors(at)
    assert not [b for b in at.button if b.label == "Train single-task baselines"]
    assert set(table_with(at, "gain %")["task"]) == {"click", "like"}
    # Another seed is another setup: no baselines for it yet.
    other = trained_run(ds, 3, ("click", "like"), seed=7)
    assert app_runs.baseline_key(other) != app_runs.baseline_key(first)


def test_stop_keeps_the_best_model_so_far(app):
    at = open_train(app)
    at.number_input(key="ui.train.epochs").set_value(300)
    at.number_input(key=f"ui.train.batch.{at.session_state['dataset'].short}").set_value(32)
    at.number_input(key="ui.train.patience").set_value(50)
    button(at, "Train").click().run()
    job = training(at)
    deadline = time.time() + 60
    while not job.job.events and time.time() < deadline:
        time.sleep(0.1)
    at.run()
    bars = [p.text for p in at.get("progress")]
    assert any(t.startswith("Epoch ") and "/300" in t and "left" in t for t in bars), bars
    # Live gradient diagnostics next to the learning curves.
    assert job.job.diagnostics
    assert any(m.value == "**Gradient diagnostics, live**" for m in at.markdown)
    assert len(at.get("plotly_chart")) == 5
    asked = time.time()
    button(at, "Stop").click().run()
    assert job.job.stop_requested
    assert job.job.join(10), "training did not stop"
    assert time.time() - asked < 10
    wait_for_job(at)
    assert not at.exception and not at.error
    result = at.session_state["runs"][0].result
    assert result.stopped and result.reason == "stopped" and result.epochs_run < 300
    assert any("was stopped" in i.value for i in at.info)
    assert any("stopped by you" in m.value for m in at.markdown)


def test_two_sessions_training_at_once_see_only_their_own_runs(app):
    from streamlit.testing.v1 import AppTest

    from tests._apptest import APP, TIMEOUT

    one = open_train(app, tiny_dataset(seed=1, name="one.csv"))
    two = open_train(AppTest.from_file(APP, default_timeout=TIMEOUT), tiny_dataset(seed=2, name="two.csv"))
    button(one, "Train").click().run()
    button(two, "Train").click().run()
    wait_for_job(one)
    wait_for_job(two)
    for at, name in ((one, "one.csv"), (two, "two.csv")):
        no_errors(at)
        runs = at.session_state["runs"]
        assert [r.dataset for r in runs] == [name]
        assert table_with(at, "run", "dataset")["dataset"].tolist() == [name]
    a, b = one.session_state["runs"][0].result, two.session_state["runs"][0].result
    assert a.test != b.test
    assert isinstance(table_with(one, "task", "AUC"), pd.DataFrame)


def test_baselines_of_a_conditioned_run_are_plain_single_task_models(monkeypatch):
    """The app's baselines once kept a conditioned run's ``conditioned`` flag (and so
    trained a conditioned single-task model, unlike compare and sweep)."""
    ds = tiny_dataset()
    config = cfg.make_config(ds, ["click", "like"], {"click": 3.0, "like": 1.0}, arch="mmoe")
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, conditioned=True))
    started = []
    monkeypatch.setattr(app_runs, "start_training", lambda ds, config, **kw: started.append(config))
    app_runs.start_baselines(types.SimpleNamespace(ds=ds, config=config, id=1))
    assert started == [baseline_config(config)] and started[0].model.conditioned is False


def test_default_config_batch_size_leaves_enough_steps_per_epoch():
    assert cfg.default_config(tiny_dataset()).batch_size == 64  # see test_setup for the rule


def test_closing_a_session_stops_its_training():
    """A session's state going away (a closed tab) stops its job; a finished job is
    not kept alive by that hook."""
    import gc
    import weakref

    from mtl.train import BackgroundTraining

    ds = tiny_dataset()
    config = cfg.make_config(ds, ["click"], epochs=500, batch_size=32, hidden=(8,), emb_dim=4, patience=500)
    from mtl.data import prepare

    bg = BackgroundTraining(prepare(ds.data, ["click"], config.split), config)
    anchor = jobs._SessionAnchor()
    jobs.stop_when_collected(anchor, bg)
    bg.start()
    del anchor
    gc.collect()
    assert bg.stop_requested
    assert bg.join(15) and bg.result.stopped

    finished = BackgroundTraining(bg.prepared, cfg.make_config(ds, ["click"], epochs=1, hidden=(8,), emb_dim=4))
    keep = jobs._SessionAnchor()
    jobs.stop_when_collected(keep, finished)
    finished.start().join(30)
    ref = weakref.ref(finished)
    del finished
    gc.collect()
    assert ref() is None  # the session's hook does not keep finished runs (and their data) alive


def test_a_method_that_is_not_installed_says_how_to_install_it(app, monkeypatch):
    monkeypatch.setattr(get_weighting_class("upgrad"), "requires", ("no_such_module_for_tests",))
    at = open_train(app)
    select = at.selectbox(key="ui.train.weighting")
    assert "UPGrad (not installed)" in select.options
    select.set_value("upgrad").run()
    warning = [w.value for w in at.warning]
    assert warning and "no_such_module_for_tests" in warning[0] and "pip install" in warning[0]
    assert button(at, "Train").disabled
    select.set_value("static").run()
    assert not at.warning and not button(at, "Train").disabled


def test_gradient_methods_need_an_architecture_that_shares(app):
    at = open_train(app)
    at.selectbox(key="ui.train.arch").set_value("single")
    at.selectbox(key="ui.train.weighting").set_value("gradnorm").run()
    assert any("shares none" in w.value for w in at.warning)
    assert button(at, "Train").disabled


def test_the_page_says_whether_the_sliders_steer_the_method(app):
    at = open_train(app)
    at.selectbox(key="ui.train.weighting").set_value("gradnorm").run()
    assert any("slider weights act as this method's preference" in c.value for c in at.caption)
    at.selectbox(key="ui.train.weighting").set_value("nash_mtl").run()
    if weighting_status()["nash_mtl"].available:  # it balances by itself
        assert any("ignores the slider weights" in c.value for c in at.caption)
    else:  # the install hint replaces the note
        assert any("pip install" in w.value for w in at.warning)


def test_single_task_runs_explain_why_they_have_no_diagnostics(app):
    ds = tiny_dataset()
    at = open_page(app, nav.TRAIN, ds, [trained_run(ds, 1, ("click", "like"), arch="single")])
    no_errors(at)
    assert any("share no layers" in c.value for c in at.caption)


def test_a_conditioned_run_explains_that_its_weights_are_random_draws(app):
    from mtl.models import ModelConfig

    ds = tiny_dataset()
    run = trained_run(ds, 1, ("click", "like"), diagnostics_every=2,
                      model=ModelConfig(emb_dim=4, hidden=(16,), tower=(8,), conditioned=True))
    at = open_page(app, nav.TRAIN, ds, [run])
    no_errors(at)
    assert any("weights are drawn at random for every batch" in c.value for c in at.caption)
    assert any(f"({len(run.result.diagnostics)} in all)" in c.value for c in at.caption)


# ----------------------------------------------------------- time cut-offs
def _dated_dataset():
    frame = tiny_dataset().frame.copy()
    frame["date"] = pd.to_datetime(frame["timestamp"], unit="s").dt.strftime("%Y%m%d").astype(int)
    return datasets.dataset_from_frames(frame, "dated.csv")


def test_time_split_cutoffs_and_column_are_used_and_shown_in_the_run_settings(app):
    ds = _dated_dataset()
    days = sorted(ds.frame["date"].unique())
    a, b = str(days[len(days) // 2]), str(days[len(days) // 2 + 1])
    at = open_train(app, ds)
    at.selectbox(key=f"ui.train.split.{ds.short}").set_value("time").run()
    assert at.selectbox(key=f"ui.train.split_column.{ds.short}").options[:2] == ["timestamp", "date"]
    at.selectbox(key=f"ui.train.split_column.{ds.short}").set_value("date")
    dashed = f"{b[:4]}-{b[4:6]}-{b[6:]}"
    at.text_input(key=f"ui.train.cutoffs.{ds.short}").set_value(f"{a}, {dashed}").run()
    no_errors(at)
    assert any(f"rows up to **{a}** train" in c.value and "**date**" in c.value for c in at.caption)
    button(at, "Train").click().run()
    wait_for_job(at)
    no_errors(at)
    run = at.session_state["runs"][-1]
    assert run.config.split.method == "time" and run.config.split.column == "date"
    assert run.config.split.cutoffs == (int(a), dashed)
    assert run.result.valid["click"]["n"] == int((ds.frame["date"] == int(b)).sum())
    settings = table_with(at, "setting", "value").set_index("setting")["value"]
    assert settings["split.cutoffs"] == f"{a}, {dashed}" and settings["split.column"] == "date"


def test_a_bad_cutoff_is_reported_before_training(app):
    ds = _dated_dataset()
    at = open_train(app, ds)
    at.selectbox(key=f"ui.train.split.{ds.short}").set_value("time").run()
    at.text_input(key=f"ui.train.cutoffs.{ds.short}").set_value("20240105, soon").run()
    assert any("cut-off 'soon' is not a time" in e.value for e in at.error)
    assert button(at, "Train").disabled
    at.text_input(key=f"ui.train.cutoffs.{ds.short}").set_value("20240105").run()
    assert any("Give two cut-offs" in e.value for e in at.error)


def test_a_running_job_shows_progress_and_stop_at_the_top(app):
    """Issue 10, item 5: after "Train with defaults" the live progress was below the fold."""
    at = open_train(app)
    at.number_input(key="ui.train.epochs").set_value(300)
    at.number_input(key="ui.train.patience").set_value(50)
    button(at, "Train").click().run()
    at.run()
    labels = [b.label for b in at.button]
    assert labels.index("Stop") < labels.index("Train"), labels
    assert at.get("progress"), "a progress bar is shown"
    button(at, "Stop").click().run()
    wait_for_job(at)
    no_errors(at)


def test_the_chosen_methods_measured_cost_is_shown_beside_it(app):
    from mtl.train.cost import method_costs

    at = open_train(app)
    at.selectbox(key="ui.train.weighting").set_value("fairgrad").run()
    no_errors(at)
    want = method_costs().caption("fairgrad")
    assert want.startswith(f"{method_costs().costs['fairgrad'].time_ratio:.1f}x the time of static weights")
    assert any(c.value == f"Cost: {want}." for c in at.caption)


def test_shared_prepared_data_is_computed_once_and_a_failure_is_not_kept():
    import threading

    from mtl.errors import DataError

    shared, calls, gate = app_runs.SharedPrepared(size=2), [], threading.Event()

    def slow():
        calls.append(1)
        gate.wait(10)
        return "prepared"

    got = []
    threads = [threading.Thread(target=lambda: got.append(shared.get("k", slow))) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(10)
    assert got == ["prepared"] * 3 and calls == [1]

    def broken():
        raise DataError("bad data")

    with pytest.raises(DataError, match="bad data"):
        shared.get("x", broken)
    assert not shared.has("x") and shared.get("x", lambda: "fixed") == "fixed"
    shared.get("y", lambda: "y")
    assert [shared.has(k) for k in ("k", "x", "y")] == [False, True, True]  # the least recently used goes


def test_home_prepares_a_samples_default_run_once_for_every_session(app, monkeypatch):
    from tests._apptest import new_app

    ds = dataclasses.replace(tiny_dataset(), sample=datasets.get_sample("simulated"))
    monkeypatch.setattr(app_runs, "SHARED_PREPARED", app_runs.SharedPrepared())
    calls, real = [], app_runs.prepare
    monkeypatch.setattr(app_runs, "prepare", lambda *a, **k: calls.append(1) or real(*a, **k))
    at = open_page(app, nav.HOME, ds)
    key = app_runs.prepared_key(ds.token, cfg.default_config(ds))
    assert app_runs.SHARED_PREPARED.has(key)  # started while the page is read
    prepared = app_runs.SHARED_PREPARED.get(key, lambda: pytest.fail("prepared a second time"))
    for session in (at, open_page(new_app(monkeypatch), nav.HOME, ds)):
        button(session, "Train with defaults").click().run()
        job = training(session).job
        assert job.join(60) and job.outcome.result is not None
        assert job.prepared is prepared
    assert calls == [1]
