"""Where ``python -m mtl train`` spends its time, stage by stage.

The same stages the command runs, timed one by one on a bundled sample or a file:
importing the library, reading the file(s), inferring roles, preparing (split, encoders,
cross-fitted per-id statistics), building the model, each training epoch (with its
validation pass), the test evaluation, the latency measurement and packaging the
trained model. Reference measured in the same run: the training epochs themselves, so
each stage reads as a share of the command (what is worth cutting first).

Run on an otherwise idle machine: ``.venv/bin/python benchmarks/command_stages.py
[--data sample:kuairand] [--epochs 2]``.
"""

from __future__ import annotations

import argparse
import os
import time

T0 = time.perf_counter()
import torch  # noqa: E402

from mtl.data import load, prepare  # noqa: E402
from mtl.data.samples import get_sample, load_sample  # noqa: E402
from mtl.train import Done, Evaluation, TrainConfig, Trainer  # noqa: E402

IMPORT_S = time.perf_counter() - T0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="sample:kuairand", help="sample:<name> or a CSV/CSV.gz/Parquet file")
    ap.add_argument("--tasks", help="comma-separated; default: the sample's tasks")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--arch", default="shared_bottom")
    args = ap.parse_args()
    stages: list[tuple[str, float]] = [("import torch, pandas, scikit-learn, mtl", IMPORT_S)]

    def timed(name, fn):
        start = time.perf_counter()
        value = fn()
        stages.append((name, time.perf_counter() - start))
        return value

    if args.data.startswith("sample:"):
        key = args.data.split(":", 1)[1]
        sample = get_sample(key)
        data = timed("read and infer roles", lambda: load_sample(key))
        tasks, split = list(sample.tasks), sample.split
    else:
        data = timed("read and infer roles", lambda: load(args.data))
        tasks, split = None, "random"
    tasks = args.tasks.split(",") if args.tasks else tasks or list(data.schema.labels)[:3]
    prepared = timed("prepare (split, encoders, per-id statistics)", lambda: prepare(data, tasks, split, seed=0))
    config = TrainConfig(tasks=tasks, arch=args.arch, epochs=args.epochs, patience=args.epochs, device="cpu")
    trainer = timed("build the model and optimizer", lambda: Trainer(prepared, config))
    marks, start, done_at = [], time.perf_counter(), None
    for event in trainer.run():
        if isinstance(event, Evaluation):
            marks.append(time.perf_counter())
        if isinstance(event, Done):
            done_at = time.perf_counter()
            result = event.result
    epochs = [b - a for a, b in zip([start, *marks], marks)]
    for i, secs in enumerate(epochs, 1):
        stages.append((f"epoch {i} (training + validation)", secs))
    stages.append(("test metrics, latency, packaging the model", done_at - marks[-1]))
    latency = timed("  of which: one latency measurement again", trainer.measure_latency)
    del latency
    total = sum(s for name, s in stages if not name.startswith("  "))
    train = sum(epochs)
    print(f"{args.data}: {len(data.frame):,} rows, tasks {', '.join(tasks)}, {args.arch}; torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f}")
    print(f"{'stage':<48}{'seconds':>9}{'share':>8}{'x epochs':>10}")
    for name, secs in stages:
        print(f"{name:<48}{secs:>9.2f}{secs / total:>8.0%}{secs / train:>10.2f}")
    print(f"{'total':<48}{total:>9.2f}{1:>8.0%}{total / train:>10.2f}")
    aucs = ", ".join(f"{t} {result.test[t].get('auc', float('nan')):.4f}" for t in tasks)
    print(f"test AUC: {aucs}; load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
