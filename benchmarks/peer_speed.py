"""Our shared-bottom, MMoE and PLE against torch-rechub's, on the bundled KuaiRand slice.

Both train on the same time split (train before 2022-05-05, validation on that day,
test after) with the sizes of the issue that asked for this comparison: embeddings of
16, bottom / experts [64, 32], towers [16], batch 4096, Adam, 3 epochs, back to back
in one run. torch-rechub 0.9 trains through its own ``MTLTrainer`` and
``DataGenerator`` (a ``DataLoader``) on five id-like columns (80 input values), the
setup its examples use; ours reads every column the app would (ids, user and video
features, per-id statistics).

Reported per architecture: the steady seconds per epoch (median of epochs 2..n) of
each, ours *including* its validation pass and theirs *excluding* it, the ratio, both
test AUCs per task, and how close our epoch comes to the compute floor: the epoch's
FLOPs (counted by ``torch.utils.flop_counter`` on real batches) at this machine's
measured matmul throughput, divided by the measured epoch time.

Needs the ``bench`` extra: ``pip install -e '.[bench]'`` (torch-rechub is never a
runtime dependency). Run: ``.venv/bin/python benchmarks/peer_speed.py [--epochs 3]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import statistics
import tempfile
import time

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from torch.utils.flop_counter import FlopCounterMode

from mtl.data import prepare
from mtl.data.samples import SAMPLES, load_sample
from mtl.models import ModelConfig
from mtl.models.layers import EMB_SIZINGS, InputLayer
from mtl.tasks import task_loss
from mtl.train import Evaluation, TrainConfig, Trainer

TASKS = ["is_click", "long_view", "is_like"]
PEER_COLUMNS = ["user_id", "video_id", "author_id", "music_id", "tab"]
EMB, HIDDEN, TOWER, BATCH, LR = 16, (64, 32), (16,), 4096, 1e-3
ARCHS = {"shared_bottom": "SharedBottom", "mmoe": "MMOE", "ple": "PLE"}


def matmul_gflops(seconds: float = 1.0) -> float:
    """This machine's fp32 matmul throughput at the shapes of a training step."""
    a, b = torch.randn(BATCH, 256), torch.randn(256, 256)
    a @ b
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        n += 1
    return 2 * BATCH * 256 * 256 * n / (time.perf_counter() - start) / 1e9


def epoch_flops(trainer: Trainer) -> float:
    """FLOPs of one training epoch (forward and backward of every batch)."""
    x_cat, x_num, y = trainer.data.train.x_cat, trainer.data.train.x_num, trainer.data.train.y
    model = trainer.model
    with FlopCounterMode(display=False) as counter:
        out = model(x_cat[:BATCH], x_num[:BATCH])
        sum(task_loss(t, o, y[:BATCH, j]) for j, (o, t) in enumerate(zip(out.outputs, trainer.data.tasks))).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() * len(x_cat) / BATCH


def ours(prepared, arch: str, epochs: int, sizing: str, plain: bool = False, proj: int = ModelConfig.input_proj) -> dict:
    """``plain``: the first layer as one product over the concatenated input, as
    before the fused columns (:meth:`mtl.models.layers.InputLayer.first_layer`)."""
    cfg = TrainConfig(tasks=TASKS, arch=arch, epochs=epochs, patience=epochs, batch_size=BATCH, lr=LR, device="cpu",
                      diagnostics_every=0,
                      model=ModelConfig(emb_dim=EMB, hidden=HIDDEN, tower=TOWER, emb_sizing=sizing, input_proj=proj))
    trainer = Trainer(prepared, cfg)
    if plain:
        for layer in trainer.model.modules():
            if isinstance(layer, InputLayer):
                layer.fused = False
    flops = epoch_flops(trainer)
    marks, result = [time.perf_counter()], None
    for event in trainer.run():
        if isinstance(event, Evaluation):
            marks.append(time.perf_counter())
        result = getattr(event, "result", result)
    epochs_s = np.diff(marks)
    return {"epoch_s": statistics.median(epochs_s[1:]) if len(epochs_s) > 1 else epochs_s[0],
            "auc": {t: result.test[t]["auc"] for t in TASKS}, "flops": flops, "params": result.params}


def _peer_frame(prepared, part: str):
    p = prepared.part(part)
    cols = [prepared.encoder.categorical.index(c) for c in PEER_COLUMNS]
    x = {name: p.x_cat[:, j].numpy() for name, j in zip(PEER_COLUMNS, cols)}
    return x, p.y.numpy()


def peer(prepared, arch: str, epochs: int) -> dict:
    from torch_rechub.basic.features import SparseFeature
    from torch_rechub.models import multi_task
    from torch_rechub.trainers import MTLTrainer
    from torch_rechub.utils.data import DataGenerator

    enc = prepared.encoder
    features = [SparseFeature(c, vocab_size=enc.cardinalities[enc.categorical.index(c)], embed_dim=EMB)
                for c in PEER_COLUMNS]
    types = ["classification"] * len(TASKS)
    towers = [{"dims": list(TOWER)} for _ in TASKS]
    experts = {"dims": list(HIDDEN)}
    torch.manual_seed(0)
    model = {
        "shared_bottom": lambda: multi_task.SharedBottom(features, types, {"dims": list(HIDDEN)}, towers),
        "mmoe": lambda: multi_task.MMOE(features, types, 4, experts, towers),
        "ple": lambda: multi_task.PLE(features, types, 1, 1, 2, experts, towers),
    }[arch]()
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = (_peer_frame(prepared, p) for p in ("train", "valid", "test"))
    train_dl, _, test_dl = DataGenerator(x_tr, y_tr).generate_dataloader(x_va, y_va, x_te, y_te, batch_size=BATCH)
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        trainer = MTLTrainer(model, types, optimizer_params={"lr": LR, "weight_decay": 0.0}, n_epoch=epochs,
                             device="cpu", model_path=tmp)
        times = []
        for _ in range(epochs):  # MTLTrainer.fit's loop, timed without its validation pass
            start = time.perf_counter()
            trainer.train_one_epoch(train_dl)
            times.append(time.perf_counter() - start)
        model.eval()
        with torch.no_grad():
            preds = torch.cat([model(x) for x, _ in test_dl]).numpy()
    auc = {t: roc_auc_score(y_te[:, j], preds[:, j]) for j, t in enumerate(TASKS)}
    return {"epoch_s": statistics.median(times[1:]) if len(times) > 1 else times[0], "auc": auc,
            "params": sum(p.numel() for p in model.parameters())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--archs", default=",".join(ARCHS))
    ap.add_argument("--emb-sizing", default=ModelConfig.emb_sizing, choices=EMB_SIZINGS,
                    help=f"ours (ModelConfig.emb_sizing, default {ModelConfig.emb_sizing})")
    ap.add_argument("--input-proj", type=int, default=ModelConfig.input_proj, metavar="WIDTH",
                    help=f"ours, MMoE and PLE (ModelConfig.input_proj, default {ModelConfig.input_proj})")
    ap.add_argument("--plain", action="store_true",
                    help="also time ours with the first layer as one product over the concatenated input (the "
                         "network before the fused columns), in the same run")
    args = ap.parse_args()
    try:
        import torch_rechub  # noqa: F401
    except ImportError:
        raise SystemExit("error: torch-rechub is not installed: pip install -e '.[bench]'") from None

    load = os.getloadavg()[0]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.machine()}, "
          f"load average {load:.1f} at start; ours with input_proj={args.input_proj}")
    sample = SAMPLES["kuairand"]
    start = time.perf_counter()
    prepared = prepare(load_sample("kuairand"), TASKS, sample.split, seed=0)
    print(f"KuaiRand slice prepared in {time.perf_counter() - start:.1f}s: {len(prepared.train):,} training rows, "
          f"{len(prepared.valid):,} validation, {len(prepared.test):,} test")
    gflops = matmul_gflops()
    print(f"matmul throughput: {gflops:.0f} GFLOP/s\n")
    head = f"{'architecture':<14}{'ours s/ep':>10}{'peer s/ep':>10}{'speed-up':>10}{'floor %':>9}"
    if args.plain:
        head += f"{'plain s/ep':>11}{'speed-up':>10}"
    print(head + "   test AUC ours / peer")
    for arch in args.archs.split(","):
        a, b = ours(prepared, arch, args.epochs, args.emb_sizing, proj=args.input_proj), peer(prepared, arch, args.epochs)
        floor = a["flops"] / (gflops * 1e9) / a["epoch_s"]
        aucs = "  ".join(f"{t} {a['auc'][t]:.4f}/{b['auc'][t]:.4f}" for t in TASKS)
        row = (f"{arch:<14}{a['epoch_s']:>10.2f}{b['epoch_s']:>10.2f}{b['epoch_s'] / a['epoch_s']:>9.2f}x"
               f"{100 * floor:>8.0f}%")
        if args.plain:
            c = ours(prepared, arch, args.epochs, args.emb_sizing, plain=True, proj=args.input_proj)
            row += f"{c['epoch_s']:>11.2f}{b['epoch_s'] / c['epoch_s']:>9.2f}x"
        print(f"{row}   {aucs}", flush=True)
    print(f"\nours: epoch includes validation; peer (torch-rechub MTLTrainer): training only. "
          f"floor %: our epoch's FLOPs at {gflops:.0f} GFLOP/s over its measured time. "
          f"Load average at the end {os.getloadavg()[0]:.1f}.")


if __name__ == "__main__":
    main()
