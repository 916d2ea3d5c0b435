"""AppTest tests of "Download report" and "Download model" on the Train, Compare and
Trade-offs results (issue 12 item 4, app side)."""

from __future__ import annotations

import dataclasses
import io
import zipfile

from mtl.export import load_model
from pages import _downloads as downloads
from pages import _nav as nav
from tests._apptest import button, no_errors, open_page, tiny_dataset, trained_run, wait_for_job


def download_labels(at) -> list[str]:
    return [b.proto.label for b in at.get("download_button")]


def test_train_results_offer_a_report_and_the_model_built_only_once(app):
    ds = tiny_dataset()
    run = trained_run(ds)
    at = open_page(app, nav.TRAIN, ds, [run])
    no_errors(at)
    assert {"Download report", "Download model"} <= set(download_labels(at))
    html = downloads.report_bytes(run.uid, run.result, lambda: downloads.data_description(ds)).decode()
    assert html.startswith("<!DOCTYPE html>")
    for section in ("summary", "findings", "metrics", "charts", "config", "data", "environment"):
        assert f'id="{section}"' in html
    assert "Completed." in html and "click" in html and ds.name in html
    # cached per run: the second call returns the very same bytes without rebuilding
    assert downloads.report_bytes(run.uid, None, lambda: {}).decode() == html
    packed = downloads.model_zip_bytes(run.uid, run.result.trained)
    names = zipfile.ZipFile(io.BytesIO(packed)).namelist()
    assert "model/model.safetensors" in names and "model/model.json" in names
    back = load_model(packed)
    assert list(back.tasks) == list(run.result.trained.tasks)


def test_a_stopped_runs_report_says_so():
    ds = tiny_dataset()
    run = trained_run(ds)
    stopped = dataclasses.replace(run.result, stopped=True, reason="stopped")
    html = downloads.report_bytes("stopped-" + run.uid, stopped, lambda: downloads.data_description(ds)).decode()
    assert "Stopped early" in html and "Completed." not in html


def test_comparison_results_offer_a_report(app):
    from tests.test_app_compare import open_compare, quick, wait

    at = quick(open_compare(app))
    button(at, "Run the comparison").click().run()
    wait(at)
    no_errors(at)
    assert "Download report" in download_labels(at)
    assert "Download model" not in download_labels(at)  # many models: none is "the" model
    entry = at.session_state["results"]["compare"]
    html = downloads.report_bytes(entry.meta["uid"], entry.result, lambda: downloads.data_description(entry.ds)).decode()
    assert "Method comparison" in html and "uncertainty" in html


def test_sweep_results_offer_a_report_and_the_conditioned_model(app):
    at = open_page(app, nav.TRADEOFFS, tiny_dataset())
    at.slider(key="ui.to.points").set_value(3)
    at.number_input(key="ui.to.epochs").set_value(1)
    button(at, "Run the sweep").click().run()
    wait_for_job(at, 120, kind="sweep")
    no_errors(at)
    assert {"Download report", "Download model"} <= set(download_labels(at))
    entry = at.session_state["results"]["sweep"]
    html = downloads.report_bytes(entry.meta["uid"], entry.result, lambda: downloads.data_description(entry.ds),
                                  entry.meta["config"]).decode()
    assert "Task-weight sweep" in html and "not recorded" not in html.split('id="config"')[1][:400]
