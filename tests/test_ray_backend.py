"""The Ray backend of sweeps and comparisons against a local Ray runtime of 2 CPUs:
the same numbers as the local backend for the same seeds, progress, Stop, and a
failing training reported with its method and seed (issue 15, item 2).

One runtime serves the whole module (starting one takes seconds), and the module runs
on one test worker (``xdist_group``); without Ray installed the module is skipped,
and the backend's choice says how to install it (tested without Ray as well)."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace

import pytest
import torch
from _fixtures import feed_frame, feed_prepared, tiny_config

from mtl.backends import Training, TrainingFailed, backend_missing, get_backend
from mtl.backends import ray_backend as rb
from mtl.cli import main
from mtl.compare import BASELINE, compare
from mtl.errors import ConfigError
from mtl.tradeoff import sweep
from mtl.train import TrainConfig
from pages import _nav as nav
from tests._apptest import button, no_errors, open_page, tiny_dataset, training, wait_for_job

pytestmark = pytest.mark.xdist_group("ray")
#: The runtime's workers import torch on their first task (10-30 s on a busy 2-core machine).
on_ray = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_backend():
    ray = pytest.importorskip("ray")
    backend = get_backend("ray", num_cpus=2)
    backend.connect()
    yield backend
    ray.shutdown()
    rb._connected.clear()
    rb._remote.clear()


@pytest.fixture
def one_thread():
    """Ray tasks train with one torch thread (their CPU request): the local runs they
    are compared with do too, since float sums may depend on the thread count."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_without_ray_the_backend_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(rb, "_ray_installed", lambda: False)
    assert "pip install 'mtl-tradeoff-explorer[ray]'" in backend_missing("ray")
    with pytest.raises(ConfigError, match=r"The Ray backend needs Ray: pip install 'mtl-tradeoff-explorer\[ray\]'"):
        get_backend("ray")
    assert backend_missing("local") is None


def test_cli_refuses_ray_options_without_the_ray_backend(capsys):
    assert main(["sweep", "--data", "sample:simulated", "--tasks", "click,like", "--ray-address", "auto"]) == 2
    assert capsys.readouterr().err.strip() == "error: --ray-address needs --backend ray"
    with pytest.raises(ConfigError, match="at least 1 CPU"):
        rb.RayBackend(num_cpus=0)


def test_an_address_nothing_answers_on_is_refused_at_once():
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"Could not reach the Ray cluster at ray://127.0.0.1:1: nothing answers"):
        rb._check_reachable("ray://127.0.0.1:1")
    with pytest.raises(ConfigError, match="looks like ray://HOST:10001, HOST:6379 or auto, got 'head'"):
        rb._check_reachable("head")
    assert time.perf_counter() - start < 6


@on_ray
@pytest.mark.usefixtures("one_thread")
def test_sweep_on_ray_gives_the_local_numbers(ray_backend):
    prepared, config = feed_prepared(), tiny_config(epochs=2)
    reports = []
    remote = sweep(prepared, config, points=2, conditioned=True, backend=ray_backend,
                   progress=lambda d, n, m: reports.append((d, n, m)))
    local = sweep(prepared, config, points=2, conditioned=True)
    assert not remote.stopped and len(remote.points) == 2
    assert [p.weights for p in remote.points] == [p.weights for p in local.points]
    assert [p.test for p in remote.points] == [p.test for p in local.points]
    assert remote.baselines == local.baselines
    assert [p.test for p in remote.conditioned] == [p.test for p in local.conditioned]
    # The conditioned network came back from its worker: instant what-ifs work here.
    assert remote.explorer.quick_metrics([0.5, 0.5]) == local.explorer.quick_metrics([0.5, 0.5])
    done = [d for d, _, _ in reports]
    assert done == sorted(done) and reports[-1] == (4, 4, "done")
    assert any("epoch 2/2" in m for _, _, m in reports), "progress comes from inside the Ray tasks"


@on_ray
@pytest.mark.usefixtures("one_thread")
def test_compare_on_ray_gives_the_local_runs_in_plan_order(ray_backend):
    prepared, config = feed_prepared(), tiny_config(epochs=1)
    started = []
    remote = compare(prepared, config, ["static", "uncertainty"], seeds=2, backend=ray_backend,
                     progress=lambda i, n, m: started.append((i, n, m)))
    local = compare(prepared, config, ["static", "uncertainty"], seeds=2)
    key = [(r.method, r.seed, r.test) for r in remote.runs]
    assert key == [(r.method, r.seed, r.test) for r in local.runs]
    assert [(r.method, r.seed) for r in remote.runs] == [(BASELINE, 0), ("static", 0), ("uncertainty", 0),
                                                         (BASELINE, 1), ("static", 1), ("uncertainty", 1)]
    assert remote.table().equals(local.table().assign(train_seconds=remote.table()["train_seconds"]))
    assert sorted(i for i, _, _ in started) == list(range(6)) and {n for _, n, _ in started} == {6}
    assert (2, 6, "Uncertainty, seed 0") in started


@on_ray
def test_stop_ends_a_ray_sweep_within_seconds_and_keeps_what_finished(ray_backend):
    config = tiny_config(epochs=200, patience=200)
    stop_at = []

    def progress(done, total, message):
        if "epoch" in message and not stop_at:
            stop_at.append(time.perf_counter())

    result = sweep(feed_prepared(), config, points=6, baselines=False, backend=ray_backend, progress=progress,
                   should_stop=lambda: bool(stop_at))
    waited = time.perf_counter() - stop_at[0]
    assert result.stopped and len(result.points) < 6
    assert waited < 10, f"Stop took {waited:.1f} s: the running trainings must stop within a batch"
    # The runtime is free again: the next run starts at once and completes.
    after = sweep(feed_prepared(), tiny_config(epochs=1), points=2, baselines=False, backend=ray_backend)
    assert not after.stopped and len(after.points) == 2


@on_ray
def test_stop_on_ray_comparison_starts_nothing_new(ray_backend):
    started = []
    result = compare(feed_prepared(), tiny_config(epochs=1), ["static"], seeds=6, backend=ray_backend,
                     progress=lambda i, n, m: started.append(i), should_stop=lambda: len(started) >= 1)
    assert result.stopped and 1 <= len(result.runs) < 12
    assert result.error is None


_DRIVER = os.getpid()


class _FailsInWorkers(TrainConfig):
    """Valid where the comparison is checked, failing inside a Ray worker for one
    method: a training that breaks on the cluster, not before it."""

    def validate(self):
        super().validate()
        if os.getpid() != _DRIVER and self.weighting == "uncertainty" and self.seed == 1:
            raise FloatingPointError("loss became NaN")


@on_ray
def test_a_failing_ray_task_is_reported_with_its_method_and_seed(ray_backend):
    import ray

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # ship the class above, not a reference
    try:
        base = _FailsInWorkers(**{f: getattr(tiny_config(epochs=1), f) for f in TrainConfig.__dataclass_fields__})
        result = compare(feed_prepared(), base, ["static", "uncertainty"], seeds=2, backend=ray_backend)
    finally:
        ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert result.stopped
    assert result.error == ("Training Uncertainty with seed 1 failed (FloatingPointError: loss became NaN); "
                            "the comparison stopped there")
    assert (BASELINE, 0) in [(r.method, r.seed) for r in result.runs]


@on_ray
def test_a_failing_ray_task_names_its_place_in_the_plan(ray_backend):
    prepared = feed_prepared()
    good = Training(tiny_config(epochs=1), "good")
    wrong = Training(replace(tiny_config(epochs=1), tasks=["like", "click"]), "wrong tasks")
    with pytest.raises(TrainingFailed) as failed:
        list(ray_backend.run(prepared, [good, wrong]))
    assert failed.value.index == 1 and "differ from the prepared data" in failed.value.reason


@on_ray
def test_cli_sweep_and_compare_on_ray(ray_backend, tmp_path, capsys):
    feed_csv = tmp_path / "feed.csv"
    feed_frame().to_csv(feed_csv, index=False)
    out = tmp_path / "front.json"
    assert main(["sweep", "--data", str(feed_csv), "--tasks", "click,like", "--points", "3", "--epochs", "1",
                 "--batch-size", "256", "--device", "cpu", "--backend", "ray", "--json", str(out)]) == 0
    err = capsys.readouterr().err
    assert "backend: a Ray runtime on this machine, 2 training(s) at once" in err
    assert out.exists()
    assert main(["compare", "--data", str(feed_csv), "--tasks", "click,like", "--methods", "static", "--seeds", "1",
                 "--epochs", "1", "--batch-size", "256", "--device", "cpu", "--backend", "ray", "--quiet"]) == 0
    assert "static" in capsys.readouterr().out


# ---------------------------------------------------------------- the app's pages
def _choose_ray(at, address: str | None = None):
    at.radio(key="ui.backend.choice").set_value("ray")
    at.run()
    if address is not None:
        at.text_input(key="ui.backend.address").set_value(address)
        at.run()
    return at


@pytest.mark.parametrize("page,run", [(nav.COMPARE, "Run the comparison"), (nav.TRADEOFFS, "Run the sweep")])
def test_pages_without_ray_say_how_to_install_it_and_train_nothing(app, monkeypatch, page, run):
    monkeypatch.setattr(rb, "_ray_installed", lambda: False)
    at = open_page(app, page, tiny_dataset())
    assert at.radio(key="ui.backend.choice").value == "local"
    _choose_ray(at)
    hint = "The Ray backend needs Ray: pip install 'mtl-tradeoff-explorer[ray]', then restart the app."
    assert any(w.value == hint for w in at.warning)
    assert not at.text_input  # no address to give for a backend that cannot run
    if page == nav.COMPARE:
        assert button(at, run).disabled and any("pip install" in e.value for e in at.error)
    else:
        button(at, run).click().run()
        assert any("pip install 'mtl-tradeoff-explorer[ray]'" in e.value for e in at.error)
    assert training(at, "compare" if page == nav.COMPARE else "sweep") is None


def test_a_cluster_address_nothing_answers_on_fails_the_job_with_a_message(app):
    pytest.importorskip("ray")
    at = open_page(app, nav.TRADEOFFS, tiny_dataset())
    _choose_ray(at, "ray://127.0.0.1:1")
    at.slider(key="ui.to.points").set_value(3)
    button(at, "Run the sweep").click().run()
    wait_for_job(at, 60, kind="sweep")
    assert any("Could not reach the Ray cluster at ray://127.0.0.1:1" in e.value for e in at.error)


@on_ray
def test_compare_page_runs_a_comparison_on_ray(app, ray_backend):
    at = open_page(app, nav.COMPARE, tiny_dataset())
    at.multiselect(key=f"ui.cmp.tasks.{at.session_state['dataset'].short}").set_value(["click", "like"])
    at.multiselect(key="ui.cmp.methods").set_value(["static"])
    at.number_input(key="ui.cmp.seeds").set_value(2)
    at.number_input(key="ui.cmp.epochs").set_value(1)
    _choose_ray(at)
    button(at, "Run the comparison").click().run()
    wait_for_job(at, 180, kind="compare")
    no_errors(at)
    result = at.session_state["results"]["compare"].result
    assert [(r.method, r.seed) for r in result.runs] == [(BASELINE, 0), ("static", 0), (BASELINE, 1), ("static", 1)]
    assert any("trained on a Ray runtime on this server" in m.value for m in at.markdown)
