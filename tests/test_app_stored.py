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
    said = [c for c in at.caption if "could not be read" in c.value]
    assert len(said) == 1 and "1 kept run could not be read" in said[0].value and broken.id not in said[0].value
    assert broken.id in said[0].proto.help  # for whoever looks: the folder to repair or delete
    at.selectbox(key=RESULTS_RUN).set_value(stopped.id).run()
    no_errors(at)
    assert at.session_state["runs"][0].result.stopped


# ------------------------------------------------------------------ run manager
def _kept_training(ds=None, name="kept one", **kw):
    """A tiny training saved straight into the test's workspace (no UI): its info."""
    from pages._stored import source_of
    from tests._apptest import trained_run

    ds = ds or tiny_dataset()
    run = trained_run(ds, **kw)
    extra = {"app": {"source": source_of(ds)}}
    return RunStore().save(run.result, name=name, model=ds.sample is not None, extra=extra), run


def test_the_run_manager_renames_tags_and_deletes_only_after_confirmation(app):
    first, _ = _kept_training(name="first")
    second, _ = _kept_training(name="second")
    at = open_page(app, nav.TRAIN, tiny_dataset())
    no_errors(at)
    assert at.selectbox(key="kept.train.pick").value == second.id  # newest first
    at.selectbox(key="kept.train.pick").set_value(first.id).run()
    name_box = [t for t in at.text_input if t.label == "Name"][0]
    tags_box = [t for t in at.text_input if t.label.startswith("Tags")][0]
    name_box.set_value("baseline for the class")
    tags_box.set_value("class, week 1")
    button(at, "Save name and tags").click().run()
    no_errors(at)
    info = RunStore().get(first.id)
    assert info.name == "baseline for the class" and info.tags == ["class", "week 1"]
    assert any("Saved: baseline for the class" in s.value for s in at.success)

    # Filter by tag: only the tagged run is listed.
    at.selectbox(key="kept.train.tag").set_value("class").run()
    assert list(table_with(at, "kept", "name", "tags")["name"]) == ["baseline for the class"]
    at.selectbox(key="kept.train.tag").set_value(None).run()

    # Delete: the button does nothing until the confirmation is ticked.
    at.selectbox(key="kept.train.pick").set_value(second.id).run()
    delete = at.button(key=f"kept.train.delete.{second.id}")
    assert delete.disabled
    at.checkbox(key=f"kept.train.sure.{second.id}").check().run()
    at.button(key=f"kept.train.delete.{second.id}").click().run()
    no_errors(at)
    assert [i.id for i in RunStore().list_runs()] == [first.id]
    assert any("Deleted second" in s.value for s in at.success)


def test_deleting_a_run_opened_in_the_session_keeps_it_in_the_session(app):
    info, _ = _kept_training(name="opened then deleted")
    at = open_page(app, nav.TRAIN, tiny_dataset())
    at.selectbox(key=RESULTS_RUN).set_value(info.id).run()
    assert at.session_state["runs"][0].store_id == info.id
    at.checkbox(key=f"kept.train.sure.{info.id}").check().run()
    at.button(key=f"kept.train.delete.{info.id}").click().run()
    no_errors(at)
    assert RunStore().list_runs().runs == []
    run = at.session_state["runs"][0]
    assert run.store_id is None and at.selectbox(key=RESULTS_RUN).value == run.id
    assert table_with(at, "task", "AUC") is not None  # still shown: nothing lost by the deletion


# ------------------------------------------------------------------ trade-offs
def test_trade_offs_open_a_kept_conditioned_model_and_a_kept_model_for_the_curve(app, monkeypatch):
    from mtl.models import ModelConfig
    from pages._datasets import sample_dataset

    sample = sample_dataset("simulated")
    plain, _ = _kept_training(sample, name="plain")
    cond, _ = _kept_training(sample, name="conditioned", model=ModelConfig(emb_dim=4, hidden=(16,), tower=(8,),
                                                                          conditioned=True))
    assert RunStore().get(cond.id).summary["conditioned"] is True
    assert RunStore().get(plain.id).summary["conditioned"] is False
    at = open_page(new_app(monkeypatch), nav.TRADEOFFS)
    no_errors(at)
    picker = at.selectbox(key="ui.to.crun")
    assert picker.value is None and picker.options == [f"kept {cond.created_text} · conditioned"]  # not the plain one
    assert len(at.selectbox(key="ui.to.vrun").options) == 2  # any kept model with users draws the curve
    picker.set_value(cond.id).run()
    no_errors(at)
    opened = at.session_state["runs"][0]
    assert opened.store_id == cond.id and opened.result.trained is not None
    assert at.selectbox(key="ui.to.crun").value == opened.id
    assert [s for s in at.slider if s.label == "click weight"]  # instant weights, no retraining
    at.selectbox(key="ui.to.vrun").set_value(plain.id).run()
    no_errors(at)
    second = at.session_state["runs"][1]
    assert second.store_id == plain.id and at.selectbox(key="ui.to.vrun").value == second.id
    assert any("What the curve shows" in m.value for m in at.markdown)


# -------------------------------------------------------------- open a saved model
def test_a_saved_model_zip_opens_on_the_data_page_and_recommends(app, monkeypatch):
    from pages._datasets import sample_dataset
    from pages._downloads import model_zip_bytes
    from tests._apptest import trained_run

    run = trained_run(sample_dataset("simulated"))
    content = model_zip_bytes("test-zip", run.result.trained)
    at = open_page(app, nav.DATA)
    at.file_uploader(key="upload.model").set_value(("model.zip", content, "application/zip")).run()
    no_errors(at)
    opened = at.session_state["runs"][0]
    assert opened.origin == "saved model" and opened.result.trained is not None and opened.ds is None
    assert opened.result.test["click"]["auc"] == run.result.test["click"]["auc"]
    assert any("Opened as run #1" in s.value for s in at.success)
    at.switch_page(nav.RECOMMEND).run()
    no_errors(at)
    assert at.selectbox(key=RECOMMEND_RUN).value == opened.id
    assert at.get("plotly_chart")
    # Shared workspace: the model holds the uploader's data, so only its numbers are kept.
    info = RunStore().get(opened.store_id)
    assert info.kind == "training" and not info.has_model


def test_a_bad_model_zip_gives_one_clear_message_and_changes_nothing(app):
    import io
    import zipfile

    at = open_page(app, nav.DATA)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("model/model.json", "{}")
    for name, content, words in (("notes.zip", b"not a zip at all", "not a zip file"),
                                 ("half.zip", buffer.getvalue(), "encoder.json, model.safetensors missing")):
        at.file_uploader(key="upload.model").set_value((name, content, "application/zip")).run()
        assert not at.exception
        assert len(at.error) == 1 and name in at.error[0].value and words in at.error[0].value
        assert "runs" not in at.session_state or not at.session_state["runs"]
    assert RunStore().list_runs().runs == []


# ------------------------------------------------------- comparisons and sweeps
def test_a_comparison_run_in_the_app_is_kept_and_reopens_after_a_reload(app, monkeypatch):
    ds = tiny_dataset()
    at = open_page(app, nav.COMPARE, ds)
    at.multiselect(key=f"ui.cmp.tasks.{ds.short}").set_value(["click", "like"])
    at.multiselect(key="ui.cmp.methods").set_value(["static"])
    at.number_input(key="ui.cmp.seeds").set_value(1)
    at.number_input(key="ui.cmp.epochs").set_value(1)
    button(at, "Run the comparison").click().run()
    wait_for_job(at, 120, kind="compare")
    no_errors(at)
    entry = at.session_state["results"]["compare"]
    infos = RunStore().list_runs(kind="comparison").runs
    assert [i.id for i in infos] == [entry.meta["store_id"]] and infos[0].data_name == ds.name
    assert infos[0].summary["methods"] == ["static"]

    fresh = open_page(new_app(monkeypatch), nav.COMPARE, ds)  # a reload
    no_errors(fresh)
    assert "results" not in fresh.session_state or "compare" not in fresh.session_state["results"]
    picker = fresh.selectbox(key="cmp.kept")
    assert picker.value is None and len(picker.options) == 1
    picker.set_value(infos[0].id).run()
    no_errors(fresh)
    shown = fresh.session_state["results"]["compare"]
    assert shown.meta["store_id"] == infos[0].id and shown.result.methods == ["static"]
    table = table_with(fresh, "method", "Δm %", "AUC click", "AUC like")
    assert list(table["method"]) == list(table_with(at, "method", "Δm %")["method"])
    assert table["AUC click"].iloc[1] == table_with(at, "method", "AUC click")["AUC click"].iloc[1]
    assert "Download report" in download_labels(fresh)
    # Shown now: not offered again; the manager lists it.
    assert not [s for s in fresh.selectbox if s.key == "cmp.kept"]
    assert fresh.selectbox(key="kept.cmp.pick").value == infos[0].id


def test_a_kept_sweep_reopens_on_trade_offs_with_its_front(app):
    from mtl.data import prepare
    from mtl.models import ModelConfig
    from mtl.store import describe_data
    from mtl.tradeoff import sweep, weight_grid
    from mtl.train import TrainConfig
    from pages._stored import source_of

    ds = tiny_dataset()
    cfg = TrainConfig(tasks=["click", "like"], epochs=1, batch_size=256, model=ModelConfig(emb_dim=4, hidden=(16,),
                                                                                          tower=(8,)))
    prepared = prepare(ds.data, cfg.tasks, cfg.split, seed=cfg.seed)
    result = sweep(prepared, cfg, weight_grid(2, 3), conditioned=False)
    info = RunStore().save(result, dataset=describe_data(prepared), config=cfg, model=False,
                           extra={"app": {"source": source_of(ds), "meta": {"arch": cfg.arch, "tasks": cfg.tasks}}})
    at = open_page(app, nav.TRADEOFFS, ds)
    no_errors(at)
    at.selectbox(key="to.kept").set_value(info.id).run()
    no_errors(at)
    entry = at.session_state["results"]["sweep"]
    assert entry.meta["store_id"] == info.id and len(entry.result.points) == 3 and entry.ds is None
    assert any(m.label == "Hypervolume of the front" for m in at.metric)
    assert any(f"on **{ds.name}**" in m.value for m in at.markdown)  # the data named, though not rebuilt


# ---------------------------------------------------------- shared-server visitor mode
def test_visitor_mode_keeps_each_visitors_runs_private_and_shares_by_link(app, monkeypatch):
    from mtl.store import is_visitor_key

    monkeypatch.setenv("MTL_VISITOR_MODE", "1")
    ds = tiny_dataset()
    public, _ = _kept_training(name="prepared for the class")  # saved without an owner (e.g. from the CLI)
    alice = train_once(open_page(app, nav.TRAIN, ds))
    no_errors(alice)
    alice_key = alice.query_params["visitor"]
    assert is_visitor_key(alice_key)
    run = alice.session_state["runs"][0]
    info = RunStore().get(run.store_id)
    assert info.owner == alice_key and info.has_model  # her upload's model is kept for her alone

    # Bob: another visitor, another key; he sees the class's run, never Alice's.
    bob = open_page(new_app(monkeypatch), nav.TRAIN, ds)
    no_errors(bob)
    bob_key = bob.query_params["visitor"]
    assert is_visitor_key(bob_key) and bob_key != alice_key
    assert bob.selectbox(key=RESULTS_RUN).options == [f"kept {public.created_text} · prepared for the class"]
    assert any("bookmark this address" in i.value for i in bob.info)
    assert any("Only its owner can" in c.value for c in bob.caption)  # the class's run: listed, not his to change

    # Alice comes back with her bookmarked address: her run is listed again.
    back = new_app(monkeypatch)
    back.query_params["visitor"] = alice_key
    back = open_page(back, nav.TRAIN, ds)
    assert back.query_params["visitor"] == alice_key
    assert any("shared_bottom + static" in o for o in back.selectbox(key=RESULTS_RUN).options)

    # She shares it; the link opens it for Bob, with its numbers but without the model (it holds her data).
    back.selectbox(key="kept.train.pick").set_value(run.store_id).run()
    back.toggle(key=f"kept.train.share.{run.store_id}").set_value(True).run()
    no_errors(back)
    assert RunStore().get(run.store_id).shared
    link = [c.value for c in back.code if f"run={run.store_id}" in c.value]
    assert link and alice_key not in link[0] and "train?run=" in link[0]
    linked = new_app(monkeypatch)  # the link names the Train page: it is the first page this session runs
    linked.query_params.update(visitor=bob_key, run=run.store_id)
    linked.session_state["dataset"] = ds
    linked.switch_page(nav.TRAIN).run()
    no_errors(linked)
    opened = linked.session_state["runs"][0]
    assert opened.store_id == run.store_id and opened.result.trained is None
    assert any("Opened without its model" in i.value for i in linked.info)
    assert table_with(linked, "task", "AUC") is not None
    assert linked.query_params["visitor"] == bob_key  # the receiver keeps his own key
    linked.switch_page(nav.RECOMMEND).run()  # nor is her model offered to him for recommendations
    no_errors(linked)
    assert any("Train a model first" in i.value for i in linked.info)
    with_bad_key = new_app(monkeypatch)
    with_bad_key.query_params["visitor"] = "not/a key"
    with_bad_key = open_page(with_bad_key, nav.TRAIN, ds)
    assert is_visitor_key(with_bad_key.query_params["visitor"])
    assert any("no valid visitor key" in i.value for i in with_bad_key.info)


def test_without_visitor_mode_the_workspace_is_shared_and_the_address_holds_no_key(app, monkeypatch):
    monkeypatch.delenv("MTL_VISITOR_MODE", raising=False)
    info, _ = _kept_training(name="everyone sees it")
    at = open_page(app, nav.TRAIN, tiny_dataset())
    no_errors(at)
    assert "visitor" not in at.query_params
    assert at.selectbox(key=RESULTS_RUN).options == [f"kept {info.created_text} · everyone sees it"]
    assert f"/train?run={info.id}" in " ".join(c.value for c in at.caption)  # a link to open it


def test_a_link_to_a_run_that_is_gone_says_so_once(app):
    app.query_params["run"] = "20250101-000000-abcdef"
    app.session_state["dataset"] = tiny_dataset()
    app.switch_page(nav.TRAIN).run()
    assert not app.exception
    assert any("not in this workspace" in w.value for w in app.warning)
    app.run()
    assert not any("not in this workspace" in w.value for w in app.warning)
