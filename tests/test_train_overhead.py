"""What a training run does besides its batches: the optimizer (mtl.train.optim, torch.optim.Adam's
updates without importing torch's compiler) and the validation passes (only what picking the best
epoch needs; every metric once, for the kept model)."""

from __future__ import annotations

import sys

import pytest
import torch
from _fixtures import feed_prepared, tiny_config

from mtl.train import Done, Evaluation, Trainer
from mtl.train.optim import Adam


def _train(make_optimizer, steps: int = 6) -> list[torch.Tensor]:
    """A few steps of a small model with an embedding (rows without gradient in most
    steps), weight decay, and a parameter that gets its first gradient late."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Embedding(40, 4), torch.nn.Flatten(), torch.nn.Linear(8, 3))
    late = torch.nn.Parameter(torch.ones(3))
    optimizer = make_optimizer([*model.parameters(), late])
    gen = torch.Generator().manual_seed(1)
    for step in range(steps):
        x = torch.randint(0, 40, (16, 2), generator=gen)
        out = model(x) * (late if step >= 3 else 1.0)
        optimizer.zero_grad(set_to_none=True)
        out.pow(2).mean().backward()
        optimizer.step()
    return [p.detach().clone() for p in [*model.parameters(), late]]


@pytest.mark.parametrize("fused", [True, False])
def test_updates_are_torch_adams_bit_for_bit(fused):
    def ours(params):
        opt = Adam(params, lr=3e-3, weight_decay=1e-3)
        opt.fused = fused and opt.fused
        return opt

    theirs = _train(lambda ps: torch.optim.Adam(ps, lr=3e-3, weight_decay=1e-3, fused=fused or None,
                                                foreach=False if not fused else None))
    mine = _train(ours)
    assert all(torch.equal(a, b) for a, b in zip(mine, theirs))
    assert not all(torch.equal(a, b) for a, b in zip(mine, _train(lambda ps: Adam(ps, lr=1e-3))))


def test_a_pytorch_without_the_fused_kernels_query_trains_unfused(monkeypatch):
    """The fused-kernel query is private to PyTorch: if a release moves it, Adam falls
    back to the unfused kernel instead of failing to build."""
    monkeypatch.setitem(sys.modules, "torch.utils._foreach_utils", None)  # its import now raises
    p = torch.nn.Parameter(torch.ones(2))
    opt = Adam([p], lr=0.1)
    assert not opt.fused
    p.sum().backward()
    opt.step()
    assert torch.all(p < 1)


def test_zero_grad_keeps_or_drops_the_gradients():
    p = torch.nn.Parameter(torch.ones(2))
    opt = Adam([p], lr=0.1)
    p.sum().backward()
    opt.zero_grad(set_to_none=False)
    assert torch.equal(p.grad, torch.zeros(2))
    opt.zero_grad()
    assert p.grad is None
    opt.step()  # no gradient: nothing moves, no state
    assert torch.equal(p, torch.ones(2)) and not opt.state


def test_training_never_imports_the_compiler(monkeypatch):
    """torch.optim's optimizers import torch._dynamo (seconds on 2 cores) at their first
    use; a training run must not: with the import made to fail, it still trains."""
    monkeypatch.setitem(sys.modules, "torch._dynamo", None)  # `import torch._dynamo` now raises
    with pytest.raises(ImportError):
        torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))]).step()
    result = Trainer(feed_prepared(), tiny_config()).fit()
    assert result.test["click"]["auc"] > 0.5


def test_evaluations_measure_what_selection_needs_and_the_result_every_metric():
    trainer = Trainer(feed_prepared(), tiny_config(epochs=2, evals_per_epoch=2))
    events = list(trainer.run())
    result = next(e for e in events if isinstance(e, Done)).result
    evaluations = [e for e in events if isinstance(e, Evaluation)]
    assert len(evaluations) == 4
    assert all(set(e.valid_metrics["click"]) == {"n", "positive_rate", "auc"} for e in evaluations)
    kept = next(e for e in evaluations if e.epoch == result.best_epoch)
    assert result.valid["click"]["auc"] == kept.valid_metrics["click"]["auc"]
    assert {"accuracy", "logloss", "f1"} <= set(result.valid["click"])
    assert result.valid == trainer.evaluate("valid")  # the kept model's, measured again


def test_gradient_diagnostics_never_import_sympy(monkeypatch):
    """``torch.autograd.grad`` given gradient tensors imports torch.fx's symbolic shapes
    (sympy: over a second of CPU) at its first call; the diagnostics measured at a run's
    first step must not, or every process's first training step pays it."""
    monkeypatch.setitem(sys.modules, "torch.fx.experimental.symbolic_shapes", None)  # its import now raises
    x = torch.ones(2, requires_grad=True)
    with pytest.raises(ImportError):
        torch.autograd.grad(x * 2, x, grad_outputs=torch.ones(2))
    result = Trainer(feed_prepared(), tiny_config(diagnostics_every=1)).fit()
    assert result.diagnostics and result.test["click"]["auc"] > 0.5
