"""Per-epoch cost of each weighting method, and of the gradient diagnostics, relative
to static weights measured in the same run.

Setup: a simulated feed (``mtl.data.synthetic.simulate``; 3,000 users, 5,000 items,
60,000 impressions by default), three tasks (click, like, long_view), random
80/10/10 split, the default network, batch 1024, CPU. Each configuration trains
one epoch with the project's trainer, after a warm-up epoch at the start of the
process; the figure is the epoch's training time (first to last batch, validation
excluded), the best of ``--repeats`` runs, the configurations interleaved so that
drifting machine load affects them alike.

By default the time is this process's CPU time with one PyTorch thread
(``--clock cpu --threads 1``): the work a method adds, which other programs
competing for the cores barely change (wall-clock ratios on a busy 2-core machine
varied by 10x between repeats). ``--clock wall --threads N`` measures elapsed time
on an idle machine.

Two tables:

* every registered method whose dependencies are installed, with diagnostics off,
  as a ratio to static weights (diagnostics off) on the same architecture, and the
  epoch's peak memory above its start (``mtl.train.cost.measure_costs``); ``--write``
  saves the first architecture's table as ``mtl/train/weighting_cost.json``, the
  costs the app shows next to each method (refresh it when adding a method; with
  ``--methods a,b --merge`` only those rows are replaced, each measured against static
  weights in this run, and the run is listed under ``"merged"`` in the file);
* static weights with diagnostics every 50 batches (the default), every 10 and on
  every batch, as a ratio to diagnostics off, and the cost of one measurement.

Run: ``.venv/bin/python benchmarks/weighting_overhead.py [--impressions N]
[--archs shared_bottom,mmoe] [--methods a,b] [--repeats 3] [--write [PATH] [--merge]]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from dataclasses import asdict
from pathlib import Path

import torch

from mtl.data import from_frame, prepare
from mtl.data.synthetic import simulate
from mtl.train import TrainConfig
from mtl.train.cost import CLOCKS, TABLE_PATH, epoch_cost, measure_costs
from mtl.weighting import weighting_status

TASKS = ["click", "like", "long_view"]


def best_of(prepared, runs: list[tuple], repeats: int, batch_size: int, clock) -> dict[tuple, float]:
    """Each (arch, weighting, diagnostics_every) configuration's best time, interleaved."""
    best = {run: float("inf") for run in runs}
    for _ in range(repeats):
        for arch, weighting, every in runs:
            cfg = TrainConfig(tasks=TASKS, arch=arch, weighting=weighting, epochs=1, batch_size=batch_size,
                              device="cpu", diagnostics_every=every)
            best[(arch, weighting, every)] = min(best[(arch, weighting, every)], epoch_cost(prepared, cfg, clock)[0])
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--impressions", type=int, default=60_000)
    ap.add_argument("--users", type=int, default=3_000)
    ap.add_argument("--items", type=int, default=5_000)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--archs", default="shared_bottom,mmoe")
    ap.add_argument("--methods", help="comma-separated (default: every installed method)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--clock", choices=list(CLOCKS), default="cpu", help="process CPU time or elapsed time")
    ap.add_argument("--threads", type=int, default=1, help="PyTorch threads")
    ap.add_argument("--write", nargs="?", const=str(TABLE_PATH), default=None, metavar="PATH",
                    help="save the first architecture's table as the app's cost table (default: the shipped one)")
    ap.add_argument("--merge", action="store_true",
                    help="with --write and --methods: replace only those methods' rows of the existing table")
    ap.add_argument("--skip-diagnostics", action="store_true", help="only the methods' table")
    args = ap.parse_args()
    if args.merge and not (args.write and args.methods):
        raise SystemExit("error: --merge needs --write and --methods")
    clock = CLOCKS[args.clock]

    status = weighting_status()
    methods = args.methods.split(",") if args.methods else [m for m, s in status.items() if s.available]
    missing = [f"{m} ({s.hint})" for m, s in status.items() if not s.available and not args.methods]
    archs = args.archs.split(",")

    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    frame = simulate(n_users=args.users, n_items=args.items, n_impressions=args.impressions, seed=0)
    prepared = prepare(from_frame(frame, name="benchmark"), TASKS, "random", seed=0)
    steps = -(-len(prepared.train) // args.batch_size)
    print(f"{len(prepared.train):,} training rows, batch {args.batch_size}: {steps} batches per epoch; "
          f"{args.clock} time, best of {args.repeats}")
    if missing:
        print("not installed, skipped: " + "; ".join(missing))

    for arch in archs:
        table = measure_costs(prepared, TASKS, methods, arch, args.batch_size, args.repeats, args.clock, args.threads)
        print(f"\n{'architecture':<15}{'method':<15}{'epoch s':>9}{'ms/batch':>10}{'vs static':>11}{'peak MiB':>10}")
        for m, c in table.costs.items():
            peak = "-" if c.peak_mib is None else f"{c.peak_mib:.0f}"
            print(f"{arch:<15}{m:<15}{c.epoch_seconds:>9.2f}{1000 * c.epoch_seconds / steps:>10.1f}"
                  f"{c.time_ratio:>10.2f}x{peak:>10}")
        print(f"load average while measuring: {table.machine['load']} on {table.machine['cores']} cores")
        if args.write and arch == archs[0]:
            if args.merge:
                merge(args.write, table)
            else:
                table.save(args.write)
            print(f"wrote {args.write}")

    if args.skip_diagnostics:
        return

    arch = archs[0]
    diag_runs = [(arch, "static", every) for every in (0, 50, 10, 1)]
    diag = best_of(prepared, diag_runs, args.repeats, args.batch_size, clock)
    off = diag[(arch, "static", 0)]
    print(f"\ndiagnostics, static weights on {arch} (ratio to diagnostics off, {off:.2f}s):")
    for every in (50, 10, 1):
        t = diag[(arch, "static", every)]
        print(f"  every {every:>2} batches: {t:6.2f}s  {t / off:5.3f}x")
    per_measure = (diag[(arch, "static", 1)] - off) / steps
    print(f"  one measurement: {1000 * per_measure:.1f} ms, "
          f"{100 * per_measure / (off / steps):.0f}% of a training batch ({1000 * off / steps:.1f} ms)")


def merge(path: str, table) -> None:
    """Replace the rows of ``table``'s methods (static weights, their reference, excepted)
    in the table at ``path``, and record the run under ``"merged"``."""
    data = json.loads(Path(path).read_text())
    if data["shape"] != table.shape:
        raise SystemExit(f"error: {path} was measured on {data['shape']}, this run on {table.shape}")
    rows = {c["method"]: c for c in data["costs"]}
    new = [m for m in table.costs if m != "static"]
    for m in new:
        rows[m] = asdict(table.costs[m])
    data["costs"] = list(rows.values())
    data.setdefault("merged", []).append({"methods": new, "measured": table.measured,
                                          "static_epoch_seconds": table.costs["static"].epoch_seconds,
                                          "machine": table.machine})
    Path(path).write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    main()
