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
  (``Weighting.applied_weights()``; the drawn weights for a conditioned model);

with ``step`` (batches since the start) and ``epoch`` (fractional). Models that
share nothing (the single-task architecture) have no shared representation and no
diagnostics.

Measuring never changes training: ``torch.autograd.grad`` leaves every ``.grad``
alone and draws no random numbers, so a run is bit-identical with diagnostics on or
off. It costs T short backward passes through the task-specific parts once every
``diagnostics_every`` batches (see ``benchmarks/weighting_overhead.py``).

:func:`explain` turns a run's rows into per-pair and per-task summaries and a few
plain sentences about **conflict** (task gradients with a negative cosine pull the
shared layers apart) and **dominance** (one task's weighted gradient is several times
another's, so the shared layers mostly serve it), as shown on the Train page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
import torch

from ..errors import MTLError
from ..finding import Finding, strong
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
        self._cursors: dict[str, int] = {}

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

    def new_rows(self, reader: str = "evaluation") -> list[dict]:
        """The rows recorded since ``reader``'s previous call (copies). Each reader
        keeps its own place, so the trainer can hand rows both to its progress
        events (for live charts) and to its evaluations (for per-epoch summaries)."""
        start = self._cursors.get(reader, 0)
        self._cursors[reader] = len(self.rows)
        return [dict(r) for r in self.rows[start:]]


def summarize(rows: Sequence[dict]) -> dict[str, float]:
    """Mean of every diagnostic column over ``rows`` (NaN entries skipped; NaN when a
    column has no finite value). Empty for no rows."""
    out: dict[str, float] = {}
    for key in (k for k in (rows[0] if rows else {}) if k not in ("step", "epoch")):
        values = [r[key] for r in rows if not math.isnan(r[key])]
        out[key] = sum(values) / len(values) if values else math.nan
    return out


def every_for(total_steps: int, measurements: int = 200) -> int:
    """The ``diagnostics_every`` that records about ``measurements`` rows over a run of
    ``total_steps`` batches (every batch for short runs): enough points for a smooth
    live chart at a bounded cost."""
    return max(1, int(total_steps) // max(1, int(measurements)))


#: Rows a run aims for when the frequency is chosen for it (:func:`auto_every`),
#: measuring at most every ``MIN_AUTO_EVERY`` batches: one measurement costs about a
#: third of a training batch with three tasks (``benchmarks/weighting_overhead.py``:
#: 1.36x when measuring every batch), so this bounds the cost to about +9%.
ROWS_PER_RUN = 200
MIN_AUTO_EVERY = 4


def auto_every(configured: int, total_steps: int) -> int:
    """The frequency for a run of ``total_steps`` batches whose configuration asks for
    ``configured`` (0 = off, kept off): about :data:`ROWS_PER_RUN` rows on short runs,
    never sparser than ``configured`` and never denser than every
    :data:`MIN_AUTO_EVERY` batches (unless ``configured`` asks for that)."""
    if configured <= 0:
        return 0
    return min(configured, max(MIN_AUTO_EVERY, every_for(total_steps, ROWS_PER_RUN)))


# ------------------------------------------------------------ interpretation
#: A pair is called conflicting when its mean cosine is at most ``CONFLICT_MEAN``, or
#: negative and negative in at least ``CONFLICT_SHARE`` of the measured batches.
#: (Unrelated tasks have cosines scattered around 0, about half of them negative:
#: neither rule calls them conflicting.)
CONFLICT_MEAN = -0.05
CONFLICT_SHARE = 0.75
#: A pair whose mean cosine is at least this is called aligned.
ALIGNED_MEAN = 0.3
#: One task dominates when its weighted gradient norm is at least this many times
#: another's.
DOMINANCE_RATIO = 3.0
#: Methods built to avoid updates that conflict with a task.
CONFLICT_AWARE = ("upgrad", "pcgrad", "cagrad", "nash_mtl", "mgda", "aligned_mtl", "dualproj", "gradvac", "config",
                  "fairgrad")


@dataclass
class Explanation:
    """What a run's gradient diagnostics say, from :func:`explain`."""

    #: One row per task pair: ``a``, ``b``, ``mean_cosine``, ``conflict_share`` (the
    #: share of measured batches with a negative cosine), ``measured``, ``verdict``
    #: ("conflict", "unrelated", "aligned" or "not measured").
    pairs: pd.DataFrame
    #: One row per task: ``task``, ``mean_norm`` (of its own, unweighted loss's
    #: gradient), ``mean_weight`` (applied by the method), ``contribution`` (mean of
    #: |weight| x norm: how hard it pulls the shared layers in the combined update)
    #: and ``share`` (of the total contribution).
    tasks: pd.DataFrame
    #: Sentences about conflict and dominance, most important first.
    findings: list[Finding] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.tasks.empty


def explain(rows: Sequence[dict] | pd.DataFrame, task_names: Sequence[str], *, method: str = "static",
            conditioned: bool = False) -> Explanation:
    """Summaries and findings from diagnostics rows (those of
    :attr:`TrainResult.diagnostics <mtl.train.TrainResult.diagnostics>`); empty when
    there are no rows (nothing shared, or diagnostics off). ``method`` (the run's
    weighting) and ``conditioned`` (weights drawn at random each batch) tailor the
    advice: no "use a conflict-aware method" to a run that uses one, no dominance
    verdict from random draws."""
    frame = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    names = list(task_names)
    pair_cols = ["a", "b", "mean_cosine", "conflict_share", "measured", "verdict"]
    task_cols = ["task", "mean_norm", "mean_weight", "contribution", "share"]
    if frame.empty or not all(f"norm:{t}" in frame for t in names):
        return Explanation(pd.DataFrame(columns=pair_cols), pd.DataFrame(columns=task_cols))

    pairs = []
    for a, b in combinations(names, 2):
        cos = frame.get(f"cos:{a}|{b}", pd.Series(dtype=float)).dropna()
        mean = float(cos.mean()) if len(cos) else math.nan
        share = float((cos < 0).mean()) if len(cos) else math.nan
        pairs.append({"a": a, "b": b, "mean_cosine": mean, "conflict_share": share, "measured": int(len(cos)),
                      "verdict": _verdict(mean, share)})
    pair_frame = pd.DataFrame(pairs, columns=pair_cols)

    tasks = []
    for t in names:
        norm = frame[f"norm:{t}"].to_numpy(dtype=float)
        weight = frame[f"weight:{t}"].to_numpy(dtype=float) if f"weight:{t}" in frame else np.ones_like(norm)
        tasks.append({"task": t, "mean_norm": _nanmean(norm), "mean_weight": _nanmean(weight),
                      "contribution": _nanmean(np.abs(weight) * norm)})
    task_frame = pd.DataFrame(tasks, columns=task_cols)
    total = task_frame["contribution"].sum(skipna=True)
    task_frame["share"] = task_frame["contribution"] / total if total > 0 else math.nan

    findings = [_pair_sentence(p, method) for p in sorted(pairs, key=_pair_order) if not math.isnan(p["mean_cosine"])]
    dominance, dominant = _dominance_sentence(task_frame, method, conditioned)
    if dominance is not None:  # a dominant task is the headline; balance is a footnote
        findings.insert(0 if dominant else len(findings), dominance)
    return Explanation(pair_frame, task_frame, findings)


def _nanmean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else math.nan


def _verdict(mean: float, share: float) -> str:
    if math.isnan(mean):
        return "not measured"
    if mean <= CONFLICT_MEAN or (mean < 0 and share >= CONFLICT_SHARE):
        return "conflict"
    return "aligned" if mean >= ALIGNED_MEAN else "unrelated"


def _pair_order(pair: dict) -> tuple:
    rank = {"conflict": 0, "unrelated": 1, "aligned": 2}.get(pair["verdict"], 3)
    return rank, pair["mean_cosine"]


def _title(method: str) -> str:
    from ..weighting import get_weighting_class

    try:
        return get_weighting_class(method).display_name()
    except MTLError:
        return method


def _pair_sentence(p: dict, method: str) -> Finding:
    a, b, mean, share = p["a"], p["b"], p["mean_cosine"], p["conflict_share"]
    if p["verdict"] == "conflict":
        advice = (f"{_title(method)} is built to avoid updates that hurt a task; whether it pays off here shows "
                  "against static weights in a method comparison." if method in CONFLICT_AWARE else
                  "Conflict-aware methods (UPGrad, PCGrad, CAGrad, Nash-MTL) are built for this.")
        return Finding(strong(a), " and ", strong(b), " conflict: their gradients on the shared layers pointed in "
                       f"opposing directions (negative cosine) in {share:.0%} of the measured batches (mean cosine "
                       f"{mean:+.2f}), so a step that helps one tends to hurt the other. {advice}")
    if p["verdict"] == "aligned":
        return Finding(strong(a), " and ", strong(b), f" are aligned (mean cosine {mean:+.2f}, negative in "
                       f"{share:.0%} of batches): what helps one helps the other, so sharing layers should pay off.")
    return Finding(strong(a), " and ", strong(b), f" are mostly unrelated (mean cosine {mean:+.2f}, negative in "
                   f"{share:.0%} of batches): they neither help nor fight each other much and compete mildly for "
                   "shared capacity.")


def _dominance_sentence(tasks: pd.DataFrame, method: str, conditioned: bool) -> tuple[Finding | None, bool]:
    """A sentence about how evenly the tasks pull the shared layers, and whether one
    task dominates."""
    valid = tasks.dropna(subset=["contribution", "mean_norm"])
    valid = valid[(valid["contribution"] > 0) & (valid["mean_norm"] > 0)]
    if len(valid) < 2:
        return None, False
    top = valid.loc[valid["contribution"].idxmax()]
    low = valid.loc[valid["contribution"].idxmin()]
    ratio = float(top["contribution"] / low["contribution"])
    raw_top = valid.loc[valid["mean_norm"].idxmax()]
    raw_low = valid.loc[valid["mean_norm"].idxmin()]
    raw_ratio = float(raw_top["mean_norm"] / raw_low["mean_norm"])
    if conditioned:  # the weights are random draws: only the tasks' own gradients say something
        return Finding(f"The tasks' own gradients differ by up to {raw_ratio:.1f}x (", strong(raw_top["task"]),
                       " largest); the weights are drawn at random every batch, so which task leads the shared layers "
                       "changes from batch to batch."), False
    if ratio >= DOMINANCE_RATIO:
        return Finding(strong(top["task"]), " dominates the shared update: with the weights applied, its gradient is "
                       f"{ratio:.1f}x as large as ", strong(low["task"]), "'s, so the shared layers mostly learn what "
                       f"{top['task']} needs. {_dominance_advice(method, low['task'])}"), True
    if raw_ratio >= DOMINANCE_RATIO:
        return Finding(strong(raw_top["task"]), f"'s own gradient is {raw_ratio:.1f}x ", strong(raw_low["task"]),
                       f"'s, but the weights bring the tasks' pulls on the shared layers within {ratio:.1f}x of each "
                       "other: the weighting is correcting the imbalance."), False
    return Finding("No task dominates: the tasks' weighted gradients on the shared layers are within "
                   f"{ratio:.1f}x of each other."), False


def _dominance_advice(method: str, weak: str) -> str:
    from ..weighting import get_weighting_class

    if method == "static":
        return (f"Raising {weak}'s weight, or a method that balances gradient sizes (GradNorm, IMTL-G, Aligned-MTL), "
                "evens this out.")
    try:
        steered = get_weighting_class(method).uses_preference
    except MTLError:
        return ""
    if steered:
        return f"This is with {_title(method)}'s weighting; raising {weak}'s weight shifts its balance."
    return f"{_title(method)} sets the balance itself: the weight sliders do not change it."
