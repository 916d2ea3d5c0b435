"""Time and peak memory of each stage of ``synth`` + ``train`` on a large simulated log.

The stages the two commands run, one by one, in one process: simulating the log into a
Parquet (or ``--format csv.gz``) file chunk by chunk, reading it (``mtl.data.load``:
Parquet batches or CSV blocks read into narrow columns, roles inferred), preparing it (split, encoders, per-id statistics,
tensors), one training epoch, and the evaluation that ends the run (test metrics,
latency, packaging the model). For each stage: wall time, rows per second, and the
process's peak resident memory *during that stage* (Linux resets the high-water mark
when ``5`` is written to ``/proc/self/clear_refs``), next to the resident memory at its
end. The largest of those peaks is what ``python -m mtl train`` needs.

Run at low priority on a shared machine, and say the load (``uptime``) next to the
numbers::

    nice -n 10 .venv/bin/python benchmarks/scale.py                # 1M rows
    nice -n 10 .venv/bin/python benchmarks/scale.py --rows 10000000 --json scale10m.json

``--data FILE`` skips the simulation and reads an existing log instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")  # pragma: no cover


def reset_peak() -> bool:
    """Start a new high-water mark of resident memory; False where Linux cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_mb() -> float:
    return _status_kb("VmHWM") / 1024


def rss_mb() -> float:
    return _status_kb("VmRSS") / 1024


class Stages:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def run(self, name: str, rows, fn):
        """``rows``: a count, or a function of the stage's value (the rows read)."""
        reset_peak()
        start = time.perf_counter()
        value = fn()
        seconds = time.perf_counter() - start
        self.add(name, rows(value) if callable(rows) else rows, seconds)
        return value

    def add(self, name: str, rows: int | None, seconds: float) -> None:
        self.rows.append({"stage": name, "seconds": round(seconds, 2),
                          "rows_per_s": round(rows / seconds) if rows and seconds > 0 else None,
                          "peak_rss_mb": round(peak_mb()), "rss_after_mb": round(rss_mb())})
        last = self.rows[-1]
        rate = f"{last['rows_per_s']:>12,} rows/s" if last["rows_per_s"] else " " * 19
        print(f"{name:<10} {seconds:8.1f} s {rate}   peak {last['peak_rss_mb']:>6,} MB   "
              f"after {last['rss_after_mb']:>6,} MB", flush=True)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="impressions to simulate (default 1M)")
    ap.add_argument("--data", help="an existing CSV/CSV.gz/Parquet log instead of a simulated one")
    ap.add_argument("--format", choices=["parquet", "csv.gz", "csv"], default="parquet",
                    help="file format of the simulated log (default parquet; CSV is read block by block too)")
    ap.add_argument("--tasks", default="click,like,long_view")
    ap.add_argument("--arch", default="shared_bottom")
    ap.add_argument("--batch-size", type=int, default=2048)
    ap.add_argument("--users", type=int, default=20_000, help="simulated users (default 20,000)")
    ap.add_argument("--items", type=int, default=50_000, help="simulated items (default 50,000)")
    ap.add_argument("--epoch-fraction", type=float, default=1.0,
                    help="stop the epoch after this share of its batches (Stop, as in the app): throughput and memory "
                         "of a partial epoch, when a full one would take too long on a loaded machine")
    ap.add_argument("--read-only", action="store_true",
                    help="stop after reading: a file format's read throughput and memory alone")
    ap.add_argument("--json", help="write the stage table here")
    args = ap.parse_args(argv)

    stages = Stages()
    reset_peak()
    import torch

    from mtl.data import load, prepare
    from mtl.train import Done, Evaluation, Progress, TrainConfig, Trainer

    stages.add("import", None, 0.0)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.data) if args.data else Path(tmp) / f"log.{args.format}"
        if not args.data:
            from mtl.data.synthetic import write_chunked

            stages.run("synth", args.rows, lambda: write_chunked(
                path, n_impressions=args.rows, n_users=args.users, n_items=args.items, seed=0))
            print(f"           {path.stat().st_size / 2**20:,.0f} MB on disk", flush=True)
        data = stages.run("read", lambda d: d.n_rows, lambda: load(path, max_bytes=None))
        n = data.n_rows
        if args.read_only:
            return _report(args, stages, n, None, torch)
        tasks = args.tasks.split(",")
        prepared = stages.run("prepare", n, lambda: prepare(data, tasks, "random", seed=0))
        config = TrainConfig(tasks=tasks, arch=args.arch, epochs=1, patience=1, batch_size=args.batch_size,
                             device="cpu", diagnostics_every=0)
        reset_peak()
        start = time.perf_counter()
        trainer = Trainer(prepared, config)
        events = trainer.run()
        epoch_open = True
        for event in events:
            stop = (isinstance(event, Progress) and args.epoch_fraction < 1 and event.fraction >= args.epoch_fraction)
            if epoch_open and (stop or isinstance(event, Evaluation)):
                # The epoch with its validation pass, or the share of it trained before Stop.
                trained = len(prepared.train) if not stop else round(event.fraction * len(prepared.train))
                if stop:
                    trainer.request_stop()
                stages.add("epoch" if not stop else f"epoch {event.fraction:.0%}", trained,
                           time.perf_counter() - start)
                epoch_open = False
                reset_peak()
                start = time.perf_counter()
            elif isinstance(event, Done):
                stages.add("evaluate", len(prepared.test), time.perf_counter() - start)
                result = event.result
    return _report(args, stages, n, result, torch)


def _report(args, stages: Stages, n: int, result, torch) -> dict:
    peak = max(r["peak_rss_mb"] for r in stages.rows)
    auc = {t: round(m.get("auc", float("nan")), 4) for t, m in result.test.items()} if result else {}
    print(f"peak resident memory {peak:,} MB; test AUC {auc}; {os.cpu_count()} CPUs; load {os.getloadavg()}")
    report = {"rows": n, "epoch_fraction": args.epoch_fraction, "stages": stages.rows, "peak_rss_mb": peak, "test_auc": auc,
              "load_average": os.getloadavg(), "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
