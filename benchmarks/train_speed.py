"""Training throughput per architecture on 200k simulated interactions.

Setup (from the issue): 5k users, 20k items, 3 tasks (click, like, long_view),
random 80/10/10 split. For each architecture we train 2 epochs with the project's
trainer and report the second epoch (the first includes warm-up), validation
included, as seconds per epoch and training samples per second.

Reference measured in the same run: the textbook PyTorch loop a user would write
first, a ``DataLoader`` over a ``TensorDataset`` with ``shuffle=True``, training the
same shared-bottom model for one epoch. Figures are reported as ratios to it, so
they compare across machines.

Run: ``.venv/bin/python benchmarks/train_speed.py [--impressions N] [--archs a,b]``
"""

from __future__ import annotations

import argparse
import platform
import time

import torch
from torch.utils.data import DataLoader, TensorDataset

from mtl.data import from_frame, prepare
from mtl.data.synthetic import simulate
from mtl.models import available_models, build_model
from mtl.tasks import task_loss
from mtl.train import Evaluation, TrainConfig, Trainer

TASKS = ["click", "like", "long_view"]


def dataloader_reference(prepared, batch_size: int, seed: int = 0) -> float:
    """Seconds for one epoch of a plain DataLoader loop (no validation)."""
    torch.manual_seed(seed)
    enc = prepared.encoder
    model = build_model("shared_bottom", enc.cardinalities, len(enc.numeric_names), prepared.tasks)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    tr = prepared.train
    loader = DataLoader(TensorDataset(tr.x_cat, tr.x_num, tr.y), batch_size=batch_size, shuffle=True)
    start = time.perf_counter()
    for x_cat, x_num, y in loader:
        out = model(x_cat, x_num).outputs
        loss = sum(task_loss(t, o, y[:, j]) for j, (o, t) in enumerate(zip(out, prepared.tasks)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def epoch_seconds(prepared, arch: str, batch_size: int) -> float:
    """Wall time of the second epoch (training + validation) with the project's trainer."""
    cfg = TrainConfig(tasks=TASKS, arch=arch, epochs=2, patience=5, batch_size=batch_size, device="cpu")
    marks = [time.perf_counter()]
    for event in Trainer(prepared, cfg).run():
        if isinstance(event, Evaluation):
            marks.append(time.perf_counter())
    return marks[2] - marks[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--impressions", type=int, default=200_000)
    ap.add_argument("--users", type=int, default=5_000)
    ap.add_argument("--items", type=int, default=20_000)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--archs", default=",".join(available_models()))
    args = ap.parse_args()

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    t0 = time.perf_counter()
    frame = simulate(n_users=args.users, n_items=args.items, n_impressions=args.impressions, seed=0)
    t1 = time.perf_counter()
    prepared = prepare(from_frame(frame, name="benchmark"), TASKS, "random", seed=0)
    t2 = time.perf_counter()
    n = len(prepared.train)
    print(f"simulate {t1 - t0:.2f}s, prepare {t2 - t1:.2f}s; {n:,} training rows, batch {args.batch_size}")

    ref = dataloader_reference(prepared, args.batch_size)
    print(f"reference: DataLoader(TensorDataset) loop, shared_bottom, 1 epoch without validation: "
          f"{ref:.2f}s ({n / ref:,.0f} samples/s)\n")
    print(f"{'architecture':<15}{'params':>10}{'epoch s':>10}{'samples/s':>12}{'vs reference':>14}")
    for arch in args.archs.split(","):
        secs = epoch_seconds(prepared, arch, args.batch_size)
        enc = prepared.encoder
        params = build_model(arch, enc.cardinalities, len(enc.numeric_names), prepared.tasks).n_parameters()
        print(f"{arch:<15}{params:>10,}{secs:>10.2f}{n / secs:>12,.0f}{ref / secs:>13.2f}x")
    print("\n'vs reference' > 1 means an epoch (including validation) is faster than the plain DataLoader epoch.")


if __name__ == "__main__":
    main()
