"""AppTest tests of the Compare methods page: setup, input errors, a comparison run
in the background, stopping it, and errors from the background thread."""

from __future__ import annotations

import re
import time

import pytest

import mtl.backends.local
import mtl.compare
from mtl.errors import DataError
from mtl.report import comparison_table
from mtl.weighting import get_weighting_class, weighting_status
from pages import _datasets as datasets
from pages import _nav as nav
from tests._apptest import button, no_errors, open_page, table_with, tiny_dataset, training, wait_for_job


def open_compare(app):
    return open_page(app, nav.COMPARE, tiny_dataset())


def tasks_widget(at):
    return at.multiselect(key=f"ui.cmp.tasks.{at.session_state['dataset'].short}")


def wait(at, timeout: float = 120.0):
    return wait_for_job(at, timeout, kind="compare")


def quick(at, methods=("static", "uncertainty"), seeds=2, tasks=("click", "like")):
    tasks_widget(at).set_value(list(tasks))
    at.multiselect(key="ui.cmp.methods").set_value(list(methods))
    at.number_input(key="ui.cmp.seeds").set_value(seeds)
    at.number_input(key="ui.cmp.epochs").set_value(1)
    return at.run()


def test_setup_preselects_installed_methods_and_says_what_will_be_trained(app):
    at = open_compare(app)
    no_errors(at)
    assert at.title[0].value == "Compare methods"
    chosen = at.multiselect(key="ui.cmp.methods").value
    assert chosen == [m for m in ("static", "uncertainty", "gradnorm", "upgrad") if weighting_status()[m].available]
    assert "single" not in at.selectbox(key="ui.cmp.arch").options  # nothing to balance without sharing
    n = (len(chosen) + 1) * 3
    assert any(f"This trains **{n} models**" in c.value for c in at.caption)
    assert any("Run the comparison" in i.value for i in at.info)
    explained = " ".join(m.value for m in at.markdown)
    assert "**GradNorm**" in explained and "ignores the task weights" in explained  # Nash-MTL


@pytest.mark.parametrize("change,message", [
    (lambda at: tasks_widget(at).set_value(["click"]), "at least two tasks"),
    (lambda at: at.multiselect(key="ui.cmp.methods").set_value([]), "at least one weighting method"),
])
def test_bad_setups_are_explained_and_nothing_starts(app, change, message):
    at = open_compare(app)
    change(at)
    at.run()
    assert any(message in e.value for e in at.error)
    assert button(at, "Run the comparison").disabled
    assert training(at, "compare") is None


def test_zero_weights_are_an_error(app):
    at = quick(open_compare(app))
    for task in ("click", "like"):
        at.slider(key=f"ui.cmp.preference.{at.session_state['dataset'].short}.{task}").set_value(0.0)
    at.run()
    assert any("At least one task weight must be above zero" in e.value for e in at.error)
    assert button(at, "Run the comparison").disabled


def test_a_method_that_is_not_installed_names_the_install_command(app, monkeypatch):
    monkeypatch.setattr(get_weighting_class("upgrad"), "requires", ("no_such_module_for_tests",))
    at = quick(open_compare(app), methods=("static", "upgrad"))
    assert "UPGrad (not installed)" in at.multiselect(key="ui.cmp.methods").options
    errors = [e.value for e in at.error]
    assert errors and "pip install" in errors[0] and "no_such_module_for_tests" in errors[0]
    assert button(at, "Run the comparison").disabled


def test_a_comparison_runs_in_the_background_and_shows_table_charts_and_findings(app):
    at = quick(open_compare(app))
    button(at, "Run the comparison").click().run()
    assert training(at, "compare") is not None or "results" in at.session_state
    wait(at)
    no_errors(at)
    result = at.session_state["results"]["compare"].result
    assert [(r.method, r.seed) for r in result.runs] == [
        ("single-task", 0), ("static", 0), ("uncertainty", 0), ("single-task", 1), ("static", 1), ("uncertainty", 1)]
    assert result.config.preference == {"click": 1.0, "like": 1.0} and result.config.epochs == 1
    table = table_with(at, "method", "Δm %", "AUC click", "AUC like")
    assert table.equals(comparison_table(result))
    assert table["method"].iloc[0] == "Single-task baseline" and set(table["method"]) >= {"Static", "Uncertainty"}
    assert " ± " in table["AUC click"].iloc[0]
    assert len(at.get("plotly_chart")) == 2
    assert any("has the best Δm" in m.value for m in at.markdown)
    assert any("beat training each task on its own" in m.value for m in at.markdown)
    long = table_with(at, "method", "seed", "task", "metric", "value")
    assert len(long) == len(result.long())
    assert not at.info or not any("Run the comparison" in i.value for i in at.info)
    # Take the best method to the Train page, set up like the comparison.
    best = result.best()
    button(at, f"Train with {get_weighting_class(best).display_name()} on the Train page").click().run()
    no_errors(at)
    assert at.title[0].value == "Train"
    assert at.selectbox(key="ui.train.weighting").value == best
    assert at.multiselect(key=f"ui.train.tasks.{at.session_state['dataset'].short}").value == ["click", "like"]
    assert at.number_input(key="ui.train.epochs").value == 1


def test_stopping_keeps_the_models_trained_so_far(app):
    at = quick(open_compare(app), seeds=10)
    at.number_input(key="ui.cmp.epochs").set_value(3)
    button(at, "Run the comparison").click().run()
    job = at.session_state["jobs"]["compare"].job
    deadline = time.time() + 60
    while job.progress[0] < 1 and time.time() < deadline:  # the first model is trained
        time.sleep(0.05)
    at.run()
    assert any(re.match(r"Training .+, seed \d · model \d+ of 30 · \d+ s · about [\d.]+ (s|min) left", p.text)
               for p in at.get("progress")), [p.text for p in at.get("progress")]
    button(at, "Stop the comparison").click().run()
    assert job.stop_requested
    wait(at)
    no_errors(at)
    result = at.session_state["results"]["compare"].result
    assert result.stopped and 0 < len(result.runs) < 30
    assert any(i.value.startswith("Stopped early: the table and charts count") for i in at.info)


def test_errors_in_the_background_are_shown_and_earlier_results_kept(app, monkeypatch):
    at = quick(open_compare(app), methods=("static",), seeds=1)
    button(at, "Run the comparison").click().run()
    wait(at)
    earlier = at.session_state["results"]["compare"]

    def broken(*args, **kwargs):
        raise DataError("Column 'like' has no positive label in the training split")

    monkeypatch.setattr(mtl.compare, "compare", broken)
    button(at, "Run the comparison").click().run()
    wait(at)
    assert any("no positive label" in e.value for e in at.error)
    assert at.session_state["results"]["compare"] is earlier
    assert table_with(at, "method", "Δm %") is not None


def test_a_failed_training_shows_its_reason_next_to_the_models_before_it(app, monkeypatch):
    class Failing(mtl.backends.local.Trainer):
        def fit(self, callback=None):
            if self.config.weighting == "uncertainty":
                raise FloatingPointError("loss became NaN")
            return super().fit(callback)

    monkeypatch.setattr(mtl.backends.local, "Trainer", Failing)
    at = quick(open_compare(app), seeds=1)
    button(at, "Run the comparison").click().run()
    wait(at)
    assert not at.exception
    errors = [e.value for e in at.error]
    assert errors == ["Training Uncertainty with seed 0 failed (FloatingPointError: loss became NaN); "
                      "the comparison stopped there"]
    assert table_with(at, "method", "Δm %")["method"].tolist() == ["Single-task baseline", "Static"]


def test_stopping_before_the_first_model_keeps_the_earlier_results(app, monkeypatch):
    at = quick(open_compare(app), methods=("static",), seeds=1)
    button(at, "Run the comparison").click().run()
    wait(at)
    earlier = at.session_state["results"]["compare"]
    release = __import__("threading").Event()
    original = mtl.compare.compare

    def held(prepared, *args, should_stop=None, **kwargs):
        release.wait(20)  # the user presses Stop before the first model starts
        return original(prepared, *args, should_stop=should_stop, **kwargs)

    monkeypatch.setattr(mtl.compare, "compare", held)
    button(at, "Run the comparison").click().run()
    button(at, "Stop the comparison").click().run()
    release.set()
    wait(at)
    assert at.session_state["results"]["compare"] is earlier
    assert any("stopped before any model was trained" in i.value for i in at.info) and not at.error
    assert table_with(at, "method", "Δm %") is not None


def test_the_metric_compared_can_be_chosen_per_task(app):
    at = quick(open_compare(app), methods=("static",), seeds=1)
    short = at.session_state["dataset"].short
    like = at.selectbox(key=f"ui.cmp.metrics.{short}.like")
    assert like.options == ["AUC", "GAUC", "accuracy", "logloss", "F1"] and like.value == "auc"
    like.set_value("logloss").run()
    button(at, "Run the comparison").click().run()
    wait(at)
    no_errors(at)
    result = at.session_state["results"]["compare"].result
    assert result.metrics == {"click": "auc", "like": "logloss"}
    assert "logloss like" in table_with(at, "method", "Δm %").columns
    assert any("batch size" in c.value and "learning rate" in c.value for c in at.caption)


def test_gauc_is_offered_only_with_user_ids(app):
    frame = tiny_dataset().frame.drop(columns=["user_id"])
    at = open_page(app, nav.COMPARE, datasets.dataset_from_frames(frame, "no-users.csv"))
    no_errors(at)
    short = at.session_state["dataset"].short
    assert "GAUC" not in at.selectbox(key=f"ui.cmp.metrics.{short}.click").options


def test_the_chosen_methods_measured_costs_are_shown_beside_them(app):
    from mtl.train.cost import method_costs

    at = open_compare(app)
    at.multiselect(key="ui.cmp.methods").set_value(["static", "imtl_g", "config"]).run()
    no_errors(at)
    costs = method_costs().costs
    line = next(c.value for c in at.caption if c.value.startswith("Training time per epoch vs static weights"))
    assert f"IMTL-G {costs['imtl_g'].time_ratio:.1f}x" in line and f"ConFIG {costs['config'].time_ratio:.1f}x" in line
    explained = " ".join(m.value for m in at.markdown)
    assert f"*Cost: {method_costs().caption('famo')}.*" in explained  # every method, chosen or not


def test_history_features_on_data_without_user_ids_are_refused_before_running(app):
    frame = tiny_dataset().frame.drop(columns=["user_id"])
    at = open_page(app, nav.COMPARE, datasets.dataset_from_frames(frame, "no-users.csv"))
    at.checkbox(key="ui.cmp.history").check().run()
    assert any("need a user id and an item id" in e.value for e in at.error)
    assert button(at, "Run the comparison").disabled
