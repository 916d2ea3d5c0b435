"""Trade-off fronts: retraining per weighting vs one preference-conditioned model.

Measures, in one run on the same data and split:

1. the time to an 11-point front by retraining one fixed-weight model per weight
   vector, versus training one conditioned model and evaluating it at the same 11
   vectors (reported as a ratio), with the conditioned model's fidelity
   (|ΔAUC| per task against the retrains);
2. slider-to-metrics latency: predictions and test metrics for 20k test rows at a new
   weight vector (median over 30 random vectors), against the 200 ms budget and as a
   ratio to the wall time of a single retrain.

Run: ``.venv/bin/python benchmarks/tradeoff_speed.py [--dataset simulated] [--epochs 5]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from mtl.data import prepare
from mtl.data.samples import SAMPLES, load_sample
from mtl.models import ModelConfig
from mtl.tradeoff import ConditionedExplorer, sweep, weight_grid
from mtl.train import TrainConfig, Trainer

SLIDER_ROWS = 20_000
BUDGET_MS = 200.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="simulated", choices=list(SAMPLES))
    ap.add_argument("--tasks", help="two or more tasks (default: the sample's first two)")
    ap.add_argument("--points", type=int, default=11)
    ap.add_argument("--epochs", type=int, default=5)
    args = ap.parse_args()

    sample = SAMPLES[args.dataset]
    tasks = args.tasks.split(",") if args.tasks else list(sample.tasks[:2])
    prepared = prepare(load_sample(args.dataset), tasks, sample.split, seed=0)
    base = TrainConfig(tasks=tasks, epochs=args.epochs, device="cpu", split=sample.split)
    grid = weight_grid(len(tasks), args.points)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {sample.title}: "
          f"{len(prepared.train):,} train rows, tasks {', '.join(tasks)}, {len(grid)} weightings, <= {args.epochs} epochs")

    result = sweep(prepared, base, grid, retrain=True, conditioned=True, baselines=False)
    conditioned_total = result.conditioned_train_seconds + result.conditioned_eval_seconds
    print(f"\n{len(grid)}-point front by retraining:        {result.retrain_seconds:8.1f} s")
    print(f"{len(grid)}-point front by one conditioned model: {conditioned_total:8.1f} s "
          f"(train {result.conditioned_train_seconds:.1f} s + evaluate {result.conditioned_eval_seconds:.2f} s)")
    print(f"speed-up: {result.retrain_seconds / conditioned_total:.1f}x")
    fid = result.fidelity()
    for t in result.tasks:
        d = [row[f"{t.name} |Δ{t.primary_metric}|"] for row in fid]
        print(f"fidelity {t.name}: |Δ{t.primary_metric}| mean {np.mean(d):.4f}, max {np.max(d):.4f}")

    # Slider latency on 20k test rows (repeat test rows if the split is smaller).
    cfg = TrainConfig(tasks=tasks, epochs=1, device="cpu", model=ModelConfig(conditioned=True))
    model = Trainer(prepared, cfg).fit().trained.model
    test = prepared.test
    reps = int(np.ceil(SLIDER_ROWS / len(test)))
    idx = torch.arange(len(test)).repeat(reps)[:SLIDER_ROWS]
    explorer = ConditionedExplorer(model, prepared.tasks, test.x_cat[idx], test.x_num[idx], test.y[idx])
    rng = np.random.default_rng(0)
    explorer.quick_metrics([1.0 / len(tasks)] * len(tasks))  # warm-up (the Trade-offs page slider path)
    times = []
    for _ in range(30):
        w = rng.dirichlet(np.ones(len(tasks)))
        t0 = time.perf_counter()
        explorer.quick_metrics(w)
        times.append(1000 * (time.perf_counter() - t0))
    one_retrain = result.retrain_seconds / len(grid)
    med = float(np.median(times))
    print(f"\nslider -> predictions + metrics for {SLIDER_ROWS:,} rows: median {med:.1f} ms, p90 {np.percentile(times, 90):.1f} ms "
          f"({med / BUDGET_MS:.2f} of the {BUDGET_MS:.0f} ms budget; {one_retrain * 1000 / med:,.0f}x faster than one retrain)")


if __name__ == "__main__":
    main()
