"""Tests of mtl.jobs and mtl.train.background: jobs and training in a thread, polled from another."""

from __future__ import annotations

import math
import time

import pytest
import torch

from mtl.data import SplitSpec, from_frame, prepare
from mtl.data.synthetic import simulate
from mtl.errors import ConfigError
from mtl.jobs import CANCELLED, FAILED, FINISHED, QUEUED, STOPPED, BackgroundJob, JobSlots
from mtl.models import ModelConfig
from mtl.train import BackgroundTraining, Evaluation, TrainConfig, evals_per_epoch_for
from mtl.train.background import evaluation_row

# Tiny tensors on a 2-core machine under pytest-xdist: one thread per worker.
torch.set_num_threads(1)

TASKS = ["click", "like"]
TINY = ModelConfig(emb_dim=4, hidden=(16,), tower=(8,))
no_thread_leaks = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")


@pytest.fixture(scope="module")
def data():
    return from_frame(simulate(n_users=100, n_items=200, n_impressions=3000, seed=2), name="tiny")


@pytest.fixture(scope="module")
def prepared(data):
    return prepare(data, TASKS, SplitSpec("random", seed=0), seed=0)


def config(**kw) -> TrainConfig:
    base = dict(tasks=list(TASKS), epochs=2, batch_size=256, lr=5e-3, device="cpu", model=TINY, patience=10)
    base.update(kw)
    return TrainConfig(**base)


def wait_done(job: BackgroundTraining, timeout: float = 60.0) -> None:
    assert job.join(timeout), f"training still running after {timeout}s (phase {job.phase})"
    assert job.done


@no_thread_leaks
def test_runs_to_the_end_and_keeps_a_result(prepared):
    job = BackgroundTraining(prepared, config(epochs=3))
    assert job.phase == "ready" and not job.done and job.result is None and job.live is None and job.outcome is None
    assert job.start() is job
    wait_done(job)
    assert job.phase == FINISHED and job.error is None
    assert job.outcome.state == FINISHED and job.outcome.result is job.result
    result = job.result
    assert result is not None and result.reason == "completed" and not result.stopped
    assert result.trained is not None and set(result.test) == set(TASKS)
    # One evaluation per epoch on this small split; the polled history is the result's history.
    assert [round(e.epoch) for e in job.events] == [1, 2, 3]
    assert all(isinstance(e, Evaluation) for e in job.events)
    assert job.history == result.history
    assert job.live.fraction == pytest.approx(1.0) and job.progress[0] == job.progress[1]
    assert job.prepared is prepared
    first = job.elapsed
    time.sleep(0.05)
    assert first > 0 and job.elapsed == first  # the clock stops when the run ends


@no_thread_leaks
def test_stop_ends_training_within_about_a_second_and_keeps_the_best_model(prepared):
    job = BackgroundTraining(prepared, config(epochs=500, batch_size=64)).start()
    deadline = time.time() + 60
    while not job.events and time.time() < deadline:  # let it keep a best model first
        time.sleep(0.02)
    assert job.events, "no evaluation within 60 s"
    asked = time.perf_counter()
    job.stop()
    assert job.stop_requested
    wait_done(job, timeout=10)
    took = time.perf_counter() - asked
    assert took < 2.0, f"stop took {took:.2f}s"
    result = job.result
    assert job.phase == STOPPED and result is not None and job.outcome.state == STOPPED
    assert result.stopped and result.reason == "stopped"
    assert result.epochs_run < 500 and result.best_epoch >= 1
    assert result.trained is not None
    assert all(math.isfinite(result.test[t]["auc"]) for t in TASKS)


@no_thread_leaks
def test_stop_before_training_starts_cancels_without_a_result(prepared):
    def slow_prepare():
        time.sleep(0.3)
        return prepared

    job = BackgroundTraining(slow_prepare, config()).start()
    deadline = time.time() + 10
    while job.phase != "preparing" and time.time() < deadline:
        time.sleep(0.01)
    assert job.phase == "preparing"
    job.stop()
    wait_done(job)
    assert job.phase == CANCELLED and job.result is None and job.error is None


@no_thread_leaks
def test_data_errors_are_captured_with_their_message(data):
    # Preparing for a column that is not a label fails inside the thread.
    job = BackgroundTraining(lambda: prepare(data, ["click", "user_id"]), config(tasks=["click", "user_id"]))
    job.start()
    wait_done(job)
    assert job.phase == FAILED and job.result is None
    assert "'user_id' is not a label column (it is a user id)" in job.error


@no_thread_leaks
def test_config_errors_from_the_trainer_are_captured(prepared):
    job = BackgroundTraining(prepared, config(arch="no_such_arch")).start()
    wait_done(job)
    assert job.phase == FAILED
    assert "Unknown architecture 'no_such_arch'" in job.error


@no_thread_leaks
def test_unexpected_exceptions_become_a_readable_error_not_a_crash():
    def broken():
        raise ZeroDivisionError("division by zero")

    job = BackgroundTraining(broken, config()).start()
    wait_done(job)
    assert job.phase == FAILED
    assert job.error == "Training failed unexpectedly (ZeroDivisionError: division by zero)"


@no_thread_leaks
def test_a_function_returning_the_wrong_type_fails_readably():
    job = BackgroundTraining(lambda: "not data", config()).start()
    wait_done(job)
    assert job.phase == FAILED and "returned str, not PreparedData" in job.error


def test_bad_arguments_and_double_start(prepared):
    with pytest.raises(TypeError):
        BackgroundTraining("prepared.csv", config())  # type: ignore[arg-type]
    job = BackgroundTraining(prepared, config(epochs=1)).start()
    with pytest.raises(RuntimeError, match="already started"):
        job.start()
    wait_done(job)


def test_evaluations_per_epoch_grow_with_the_training_split():
    assert evals_per_epoch_for(0) == 1
    assert evals_per_epoch_for(50_000) == 1
    assert evals_per_epoch_for(100_001) == 3
    assert evals_per_epoch_for(96_000) == 2
    assert evals_per_epoch_for(10_000_000) == 10


def test_auto_evals_raise_evals_per_epoch_only_when_asked(prepared, monkeypatch):
    import mtl.train.background as bg

    monkeypatch.setattr(bg, "ROWS_PER_EVALUATION", 500)  # the tiny train split now counts as "large"
    expected = bg.evals_per_epoch_for(len(prepared.train))
    assert expected > 1
    auto = BackgroundTraining(prepared, config(epochs=1)).start()
    fixed = BackgroundTraining(prepared, config(epochs=1), auto_evals=False).start()
    wait_done(auto)
    wait_done(fixed)
    assert auto.config.evals_per_epoch == auto.result.config.evals_per_epoch == expected
    assert len(auto.events) == expected
    assert fixed.config.evals_per_epoch == 1 and len(fixed.events) == 1


def test_two_runs_at_once_do_not_interfere(prepared):
    """Two sessions training the same seed at the same time get the same model as
    training alone (model initialization draws from torch's global generator)."""
    alone = BackgroundTraining(prepared, config(epochs=1)).start()
    wait_done(alone)
    a = BackgroundTraining(prepared, config(epochs=1))
    b = BackgroundTraining(prepared, config(epochs=1))
    a.start(), b.start()
    wait_done(a), wait_done(b)
    for job in (a, b):
        assert job.result.test == alone.result.test


def test_evaluation_row_matches_the_trainer_history_format(prepared):
    job = BackgroundTraining(prepared, config(epochs=1)).start()
    wait_done(job)
    ev = job.events[0]
    row = evaluation_row(ev, {"click": "auc", "like": "auc"})
    assert row == job.result.history[0]
    assert set(row) == {"epoch"} | {f"{k}:{t}" for t in TASKS for k in ("train_loss", "valid_loss", "valid_auc", "weight")}



def test_job_outcome_result_and_errors():
    def work(report, should_stop):
        for i in range(3):
            report(i, 3, f"step {i}")
        return 42

    job = BackgroundJob(work).start()
    assert job.join(5) and job.done and job.result == 42 and job.error is None
    assert job.outcome.state == FINISHED and job.outcome.result == 42 and job.progress == (2, 3, "step 2")

    def fails(report, should_stop):
        raise ConfigError("bad weights")

    job = BackgroundJob(fails).start()
    assert job.join(5) and job.error == "bad weights" and job.result is None
    assert job.outcome.state == FAILED and job.outcome.error == "bad weights"


@no_thread_leaks
def test_jobs_beyond_the_slots_wait_in_line_and_a_stop_cancels_them_at_once():
    slots = JobSlots(1)
    release = []

    def blocker(report, should_stop):
        while not release and not should_stop():
            time.sleep(0.01)
        return "first"

    first = BackgroundJob(blocker, slots=slots).start()
    second = BackgroundJob(lambda r, s: "second", slots=slots).start()
    third = BackgroundJob(lambda r, s: "third", slots=slots).start()
    deadline = time.time() + 10
    while (first.state != "running" or third.queue_position != 2) and time.time() < deadline:
        time.sleep(0.01)
    assert first.state == "running" and slots.running == 1
    assert second.state == QUEUED and second.queue_position == 1 and third.queue_position == 2
    asked = time.perf_counter()
    second.stop()
    assert second.join(2) and time.perf_counter() - asked < 1.0
    assert second.state == CANCELLED and second.outcome.result is None and second.outcome.error is None
    assert third.queue_position == 1  # moved up
    release.append(True)
    assert first.join(5) and third.join(5)
    assert (first.result, third.result) == ("first", "third") and slots.running == 0


def test_slots_limit_comes_from_the_environment(monkeypatch):
    from mtl import jobs

    monkeypatch.setenv("MTL_MAX_JOBS", "3")
    assert jobs._default_limit() == 3
    monkeypatch.delenv("MTL_MAX_JOBS")
    assert jobs._default_limit() >= 1
    with pytest.raises(ValueError):
        JobSlots(0)
