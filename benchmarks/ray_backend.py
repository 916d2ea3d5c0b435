"""The Ray backend against the local one on an 8-run weight sweep (issue 15, item 2).

Runs the same sweep (8 weightings, no baselines) on the local backend, on a local Ray
runtime of 1 CPU (the backend's overhead: the same one-at-a-time work, plus Ray) and
of 2 CPUs (the speed-up of two workers), checks that every run gives the local
numbers, and prints wall-clock seconds and ratios. A runtime's start and its
workers' first import of torch are timed apart (``cold``) from the sweeps that
follow on the warm runtime (``warm``, the median of ``--repeats``). Torch runs one
thread per training everywhere, as the app does and as Ray gives a 1-CPU task.

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
from mtl.backends import ray_backend as rb
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

    torch.set_num_threads(1)
    data = from_frame(simulate(n_users=1500, n_items=2000, n_impressions=args.impressions, seed=0), name="simulated")
    config = suggested_config(data, tasks=["click", "like"], epochs=args.epochs, device="cpu")
    prepared = prepare(data, config.tasks, config.split, seed=config.seed)
    print(f"load average before: {os.getloadavg()[0]:.1f}; {len(prepared.train):,} training rows, "
          f"{POINTS}-run sweep, {args.epochs} epochs per run, {config.arch}")

    local = [timed_sweep(prepared, config, get_backend("local")) for _ in range(args.repeats)]
    reference = local[0][1]
    local_s = statistics.median(t for t, _ in local)
    print(f"local backend: {local_s:.1f} s ({', '.join(f'{t:.1f}' for t, _ in local)})")

    import ray

    rows = {}
    for cpus in (1, 2):
        start = time.perf_counter()
        backend = get_backend("ray", num_cpus=cpus)
        backend.connect()
        started = time.perf_counter() - start
        cold, tests = timed_sweep(prepared, config, backend)
        assert tests == reference, "the Ray backend must give the local numbers"
        warm = []
        for _ in range(args.repeats):
            seconds, tests = timed_sweep(prepared, config, backend)
            assert tests == reference
            warm.append(seconds)
        rows[cpus] = statistics.median(warm)
        print(f"ray, {cpus} CPU(s): runtime start {started:.1f} s, first sweep (workers import torch) {cold:.1f} s, "
              f"warm {rows[cpus]:.1f} s ({', '.join(f'{t:.1f}' for t in warm)})")
        ray.shutdown()
        rb._connected.clear()
        rb._remote.clear()
    print(f"overhead of the Ray backend, 1 worker, warm: {rows[1] / local_s:.2f}x the local time "
          f"({(rows[1] - local_s) / POINTS:+.2f} s per training)")
    print(f"speed-up with 2 Ray workers, warm: {local_s / rows[2]:.2f}x faster than local, "
          f"{rows[1] / rows[2]:.2f}x faster than 1 Ray worker")
    print(f"identical test metrics on every backend: yes; load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
