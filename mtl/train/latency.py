"""Inference latency of a trained model, measured so that it can be compared.

A single timing of a small model on a CPU swings by an order of magnitude with what
else the machine does (another training thread, a browser, a first call that
allocates), so one number from five calls on a few thousand rows jumps between runs
of the same model. Here the input is at least ``rows`` rows (test rows repeated when
the test part is smaller), a few warm-up calls are discarded, and the model is timed
until both ``min_repeats`` calls and ``min_seconds`` have passed. The result is the
median with the middle half (25th-75th percentile) and the fastest call, all in
milliseconds per 1,000 rows.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

# 4,096 rows keep one call well above timer resolution and per-call overhead, and the
# whole measurement near 0.1-0.2 s: it sits between Stop and the results.
ROWS = 4096
WARMUP = 2
MIN_REPEATS = 15
MAX_REPEATS = 200
MIN_SECONDS = 0.1


@dataclass(frozen=True)
class Latency:
    """Milliseconds per 1,000 rows."""

    median: float
    q25: float
    q75: float
    fastest: float
    repeats: int
    rows: int

    def to_json(self) -> dict:
        return asdict(self)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def measure_latency(model: torch.nn.Module, x_cat: torch.Tensor, x_num: torch.Tensor, *, rows: int = ROWS,
                    warmup: int = WARMUP, min_repeats: int = MIN_REPEATS, max_repeats: int = MAX_REPEATS,
                    min_seconds: float = MIN_SECONDS) -> Latency:
    """Time ``model(x_cat, x_num)`` on ``rows`` rows (see the module docstring)."""
    if len(x_cat) == 0:
        raise ValueError("No rows to time the model on")
    if len(x_cat) < rows:
        reps = -(-rows // len(x_cat))
        x_cat, x_num = x_cat.repeat(reps, 1), x_num.repeat(reps, 1)
    x_cat, x_num = x_cat[:rows], x_num[:rows]
    device = x_cat.device
    was_training = model.training
    model.eval()
    try:
        for _ in range(warmup):
            model(x_cat, x_num)
        _sync(device)
        times: list[float] = []
        start = time.perf_counter()
        while len(times) < max_repeats and (len(times) < min_repeats or time.perf_counter() - start < min_seconds):
            t0 = time.perf_counter()
            model(x_cat, x_num)
            _sync(device)
            times.append(time.perf_counter() - t0)
    finally:
        model.train(was_training)
    per_1k = np.asarray(times) * 1000.0 * 1000.0 / len(x_cat)
    q25, median, q75 = np.percentile(per_1k, [25, 50, 75])
    return Latency(float(median), float(q25), float(q75), float(per_1k.min()), len(times), len(x_cat))
