"""AppTest tests of training faults on the Train page: a diverged run says so where the
results show, with the step, the task and the likely cause."""

from __future__ import annotations

from mtl.train.faults import Fault
from pages import _nav as ui
from tests._apptest import button, fast_settings, open_page, tiny_dataset, trained_run, wait_for_job


def test_a_run_that_diverges_before_any_evaluation_is_an_error_on_the_page(app):
    at = open_page(app, ui.TRAIN, tiny_dataset())
    fast_settings(at)
    at.number_input(key="ui.train.lr").set_value(1.0)
    at.run()
    button(at, "Train").click().run()
    wait_for_job(at)
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("Training diverged at step "), errors
    assert "learning rate (1) is probably too high" in errors[0] and "No model was kept" in errors[0]
    assert at.session_state["runs"] == []


def test_a_kept_model_of_a_diverged_run_shows_its_results_and_the_fault(app):
    ds = tiny_dataset()
    run = trained_run(ds)
    fault = Fault("non-finite loss", 30, 1.5, "like", "the like loss became nan on a training batch",
                  "the learning rate (0.9) is probably too high: try 0.09 (the default is 0.002)", kept_epoch=1.0)
    run.result.reason, run.result.fault = "diverged", fault.to_json()
    at = open_page(app, ui.TRAIN, ds, [run])
    assert not at.exception
    assert [e.value for e in at.error] == [fault.message]
    assert any("stopped: training diverged" in m.value for m in at.markdown)
    assert any("Test metrics per task" in m.value for m in at.markdown)  # the kept model's results still show
