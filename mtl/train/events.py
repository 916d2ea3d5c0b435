"""Events emitted by :meth:`mtl.train.Trainer.run` while it trains.

A consumer (the CLI's progress line, the app's live charts, a test) iterates over
them; nothing in the trainer knows who listens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .result import TrainResult


@dataclass
class Progress:
    """Emitted a few times per second during training."""

    epoch: int              # 1-based epoch in progress
    epochs: int
    step: int               # batches done in this epoch
    steps_per_epoch: int
    fraction: float         # of the whole run (all epochs), 0..1
    elapsed: float          # seconds since training started
    eta: float              # estimated seconds left at the current pace
    train_losses: dict[str, float] = field(default_factory=dict)  # running means this epoch
    #: The gradient diagnostics rows recorded since the previous progress event (see
    #: :mod:`mtl.train.diagnostics`), so live charts move between evaluations.
    diagnostic_rows: list[dict] = field(default_factory=list)


@dataclass
class Evaluation:
    """Validation results, at least once per epoch. ``epoch`` may be fractional
    (e.g. 1.5) when several evaluations per epoch are requested."""

    epoch: float
    train_losses: dict[str, float]
    valid_losses: dict[str, float]
    #: Per task, what picking the best epoch needs (:func:`mtl.metrics.selection_metrics`:
    #: ``n``, the primary metric, for binary tasks ``positive_rate``); the kept model's
    #: full validation metrics are the result's ``valid``.
    valid_metrics: dict[str, dict[str, float]]
    score: float            # the early-stopping score (higher is better)
    best: bool              # a new best model was kept
    #: The weights the weighting method applied at the last batch (see
    #: :meth:`mtl.weighting.Weighting.applied_weights`).
    applied_weights: dict[str, float]
    elapsed: float
    #: Gradient diagnostics averaged over the batches measured since the previous
    #: evaluation: ``cos:<a>|<b>``, ``norm:<task>``, ``weight:<task>`` (see
    #: :mod:`mtl.train.diagnostics`); empty when off or when nothing is shared.
    diagnostics: dict[str, float] = field(default_factory=dict)
    #: The diagnostics rows recorded since the previous evaluation (``step``,
    #: ``epoch`` and the keys above), for live charts.
    diagnostic_rows: list[dict] = field(default_factory=list)


@dataclass
class Done:
    """The end of a run; ``result.stopped`` and ``result.reason`` say how it ended."""

    result: TrainResult


Event = Progress | Evaluation | Done
