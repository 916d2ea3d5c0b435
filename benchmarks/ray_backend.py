"""The Ray backend against the local one on an 8-run weight sweep (issue 15, item 2).

One local Ray runtime of 2 CPUs runs the same sweep (8 weightings, no baselines)
twice: each training asking for both CPUs (one at a time, torch with 2 threads: the
backend's **overhead** against the local backend with 2 threads, the same work), and
each asking for one (two at a time, 1 thread each: the **speed-up** of two workers
against the local backend with 1 thread, as the app trains). Every run must give the
local numbers. The runtime's start and its workers' first import of torch are timed
apart (``cold``) from the sweeps that follow (``warm``, the median of ``--repeats``).

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

    start = time.perf_counter()
    get_backend("ray", num_cpus=2).connect()
    print(f"Ray runtime of 2 CPUs started in {time.perf_counter() - start:.1f} s")
    rows = {}
    for threads in (2, 1):
        torch.set_num_threads(threads)
        local = [timed_sweep(prepared, config, get_backend("local")) for _ in range(args.repeats)]
        reference = local[0][1]
        assert all(tests == reference for _, tests in local)
        local_s = statistics.median(t for t, _ in local)
        backend = get_backend("ray", cpus_per_task=threads)
        cold, tests = timed_sweep(prepared, config, backend)
        assert tests == reference, "the Ray backend must give the local numbers"
        warm = []
        for _ in range(args.repeats):
            seconds, tests = timed_sweep(prepared, config, backend)
            assert tests == reference, "the Ray backend must give the local numbers"
            warm.append(seconds)
        ray_s = statistics.median(warm)
        rows[threads] = (local_s, ray_s)
        print(f"{threads} thread(s) per training: local {local_s:.1f} s ({', '.join(f'{t:.1f}' for t, _ in local)}); "
              f"Ray, {2 // threads} at once: first sweep {cold:.1f} s, warm {ray_s:.1f} s "
              f"({', '.join(f'{t:.1f}' for t in warm)})")
    local_s, ray_s = rows[2]
    print(f"overhead of the Ray backend (one training at a time, 2 threads): {ray_s / local_s:.2f}x the local time, "
          f"{(ray_s - local_s) / POINTS:+.2f} s per training")
    local_s, ray_s = rows[1]
    print(f"speed-up with 2 Ray workers (1 thread each) over the local backend with 1 thread: {local_s / ray_s:.2f}x")
    print(f"test metrics identical on both backends in every run; load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
