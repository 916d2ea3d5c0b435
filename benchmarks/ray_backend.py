"""The Ray backend against the local one on an 8-run weight sweep (issue 15, item 2).

The same sweep (8 weightings, no baselines) runs on the local backend and on a local
Ray runtime of 1 CPU (one training at a time: the backend's **overhead**, the same
work plus Ray) and of 2 CPUs (two at a time: the **speed-up** of two workers), torch
with one thread per training everywhere (as the app trains, and as Ray gives a 1-CPU
task; two threads spin against each other on a busy 2-core machine). Every run must
give the local numbers. A runtime's start and its workers' first import of torch are
timed apart (``first sweep``) from the sweeps that follow (``warm``, the median of
``--repeats``).

    .venv/bin/python benchmarks/ray_backend.py [--impressions 20000] [--epochs 2] [--repeats 2]

Needs ``pip install 'mtl-tradeoff-explorer[ray]'``. Say the machine's load with the
numbers: on a busy machine two workers cannot run at twice the speed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from mtl.backends import get_backend
from mtl.data import from_frame, prepare
from mtl.data.synthetic import simulate
from mtl.setup import suggested_config
from mtl.tradeoff import sweep

POINTS = 8


def timed_sweep(prepared, config, backend) -> tuple[float, list]:
    start = time.perf_counter()
    result = sweep(prepared, config, points=POINTS, baselines=False, backend=backend)
    return time.perf_counter() - start, [p.test for p in result.points]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--impressions", type=int, default=20_000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()

    data = from_frame(simulate(n_users=1500, n_items=2000, n_impressions=args.impressions, seed=0), name="simulated")
    config = suggested_config(data, tasks=["click", "like"], epochs=args.epochs, device="cpu")
    prepared = prepare(data, config.tasks, config.split, seed=config.seed)
    print(f"load average before: {os.getloadavg()[0]:.1f}; {len(prepared.train):,} training rows, "
          f"{POINTS}-run sweep, {args.epochs} epochs per run, {config.arch}")

    torch.set_num_threads(1)
    local = [timed_sweep(prepared, config, get_backend("local")) for _ in range(args.repeats)]
    reference = local[0][1]
    assert all(tests == reference for _, tests in local)
    local_s = statistics.median(t for t, _ in local)
    print(f"local backend: {local_s:.1f} s ({', '.join(f'{t:.1f}' for t, _ in local)})")
    import ray

    from mtl.backends import ray_backend

    warm = {}
    for cpus in (1, 2):
        start = time.perf_counter()
        backend = get_backend("ray", num_cpus=cpus)
        backend.connect()
        started = time.perf_counter() - start
        cold, tests = timed_sweep(prepared, config, backend)
        assert tests == reference, "the Ray backend must give the local numbers"
        runs = []
        for _ in range(args.repeats):
            seconds, tests = timed_sweep(prepared, config, backend)
            assert tests == reference, "the Ray backend must give the local numbers"
            runs.append(seconds)
        warm[cpus] = statistics.median(runs)
        print(f"Ray runtime of {cpus} CPU(s): started in {started:.1f} s, first sweep {cold:.1f} s, "
              f"warm {warm[cpus]:.1f} s ({', '.join(f'{t:.1f}' for t in runs)})")
        ray.shutdown()
        ray_backend._connected.clear()
        ray_backend._remote.clear()
    print(f"overhead of the Ray backend, 1 worker, warm: {warm[1] / local_s:.2f}x the local time, "
          f"{(warm[1] - local_s) / POINTS:+.2f} s per training")
    print(f"speed-up with 2 Ray workers, warm: {local_s / warm[2]:.2f}x the local backend, "
          f"{warm[1] / warm[2]:.2f}x one Ray worker")
    print(f"test metrics identical on both backends in every run; load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
