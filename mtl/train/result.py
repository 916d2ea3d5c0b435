"""What a training run returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..tasks import TaskSpec
from .config import TrainConfig


@dataclass
class TrainResult:
    config: TrainConfig
    tasks: list[TaskSpec]
    #: Per-task metrics of the kept (best) model on the held-out test and validation parts.
    test: dict[str, dict[str, float]]
    valid: dict[str, dict[str, float]]
    #: One row per evaluation: epoch, train/valid loss and valid metrics per task.
    history: list[dict] = field(default_factory=list)
    train_seconds: float = 0.0
    params: int = 0
    best_epoch: float = 0.0
    epochs_run: float = 0.0
    stopped: bool = False
    reason: str = "completed"
    device: str = "cpu"
    #: Inference latency of the kept model, milliseconds per 1,000 rows (the median).
    latency_ms_per_1k: float = 0.0
    #: Its spread: ``median``, ``q25``, ``q75``, ``fastest``, ``repeats``, ``rows``
    #: (see :mod:`mtl.train.latency`); empty for results saved before it was measured.
    latency: dict = field(default_factory=dict)
    #: The trained model with its encoders (a :class:`~mtl.train.TrainedModel`).
    trained: object | None = None
    #: Gradient diagnostics, one row per measured batch: ``step``, ``epoch``,
    #: ``cos:<a>|<b>``, ``norm:<task>``, ``weight:<task>`` (see :mod:`mtl.train.diagnostics`).
    diagnostics: list[dict] = field(default_factory=list)
    #: Why a diverged run (``reason == "diverged"``) was stopped: ``kind``, ``step``,
    #: ``epoch``, ``task``, ``detail``, ``cause``, ``kept_epoch`` and the ``message``
    #: to show (see :mod:`mtl.train.faults`); ``None`` for a healthy run.
    fault: dict | None = None

    def set_latency(self, latency) -> None:
        """Record a :class:`~mtl.train.latency.Latency` measurement."""
        self.latency = latency.to_json()
        self.latency_ms_per_1k = latency.median

    def latency_text(self) -> str:
        """The latency with its spread, in words (the median alone for old results)."""
        lat = self.latency
        if not lat:
            return f"{self.latency_ms_per_1k:.2f} ms per 1,000 rows"
        return (f"{lat['median']:.2f} ms per 1,000 rows (middle half {lat['q25']:.2f}-{lat['q75']:.2f}, median of "
                f"{lat['repeats']} timings on {lat['rows']:,} rows)")

    def history_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.history)

    def diagnostics_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.diagnostics)

    def to_json(self) -> dict:
        """The CLI's ``--json`` document (keys are a stable contract)."""
        return {
            "test": self.test,
            "valid": self.valid,
            "train_seconds": self.train_seconds,
            "params": self.params,
            "latency_ms_per_1k": self.latency_ms_per_1k,
            "latency": self.latency,
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "stopped": self.stopped,
            "reason": self.reason,
            "device": self.device,
            "config": self.config.to_dict(),
            "history": self.history,
            "diagnostics": self.diagnostics,
            "fault": self.fault,
        }
