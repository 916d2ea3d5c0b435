"""AppTest tests of runs that survive a reload: every training the app finishes is kept
in the workspace, and a fresh session (a reload, a new tab) lists and opens it (issue 12
item 1, app side)."""

from __future__ import annotations

import dataclasses

from mtl.store import RunStore
from pages import _nav as nav
from pages._runs import RECOMMEND_RUN, RESULTS_RUN
from tests._apptest import (
    button,
    fast_settings,
    new_app,
    no_errors,
    open_page,
    table_with,
    tiny_dataset,
    wait_for_job,
)


def train_once(at):
    fast_settings(at, epochs=1)
    at.run()
    button(at, "Train").click().run()
    return wait_for_job(at, 120)


def download_labels(at) -> list[str]:
    return [b.proto.label for b in at.get("download_button")]


def test_a_run_on_uploaded_data_is_kept_without_its_data_and_opens_in_a_new_session(app, monkeypatch, tmp_path):
    monkeypatch.setenv("MTL_WORKSPACE", str(tmp_path / "ws"))
    ds = tiny_dataset()
    at = train_once(open_page(app, nav.TRAIN, ds))
    no_errors(at)
    run = at.session_state["runs"][0]
    infos = RunStore(tmp_path / "ws").list_runs().runs
    assert [i.id for i in infos] == [run.store_id]
    assert infos[0].kind == "training" and infos[0].status == "completed" and infos[0].data_name == ds.name
    assert not infos[0].has_model  # uploaded data stays out of the shared workspace, and the model holds it

    # A reload: a new session, same workspace, nothing in its own history.
    fresh = open_page(new_app(monkeypatch), nav.TRAIN, ds)
    no_errors(fresh)
    picker = fresh.selectbox(key=RESULTS_RUN)
    assert picker.value is None and picker.options[-1].startswith("kept ")
    kept = table_with(fresh, "kept", "name", "status", "click auc")
    assert len(kept) == 1 and kept["click auc"].iloc[0] == run.result.test["click"]["auc"]
    picker.set_value(run.store_id).run()
    no_errors(fresh)
    opened = fresh.session_state["runs"]
    assert len(opened) == 1 and opened[0].store_id == run.store_id and opened[0].ds is None
    assert fresh.selectbox(key=RESULTS_RUN).value == opened[0].id
    metrics = table_with(fresh, "task", "AUC")
    assert list(metrics["task"]) == ["click", "like", "long_view"]
    assert abs(metrics["AUC"].iloc[0] - run.result.test["click"]["auc"]) < 1e-9
    assert any("uploaded data" in i.value and "does not keep" in i.value for i in fresh.info)
    assert "Download report" in download_labels(fresh) and "Download model" not in download_labels(fresh)
    assert not [b for b in fresh.button if b.label == "Train single-task baselines"]
    # opened once: it now counts as this session's, not as "kept, not opened yet"
    assert all(not str(o).startswith("kept ") for o in fresh.selectbox(key=RESULTS_RUN).options)


def test_a_sample_run_reopens_with_its_model_for_recommendations(app, monkeypatch, tmp_path):
    monkeypatch.setenv("MTL_WORKSPACE", str(tmp_path / "ws"))
    at = train_once(open_page(app, nav.TRAIN))  # the bundled simulated sample
    no_errors(at)
    run = at.session_state["runs"][0]
    assert RunStore(tmp_path / "ws").get(run.store_id).has_model

    fresh = open_page(new_app(monkeypatch), nav.RECOMMEND)
    no_errors(fresh)
    picker = fresh.selectbox(key=RECOMMEND_RUN)
    assert picker.value is None and len(picker.options) == 1
    picker.set_value(run.store_id).run()
    no_errors(fresh)
    opened = fresh.session_state["runs"][0]
    assert opened.ds is not None and opened.ds.token == run.ds.token  # the sample, rebuilt with its roles
    assert opened.result.trained is not None
    assert fresh.selectbox(key=RECOMMEND_RUN).value == opened.id
    assert fresh.get("plotly_chart")  # the recommendations' contribution chart
    # The Train page of the same session shows it with baselines on offer (the data is back).
    fresh.switch_page(nav.TRAIN).run()
    no_errors(fresh)
    assert fresh.selectbox(key=RESULTS_RUN).value == opened.id
    assert [b for b in fresh.button if b.label == "Train single-task baselines"]
    assert {"Download report", "Download model"} <= set(download_labels(fresh))


def test_a_store_that_cannot_be_written_warns_and_keeps_the_run_in_the_session(app, monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the workspace should be")
    monkeypatch.setenv("MTL_WORKSPACE", str(blocker))
    at = train_once(open_page(app, nav.TRAIN, tiny_dataset()))
    assert not at.exception
    runs = at.session_state["runs"]
    assert len(runs) == 1 and runs[0].store_id is None
    warnings = " ".join(w.value for w in at.warning)
    assert "could not be saved to the workspace" in warnings and "Run #1 is kept in this session" in warnings
    assert table_with(at, "task", "AUC") is not None  # its results still show


def test_a_damaged_kept_run_is_skipped_and_a_stopped_one_says_so(app, monkeypatch, tmp_path):
    from tests._apptest import trained_run

    monkeypatch.setenv("MTL_WORKSPACE", str(tmp_path / "ws"))
    store = RunStore(tmp_path / "ws")
    ds = tiny_dataset()
    good = trained_run(ds)
    stopped = store.save(dataclasses.replace(good.result, stopped=True, reason="stopped"), name="stopped one",
                         model=False)
    broken = store.save(good.result, name="broken", model=False)
    (store.path / "runs" / broken.id / "meta.json").write_text("{not json")
    at = open_page(app, nav.TRAIN, ds)
    no_errors(at)
    options = at.selectbox(key=RESULTS_RUN).options
    assert len(options) == 1 and "stopped one (stopped)" in options[0]
    assert any(f"Skipped {broken.id}" in c.value for c in at.caption)
    at.selectbox(key=RESULTS_RUN).set_value(stopped.id).run()
    no_errors(at)
    assert at.session_state["runs"][0].result.stopped
