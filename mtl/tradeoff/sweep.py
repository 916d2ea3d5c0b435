"""Weight sweeps: how each task's quality moves as the task weights move.

Two ways to get the trade-off front:

* **Retraining** (:func:`sweep` with ``retrain=True``): one fixed-weight model per
  weight vector. Exact, but N trainings.
* **One conditioned model** (:class:`ConditionedExplorer`): a preference-conditioned
  network (``ModelConfig(conditioned=True)``) is trained once with task weights drawn
  from a Dirichlet; afterwards any weight vector is a forward pass away. Its fidelity
  is measured against the retrained models at the same weights, signed (how much
  better or worse), and :meth:`SweepResult.response` says whether it trades off at
  all: a model that gives every weighting the same quality is no explorer of them.

Single-task baselines (architecture ``single``) on the same split are always
included as the reference for every front.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from ..backends import Backend, Tracker, Training, TrainingFailed
from ..backends.local import LocalBackend
from ..data.dataset import PreparedData, targets
from ..errors import ConfigError
from ..metrics import task_metrics
from ..setup import baseline_config, check_prepared_history
from ..tasks import TaskSpec, predict
from ..train import TrainConfig
from .pareto import hypervolume, no_skill_reference, objective, objective_name, pareto_mask

#: Every task keeps at least this weight in a sweep, so each point is a genuine
#: multi-task model (a task at weight 0 is simply not trained).
MIN_WEIGHT = 0.05
#: Below this spread of a task's objective across the sweep, the front is "flat".
FLAT_SPREAD = {"binary": 0.005, "multiclass": 0.005, "regression": 0.01}  # regression: share of the RMSE
#: A conditioned model that moves a task by less than this share of the retrains' spread
#: does not follow them (measured: 0.001-0.006 AUC against the retrains' 0.29-0.34 on
#: the Pareto lesson's feed).
FOLLOW_SHARE = 0.1

#: ``progress(done, total, message)``: ``done`` counts finished trainings, fractional
#: while one trains (2.5 = two done, the third half way); ``message`` says which.
Progress = Callable[[float, int, str], None]


def sweep_steps(points: int, *, retrain: bool = True, conditioned: bool = False, baselines: bool = True) -> int:
    """How many trainings :func:`sweep` runs for ``points`` weightings: the ``total`` it reports."""
    return (points if retrain else 0) + (1 if conditioned else 0) + (1 if baselines else 0)


def weight_grid(n_tasks: int, points: int = 11, min_weight: float = MIN_WEIGHT) -> list[tuple[float, ...]]:
    """Weight vectors (each summing to 1) spread over the task simplex.

    Two tasks: ``points`` evenly spaced vectors from (1-m, m) to (m, 1-m). Three or more:
    a simplex lattice, the coarsest one with at least ``points`` vectors, shrunk so
    every weight is at least ``m``.
    """
    if n_tasks < 2:
        raise ConfigError("A weight sweep needs at least two tasks")
    if points < 2:
        raise ConfigError("A weight sweep needs at least two points")
    if not 0 <= min_weight < 1 / n_tasks:
        raise ConfigError(f"min_weight must be in [0, 1/{n_tasks})")
    if n_tasks == 2:
        return [(round(1 - a, 6), round(a, 6)) for a in np.linspace(min_weight, 1 - min_weight, points)]
    h = 1
    while math.comb(h + n_tasks - 1, n_tasks - 1) < points:
        h += 1
    lattice = [c for c in itertools.product(range(h + 1), repeat=n_tasks) if sum(c) == h]
    scale = 1 - n_tasks * min_weight
    grid = []
    for combo in sorted(lattice, reverse=True):
        head = [round(min_weight + scale * c / h, 6) for c in combo[:-1]]
        grid.append((*head, round(1.0 - sum(head), 6)))
    return grid


@dataclass
class SweepPoint:
    weights: list[float]
    test: dict[str, dict[str, float]]
    train_seconds: float = 0.0

    def to_json(self) -> dict:
        return {"weights": self.weights, "test": self.test, "train_seconds": self.train_seconds}


@dataclass
class SweepResult:
    tasks: list[TaskSpec]
    points: list[SweepPoint] = field(default_factory=list)
    conditioned: list[SweepPoint] = field(default_factory=list)
    baselines: dict[str, dict[str, float]] = field(default_factory=dict)
    reference: list[float] = field(default_factory=list)
    retrain_seconds: float = 0.0
    conditioned_train_seconds: float = 0.0
    conditioned_eval_seconds: float = 0.0
    stopped: bool = False
    #: The conditioned model's explorer (not serialized), for instant what-ifs.
    explorer: ConditionedExplorer | None = field(default=None, repr=False, compare=False)
    #: The conditioned model's training result (with its ``trained`` model; not
    #: serialized), so an app can keep it as a run and reuse it without retraining.
    conditioned_result: object | None = field(default=None, repr=False, compare=False)

    @property
    def objective_names(self) -> list[str]:
        return [f"{t.name} {objective_name(t)}" for t in self.tasks]

    def objectives(self, which: str = "points") -> np.ndarray:
        pts = getattr(self, which)
        return np.array([[objective(t, p.test[t.name]) for t in self.tasks] for p in pts]).reshape(len(pts), len(self.tasks))

    def pareto(self, which: str = "points") -> list[int]:
        return [int(i) for i in np.flatnonzero(pareto_mask(self.objectives(which)))]

    def hypervolume(self, which: str = "points") -> float:
        return hypervolume(self.objectives(which), np.array(self.reference))

    def fidelity(self) -> list[dict]:
        """Per weight vector present in both sets: the conditioned model against the
        fixed-weight retrain, per task, on the primary metric: both values, the signed
        ``gain`` (conditioned minus retrained, oriented so positive is better: minus
        the RMSE difference) and ``|Δ|``."""
        retrained = {tuple(p.weights): p for p in self.points}
        rows = []
        for c in self.conditioned:
            r = retrained.get(tuple(c.weights))
            if r is None:
                continue
            row: dict = {"weights": c.weights}
            for t in self.tasks:
                m = t.primary_metric
                row[f"{t.name} {m} (retrained)"] = r.test[t.name].get(m, math.nan)
                row[f"{t.name} {m} (conditioned)"] = c.test[t.name].get(m, math.nan)
                row[f"{t.name} |Δ{m}|"] = abs(c.test[t.name].get(m, math.nan) - r.test[t.name].get(m, math.nan))
                row[f"{t.name} gain"] = objective(t, c.test[t.name]) - objective(t, r.test[t.name])
            rows.append(row)
        return rows

    def response(self) -> dict | None:
        """How the conditioned model answers its weights: per task the spread of its
        objective across the weightings (``spread``) and, with retrained points, theirs
        (``retrain_spread``, else None) and its signed gains over them (``gains``, one
        per weighting in both sets; see :meth:`fidelity`). ``flat`` when on every task it
        moves less than :data:`FLAT_SPREAD` or than :data:`FOLLOW_SHARE` of the
        retrains' spread, while the retrains (if any) move more on one; ``beats`` counts
        the weightings where it is better than the retrain at the same weights on every
        task (that retrain did not reach the best model for its own weights, so its
        place on the front reflects its training, not the network). ``None`` with fewer
        than two conditioned points."""
        if len(self.conditioned) < 2:
            return None
        cond = self.objectives("conditioned")
        ret = self.objectives() if self.points else None
        fid = self.fidelity()
        tasks, flat_cond, flat_ret = {}, True, True
        for j, t in enumerate(self.tasks):
            level = ret[:, j] if ret is not None else cond[:, j]
            limit = FLAT_SPREAD[t.kind] * (abs(float(np.nanmean(level))) if t.kind == "regression" else 1.0)
            spread = float(np.nanmax(cond[:, j]) - np.nanmin(cond[:, j]))
            retrain_spread = float(np.nanmax(ret[:, j]) - np.nanmin(ret[:, j])) if ret is not None else None
            flat_cond &= spread < limit or (retrain_spread is not None and spread < FOLLOW_SHARE * retrain_spread)
            flat_ret &= retrain_spread is None or retrain_spread < limit
            tasks[t.name] = {"spread": spread, "retrain_spread": retrain_spread, "limit": limit,
                             "gains": [r[f"{t.name} gain"] for r in fid]}
        beats = sum(all(r[f"{t.name} gain"] > 0 for t in self.tasks) for r in fid)
        return {"tasks": tasks, "flat": bool(flat_cond and (ret is None or not flat_ret)), "beats": beats,
                "compared": len(fid)}

    def response_text(self) -> str | None:
        """:meth:`response` in plain words, with its numbers; ``None`` when there is none."""
        r = self.response()
        if r is None:
            return None
        moves = []
        for t in self.tasks:
            v = r["tasks"][t.name]
            moves.append(f"{t.name} {objective_name(t)} by {v['spread']:.3f}"
                         + (f" (the retrains: {v['retrain_spread']:.3f})" if v["retrain_spread"] is not None else ""))
        text = f"Across {len(self.conditioned)} weightings the conditioned model's quality moves: {'; '.join(moves)}."
        gains = [f"{name} {min(v['gains']):+.3f} to {max(v['gains']):+.3f}" for name, v in r["tasks"].items() if v["gains"]]
        if gains:
            text += f" Against the retrain at the same weights it is better (+) or worse (-) by: {'; '.join(gains)}."
        if r["flat"]:
            text += (" **It does not trade off here**: it gives about the same quality at every weighting, so moving "
                     "its weights shows no front" + ("; read the retrained points for the trade-off." if self.points
                                                     else "."))
        if r["beats"]:
            text += (f" At {r['beats']} of {r['compared']} weightings it beats the retrain at the same weights on every "
                     "task: those retrains did not reach the best model for their own weights, so their place on the "
                     "front reflects their training (a lightly weighted task learns little in a few epochs), not "
                     "a limit of the network.")
        return text

    def flatness(self, which: str = "points") -> str | None:
        """A plain-words message when moving the weights barely changes any task (the
        tasks do not conflict), else ``None``."""
        obj = self.objectives(which)
        if len(obj) < 2:
            return None
        spreads = []
        for j, t in enumerate(self.tasks):
            spread = float(np.nanmax(obj[:, j]) - np.nanmin(obj[:, j]))
            limit = FLAT_SPREAD[t.kind] * (abs(float(np.nanmean(obj[:, j]))) if t.kind == "regression" else 1.0)
            if spread >= limit:
                return None
            spreads.append(f"{t.name} {objective_name(t)} moves by {spread:.4f}")
        return ("The front is flat: these tasks barely conflict here. Across all weightings, "
                + "; ".join(spreads) + ". Any weighting gives about the same quality, so there is no real trade-off to choose.")

    def to_json(self) -> dict:
        """The CLI's ``sweep --json`` document (keys are a stable contract)."""
        return {
            "tasks": [t.name for t in self.tasks],
            "objectives": self.objective_names,
            "points": [p.to_json() for p in self.points],
            "pareto": self.pareto() if self.points else [],
            "hypervolume": self.hypervolume() if self.points else None,
            "reference": self.reference,
            "conditioned": [p.to_json() for p in self.conditioned],
            "conditioned_pareto": self.pareto("conditioned") if self.conditioned else [],
            "conditioned_hypervolume": self.hypervolume("conditioned") if self.conditioned else None,
            "fidelity": self.fidelity(),
            "conditioned_response": self.response(),
            "flat": self.flatness() if self.points else (self.flatness("conditioned") if self.conditioned else None),
            "baselines": self.baselines,
            "retrain_seconds": self.retrain_seconds,
            "conditioned_train_seconds": self.conditioned_train_seconds,
            "conditioned_eval_seconds": self.conditioned_eval_seconds,
            "stopped": self.stopped,
        }


class ConditionedExplorer:
    """Instant what-if for a preference-conditioned model: predictions and test
    metrics for any task-weight vector, with no retraining.

    Encoded test rows are held as tensors; one call is a forward pass plus the
    metrics (well under 200 ms for 20k rows on a CPU).
    """

    def __init__(self, model, tasks: Sequence[TaskSpec], x_cat: torch.Tensor, x_num: torch.Tensor,
                 y: torch.Tensor, groups: np.ndarray | None = None):
        """``y`` as in :class:`~mtl.data.Part` (regression standardized, NaN = missing)."""
        if not model.config.conditioned:
            raise ConfigError("This model is not preference-conditioned; train it with conditioned=True")
        self.model = model.eval()
        self.tasks = list(tasks)
        self.device = next(model.parameters()).device
        self.x_cat, self.x_num = x_cat.to(self.device), x_num.to(self.device)
        y = y.numpy().copy()
        for j, t in enumerate(self.tasks):
            if t.kind == "regression":
                y[:, j] = y[:, j] * t.std + t.mean
        self.y = y
        self.groups = groups

    @property
    def n_rows(self) -> int:
        return len(self.x_cat)

    @classmethod
    def from_prepared(cls, model, prepared: PreparedData, part: str = "test", max_rows: int | None = None):
        p = prepared.part(part)
        n = len(p) if max_rows is None else min(len(p), max_rows)
        return cls(model, prepared.tasks, p.x_cat[:n], p.x_num[:n], p.y[:n], None if p.groups is None else p.groups[:n])

    @classmethod
    def from_trained(cls, trained, max_rows: int | None = None):
        """From a saved/trained :class:`~mtl.train.TrainedModel`, on its test rows."""
        rows = trained.test_rows
        if rows is None:
            raise ConfigError("This model has no saved test rows to evaluate on")
        rows = rows if max_rows is None else rows.iloc[:max_rows]
        x_cat, x_num = trained.encoder.transform(rows)
        y = targets(rows, trained.tasks)
        return cls(trained.model, trained.tasks, torch.from_numpy(x_cat), torch.from_numpy(x_num), y)

    def _pref(self, weights: Sequence[float]) -> torch.Tensor:
        w = torch.as_tensor([float(v) for v in weights], dtype=torch.float32)
        if len(w) != len(self.tasks) or (w < 0).any() or w.sum() <= 0:
            raise ConfigError(f"Give {len(self.tasks)} non-negative weights with a positive sum")
        return (w / w.sum()).to(self.device)

    @torch.no_grad()
    def predict(self, weights: Sequence[float]) -> list[np.ndarray]:
        out = self.model(self.x_cat, self.x_num, self._pref(weights)).outputs
        return [predict(t, o).float().cpu().numpy() for o, t in zip(out, self.tasks)]

    def quick_metrics(self, weights: Sequence[float]) -> dict[str, dict[str, float]]:
        """The slider view: each task's primary metric plus one loss-scale metric (AUC and
        logloss; RMSE and MAE; accuracy), skipping the rest of :meth:`metrics`, whose
        per-call validation overhead in scikit-learn is about half the latency."""
        preds = self.predict(weights)
        out: dict[str, dict[str, float]] = {}
        for j, t in enumerate(self.tasks):
            y, p = self.y[:, j], preds[j]
            keep = ~np.isnan(y)
            y, p = y[keep], p[keep]
            if t.kind == "binary":
                q = np.clip(p, 1e-7, 1 - 1e-7)
                both = 0 < y.sum() < len(y)
                out[t.name] = {"auc": float(roc_auc_score(y, p)) if both else math.nan,
                               "logloss": float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))}
            elif t.kind == "regression":
                out[t.name] = {"rmse": float(np.sqrt(np.mean((p - y) ** 2))), "mae": float(np.mean(np.abs(p - y)))}
            else:
                out[t.name] = {"accuracy": float(np.mean(p.argmax(1) == y.astype(int)))}
        return out

    def metrics(self, weights: Sequence[float], with_groups: bool = False) -> dict[str, dict[str, float]]:
        preds = self.predict(weights)
        g = self.groups if with_groups else None
        return {t.name: task_metrics(t, self.y[:, j], preds[j], g) for j, t in enumerate(self.tasks)}


def conditioned_front(explorer: ConditionedExplorer, weights: Sequence[Sequence[float]] | None = None,
                      points: int = 11) -> SweepResult:
    """The conditioned model's own front: its test metrics at every weight vector of
    ``weights`` (default: :func:`weight_grid` with ``points``), as a :class:`SweepResult`
    with only ``conditioned`` points, ready for :func:`mtl.plots.tradeoff.pareto_front`.
    One forward pass per vector, no training."""
    tasks = explorer.tasks
    grid = [tuple(float(v) for v in w) for w in (weights or weight_grid(len(tasks), points))]
    # no_skill_reference takes targets as trained on (regression standardized).
    y = np.column_stack([(explorer.y[:, j] - t.mean) / t.std if t.kind == "regression" else explorer.y[:, j]
                         for j, t in enumerate(tasks)])
    result = SweepResult(tasks=list(tasks), reference=[no_skill_reference(t, y[:, j]) for j, t in enumerate(tasks)])
    start = time.perf_counter()
    result.conditioned = [SweepPoint(list(w), explorer.quick_metrics(w)) for w in grid]
    result.conditioned_eval_seconds = time.perf_counter() - start
    return result


def sweep(
    prepared: PreparedData,
    base: TrainConfig,
    weights: Sequence[Sequence[float]] | None = None,
    points: int = 11,
    *,
    retrain: bool = True,
    conditioned: bool = False,
    baselines: bool = True,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    backend: Backend | None = None,
) -> SweepResult:
    """Train across weight vectors and collect per-task test metrics.

    ``weights`` defaults to :func:`weight_grid` with ``points`` vectors. With
    ``retrain`` one fixed-weight model is trained per vector; with ``conditioned`` one
    preference-conditioned model is trained and evaluated at every vector (and its
    fidelity can be read from :meth:`SweepResult.fidelity` when both are on).
    ``progress`` (see :data:`Progress`) hears when each training starts and how far
    it is, with its epoch, a few times per second.
    ``should_stop`` is checked before and during each training: when it returns True
    the trainings in progress are abandoned (a half-trained model is no point of the
    front) and the sweep returns what it has (``result.stopped`` is then True).
    ``backend`` says where the trainings run (default: one after another here; see
    :mod:`mtl.backends`); the points are the same on every backend for the same seed.
    A training that fails ends the sweep with a :class:`~mtl.backends.TrainingFailed`
    naming it.
    """
    tasks = prepared.tasks
    names = [t.name for t in tasks]
    grid = [tuple(float(v) for v in w) for w in (weights or weight_grid(len(tasks), points))]
    if not retrain and not conditioned:
        raise ConfigError("Choose retraining, the conditioned model, or both")
    check_prepared_history(prepared, base)
    y_test = prepared.test.y.numpy()
    result = SweepResult(tasks=list(tasks), reference=[no_skill_reference(t, y_test[:, j]) for j, t in enumerate(tasks)])
    plan: list[Training] = []
    if baselines:
        plan.append(Training(baseline_config(base), "single-task baselines"))
    first_point = len(plan)
    if retrain:
        for k, w in enumerate(grid, start=1):
            shown = ", ".join(f"{t.name} {v:.2f}" for t, v in zip(tasks, w))
            plan.append(Training(replace(base, preference=dict(zip(names, w)), model=replace(base.model, conditioned=False)),
                                 f"weighting {k} of {len(grid)} ({shown})"))
    if conditioned:
        plan.append(Training(replace(base, weighting="static", model=replace(base.model, conditioned=True)),
                             "one preference-conditioned model", keep_model=True))
    total = len(plan)
    tracker = Tracker(plan, progress, total)
    trained: dict[int, object] = {}
    try:
        for index, r in (backend or LocalBackend()).run(prepared, plan, listener=tracker, should_stop=should_stop):
            tracker.ended(index)
            if r is not None:
                trained[index] = r
    except TrainingFailed as err:
        raise TrainingFailed(err.index, f"Training {plan[err.index].label} failed ({err.reason}); the sweep "
                                        "stopped there") from err
    result.stopped = len(trained) < total
    if baselines and 0 in trained:
        result.baselines = trained[0].test
    if retrain:
        indices = range(first_point, first_point + len(grid))
        result.points = [SweepPoint(list(w), trained[i].test, trained[i].train_seconds)
                         for i, w in zip(indices, grid) if i in trained]
        result.retrain_seconds = tracker.span([i for i in indices if i in trained])
    if conditioned and total - 1 in trained:
        r = trained[total - 1]
        result.conditioned_train_seconds = r.train_seconds
        explorer = ConditionedExplorer.from_prepared(r.trained.model, prepared)
        start = time.perf_counter()
        for w in grid:
            result.conditioned.append(SweepPoint(list(w), explorer.metrics(w)))
        result.conditioned_eval_seconds = time.perf_counter() - start
        result.explorer = explorer
        result.conditioned_result = r
    if progress is not None:
        progress(total, total, "stopped" if result.stopped else "done")
    return result
