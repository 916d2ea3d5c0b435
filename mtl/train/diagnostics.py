"""Gradient diagnostics recorded while training, whatever the weighting method.

Every ``TrainConfig.diagnostics_every`` batches (and on the first), before the
weighting's backward pass, :class:`GradientDiagnostics` takes the gradient of each
task's (unweighted) batch loss with respect to the shared representation
(``ModelOutput.features``) and records one row:

* ``cos:<a>|<b>``: the cosine similarity of tasks a and b's gradients, for every
  pair of tasks (negative: the tasks pull the shared layers in conflicting
  directions; NaN when a task had no labelled row in the batch);
* ``norm:<task>``: the L2 norm of the task's gradient (how hard it pulls; it
  scales with the loss, so unequal norms show what loss-scale balancing corrects);
* ``weight:<task>``: the weights the method applied in that batch
  (``Weighting.effective_weights()``; the drawn weights for a conditioned model);

with ``step`` (batches since the start) and ``epoch`` (fractional). Models that
share nothing (the single-task architecture) have no shared representation and no
diagnostics.

Measuring never changes training: ``torch.autograd.grad`` leaves every ``.grad``
alone and draws no random numbers, so a run is bit-identical with diagnostics on or
off. It costs T short backward passes through the task-specific parts once every
``diagnostics_every`` batches (see ``benchmarks/weighting_overhead.py``).
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Sequence

import torch

from ..models.base import ModelOutput
from ..weighting.jacobian import cosine_matrix, gramian, shared_features, task_jacobian


class GradientDiagnostics:
    """Records diagnostics rows for one run; the trainer calls :meth:`due`,
    :meth:`measure` (before the backward pass) and :meth:`record` (after it)."""

    def __init__(self, task_names: Sequence[str], every: int):
        self.task_names = list(task_names)
        self.every = int(every)
        self.pairs = list(combinations(range(len(self.task_names)), 2))
        #: Every row recorded so far.
        self.rows: list[dict] = []
        self._reported = 0

    def due(self, step: int) -> bool:
        """Whether to measure at global batch ``step`` (1-based): the first batch,
        then every ``every`` batches."""
        return self.every > 0 and (step - 1) % self.every == 0

    def measure(self, losses: torch.Tensor,
                output: ModelOutput | Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Per-task gradient norms and cosine matrix for one batch, or ``None`` when
        the model has no shared representation. ``output`` is the forward pass's
        :class:`ModelOutput` (or just its features). Call before the backward pass."""
        feats = shared_features(output)
        if not feats:
            return None
        outputs = output.outputs if isinstance(output, ModelOutput) else ()
        return cosine_matrix(gramian(task_jacobian(losses, feats, outputs).detach()))

    def record(self, measurement: tuple[torch.Tensor, torch.Tensor], step: int, epoch: float,
               weights: torch.Tensor) -> dict:
        """Add one row from :meth:`measure`'s result and the weights applied."""
        norms, cos = measurement
        names = self.task_names
        row: dict = {"step": int(step), "epoch": round(float(epoch), 4)}
        for i, j in self.pairs:
            row[f"cos:{names[i]}|{names[j]}"] = float(cos[i, j])
        for i, name in enumerate(names):
            row[f"norm:{name}"] = float(norms[i])
        w = weights.detach().float().cpu().tolist()
        for i, name in enumerate(names):
            row[f"weight:{name}"] = w[i]
        self.rows.append(row)
        return row

    def new_rows(self) -> list[dict]:
        """The rows recorded since the previous call (copies)."""
        rows = [dict(r) for r in self.rows[self._reported:]]
        self._reported = len(self.rows)
        return rows


def summarize(rows: Sequence[dict]) -> dict[str, float]:
    """Mean of every diagnostic column over ``rows`` (NaN entries skipped; NaN when a
    column has no finite value). Empty for no rows."""
    out: dict[str, float] = {}
    for key in (k for k in (rows[0] if rows else {}) if k not in ("step", "epoch")):
        values = [r[key] for r in rows if not math.isnan(r[key])]
        out[key] = sum(values) / len(values) if values else math.nan
    return out
