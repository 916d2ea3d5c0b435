"""Shared by the fuzz tests and their regression replay: the contract every input file
must meet, and a way to keep a file that broke it.

The contract (issue 16): reading, preparing and training (one tiny epoch) either
succeed with finite numbers or raise the project's own error type,
:class:`~mtl.errors.MTLError`, with a one-line message. Anything else (a traceback of
pandas, scikit-learn, PyTorch, NumPy ...) is a bug.
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path
from unittest import mock

import numpy as np
import torch

from mtl.data import from_frame, prepare, read_table, suggest_tasks
from mtl.data.dataset import check_usable
from mtl.errors import MTLError
from mtl.models import ModelConfig
from mtl.train import TrainConfig, Trainer
from mtl.train.latency import Latency

REGRESSIONS = Path(__file__).parent / "fuzz_regressions"
TINY = ModelConfig(emb_dim=2, hidden=(4,), tower=(2,))


def keep_failure(name: str, content: bytes) -> Path | None:
    """With ``MTL_FUZZ_SAVE=1`` (never in CI), keep a file that broke the contract in
    ``tests/fuzz_regressions/`` so that the replay test runs it from then on."""
    if os.environ.get("MTL_FUZZ_SAVE") != "1":
        return None
    REGRESSIONS.mkdir(exist_ok=True)
    path = REGRESSIONS / f"{hashlib.sha1(content).hexdigest()[:12]}-{name}"
    path.write_bytes(content)
    return path


def check_contract(name: str, content: bytes, *, train: bool) -> str:
    """Run ``content`` (a file called ``name``) through read, load check, suggest,
    prepare and, with ``train``, one tiny epoch. Returns how far it got ("refused: ..."
    or "trained" / "prepared"); raises AssertionError when the contract is broken."""
    try:
        return _pipeline(name, content, train)
    except MTLError as err:
        message = str(err)
        assert message and "\n" not in message, f"an error message must be one non-empty line: {message!r}"
        return f"refused: {type(err).__name__}"
    except BaseException as err:
        saved = keep_failure(name, content)
        raise AssertionError(f"{name}: {type(err).__name__}: {err}" + (f" (kept as {saved})" if saved else "")) from err


def _pipeline(name: str, content: bytes, train: bool) -> str:
    df = read_table(content, name=name)
    data = from_frame(df, name=name)
    check_usable(data)
    data.label_summary()
    data.schema.table()
    tasks = suggest_tasks(data).tasks
    prepared = prepare(data, tasks, seed=0)
    for part in (prepared.train, prepared.valid, prepared.test):
        assert bool(torch.isfinite(part.x_num).all()), "non-finite model input"
        assert part.x_cat.numel() == 0 or int(part.x_cat.min()) >= 0
    for spec in prepared.tasks:
        if spec.kind == "regression":
            assert math.isfinite(spec.mean) and math.isfinite(spec.std) and spec.std > 0
    if not train:
        return "prepared"
    config = TrainConfig(tasks=list(prepared.task_names), epochs=1, batch_size=64, lr=1e-2, device="cpu",
                         model=TINY, patience=1, seed=0, diagnostics_every=0)
    config.validate()
    # The inference-latency benchmark after training times repeated passes (over a
    # second per case); it reads no input values, so the fuzz cases skip it.
    with mock.patch.object(Trainer, "measure_latency", lambda self: Latency(0.0, 0.0, 0.0, 0.0, 1, 1)):
        result = Trainer(prepared, config).fit()
    for spec in prepared.tasks:
        metrics = result.test[spec.name]
        for key, value in metrics.items():
            assert not (isinstance(value, float) and math.isinf(value)), f"{spec.name} {key} is {value}"
        y = prepared.test.y[:, prepared.task_names.index(spec.name)].numpy()
        y = y[~np.isnan(y)]
        defined = len(np.unique(y)) > 1 if spec.kind == "binary" else len(y) > 0
        if defined:
            assert math.isfinite(metrics[spec.primary_metric]), f"{spec.name} {spec.primary_metric} is not finite"
    return "trained"
