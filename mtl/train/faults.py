"""Training faults: a run that diverges is stopped and said so, never reported as if
nothing happened.

A run with too high a learning rate (or a label with extreme values) goes wrong in
one of three ways, which :class:`DivergenceMonitor` watches for:

* a task's loss on a training batch is not finite (NaN or infinity): checked on every
  batch, before the optimizer uses it;
* a task's loss explodes: its mean over the last :data:`WINDOW` batches exceeds
  :data:`EXPLODE_FACTOR` times the loss of a model that knows nothing (always
  predicting the training base rate, mean or class frequencies; at least 1). A
  healthy run starts near that no-skill loss and goes down; a lone outlying batch is
  averaged away by the window;
* its predictions collapse: the validation rows get one or two distinct predictions
  although their inputs differ (dead ReLUs or saturated outputs after a huge step),
  or predictions that are not finite. Such a model's AUC reads about 0.5, which
  looked like "nothing learned" rather than "broken".

The fault names the step, the task and a likely cause (:func:`likely_cause`). The
trainer then keeps the best model evaluated before the fault, if there is one, and
ends with reason ``"diverged"``; with none, it raises :class:`TrainingDiverged`.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..errors import MTLError
from ..tasks import TaskSpec
from .config import TrainConfig

#: Batches averaged before a loss counts as exploded.
WINDOW = 10
#: A loss this many times the no-skill loss (floored at 1) has exploded: a binary
#: task's logits are then wrong by about 100 on average, a regression task's by 10
#: standard deviations.
EXPLODE_FACTOR = 100.0
#: Predictions taking this many distinct values or fewer have collapsed ...
COLLAPSED_VALUES = 2
#: ... when the validation inputs take at least this many (among the first
#: :data:`INPUT_SAMPLE` rows): a network with a live path from its inputs gives them
#: different outputs.
MIN_DISTINCT_INPUTS = 10
INPUT_SAMPLE = 2_000
#: A standardized regression label this many standard deviations from the mean is
#: named as the likely cause of a fault in its batch.
EXTREME_Z = 100.0
#: Labels or predictions of a regression task this large overflow 32-bit floats
#: (which the network computes in) once scaled.
OVERFLOW_SCALE = 1e30
DEFAULT_LR = TrainConfig.__dataclass_fields__["lr"].default


@dataclass(frozen=True)
class Fault:
    """What went wrong, where, and what probably caused it."""

    kind: str           # "non-finite loss", "exploding loss", "constant predictions", "non-finite predictions"
    step: int           # 1-based batch count over the whole run
    epoch: float        # fractional epoch at that step
    task: str
    detail: str         # what was seen, in words
    cause: str          # the likely cause, in words
    #: The epoch of the model kept (the best one evaluated before the fault), if any.
    kept_epoch: float | None = None

    @property
    def message(self) -> str:
        kept = (f"The best model so far (epoch {self.kept_epoch:g}) was kept and evaluated."
                if self.kept_epoch is not None else "No model was kept: none was evaluated as working before this.")
        return (f"Training diverged at step {self.step} (epoch {self.epoch:.2f}): {self.detail}. "
                f"Likely cause: {self.cause}. {kept}")

    def to_json(self) -> dict:
        return {**asdict(self), "message": self.message}


class TrainingDiverged(MTLError):
    """Training went wrong before any model could be kept. ``fault`` says how;
    ``history`` holds the evaluations made before it (usually none)."""

    def __init__(self, fault: Fault, history: list[dict] | None = None):
        super().__init__(fault.message)
        self.fault = fault
        self.history = list(history or [])


def no_skill_losses(tasks: list[TaskSpec], y: torch.Tensor) -> list[float]:
    """Per task, the training loss of a model that predicts the same for every row:
    the base rate's entropy (binary), the variance of the standardized label
    (regression, about 1), the class frequencies' entropy (multiclass)."""
    out = []
    for j, t in enumerate(tasks):
        col = y[:, j].double()
        col = col[~torch.isnan(col)]
        if len(col) == 0:
            out.append(math.nan)
        elif t.kind == "binary":
            p = float(col.mean().clamp(1e-7, 1 - 1e-7))
            out.append(-(p * math.log(p) + (1 - p) * math.log(1 - p)))
        elif t.kind == "regression":
            out.append(float(col.var(unbiased=False)) if len(col) > 1 else 0.0)
        else:
            freq = torch.bincount(col.long().clamp(min=0)).double()
            freq = freq[freq > 0] / freq.sum()
            out.append(float(-(freq * freq.log()).sum()))
    return out


def likely_cause(task: TaskSpec, lr: float, labels: torch.Tensor | None = None,
                 numbers: torch.Tensor | None = None, numeric_names: list[str] | None = None) -> str:
    """The most likely cause of a fault in ``task``, in words: an extreme label (a
    regression label whose scale overflows, or an outlying value in the batch), an
    extreme numeric feature in the batch, else the learning rate."""
    if task.kind == "regression":
        scale = abs(task.mean) + abs(task.std)
        if not math.isfinite(scale) or scale > OVERFLOW_SCALE:
            return (f"an extreme label: '{task.name}' has values too large to compute with (mean {task.mean:.3g}, "
                    f"standard deviation {task.std:.3g}); rescale it (e.g. its logarithm) or drop the outlying rows")
        if labels is not None:
            z = labels[~torch.isnan(labels)]
            if len(z) and float(z.abs().max()) > EXTREME_Z:
                worst = float(z[z.abs().argmax()])
                return (f"an extreme label: a '{task.name}' value {abs(worst):.0f} standard deviations from its mean "
                        f"(about {worst * task.std + task.mean:.4g}) is in this batch; rescale the label (e.g. its "
                        "logarithm) or drop the outlying rows")
    if numbers is not None and numbers.numel() and numeric_names:
        worst = numbers.abs().nan_to_num(math.inf).amax(dim=0)
        j = int(worst.argmax())
        if float(worst[j]) > EXTREME_Z:
            return (f"an extreme value of the numeric feature '{numeric_names[j]}' ({float(worst[j]):.3g} standard "
                    f"deviations) is in this batch; drop or cap the outlying rows")
    hint = f"try {lr / 10:g}" + (f" (the default is {DEFAULT_LR:g})" if lr > DEFAULT_LR else "")
    return f"the learning rate ({lr:g}) is probably too high: {hint}"


class DivergenceMonitor:
    """Watches every batch's losses and every evaluation's predictions of one run."""

    def __init__(self, tasks: list[TaskSpec], y_train: torch.Tensor, x_valid: tuple[torch.Tensor, torch.Tensor],
                 lr: float, numeric_names: list[str]):
        self.tasks, self.lr, self.numeric_names = tasks, lr, numeric_names
        self.reference = no_skill_losses(tasks, y_train)
        self.limits = [EXPLODE_FACTOR * max(r, 1.0) if math.isfinite(r) else math.inf for r in self.reference]
        self._recent: deque[list[float]] = deque()
        self._sums = [0.0] * len(tasks)
        # Constant predictions mean a collapsed network only when the inputs differ.
        x_cat, x_num = (x[:INPUT_SAMPLE] for x in x_valid)
        rows = torch.cat([x_cat.double(), x_num.double()], dim=1)
        self._inputs_vary = len(rows) > 0 and len(torch.unique(rows, dim=0)) >= MIN_DISTINCT_INPUTS

    def check_batch(self, losses: torch.Tensor, step: int, epoch: float, labels: torch.Tensor,
                    numbers: torch.Tensor) -> Fault | None:
        """``losses``: this batch's loss per task (CPU, float64); ``labels`` and
        ``numbers``: the batch's labels and numeric features, to name a cause."""
        values = losses.tolist()  # plain floats: this runs on every batch
        for j, v in enumerate(values):
            if not math.isfinite(v):
                return self._fault("non-finite loss", step, epoch, j, f"the {self.tasks[j].name} loss became "
                                   f"{v} on a training batch", labels, numbers)
        if len(self._recent) == WINDOW:
            old = self._recent.popleft()
            self._sums = [s - o for s, o in zip(self._sums, old)]
        self._recent.append(values)
        self._sums = [s + v for s, v in zip(self._sums, values)]
        for j, limit in enumerate(self.limits):
            mean = self._sums[j] / len(self._recent)
            if mean > limit:
                name = self.tasks[j].name
                return self._fault("exploding loss", step, epoch, j,
                                   f"the {name} loss exploded to {mean:.3g} (mean of the last "
                                   f"{len(self._recent)} batches; a model that predicts the same for every row scores "
                                   f"{self.reference[j]:.3g})", labels, numbers)
        return None

    def check_predictions(self, preds: list[np.ndarray], step: int, epoch: float) -> Fault | None:
        """Validation predictions per task (label scale): not finite, or all equal."""
        for j, (p, t) in enumerate(zip(preds, self.tasks)):
            finite = np.isfinite(p)
            if not finite.all():
                return self._fault("non-finite predictions", step, epoch, j,
                                   f"the model's {t.name} predictions are not finite on "
                                   f"{int((~finite).sum()):,} of {p.size:,} validation values")
            if self._inputs_vary:
                values = _distinct(p)
                if values is not None:
                    shown = f" ({', '.join(f'{v:.4g}' for v in values)})" if p.ndim == 1 else ""
                    seen = ("the same prediction" if len(values) == 1
                            else f"only {len(values)} different predictions")
                    return self._fault("constant predictions", step, epoch, j,
                                       f"the model gives the {len(p):,} validation rows {seen} of {t.name}{shown} "
                                       "although their inputs differ: the network has collapsed (its AUC would "
                                       "read about 0.5)")
        return None

    def _fault(self, kind, step, epoch, j, detail, labels=None, numbers=None) -> Fault:
        cause = likely_cause(self.tasks[j], self.lr, labels[:, j] if labels is not None else None, numbers,
                             self.numeric_names)
        return Fault(kind, step, round(epoch, 4), self.tasks[j].name, detail, cause)


def _distinct(p: np.ndarray) -> np.ndarray | None:
    """The distinct predictions (rows, for multiclass) when there are at most
    :data:`COLLAPSED_VALUES` of them, else ``None`` (a small sample decides that fast)."""
    for sample in (p[:1000], p):
        values = np.unique(sample, axis=0)
        if len(values) > COLLAPSED_VALUES:
            return None
    return values
