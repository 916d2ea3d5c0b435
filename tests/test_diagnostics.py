"""Gradient diagnostics (mtl.train.diagnostics): cosines and norms of the task
gradients on the shared representation, applied weights, and how the trainer,
its events, its result and BackgroundTraining expose them."""

from __future__ import annotations

import math
import time

import pytest
import torch
from _fixtures import feed_prepared, tiny_config

from mtl.errors import ConfigError
from mtl.models import ModelConfig
from mtl.models.base import ModelOutput
from mtl.train import BackgroundTraining, Evaluation, Progress, Trainer, live_config
from mtl.train.diagnostics import GradientDiagnostics, auto_every, every_for, explain, summarize
from mtl.weighting import weighting_status

NAMES = ["a", "b"]


def _regression(targets: list[torch.Tensor], seed: int = 0):
    """Both tasks read the same shared representation ``z`` directly (identity
    heads) and regress it onto their own target: the task gradients on ``z`` are
    ``2 (z - y_t) / n``."""
    torch.manual_seed(seed)
    z = (0.01 * torch.randn(64, 1)).requires_grad_()
    losses = torch.stack([((z.squeeze(-1) - y) ** 2).mean() for y in targets])
    return losses, z


def test_opposite_targets_give_a_negative_cosine_and_equal_targets_a_positive_one():
    y = torch.randn(64, generator=torch.Generator().manual_seed(1))
    diag = GradientDiagnostics(NAMES, every=1)
    losses, z = _regression([y, -y])
    norms, cos = diag.measure(losses, [z])
    assert cos[0, 1] < -0.9 and cos[1, 0] == cos[0, 1]
    assert cos[0, 0].item() == pytest.approx(1.0)
    losses, z = _regression([y, 2 * y])
    norms, cos = diag.measure(losses, [z])
    assert cos[0, 1] > 0.9
    # Norms are the L2 norms of the gradients on the representation.
    want = [(2 * (z.detach().squeeze(-1) - t) / 64).norm().item() for t in (y, 2 * y)]
    assert norms.tolist() == pytest.approx(want, rel=1e-5)
    assert norms[1] > norms[0]  # the target twice as large pulls about twice as hard


def test_measuring_leaves_gradients_and_graph_alone():
    y = torch.randn(64)
    losses, z = _regression([y, -y])
    GradientDiagnostics(NAMES, every=1).measure(losses, [z])
    assert z.grad is None
    losses.sum().backward()  # the graph is still there
    assert z.grad is not None


def test_a_task_without_gradient_has_nan_cosines_and_zero_norm():
    y = torch.randn(64)
    losses, z = _regression([y, y])
    losses = torch.stack([losses[0], z.sum() * 0.0])  # what task_loss returns without labels
    norms, cos = GradientDiagnostics(NAMES, every=1).measure(losses, [z])
    assert norms[1] == 0 and math.isnan(cos[0, 1])


def test_no_shared_representation_means_no_measurement():
    losses = torch.tensor([1.0, 2.0], requires_grad=True)
    assert GradientDiagnostics(NAMES, every=1).measure(losses, []) is None
    assert GradientDiagnostics(NAMES, every=1).measure(losses, ModelOutput([losses[0], losses[1]], [])) is None


def test_due_on_the_first_batch_then_every_n():
    diag = GradientDiagnostics(NAMES, every=50)
    assert [s for s in range(1, 200) if diag.due(s)] == [1, 51, 101, 151]
    assert not any(GradientDiagnostics(NAMES, every=0).due(s) for s in range(1, 100))


def test_rows_summaries_and_new_rows():
    diag = GradientDiagnostics(["a", "b", "c"], every=1)
    cos = torch.tensor([[1.0, -0.5, 0.2], [-0.5, 1.0, math.nan], [0.2, math.nan, 1.0]], dtype=torch.float64)
    row = diag.record((torch.tensor([1.0, 2.0, 0.0]), cos), step=1, epoch=0.123456, weights=torch.tensor([0.5, 0.25, 0.25]))
    assert row == {"step": 1, "epoch": 0.1235, "cos:a|b": -0.5, "cos:a|c": pytest.approx(0.2), "cos:b|c": row["cos:b|c"],
                   "norm:a": 1.0, "norm:b": 2.0, "norm:c": 0.0, "weight:a": 0.5, "weight:b": 0.25, "weight:c": 0.25}
    assert math.isnan(row["cos:b|c"])
    diag.record((torch.tensor([3.0, 2.0, 1.0]), -cos), step=2, epoch=0.2, weights=torch.tensor([0.2, 0.3, 0.5]))
    rows = diag.new_rows()
    assert [r["step"] for r in rows] == [1, 2] and diag.new_rows() == []
    avg = summarize(rows)
    assert avg["cos:a|b"] == pytest.approx(0.0) and avg["norm:a"] == pytest.approx(2.0)
    assert math.isnan(avg["cos:b|c"])                  # no finite value at all
    assert avg["weight:c"] == pytest.approx(0.375)
    assert "step" not in avg and "epoch" not in avg
    assert summarize([]) == {}


def test_negative_frequency_is_a_config_error():
    with pytest.raises(ConfigError, match="diagnostics_every"):
        tiny_config(diagnostics_every=-1).validate()


# ------------------------------------------------------------- in training
@pytest.fixture(scope="module")
def run():
    """Two epochs of 12 batches, diagnostics every 5 batches, weights 3:1."""
    trainer = Trainer(feed_prepared(), tiny_config(epochs=2, diagnostics_every=5, preference={"click": 3, "like": 1}))
    events = list(trainer.run())
    return trainer, events, events[-1].result


def test_training_records_rows_every_n_batches(run):
    trainer, _, result = run
    steps = math.ceil(len(feed_prepared().train) / tiny_config().batch_size)
    assert [r["step"] for r in result.diagnostics] == list(range(1, 2 * steps + 1, 5))
    keys = {"step", "epoch", "cos:click|like", "norm:click", "norm:like", "weight:click", "weight:like"}
    for row in result.diagnostics:
        assert set(row) == keys
        assert -1.0 <= row["cos:click|like"] <= 1.0
        assert row["norm:click"] > 0 and row["norm:like"] > 0
        assert (row["weight:click"], row["weight:like"]) == pytest.approx((0.75, 0.25))
    assert result.diagnostics[0]["epoch"] == pytest.approx(1 / steps, abs=1e-4)
    assert list(result.diagnostics_frame().columns) == list(result.diagnostics[0])
    assert result.to_json()["diagnostics"] == result.diagnostics


def test_evaluations_carry_the_rows_since_the_previous_one_and_their_averages(run):
    _, events, result = run
    evals = [e for e in events if isinstance(e, Evaluation)]
    assert len(evals) == 2
    assert [r for e in evals for r in e.diagnostic_rows] == result.diagnostics
    for e in evals:
        assert e.diagnostic_rows and e.diagnostics == summarize(e.diagnostic_rows)
        assert all(r["epoch"] <= e.epoch for r in e.diagnostic_rows)


@pytest.mark.parametrize("method", ["static", pytest.param(
    "pcgrad", marks=pytest.mark.skipif(not weighting_status()["pcgrad"].available, reason=weighting_status()["pcgrad"].hint))])
def test_diagnostics_never_change_training(method):
    """Same seed with diagnostics on every batch or off: bit-identical models (PCGrad
    draws random numbers each batch: the diagnostics must not shift them)."""
    on = Trainer(feed_prepared(), tiny_config(weighting=method, diagnostics_every=1))
    off = Trainer(feed_prepared(), tiny_config(weighting=method, diagnostics_every=0))
    r_on, r_off = on.fit(), off.fit()
    assert len(r_on.diagnostics) == math.ceil(len(feed_prepared().train) / tiny_config().batch_size)
    assert r_off.diagnostics == []
    for a, b in zip(on.model.state_dict().values(), off.model.state_dict().values()):
        assert torch.equal(a, b)
    assert r_on.test == r_off.test


def test_gradient_methods_report_the_weights_they_applied():
    trainer = Trainer(feed_prepared(), tiny_config(weighting="imtl_g", diagnostics_every=3))
    result = trainer.fit()
    weights = [(r["weight:click"], r["weight:like"]) for r in result.diagnostics]
    assert all(abs(a) + abs(b) == pytest.approx(1.0, abs=1e-6) for a, b in weights)
    assert len(set(weights)) > 1  # they change from batch to batch


def test_single_task_models_have_no_diagnostics():
    trainer = Trainer(feed_prepared(), tiny_config(arch="single", diagnostics_every=1))
    events = list(trainer.run())
    assert events[-1].result.diagnostics == []
    assert all(e.diagnostics == {} and e.diagnostic_rows == [] for e in events if isinstance(e, Evaluation))


def test_conditioned_models_record_the_drawn_weights():
    cfg = tiny_config(diagnostics_every=2, model=ModelConfig(emb_dim=4, hidden=(16,), tower=(8,), conditioned=True))
    result = Trainer(feed_prepared(), cfg).fit()
    drawn = [(r["weight:click"], r["weight:like"]) for r in result.diagnostics]
    assert all(a + b == pytest.approx(1.0, abs=1e-6) for a, b in drawn)
    assert len({round(a, 6) for a, _ in drawn}) == len(drawn)  # a fresh draw each time


def test_background_training_exposes_the_rows():
    job = BackgroundTraining(feed_prepared(), tiny_config(diagnostics_every=4), auto_evals=False).start()
    assert job.join(60)
    assert job.result is not None and job.diagnostics == job.result.diagnostics and job.diagnostics


# ------------------------------------------------------- live rows and interpretation
def test_progress_events_carry_every_row_once_for_live_charts():
    trainer = Trainer(feed_prepared(), tiny_config(diagnostics_every=1))
    events = list(trainer.run())
    live = [r for e in events if isinstance(e, Progress) for r in e.diagnostic_rows]
    result = events[-1].result
    assert live and live == result.diagnostics[:len(live)]
    # Evaluations keep their own place: they still get every row too.
    assert [r for e in events if isinstance(e, Evaluation) for r in e.diagnostic_rows] == result.diagnostics


def test_each_reader_of_new_rows_keeps_its_own_place():
    diag = GradientDiagnostics(NAMES, every=1)
    y = torch.randn(64)
    for step in (1, 2, 3):
        losses, z = _regression([y, -y])
        diag.record(diag.measure(losses, [z]), step, step / 3, torch.tensor([0.5, 0.5]))
        if step == 2:
            assert [r["step"] for r in diag.new_rows("progress")] == [1, 2]
    assert [r["step"] for r in diag.new_rows("progress")] == [3]
    assert [r["step"] for r in diag.new_rows()] == [1, 2, 3]


def test_live_config_aims_for_a_few_hundred_rows_and_never_turns_diagnostics_on():
    cfg = tiny_config(batch_size=100, epochs=2, diagnostics_every=50)
    assert every_for(40) == 1 and every_for(4000) == 20 and every_for(4000, 100) == 40
    assert auto_every(50, 40) == 4 and auto_every(2, 40) == 2 and auto_every(0, 40) == 0
    assert auto_every(50, 1_000_000) == 50
    assert live_config(cfg, 2_000).diagnostics_every == 4          # 40 batches: every 4th (bounded cost)
    assert live_config(tiny_config(diagnostics_every=2), 2_000).diagnostics_every == 2  # finer on request
    assert live_config(cfg, 1_000_000).diagnostics_every == 50     # 20k batches: the config's 50 is finer than 100
    assert live_config(cfg, 200_000).diagnostics_every == 20       # 4k batches -> 200 rows
    assert live_config(tiny_config(diagnostics_every=0), 2_000).diagnostics_every == 0


def test_background_training_shows_rows_while_it_runs(monkeypatch):
    """Rows arrive with progress events, before the run ends (not only at evaluations)."""
    import threading

    seen = threading.Event()
    original = Trainer.run

    def held_run(self):
        for event in original(self):
            yield event
            if isinstance(event, Progress) and event.diagnostic_rows:
                seen.wait(10)  # hold the run until the test has looked

    monkeypatch.setattr(Trainer, "run", held_run)
    job = BackgroundTraining(feed_prepared(), tiny_config(diagnostics_every=1, epochs=1), auto_evals=False).start()
    try:
        deadline = time.time() + 30
        while not job.diagnostics and time.time() < deadline:
            time.sleep(0.02)
        assert job.diagnostics and job.result is None and job.history == []
    finally:
        seen.set()
    assert job.join(60) and job.diagnostics == job.result.diagnostics


def _rows(cos: list[float], norms: dict[str, list[float]], weights: dict[str, float] | None = None):
    names = list(norms)
    weights = weights or {t: 1 / len(names) for t in names}
    return [{"step": i + 1, "epoch": (i + 1) / len(cos), f"cos:{names[0]}|{names[1]}": c,
             **{f"norm:{t}": norms[t][i] for t in names}, **{f"weight:{t}": weights[t] for t in names}}
            for i, c in enumerate(cos)]


def test_explain_calls_negative_cosines_a_conflict():
    rows = _rows([-0.3, -0.1, 0.05, -0.2], {"click": [1, 1, 1, 1], "like": [1.2, 1, 1, 0.9]})
    out = explain(rows, ["click", "like"])
    pair = out.pairs.iloc[0]
    assert (pair.a, pair.b, pair.verdict, pair.measured) == ("click", "like", "conflict", 4)
    assert pair.conflict_share == pytest.approx(0.75) and pair.mean_cosine == pytest.approx(-0.1375)
    assert "conflict" in out.findings[0].text() and "75%" in out.findings[0].text()
    assert "No task dominates" in out.findings[-1].text()


def test_explain_calls_positive_cosines_aligned_and_small_ones_unrelated():
    aligned = explain(_rows([0.6, 0.5, 0.4], {"a": [1, 1, 1], "b": [1, 1, 1]}), ["a", "b"])
    assert aligned.pairs.verdict.tolist() == ["aligned"] and "aligned" in aligned.findings[0].text()
    unrelated = explain(_rows([0.1, -0.05, 0.2], {"a": [1, 1, 1], "b": [1, 1, 1]}), ["a", "b"])
    assert unrelated.pairs.verdict.tolist() == ["unrelated"] and "unrelated" in unrelated.findings[0].text()


def test_small_cosines_of_either_sign_are_not_called_conflict():
    """Unrelated tasks have cosines scattered around 0, half of them negative."""
    for cos in ([0.05, -0.01, 0.04, -0.02], [-0.01, 0.02, 0.01, -0.03]):
        out = explain(_rows(cos, {"a": [1.0] * 4, "b": [1.0] * 4}), ["a", "b"])
        assert out.pairs.verdict.tolist() == ["unrelated"], cos
    # Mostly negative, even if small: conflict; a clearly negative mean: conflict.
    mostly = explain(_rows([-0.02, -0.03, -0.01, 0.01], {"a": [1.0] * 4, "b": [1.0] * 4}), ["a", "b"])
    assert mostly.pairs.verdict.tolist() == ["conflict"]
    assert explain(_rows([-0.4, 0.2], {"a": [1.0] * 2, "b": [1.0] * 2}), ["a", "b"]).pairs.verdict.tolist() == ["conflict"]


def test_advice_fits_the_method_the_run_used():
    rows = _rows([-0.3, -0.2], {"click": [4.0, 4.0], "like": [0.5, 0.5]})
    static = explain(rows, ["click", "like"])
    assert "Raising like's weight" in static.findings[0].text()
    assert "Conflict-aware methods" in static.findings[1].text()
    upgrad = explain(rows, ["click", "like"], method="upgrad")
    assert "with UPGrad's weighting" in upgrad.findings[0].text()
    assert "UPGrad is built to avoid updates that hurt a task" in upgrad.findings[1].text()
    nash = explain(rows, ["click", "like"], method="nash_mtl")
    assert "Nash-MTL sets the balance itself" in nash.findings[0].text()
    # A conditioned model's weights are random draws: no dominance verdict from them.
    drawn = explain(rows, ["click", "like"], conditioned=True)
    assert not any("dominates" in f.text() for f in drawn.findings)
    assert any("8.0x" in f.text() and "drawn at random" in f.text() for f in drawn.findings)


def test_explain_finds_a_dominant_task_from_the_weighted_norms():
    rows = _rows([0.2, 0.2], {"click": [4.0, 4.0], "like": [0.5, 0.5]})
    out = explain(rows, ["click", "like"])
    assert out.findings[0].markdown().startswith("**click** dominates") and "8.0x" in out.findings[0].text()
    tasks = out.tasks.set_index("task")
    assert tasks.loc["click", "share"] == pytest.approx(8 / 9)
    # Weights that compensate: the raw imbalance is reported as corrected.
    fixed = explain(_rows([0.2, 0.2], {"click": [4.0, 4.0], "like": [0.5, 0.5]}, {"click": 0.1, "like": 0.9}),
                    ["click", "like"])
    assert any("8.0x" in f.text() and "correcting" in f.text() for f in fixed.findings)
    assert not any("dominates" in f.text() for f in fixed.findings)


def test_explain_handles_no_rows_and_unmeasured_pairs():
    empty = explain([], ["a", "b"])
    assert empty.empty and empty.findings == [] and list(empty.pairs.columns)[:2] == ["a", "b"]
    nan_rows = _rows([math.nan, math.nan], {"a": [1.0, 1.0], "b": [0.0, 0.0]})
    out = explain(nan_rows, ["a", "b"])
    assert out.pairs.verdict.tolist() == ["not measured"]
    assert not any("**a** and **b**" in f.markdown() for f in out.findings)


def test_explain_reads_a_real_run():
    result = Trainer(feed_prepared(), tiny_config(diagnostics_every=1)).fit()
    out = explain(result.diagnostics, ["click", "like"])
    assert len(out.pairs) == 1 and out.pairs.measured.iloc[0] == len(result.diagnostics)
    assert -1 <= out.pairs.mean_cosine.iloc[0] <= 1
    assert out.tasks.share.sum() == pytest.approx(1.0) and out.findings
