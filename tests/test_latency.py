"""Inference latency (mtl.train.latency): enough rows, warm-up, repeats, a spread."""

from __future__ import annotations

import time

import torch

from mtl.train import latency
from mtl.train.latency import measure_latency


class _Model(torch.nn.Module):
    """Sleeps a fixed time per call, once much longer (a hiccup of a loaded machine)."""

    def __init__(self, hiccup_at: int):
        super().__init__()
        self.calls, self.hiccup_at, self.rows = 0, hiccup_at, []

    def forward(self, x_cat, x_num):
        self.calls += 1
        self.rows.append(len(x_cat))
        time.sleep(0.05 if self.calls == self.hiccup_at else 0.002)
        return x_num.sum()


def test_latency_is_robust_to_a_slow_call_and_reports_its_spread():
    model = _Model(hiccup_at=1)   # the first call (a cold start) is slow
    lat = measure_latency(model, torch.zeros(100, 2, dtype=torch.long), torch.zeros(100, 3), rows=1000,
                          min_repeats=15, min_seconds=0.0)
    # Small test parts are repeated up to the rows asked for, warm-up calls are not timed.
    assert set(model.rows) == {1000} and lat.rows == 1000
    assert lat.repeats == 15 and model.calls == 15 + latency.WARMUP
    # ~2 ms per call on 1,000 rows: 2 ms per 1,000 rows, untouched by the 50 ms first call.
    assert 1.5 < lat.median < 10 and lat.fastest <= lat.q25 <= lat.median <= lat.q75
    assert model.training   # its mode is restored


def test_a_late_hiccup_moves_the_spread_not_the_median():
    steady = measure_latency(_Model(hiccup_at=-1), torch.zeros(10, 1, dtype=torch.long), torch.zeros(10, 1), rows=100,
                             min_repeats=21, min_seconds=0.0)
    hiccup = measure_latency(_Model(hiccup_at=10), torch.zeros(10, 1, dtype=torch.long), torch.zeros(10, 1), rows=100,
                             min_repeats=21, min_seconds=0.0)
    # One 25x slower call out of 21 barely moves the median (a mean would jump by ~2x).
    assert hiccup.median < 2 * steady.median
