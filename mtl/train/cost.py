"""What a weighting method costs: training time per epoch relative to static weights,
and the peak memory one epoch adds.

Measuring every method takes minutes, so the app does not measure on page load: it
reads the table :func:`measure_costs` produced on a reference feed and
``benchmarks/weighting_overhead.py --write`` saved next to this module
(``weighting_cost.json``, with the machine, its load and the data's shape). Ratios
to static weights carry over to other data far better than seconds do: a method's
extra work per batch is a few backward passes through the task towers and a small
solver on the T x T Gramian, both of which grow with the batch like the training
step itself.

* **Time**: the process's CPU time for one training epoch (validation excluded) with
  one PyTorch thread, the best of several interleaved repeats: the work a method
  adds, which other programs competing for the cores barely change (elapsed time on
  a shared 2-core machine varied by 10x between repeats).
* **Memory**: the peak resident memory during that epoch above the resident memory
  at its start (Linux ``VmHWM``, reset through ``/proc/self/clear_refs`` before each
  epoch, after freed memory is handed back to the OS), the largest over the repeats:
  the batch's activations, per-task gradients and optimizer state the epoch creates,
  not the data or the model's weights; ``None`` where the peak cannot be reset.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

#: The shipped table, refreshed by ``benchmarks/weighting_overhead.py --write``.
TABLE_PATH = Path(__file__).with_name("weighting_cost.json")

#: Peak-memory differences below this are within the run-to-run spread of the measurement.
NOISE_MIB = 2.0

CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.process_time, "wall": time.perf_counter}


@dataclass(frozen=True)
class MethodCost:
    """One method's measured cost on the reference data."""

    method: str
    epoch_seconds: float
    #: Epoch time over static weights' on the same data and architecture.
    time_ratio: float
    #: Peak memory of the epoch above the memory at its start, MiB (None: not measurable here).
    peak_mib: float | None

    def caption(self, static: MethodCost | None = None) -> str:
        """A short phrase for the app, e.g. "1.8x the time of static weights per epoch, +14 MiB
        peak memory"."""
        time_part = ("the baseline for time" if self.method == "static" else
                     f"{self.time_ratio:.1f}x the time of static weights per epoch")
        if self.peak_mib is None:
            return time_part
        extra = self.peak_mib - static.peak_mib if static is not None and static.peak_mib is not None else None
        if extra is None or self.method == "static":
            return f"{time_part}, {self.peak_mib:.0f} MiB peak memory per epoch"
        if abs(extra) < NOISE_MIB:
            return f"{time_part}, the same peak memory (within {NOISE_MIB:.0f} MiB)"
        return f"{time_part}, {extra:+.0f} MiB peak memory vs static"


@dataclass
class CostTable:
    """Costs of every measured method, with what they were measured on."""

    costs: dict[str, MethodCost]
    #: Rows, tasks, batch size and architecture of the reference data.
    shape: dict
    #: Processor, core count, torch version, clock, and the load average while measuring.
    machine: dict
    measured: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))

    def caption(self, method: str) -> str:
        """The app's line for ``method``; empty when it was not measured."""
        cost = self.costs.get(method)
        return cost.caption(self.costs.get("static")) if cost else ""

    def note(self) -> str:
        """Where the numbers come from, for a caption under them."""
        s, m = self.shape, self.machine
        return (f"Measured {self.measured} on {s['train_rows']:,} training rows, {len(s['tasks'])} tasks, "
                f"batch {s['batch_size']}, {s['arch']} ({m['clock']} time, {m['threads']} thread, "
                f"{m['processor']}, load average {m['load']:.1f} on {m['cores']} cores). "
                "Ratios carry over to other data better than seconds.")

    def save(self, path: Path = TABLE_PATH) -> None:
        data = {"measured": self.measured, "shape": self.shape, "machine": self.machine,
                "costs": [asdict(c) for c in self.costs.values()]}
        Path(path).write_text(json.dumps(data, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path = TABLE_PATH) -> CostTable:
        data = json.loads(Path(path).read_text())
        costs = {c["method"]: MethodCost(**c) for c in data["costs"]}
        return cls(costs, data["shape"], data["machine"], data["measured"])


@lru_cache(maxsize=1)
def method_costs() -> CostTable | None:
    """The shipped cost table (read once per process); None when it is missing."""
    try:
        return CostTable.load(TABLE_PATH)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _rss_kib(field_name: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _release_free_memory() -> None:
    """Collect the previous run's objects and hand freed heap pages back to the OS
    (glibc ``malloc_trim``), so that an epoch's peak counts the memory it needs rather
    than only what the allocator's leftovers could not cover."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
        return True
    except OSError:
        return False


def epoch_cost(prepared, config, clock: Callable[[], float] = time.process_time) -> tuple[float, float | None]:
    """Seconds of one training epoch of ``config`` on ``prepared`` (validation
    excluded) and its peak memory above the start, MiB (None where not measurable)."""
    from . import Progress, Trainer

    trainer = Trainer(prepared, config)
    _release_free_memory()
    start_rss = _rss_kib("VmRSS")
    can_peak = _reset_peak() and start_rss is not None
    start = clock()
    for event in trainer.run():
        if isinstance(event, Progress) and event.step == event.steps_per_epoch:
            seconds = clock() - start
            peak = _rss_kib("VmHWM") if can_peak else None
            return seconds, (None if peak is None else max(peak - start_rss, 0) / 1024)
    raise RuntimeError("the epoch did not finish")


def measure_costs(prepared, tasks: Sequence[str], methods: Sequence[str], arch: str = "shared_bottom",
                  batch_size: int = 1024, repeats: int = 3, clock: str = "cpu", threads: int = 1,
                  progress: Callable[[str], None] | None = None) -> CostTable:
    """Measure ``methods`` (static weights always included, as the reference) on
    ``prepared``: the best epoch time and the largest peak memory over ``repeats``
    interleaved runs, after one warm-up epoch."""
    import os

    import torch

    from . import TrainConfig

    methods = ["static"] + [m for m in methods if m != "static"]
    torch.set_num_threads(threads)
    tick = CLOCKS[clock]

    def config(method):
        return TrainConfig(tasks=list(tasks), arch=arch, weighting=method, epochs=1, batch_size=batch_size,
                           device="cpu", diagnostics_every=0)

    epoch_cost(prepared, config("static"), tick)  # the first epoch in a process pays for allocator growth
    best = {m: float("inf") for m in methods}
    peak: dict[str, float | None] = {m: None for m in methods}
    for r in range(repeats):
        for m in methods:
            if progress:
                progress(f"repeat {r + 1}/{repeats}: {m}")
            seconds, mib = epoch_cost(prepared, config(m), tick)
            best[m] = min(best[m], seconds)
            if mib is not None:
                peak[m] = max(peak[m] or 0.0, mib)
    costs = {m: MethodCost(m, round(best[m], 3), round(best[m] / best["static"], 2),
                           None if peak[m] is None else round(peak[m], 1)) for m in methods}
    shape = {"train_rows": len(prepared.train), "tasks": list(tasks), "batch_size": batch_size, "arch": arch}
    machine = {"processor": platform.processor() or platform.machine(), "cores": os.cpu_count(),
               "torch": torch.__version__, "clock": clock, "threads": threads, "load": round(os.getloadavg()[0], 1)}
    return CostTable(costs, shape, machine)
