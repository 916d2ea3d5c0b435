"""Where one training step's time goes: the PyTorch profiler over training steps.

Builds the trainer ``peer_speed.py`` builds (bundled KuaiRand slice, the issue's
sizes: embeddings 16, experts [64, 32], towers [16], batch 4096, static weights),
runs a few warm-up steps, then profiles ``--steps`` steps of the real training loop
(:meth:`mtl.train.Trainer.train_step`: forward, losses, the loss read-back, backward,
Adam) and prints the operators by *self CPU time*, which a loaded machine distorts
less than wall time, plus the CPU time per step.

Run: ``.venv/bin/python benchmarks/profile_step.py --arch mmoe [--steps 10] [--rows 30] [--threads 1] [--plain] [--compile]``
(``--plain``: the first layer as before the fused columns, for a before/after;
``--compile``: also ``torch.compile``'s network, its compile time and its CPU time
per step against the eager network's, in alternate rounds in the same process).
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch.profiler import ProfilerActivity, profile

from mtl.data import prepare
from mtl.data.samples import SAMPLES, load_sample
from mtl.models import ModelConfig
from mtl.models.layers import EMB_SIZINGS, InputLayer
from mtl.train import TrainConfig, Trainer

TASKS = ["is_click", "long_view", "is_like"]
EMB, HIDDEN, TOWER, BATCH, LR = 16, (64, 32), (16,), 4096, 1e-3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="mmoe")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--rows", type=int, default=30, help="operators to list")
    ap.add_argument("--emb-sizing", default=ModelConfig.emb_sizing, choices=EMB_SIZINGS)
    ap.add_argument("--input-proj", type=int, default=ModelConfig.input_proj, metavar="WIDTH")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's)")
    ap.add_argument("--plain", action="store_true",
                    help="the first layer as one product over the concatenated input (before the fused columns)")
    ap.add_argument("--compile", action="store_true",
                    help="also time torch.compile's network (compile time, CPU time per step against eager)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    sample = SAMPLES["kuairand"]
    prepared = prepare(load_sample("kuairand"), TASKS, sample.split, seed=0)
    cfg = TrainConfig(tasks=TASKS, arch=args.arch, epochs=1, batch_size=BATCH, lr=LR, device="cpu",
                      diagnostics_every=0,
                      model=ModelConfig(emb_dim=EMB, hidden=HIDDEN, tower=TOWER, emb_sizing=args.emb_sizing,
                                        input_proj=args.input_proj))
    trainer = Trainer(prepared, cfg)
    if args.plain:
        for layer in trainer.model.modules():
            if isinstance(layer, InputLayer):
                layer.fused = False
    trainer.model.train()
    n = len(prepared.train)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    batches = [order[a:a + BATCH] for a in range(0, n - BATCH + 1, BATCH)]
    for idx in batches[:3]:  # warm-up: first-call allocations and lazy initializations
        trainer.train_step(idx)
    steps = [batches[(3 + k) % len(batches)] for k in range(args.steps)]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for idx in steps:
            trainer.train_step(idx)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    total = sum(e.self_cpu_time_total for e in prof.key_averages())
    print(f"{args.arch}, {args.emb_sizing} sizing, input_proj={args.input_proj}{', plain first layer' if args.plain else ''}, {trainer.model.n_parameters():,} parameters, "
          f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f}")
    print(f"{args.steps} steps: {1e3 * cpu / args.steps:.1f} ms CPU time per step (process, with the profiler), "
          f"{1e3 * wall / args.steps:.1f} ms wall; profiled self CPU {total / 1e3 / args.steps:.1f} ms per step\n")
    print(f"{'operator':<48}{'self CPU ms/step':>17}{'share':>8}{'calls/step':>12}")
    for e in sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:args.rows]:
        print(f"{e.key[:47]:<48}{e.self_cpu_time_total / 1e3 / args.steps:>17.2f}"
              f"{100 * e.self_cpu_time_total / total:>7.1f}%{e.count / args.steps:>12.1f}")
    if args.compile:
        compare_compiled(trainer, steps)


def _cpu_per_step(trainer: Trainer, steps) -> float:
    start = time.process_time()
    for idx in steps:
        trainer.train_step(idx)
    return 1e3 * (time.process_time() - start) / len(steps)


def compare_compiled(trainer: Trainer, steps, rounds: int = 3) -> None:
    """torch.compile (inductor, static shapes) of the model: the seconds until its first
    two steps are done, then CPU time per step, eager and compiled alternately."""
    eager = trainer.model
    start = time.perf_counter()
    compiled = torch.compile(eager, dynamic=False)
    trainer.model = compiled
    for idx in steps[:2]:
        trainer.train_step(idx)
    print(f"\ntorch.compile: {time.perf_counter() - start:.0f} s to compile and run the first two steps "
          f"(load average {os.getloadavg()[0]:.1f})")
    times = {"eager": [], "compiled": []}
    for _ in range(rounds):
        for name, model in (("eager", eager), ("compiled", compiled)):
            trainer.model = model
            times[name].append(_cpu_per_step(trainer, steps))
    trainer.model = eager
    print("ms CPU per step, rounds alternately: " + "; ".join(
        f"{name} {', '.join(f'{t:.1f}' for t in ts)}" for name, ts in times.items()))


if __name__ == "__main__":
    main()
