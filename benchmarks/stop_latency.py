"""Stop-to-results latency: from pressing Stop to the kept model's test metrics.

Trains in the background exactly as the app does (:class:`mtl.train.BackgroundTraining`
with the app's live settings) on a bundled sample, presses Stop at a few points of
the run (mid-epoch before the first evaluation, and after one), and times how long
until the result (test metrics of the kept model, its latency, the saved-model object)
is there. Reference measured in the same run: one training epoch of the same model, so
the figure reads as a fraction of an epoch.

Run on an otherwise idle machine: ``.venv/bin/python benchmarks/stop_latency.py
[--sample kuairand] [--arch mmoe]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from mtl.data import prepare
from mtl.data.samples import SAMPLES, load_sample
from mtl.train import BackgroundTraining, TrainConfig


def stop_after(prepared, config: TrainConfig, fraction: float) -> tuple[float, float]:
    """Stop once ``fraction`` of the run is done; (stop-to-result seconds, epoch seconds)."""
    job = BackgroundTraining(prepared, config).start()
    while job.progress is None or job.progress.fraction < fraction:
        if job.done:
            raise SystemExit("error: the run ended before the stop point; lower the fraction")
        time.sleep(0.01)
    progress = job.progress
    start = time.perf_counter()
    job.stop()
    job.join()
    latency = time.perf_counter() - start
    if job.result is None:
        raise SystemExit(f"error: no result after Stop ({job.error})")
    epoch = progress.elapsed / (progress.fraction * config.epochs)
    return latency, epoch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", default="simulated", choices=sorted(SAMPLES))
    ap.add_argument("--arch", default="mmoe")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    sample = SAMPLES[args.sample]
    prepared = prepare(load_sample(args.sample), list(sample.tasks), sample.split, seed=0)
    config = TrainConfig(tasks=list(sample.tasks), arch=args.arch, epochs=4, batch_size=2048, device="cpu")
    print(f"{args.sample}: {len(prepared.train):,} training rows, {len(prepared.test):,} test rows, {args.arch}; "
          f"load average {os.getloadavg()[0]:.1f}")
    for fraction, label in ((0.1, "mid first epoch, before any evaluation"), (0.4, "after an evaluation")):
        runs = [stop_after(prepared, config, fraction) for _ in range(args.repeats)]
        latency = statistics.median(r[0] for r in runs)
        epoch = statistics.median(r[1] for r in runs)
        print(f"stop {label}: result after {latency:.2f}s (median of {args.repeats}; "
              f"{latency / epoch:.2f} of a {epoch:.1f}s epoch)")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
