"""Task kinds: what a prediction head outputs, which loss trains it, how it is scored.

A *task* is one label column. Its kind decides everything task-specific:

============  ===========================  ==========================  ==================
kind          head output                  training loss               metrics
============  ===========================  ==========================  ==================
binary        1 logit                      binary cross-entropy        AUC, accuracy,
                                                                       logloss, F1, GAUC
regression    1 value (standardized        mean squared error on the   RMSE, MAE
              target)                      standardized target
multiclass    one logit per class          cross-entropy               accuracy, macro-F1
============  ===========================  ==========================  ==================

Labels may be missing on some rows (a rating exists only after a click): missing
labels are stored as NaN and masked out of both the loss and the metrics.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Literal

# torch is imported by the functions that compute with it, not here: reading and
# describing a dataset needs TaskSpec alone, and torch's import takes seconds (the
# app's first page draws its dataset without it).
if TYPE_CHECKING:
    import torch

TaskKind = Literal["binary", "regression", "multiclass"]
TASK_KINDS: tuple[str, ...] = ("binary", "regression", "multiclass")


@dataclass(frozen=True)
class TaskSpec:
    """One task. ``classes`` lists the original label values for multiclass tasks;
    ``mean``/``std`` standardize regression targets (fitted on the train split)."""

    name: str
    kind: TaskKind
    classes: tuple = ()
    mean: float = 0.0
    std: float = 1.0
    extra: dict = field(default_factory=dict)

    @property
    def output_dim(self) -> int:
        return len(self.classes) if self.kind == "multiclass" else 1

    @property
    def primary_metric(self) -> str:
        """The metric used for early stopping, summaries and trade-off plots."""
        return {"binary": "auc", "regression": "rmse", "multiclass": "accuracy"}[self.kind]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["classes"] = list(self.classes)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TaskSpec:
        d = dict(d)
        d["classes"] = tuple(d.get("classes", ()))
        return cls(**d)


def task_loss(spec: TaskSpec, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean loss of one task over the rows where its label is present.

    ``output`` is the head's raw output ([N] or [N, K]); ``target`` is [N] float with
    NaN for missing labels (class indices for multiclass, the standardized value for
    regression). Returns 0 (with a gradient path) when a batch has no labelled row.
    """
    import torch
    import torch.nn.functional as F

    mask = ~torch.isnan(target)
    if output.device.type != "cpu":
        return _masked_loss(spec, output, target, mask)
    if not bool(mask.any()):
        return output.sum() * 0.0
    out, y = output[mask], target[mask]
    if spec.kind == "binary":
        return F.binary_cross_entropy_with_logits(out, y)
    if spec.kind == "regression":
        return F.mse_loss(out, y)
    return F.cross_entropy(out, y.long())


def _masked_loss(spec: TaskSpec, output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """:func:`task_loss` without reading anything back from an accelerator: testing
    ``mask.any()`` or selecting ``output[mask]`` makes the host wait for the device on
    every batch. Unlabelled rows get weight 0 instead of being dropped; the mean is over
    the labelled rows (0, with a gradient path, when there are none). On the CPU the
    selection is cheap and :func:`task_loss` keeps it (bit-identical to earlier runs)."""
    import torch
    import torch.nn.functional as F

    weight = mask.to(output.dtype if output.is_floating_point() else torch.float32)
    y = torch.where(mask, target, torch.zeros_like(target))
    if spec.kind == "binary":
        rows = F.binary_cross_entropy_with_logits(output, y.to(output.dtype), reduction="none")
    elif spec.kind == "regression":
        rows = F.mse_loss(output, y.to(output.dtype), reduction="none")
    else:
        rows = F.cross_entropy(output, y.long(), reduction="none")
    return (rows * weight).sum() / weight.sum().clamp(min=1.0)


def task_losses(specs: list[TaskSpec], outputs: list[torch.Tensor], targets: torch.Tensor) -> torch.Tensor:
    """Every task's :func:`task_loss` at once, ``[T]``; ``targets`` is ``[N, T]``.

    When every task has one output (binary, regression) the losses are one masked
    elementwise loss over ``[N, T]``: a handful of operations per training step
    instead of a handful per task, whose dispatch costs more than their arithmetic
    at a few thousand rows. Multiclass tasks fall back to one :func:`task_loss` each.
    """
    import torch
    import torch.nn.functional as F

    if any(s.kind == "multiclass" for s in specs):
        return torch.stack([task_loss(s, o, targets[:, j]) for j, (o, s) in enumerate(zip(outputs, specs))])
    out = torch.stack(outputs, 1)
    mask = ~torch.isnan(targets)
    y = targets.nan_to_num(0.0).to(out.dtype)  # bf16 outputs under autocast
    kinds = {s.kind for s in specs}
    if kinds == {"binary"}:
        per_row = F.binary_cross_entropy_with_logits(out, y, reduction="none")
    elif kinds == {"regression"}:
        per_row = F.mse_loss(out, y, reduction="none")
    else:
        binary = torch.tensor([s.kind == "binary" for s in specs], device=out.device)
        per_row = torch.where(binary, F.binary_cross_entropy_with_logits(out, y, reduction="none"),
                              F.mse_loss(out, y, reduction="none"))
    # A task without a labelled row gets 0 with a gradient path, as in task_loss.
    return torch.where(mask, per_row, 0.0).sum(0) / mask.sum(0).clamp(min=1)


def predict(spec: TaskSpec, output: torch.Tensor) -> torch.Tensor:
    """Turn a head's raw output into a prediction on the label's own scale:
    a probability (binary), a value in the target's units (regression) or class
    probabilities [N, K] (multiclass)."""
    import torch

    if spec.kind == "binary":
        return torch.sigmoid(output)
    if spec.kind == "regression":
        return output * spec.std + spec.mean
    return torch.softmax(output, dim=-1)
