"""The run store (mtl.store): round trips, concurrent writers, damaged entries,
visitor scoping, disk errors, and listing hundreds of runs."""

from __future__ import annotations

import errno
import json
import math
import multiprocessing
import os
import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path

import _fixtures
import pytest
from _fixtures import feed_prepared, tiny_config, trained_feed

from mtl.compare import Comparison, Run, compare
from mtl.store import RunStore, StoreError, describe_data, from_document, kind_of, new_visitor_key, workspace_path
from mtl.store.documents import training_from_json
from mtl.tradeoff import sweep


def _training():
    return trained_feed()[2]


def _comparison() -> Comparison:
    return compare(feed_prepared(), tiny_config(), ["static", "uncertainty"], seeds=1)


def test_workspace_path_follows_the_argument_then_the_environment_then_the_default(monkeypatch, tmp_path):
    monkeypatch.delenv("MTL_WORKSPACE", raising=False)
    assert workspace_path() == Path("mtl-workspace")
    monkeypatch.setenv("MTL_WORKSPACE", str(tmp_path / "env"))
    assert workspace_path() == tmp_path / "env"
    assert workspace_path(tmp_path / "arg") == tmp_path / "arg"
    assert RunStore().path == tmp_path / "env"


def test_a_training_round_trips_with_its_model(tmp_path):
    result = _training()
    store = RunStore(tmp_path / "ws")
    dataset = describe_data(feed_prepared())
    info = store.save(result, name="first try", tags=["demo", " ", "demo"], dataset=dataset)
    assert info.kind == "training" and info.status == "completed" and info.tags == ["demo"] and info.has_model
    assert info.data_name == "tiny-feed"

    listing = store.list_runs()
    assert [r.id for r in listing] == [info.id] and not listing.notes
    listed = listing.runs[0]
    assert listed.name == "first try" and listed.summary["arch"] == result.config.arch
    assert listed.summary["metrics"]["click"][0] == "auc"
    assert listed.summary["metrics"]["click"][1] == pytest.approx(result.test["click"]["auc"])

    # a fresh store object on the same folder: what a restarted app sees
    again = RunStore(tmp_path / "ws").load(info.id)
    loaded = again.result
    assert loaded.config == result.config
    assert [t.to_dict() for t in loaded.tasks] == [t.to_dict() for t in result.tasks]
    assert loaded.test == result.test and loaded.valid == result.valid
    assert loaded.history == result.history and loaded.diagnostics == result.diagnostics
    assert loaded.best_epoch == result.best_epoch and loaded.reason == result.reason
    assert again.dataset["rows"] == 4000 and again.dataset["roles"] and again.dataset["labels"]
    assert again.dataset["train_rows"] + again.dataset["valid_rows"] + again.dataset["test_rows"] == 4000

    model = RunStore(tmp_path / "ws").load_model(info.id)
    frame = _fixtures.feed_frame().head(50)
    assert (model.predict(frame).to_numpy() == result.trained.predict(frame).to_numpy()).all()
    with_model = store.load_result(info.id)
    assert with_model.trained is not None and with_model.trained.task_names == ["click", "like"]


def test_a_comparison_and_a_sweep_round_trip(tmp_path):
    store = RunStore(tmp_path)
    cmp = _comparison()
    sw = sweep(feed_prepared(), tiny_config(), points=3, conditioned=True)
    a = store.save(cmp)
    b = store.save(sw, tags=["front"])
    assert (a.kind, b.kind) == ("comparison", "sweep")
    assert not a.has_model and b.has_model  # the sweep's conditioned model is kept
    assert a.summary["methods"] == ["static", "uncertainty"] and a.summary["best"] in ("static", "uncertainty")

    got = store.load(a.id).result
    assert got.table().equals(cmp.table()) and json.dumps(got.to_json()) == json.dumps(cmp.to_json())
    got = store.load(b.id).result
    assert got.hypervolume() == pytest.approx(sw.hypervolume())
    assert got.pareto() == sw.pareto() and len(got.conditioned) == 3
    assert store.load_model(b.id).model.config.conditioned
    assert [r.kind for r in store.list_runs(kind="sweep")] == ["sweep"]
    assert [r.id for r in store.list_runs(tag="front")] == [b.id]


def test_stopped_and_failed_runs_say_so(tmp_path):
    store = RunStore(tmp_path)
    stopped = replace(_training(), stopped=True, reason="stopped by user")
    info = store.save(stopped, model=False)
    assert info.status == "stopped" and not info.has_model
    assert "stopped" in store.load(info.id).document["status_reason"]
    failed = Comparison(tasks=_training().tasks, metrics={"click": "auc", "like": "auc"}, methods=["static"], seeds=[0],
                        config=tiny_config(), runs=[Run("single-task", 0, _training().test, 1.0, 1.0, "completed")],
                        stopped=True, error="Training Static with seed 0 failed (boom)")
    info = store.save(failed)
    assert info.status == "failed" and "boom" in store.load(info.id).document["status_reason"]
    fault = {"kind": "non-finite", "step": 12, "task": "click", "message": "the click loss became NaN at step 12"}
    diverged = replace(_training(), stopped=True, reason="diverged", fault=fault)
    info = store.save(diverged, model=False)
    assert info.status == "failed" and "NaN at step 12" in store.load(info.id).document["status_reason"]


def test_rename_tag_share_and_delete(tmp_path):
    store = RunStore(tmp_path)
    info = store.save(_training(), model=False)
    assert store.rename(info.id, "  better name ").name == "better name"
    with pytest.raises(StoreError, match="empty"):
        store.rename(info.id, " ")
    assert store.tag(info.id, add=["a", "b"]).tags == ["a", "b"]
    assert store.tag(info.id, remove=["a"]).tags == ["b"]
    assert store.list_runs(name="BETTER").runs[0].tags == ["b"]
    assert store.list_runs(name="nothing like it").runs == []
    assert not store.list_runs(tag="a").runs
    assert store.share(info.id).shared
    store.delete(info.id)
    assert store.list_runs().runs == [] and not any(p for p in (tmp_path / "runs").iterdir())
    with pytest.raises(StoreError, match="No run"):
        store.load(info.id)
    with pytest.raises(StoreError, match="not a run id"):
        store.load("../etc")


def test_visitors_see_their_own_runs_public_ones_and_shared_links(tmp_path):
    store = RunStore(tmp_path)
    alice, bob = new_visitor_key(), new_visitor_key()
    assert alice != bob and len(alice) >= 20
    public = store.save(_training(), name="prepared by the teacher", model=False)
    mine = store.save(_training(), name="alice's", owner=alice, model=False)
    theirs = store.save(_training(), name="bob's", owner=bob, model=False)

    assert {r.id for r in store.list_runs()} == {public.id, mine.id, theirs.id}  # the shared default: everything
    assert {r.id for r in store.list_runs(visitor=alice)} == {public.id, mine.id}
    with pytest.raises(StoreError, match="No run"):
        store.load(theirs.id, visitor=alice)
    with pytest.raises(StoreError):
        store.delete(theirs.id, visitor=alice)
    with pytest.raises(StoreError):
        store.share(theirs.id, visitor=alice)

    store.share(theirs.id, visitor=bob)  # bob sends alice a link holding the id
    assert store.load(theirs.id, visitor=alice).info.name == "bob's"
    assert theirs.id not in {r.id for r in store.list_runs(visitor=alice)}
    assert theirs.id in {r.id for r in store.list_runs(visitor=alice, include=[theirs.id])}
    with pytest.raises(StoreError):  # opening is not owning
        store.rename(theirs.id, "mine now", visitor=alice)


def test_a_damaged_or_half_written_entry_is_skipped_with_a_note(tmp_path):
    store = RunStore(tmp_path)
    good = store.save(_training(), model=False)
    bad = store.save(_training(), name="to be damaged", model=False)
    meta = tmp_path / "runs" / bad.id / "meta.json"
    meta.write_text(meta.read_text()[:40])  # cut off mid-write
    (tmp_path / "runs" / ".tmp-20260101-000000-abcdef").mkdir()  # a save still running (or crashed)
    (tmp_path / "runs" / "20260101-000000-empty0").mkdir()  # a folder without its files
    listing = store.list_runs()
    assert [r.id for r in listing] == [good.id]
    assert len(listing.notes) == 2 and any(bad.id in n and "damaged" in n for n in listing.notes)
    assert listing.saving == 1  # counted, not a warning: it is listed once written
    assert any("empty0" in n and "meta.json is missing" in n for n in listing.notes)
    with pytest.raises(StoreError, match="damaged"):
        store.load(bad.id)

    result_json = tmp_path / "runs" / good.id / "result.json"
    result_json.write_text("{not json")
    assert [r.id for r in store.list_runs()] == [good.id]  # listing reads only the small meta.json
    with pytest.raises(StoreError, match="damaged"):
        store.load(good.id)


def test_a_damaged_or_lost_index_is_rebuilt_from_the_run_folders(tmp_path):
    store = RunStore(tmp_path)
    ids = {store.save(_training(), tags=["t"], model=False).id for _ in range(3)}
    (tmp_path / "index.sqlite").write_bytes(b"garbage, not a database" * 100)
    for extra in ("-wal", "-shm"):
        Path(f"{tmp_path / 'index.sqlite'}{extra}").unlink(missing_ok=True)
    assert {r.id for r in store.list_runs(tag="t")} == ids
    assert list(tmp_path.glob("index.sqlite.damaged-*"))
    (tmp_path / "index.sqlite").unlink()
    assert {r.id for r in RunStore(tmp_path).list_runs()} == ids


def _save_in_process(path: str, n: int, barrier) -> None:
    import _fixtures as fx

    result = fx.trained_feed()[2]
    barrier.wait()
    store = RunStore(path)
    for i in range(n):
        store.save(result, name=f"{os.getpid()}-{i}", model=i == 0)


def test_two_processes_finishing_at_once_both_keep_their_runs(tmp_path):
    _training()  # trained before forking: the children only save (no torch work after a fork)
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_save_in_process, args=(str(tmp_path), 5, barrier)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    listing = RunStore(tmp_path).list_runs()
    assert len(listing) == 10 and not listing.notes
    assert len({r.name.split("-")[0] for r in listing}) == 2
    con = sqlite3.connect(tmp_path / "index.sqlite")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 10
    con.close()


def test_two_threads_saving_and_listing_at_once(tmp_path):
    store = RunStore(tmp_path)
    result = _training()
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def saver(tag: str) -> None:
        try:
            start.wait()
            for _ in range(5):
                store.save(result, tags=[tag], model=False)
        except BaseException as err:  # reported below: a thread's exception is otherwise lost
            errors.append(err)

    def lister() -> None:
        try:
            start.wait()
            for _ in range(10):
                store.list_runs()
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=saver, args=(t,)) for t in ("a", "b")] + [threading.Thread(target=lister)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(store.list_runs(tag="a")) == 5 and len(store.list_runs(tag="b")) == 5


def test_a_full_disk_gives_a_clear_message_and_loses_nothing(tmp_path, monkeypatch):
    store = RunStore(tmp_path)
    kept = store.save(_training(), model=False)
    real_rename = os.rename

    def full(src, dst):
        if ".tmp-" in str(src):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", full)
    with pytest.raises(StoreError, match="disk is full.*unchanged"):
        store.save(_training())
    monkeypatch.setattr(os, "rename", real_rename)
    assert [r.id for r in store.list_runs()] == [kept.id]
    assert not [p for p in (tmp_path / "runs").iterdir() if p.name.startswith(".")]  # no half-written folder
    assert store.load(kept.id).result.test == _training().test


def test_an_unwritable_workspace_gives_a_clear_message(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="workspace"):
        RunStore(blocker / "ws").save(_training(), model=False)
    store = RunStore(tmp_path / "ws")
    kept = store.save(_training(), model=False)

    def denied(*_):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr("mtl.store.workspace._write_atomic", denied)
    with pytest.raises(StoreError, match="no permission"):
        store.rename(kept.id, "new")
    monkeypatch.undo()
    assert store.get(kept.id).name == kept.name


def test_five_hundred_runs_list_quickly(tmp_path, capsys):
    store = RunStore(tmp_path)
    first = store.save(_training(), model=False, tags=["bulk"])
    src = tmp_path / "runs" / first.id
    meta = json.loads((src / "meta.json").read_text())
    # copies of one run under new ids: the listing work is the same as for 500 saves
    for i in range(499):
        run_id = f"20250101-000000-{i:06x}"
        dst = tmp_path / "runs" / run_id
        dst.mkdir()
        (dst / "result.json").write_bytes((src / "result.json").read_bytes())
        (dst / "meta.json").write_text(json.dumps(dict(meta, id=run_id, name=f"run {i}", created=1e9 + i)))
    began = time.perf_counter()
    first_listing = store.list_runs()  # indexes the 499 new folders
    indexed = time.perf_counter() - began
    began = time.perf_counter()
    listing = store.list_runs()
    listed = time.perf_counter() - began
    began = time.perf_counter()
    filtered = store.list_runs(tag="bulk", name="run 4")
    filtered_s = time.perf_counter() - began
    assert len(first_listing) == len(listing) == 500 and not listing.notes
    assert listing.runs[0].id == first.id and listing.runs[1].name == "run 498"  # newest first
    assert len(filtered) == 1 + 10 + 99  # "run 4", "run 4x", "run 400" to "run 498"
    with capsys.disabled():
        print(f"\n500 runs: first listing (indexing) {indexed * 1000:.0f} ms, listing {listed * 1000:.1f} ms, "
              f"filtered {filtered_s * 1000:.1f} ms")


def test_documents_from_the_cli_json_are_read_back(tmp_path):
    doc = json.loads(json.dumps(_training().to_json()))  # what train --json writes: no task specs
    assert kind_of(doc) == "training"
    back = training_from_json(doc)
    assert [t.kind for t in back.tasks] == ["binary", "binary"] and back.test["click"] == _training().test["click"]
    nan_doc = json.loads(json.dumps(doc).replace(str(doc["test"]["click"]["auc"]), "null"))
    assert math.isnan(from_document(nan_doc).test["click"]["auc"])


def test_a_visitor_changes_only_their_own_runs_and_a_shared_upload_keeps_its_model_private(tmp_path):
    from mtl.store import is_run_id, is_visitor_key

    store = RunStore(tmp_path)
    alice, bob = new_visitor_key(), new_visitor_key()
    public = store.save(_training(), name="prepared for everyone", model=False)
    with pytest.raises(StoreError, match="of yours"):  # visible to every visitor, changed by none
        store.rename(public.id, "taken over", visitor=alice)
    with pytest.raises(StoreError, match="of yours"):
        store.delete(public.id, visitor=alice)
    assert store.rename(public.id, "renamed locally").name == "renamed locally"  # no visitor: a local install

    upload = store.save(_training(), name="on alice's upload", owner=alice, private_data=True)
    sample = store.save(_training(), name="on a sample", owner=alice)
    assert upload.has_model and sample.has_model
    assert upload.summary["private_data"] and "private_data" not in sample.summary  # pages can tell without loading
    store.share(upload.id, visitor=alice)
    store.share(sample.id, visitor=alice)
    assert store.load_model(upload.id, visitor=alice) is not None  # the owner keeps everything
    with pytest.raises(StoreError, match="stays with them"):
        store.load_model(upload.id, visitor=bob)
    assert store.load(upload.id, visitor=bob).info.name == "on alice's upload"  # its numbers are shared
    assert store.load_model(sample.id, visitor=bob) is not None  # a public sample's model may travel

    assert is_visitor_key(alice) and not is_visitor_key("short") and not is_visitor_key("a/../b" * 4)
    assert is_run_id(upload.id) and not is_run_id("../etc") and not is_run_id("") and not is_run_id(".hidden")


def test_a_saved_model_becomes_a_training_result_with_its_metrics():
    from mtl.store import describe_model_data, to_document, training_from_model

    trained = _training().trained
    result = training_from_model(trained)
    assert result.trained is trained and result.reason == "saved model"
    assert result.test == trained.metrics["test"] and result.config == trained.config
    assert kind_of(to_document(result)) == "training"
    data = describe_model_data(trained)
    assert data["name"] == trained.data_name and data["test_rows"] > 0 and data["roles"]

