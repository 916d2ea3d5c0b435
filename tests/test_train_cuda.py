"""The accelerator path of the trainer: device placement, one epoch, bf16 autocast, and
losses that never read a value back from the device.

The ``cuda`` tests run where ``torch.cuda.is_available()`` and are skipped elsewhere
(the reason says so). The bf16 option and the device-side loss also run on the CPU,
so they are checked on every machine."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
from _fixtures import FEED_TASKS, MIXED_TASKS, feed_prepared, mixed_prepared, tiny_config

from mtl.errors import ConfigError
from mtl.tasks import TaskSpec, _masked_loss, task_loss
from mtl.train import TrainConfig, Trainer

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none on this machine)")


def _fit(config: TrainConfig, prepared=None):
    trainer = Trainer(prepared or feed_prepared(), config)
    return trainer, trainer.fit()


# ------------------------------------------------------------- every machine
@pytest.mark.parametrize("kind, classes", [("binary", ()), ("regression", ()), ("multiclass", ("a", "b", "c"))])
def test_device_side_loss_equals_the_selected_rows_loss(kind, classes):
    """The accelerator form of a task's loss (rows weighted 0/1, nothing read back) is
    the CPU form's mean over labelled rows, and 0 with a gradient path when none is."""
    torch.manual_seed(0)
    spec = TaskSpec("t", kind, mean=0.0, std=1.0, classes=classes)
    out = torch.randn(64, 3) if kind == "multiclass" else torch.randn(64)
    y = torch.randint(0, 3 if kind == "multiclass" else 2, (64,)).float()
    y[::4] = math.nan
    mask = ~torch.isnan(y)
    assert torch.allclose(_masked_loss(spec, out, y, mask), task_loss(spec, out, y), rtol=1e-6, atol=1e-7)
    none = torch.full_like(y, math.nan)
    grad_out = out.clone().requires_grad_(True)
    loss = _masked_loss(spec, grad_out, none, ~torch.isnan(none))
    loss.backward()
    assert float(loss) == 0.0 and grad_out.grad is not None and not grad_out.grad.any()


def test_precision_is_validated():
    with pytest.raises(ConfigError, match="precision must be one of fp32, bf16, got 'fp16'"):
        tiny_config(precision="fp16").validate()


def test_bf16_autocast_on_cpu_trains_close_to_fp32():
    """bfloat16 autocast (forward and losses) changes the numbers a little, not what
    the model learns: test AUCs within 0.03 of the full-precision run's."""
    config = tiny_config(epochs=2)
    _, full = _fit(config)
    _, half = _fit(replace(config, precision="bf16"))
    for task in FEED_TASKS:
        assert half.test[task]["auc"] == pytest.approx(full.test[task]["auc"], abs=0.03)
        assert math.isfinite(half.test[task]["logloss"])


def test_bf16_round_trips_in_the_config():
    config = tiny_config(precision="bf16")
    assert TrainConfig.from_dict(config.to_dict()).precision == "bf16"


# ------------------------------------------------------------------ CUDA only
@cuda
def test_cuda_tensors_and_model_are_placed_once_on_the_device():
    trainer = Trainer(feed_prepared(), tiny_config(device="cuda"))
    assert trainer.device.type == "cuda"
    assert all(p.device.type == "cuda" for p in trainer.model.parameters())
    for name in ("train", "valid", "test"):
        assert all(t.device.type == "cuda" for t in trainer._parts[name])
    auto = Trainer(feed_prepared(), tiny_config(device="auto"))
    assert auto.device.type == "cuda"  # auto prefers the GPU


@cuda
def test_cuda_one_epoch_learns_and_matches_the_cpu_run():
    _, gpu = _fit(tiny_config(device="cuda", epochs=1))
    _, cpu = _fit(tiny_config(device="cpu", epochs=1))
    assert gpu.device.startswith("cuda") and gpu.trained is not None
    for task in FEED_TASKS:
        assert gpu.test[task]["auc"] > 0.6
        # Different kernels sum in different orders: close, not bit-identical.
        assert gpu.test[task]["auc"] == pytest.approx(cpu.test[task]["auc"], abs=0.03)
    # The kept model comes back to the CPU, ready to save and serve.
    assert all(p.device.type == "cpu" for p in gpu.trained.model.parameters())


@cuda
def test_cuda_bf16_autocast_is_close_to_fp32():
    config = tiny_config(device="cuda", epochs=2)
    _, full = _fit(config)
    _, half = _fit(replace(config, precision="bf16"))
    for task in FEED_TASKS:
        assert half.test[task]["auc"] == pytest.approx(full.test[task]["auc"], abs=0.03)


@cuda
def test_cuda_mixed_tasks_and_conditioned_model_train():
    """Regression and multiclass losses with missing labels, and per-batch task weights
    drawn on the host once per epoch, on the GPU."""
    _, mixed = _fit(tiny_config(MIXED_TASKS, device="cuda"), mixed_prepared())
    assert all(math.isfinite(v) for m in mixed.test.values() for v in m.values())
    conditioned = tiny_config(device="cuda", model=replace(tiny_config().model, conditioned=True))
    _, cond = _fit(conditioned)
    assert cond.test["click"]["auc"] > 0.6
