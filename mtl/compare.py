"""Compare weighting methods: several methods x seeds on the same data and split.

:func:`compare` trains every method once per seed, plus a single-task baseline (one
independent network per task, static weights) per seed, all on the same prepared
data, hence the same split and encoders; the seed changes initialization and
shuffling. The :class:`Comparison` it returns gives each method's per-task test
metrics as mean ± standard deviation over seeds and its **Δm**, the average
relative gain over the single-task baseline (Maninis et al., CVPR 2019; the
multi-task summary reported by LibMTL and most MTL papers), in %:

    Δm = 100/T * sum_t (-1)^{l_t} (M_t - B_t) / |B_t|

where ``M_t`` is the method's value of task t's metric, ``B_t`` the single-task
baseline's (averaged over seeds) and ``l_t = 1`` when lower is better (RMSE,
logloss), so a positive Δm means better than training the tasks separately. One
metric per task: its primary metric (AUC, RMSE, accuracy) unless chosen otherwise.
Δm is computed per run and then averaged, which equals the Δm of the averaged
metrics, and its standard deviation shows how much of a difference is seed noise
(the baseline row's own spread is the noise floor).

::

    cmp = compare(prepared, suggested_config(data, tasks=["click", "like"], epochs=5),
                  ["static", "uncertainty", "upgrad"], seeds=3)
    cmp.table()      # one row per method: metric means and stds, Δm, seconds
    cmp.long()       # tidy: one row per method, seed, task and metric
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .backends import Backend, Training, TrainingFailed, Update
from .backends.base import START
from .backends.local import LocalBackend
from .data.dataset import PreparedData
from .errors import ConfigError
from .metrics import METRICS_BY_KIND, higher_is_better, relative_gain
from .setup import baseline_config, check_prepared_history
from .tasks import TaskSpec
from .train import TrainConfig
from .weighting import check_available, get_weighting_class

#: The method label of the single-task baseline rows.
BASELINE = "single-task"


@dataclass
class Run:
    """One trained model: a method (or the baseline) at one seed."""

    method: str
    seed: int
    test: dict[str, dict[str, float]]
    train_seconds: float
    best_epoch: float
    reason: str

    def to_json(self) -> dict:
        return {"method": self.method, "seed": self.seed, "test": self.test, "train_seconds": self.train_seconds,
                "best_epoch": self.best_epoch, "reason": self.reason}


@dataclass
class Comparison:
    tasks: list[TaskSpec]
    #: Task -> the metric compared and used in Δm.
    metrics: dict[str, str]
    methods: list[str]
    seeds: list[int]
    config: TrainConfig
    #: Every run, the baseline's included (method ``"single-task"``), in training order.
    runs: list[Run] = field(default_factory=list)
    #: True when ``should_stop`` (or a failed training) ended the comparison before
    #: every run was trained.
    stopped: bool = False
    #: Why a training failed, when one did (the comparison ends there, keeping the
    #: runs before it).
    error: str | None = None

    def complete_seeds(self) -> list[int]:
        """The seeds for which the baseline and every method were trained."""
        wanted = {BASELINE, *self.methods}
        return [s for s in self.seeds if wanted <= {r.method for r in self.runs if r.seed == s}]

    def counted(self) -> list[Run]:
        """The runs the statistics use: those of the complete seeds, so every method is
        averaged over the same seeds as the baseline (all runs while no seed is complete,
        e.g. a comparison stopped during its first seed)."""
        complete = set(self.complete_seeds())
        return [r for r in self.runs if r.seed in complete] if complete else list(self.runs)

    # ----------------------------------------------------------------- numbers
    def baseline(self) -> dict[str, float]:
        """The single-task baseline's metric per task, averaged over its seeds."""
        runs = [r for r in self.counted() if r.method == BASELINE]
        return {t.name: _mean([_value(r, t.name, self.metrics[t.name]) for r in runs]) for t in self.tasks}

    def delta_m(self, run: Run) -> float:
        """Δm of one run in % (NaN when a metric or the baseline is missing)."""
        base = self.baseline()
        gains = [relative_gain(_value(run, t.name, self.metrics[t.name]), base[t.name], self.metrics[t.name])
                 for t in self.tasks]
        return float(np.mean(gains)) if gains and not any(math.isnan(g) for g in gains) else math.nan

    def best(self) -> str | None:
        """The method with the highest mean Δm (``None`` before any method has one)."""
        table = self.table()
        if table.empty:
            return None
        ranked = table[(table["method"] != BASELINE) & table["delta_m"].notna()]
        return None if ranked.empty else str(ranked.loc[ranked["delta_m"].idxmax(), "method"])

    def table(self) -> pd.DataFrame:
        """One row per method, the baseline first: ``method``, ``title``, ``runs``,
        per task ``<metric>:<task>`` (mean over seeds) and ``<metric>_std:<task>``,
        ``delta_m`` and ``delta_m_std`` (in %), ``train_seconds`` (mean per run).
        Standard deviations are over seeds (sample, ddof=1): NaN with one seed."""
        rows = []
        for method in [BASELINE] + self.methods:
            runs = [r for r in self.counted() if r.method == method]
            if not runs:
                continue
            row: dict = {"method": method, "title": _title(method), "runs": len(runs)}
            for t in self.tasks:
                m = self.metrics[t.name]
                values = [_value(r, t.name, m) for r in runs]
                row[f"{m}:{t.name}"], row[f"{m}_std:{t.name}"] = _mean(values), _std(values)
            deltas = [self.delta_m(r) for r in runs]
            row["delta_m"], row["delta_m_std"] = _mean(deltas), _std(deltas)
            row["train_seconds"] = _mean([r.train_seconds for r in runs])
            rows.append(row)
        return pd.DataFrame(rows)

    def long(self) -> pd.DataFrame:
        """Tidy: one row per run, task and metric (every test metric of every run):
        ``method``, ``seed``, ``task``, ``metric``, ``value``, ``higher_is_better``,
        ``compared`` (the metric used in Δm)."""
        rows = []
        for r in self.runs:
            for t in self.tasks:
                for metric, value in r.test.get(t.name, {}).items():
                    if metric == "n":
                        continue
                    rows.append({"method": r.method, "seed": r.seed, "task": t.name, "metric": metric,
                                 "value": value, "higher_is_better": higher_is_better(metric),
                                 "compared": metric == self.metrics[t.name]})
        return pd.DataFrame(rows, columns=["method", "seed", "task", "metric", "value", "higher_is_better", "compared"])

    def to_json(self) -> dict:
        """The CLI's ``compare --json`` document."""
        return {
            "tasks": [t.name for t in self.tasks],
            "metrics": self.metrics,
            "methods": self.methods,
            "seeds": self.seeds,
            "baseline": self.baseline(),
            "table": self.table().to_dict(orient="records"),
            "runs": [dict(r.to_json(), delta_m=self.delta_m(r)) for r in self.runs],
            "stopped": self.stopped,
            "error": self.error,
            "complete_seeds": self.complete_seeds(),
            "config": self.config.to_dict(),
        }


def compare(
    prepared: PreparedData,
    base: TrainConfig,
    methods: Sequence[str],
    seeds: int | Sequence[int] = 3,
    *,
    metrics: Mapping[str, str] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    backend: Backend | None = None,
) -> Comparison:
    """Train each of ``methods`` and a single-task baseline once per seed on
    ``prepared`` and collect their test metrics.

    ``base`` gives everything but the method and the seed (architecture, preference,
    epochs, ...). ``seeds`` is a count (``base.seed``, ``base.seed + 1``, ...) or the
    seeds themselves. ``metrics`` maps tasks to the metric to compare (default: each
    task's primary metric). Every method is checked before anything is trained: an
    unknown name, a missing optional dependency (with the command that installs it)
    or a method that cannot run with ``base.arch`` raises :class:`ConfigError`.
    ``progress(i, total, message)`` is called as training ``i`` of the plan starts
    (baseline and methods, seed by seed); when ``should_stop()`` returns True no new
    training starts and the comparison ends with what it has (those under way
    finish); a training that fails ends it too, keeping the runs trained, with the
    method, the seed and the reason in :attr:`Comparison.error`. ``backend`` says
    where the trainings run (default: one after another here; see
    :mod:`mtl.backends`): the runs are the same on every backend for the same seeds,
    listed in plan order. Statistics count the seeds completed for every method
    (:meth:`Comparison.counted`).
    """
    tasks = list(prepared.tasks)
    if list(base.tasks) != prepared.task_names:
        raise ConfigError(f"The configuration's tasks {list(base.tasks)} differ from the data's {prepared.task_names}")
    check_prepared_history(prepared, base)
    methods = list(methods)
    seed_list = _seeds(seeds, base.seed)
    chosen = _metrics(tasks, metrics)
    check_methods(base, methods)
    baseline = baseline_config(base)

    result = Comparison(tasks=tasks, metrics=chosen, methods=methods, seeds=seed_list, config=base)
    plan: list[tuple[str, int]] = []
    for s in seed_list:  # seed by seed, so a comparison stopped early is complete for the seeds it has
        plan += [(BASELINE, s)] + [(m, s) for m in methods]
    trainings = [Training(replace(baseline if method == BASELINE else replace(base, weighting=method), seed=seed),
                          f"{_title(method)}, seed {seed}") for method, seed in plan]

    def started(update: Update) -> None:
        if progress is not None and update.kind == START:
            progress(update.index, len(plan), trainings[update.index].label)

    done: dict[int, Run] = {}
    try:
        # Stop lets the trainings under way finish: each is a whole model worth comparing.
        for index, r in (backend or LocalBackend()).run(prepared, trainings, listener=started,
                                                         should_stop=should_stop, stop_running=False):
            method, seed = plan[index]
            done[index] = Run(method, seed, r.test, r.train_seconds, r.best_epoch, r.reason)
    except TrainingFailed as err:
        method, seed = plan[err.index]
        result.error = f"Training {_title(method)} with seed {seed} failed ({err.reason}); the comparison stopped there"
    result.runs = [done[i] for i in sorted(done)]
    result.stopped = len(done) < len(plan)
    return result


def check_methods(base: TrainConfig, methods: Sequence[str]) -> None:
    """Everything :func:`compare` checks before training, without the data: at least
    two tasks, each method named once, known, installed (else the
    :class:`ConfigError` names the install command) and valid with ``base``."""
    if len(base.tasks) < 2:
        raise ConfigError("Comparing weighting methods needs at least two tasks")
    methods = list(methods)
    if not methods:
        raise ConfigError("Name at least one weighting method to compare")
    duplicates = sorted({m for m in methods if methods.count(m) > 1})
    if duplicates:
        raise ConfigError(f"Name each method once: {', '.join(duplicates)} is repeated")
    for method in methods:
        check_available(method)
        replace(base, weighting=method).validate()
    baseline_config(base).validate()


def _seeds(seeds: int | Sequence[int], first: int) -> list[int]:
    if isinstance(seeds, (int, np.integer)):
        if seeds < 1:
            raise ConfigError(f"Give at least one seed, got {seeds}")
        return [first + i for i in range(int(seeds))]
    out = [int(s) for s in seeds]
    if not out or len(set(out)) != len(out):
        raise ConfigError(f"Seeds must be distinct and at least one, got {out}")
    return out


def _metrics(tasks: Sequence[TaskSpec], chosen: Mapping[str, str] | None) -> dict[str, str]:
    chosen = dict(chosen or {})
    unknown = sorted(set(chosen) - {t.name for t in tasks})
    if unknown:
        raise ConfigError(f"Metrics given for tasks not compared: {', '.join(unknown)}")
    out = {}
    for t in tasks:
        metric = chosen.get(t.name, t.primary_metric)
        if metric not in METRICS_BY_KIND[t.kind]:
            raise ConfigError(f"'{metric}' is not a metric of the {t.kind} task {t.name}; "
                              f"choose one of: {', '.join(METRICS_BY_KIND[t.kind])}")
        out[t.name] = metric
    return out


def _title(method: str) -> str:
    return "Single-task baseline" if method == BASELINE else get_weighting_class(method).display_name()


def _value(run: Run, task: str, metric: str) -> float:
    v = run.test.get(task, {}).get(metric, math.nan)
    return math.nan if v is None else float(v)


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite and len(finite) == len(values) else math.nan


def _std(values: Sequence[float]) -> float:
    if len(values) < 2 or any(math.isnan(v) for v in values):
        return math.nan
    return float(np.std(values, ddof=1))
