"""The contract every task-weighting method follows.

A method receives the per-task losses of a batch and is responsible for filling the
parameters' ``.grad``. Loss-based methods (static, uncertainty, DWA) implement
:meth:`Weighting.loss`, a scalar combination of the losses; gradient-based methods
(later: GradNorm, torchjd aggregators) override :meth:`Weighting.backward` and work
on the shared representation in ``output.features``. Either way the trainer calls
``backward`` and never needs to know which method runs.

The user's task weights (the app's sliders) arrive as ``preference``, normalized to
sum to 1. Methods that learn their own weights use the preference as a prior
multiplier; :meth:`effective_weights` reports the weights actually applied, for the
diagnostics charts.
"""

from __future__ import annotations

from typing import ClassVar, Sequence

import torch
from torch import nn

from ..errors import ConfigError
from ..models.base import ModelOutput
from ..tasks import TaskSpec


def normalize_preference(weights: Sequence[float] | None, n_tasks: int) -> torch.Tensor:
    """Validate slider weights and scale them to sum to 1 (equal when ``None``)."""
    if weights is None:
        return torch.full((n_tasks,), 1.0 / n_tasks)
    w = [float(v) for v in weights]
    if len(w) != n_tasks:
        raise ConfigError(f"Got {len(w)} task weights for {n_tasks} tasks; give one weight per task")
    if any(v != v or v < 0 for v in w):
        raise ConfigError(f"Task weights must be non-negative numbers, got {w}")
    total = sum(w)
    if total <= 0:
        raise ConfigError("At least one task weight must be above zero")
    return torch.tensor([v / total for v in w], dtype=torch.float32)


class Weighting(nn.Module):
    """Base class: set ``name``/``description``; implement ``loss`` or ``backward``."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: Whether the method uses the user's preference weights.
    uses_preference: ClassVar[bool] = True

    def __init__(self, tasks: Sequence[TaskSpec], preference: torch.Tensor):
        super().__init__()
        self.tasks = list(tasks)
        self.register_buffer("preference", preference.clone().float())
        self._last_weights = preference.clone().float()

    @property
    def n_tasks(self) -> int:
        return len(self.tasks)

    def loss(self, losses: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement loss() or backward()")

    def backward(self, losses: torch.Tensor, output: ModelOutput, shared_params: list[nn.Parameter]) -> None:
        """Accumulate gradients for one batch. ``losses`` has one entry per task."""
        self.loss(losses).backward()

    def effective_weights(self) -> torch.Tensor:
        """Task weights applied at the last step (for diagnostics)."""
        return self._last_weights

    def epoch_end(self, epoch_losses: torch.Tensor) -> None:
        """Called with the mean training loss per task after every epoch."""
