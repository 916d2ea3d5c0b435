"""Results as JSON documents and back: what the run store writes, and what ``mtl
report`` reads from a ``--json`` file.

Each result type already has a ``to_json()`` (the CLI's stable ``--json`` contract);
this module adds the way back (``*_from_json``), plus the task specifications and a
data description that a document needs to stand on its own.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

from ..errors import MTLError

if TYPE_CHECKING:
    from ..compare import Comparison
    from ..tasks import TaskSpec
    from ..tradeoff.sweep import SweepResult
    from ..train.config import TrainConfig
    from ..train.result import TrainResult

# The result classes are imported where they are used: listing and managing runs
# (``python -m mtl runs ...``) then never loads torch.

KINDS = ("training", "comparison", "sweep")


class DocumentError(MTLError):
    """A results document is not one this version can read (names what is wrong)."""


def kind_of(doc: dict) -> str:
    """Which result a document holds: ``training``, ``comparison`` or ``sweep``."""
    if not isinstance(doc, dict):
        raise DocumentError("The results file does not hold a JSON object")
    if doc.get("kind") in KINDS:
        return doc["kind"]
    if "methods" in doc and "runs" in doc:
        return "comparison"
    if "objectives" in doc and "points" in doc:
        return "sweep"
    if "test" in doc and "config" in doc:
        return "training"
    raise DocumentError("The results file is not a training, comparison or sweep result "
                        "(written by train --json, compare --json or sweep --json)")


def to_document(result, dataset: dict | None = None, config: TrainConfig | None = None) -> dict:
    """A training, comparison or sweep result as one JSON-ready document: the result's
    ``to_json()`` plus ``kind``, the task specifications and the data description.
    ``config`` is a sweep's base training configuration (a sweep result has none)."""
    kind = result_kind(result)
    doc = dict(result.to_json())
    doc["kind"] = kind
    doc["task_specs"] = [t.to_dict() for t in result.tasks]
    if kind == "sweep":
        cond = getattr(result, "conditioned_result", None)
        base = config if config is not None else (cond.config if cond is not None else None)
        if base is not None:
            doc["config"] = base.to_dict()
    if dataset is not None:
        doc["dataset"] = dataset
    return doc


def result_kind(result) -> str:
    from ..compare import Comparison
    from ..tradeoff.sweep import SweepResult
    from ..train.result import TrainResult

    if isinstance(result, TrainResult):
        return "training"
    if isinstance(result, Comparison):
        return "comparison"
    if isinstance(result, SweepResult):
        return "sweep"
    raise TypeError(f"not a training, comparison or sweep result: {type(result).__name__}")


def from_document(doc: dict):
    """The result object a document holds (without any model)."""
    kind = kind_of(doc)
    try:
        return {"training": training_from_json, "comparison": comparison_from_json,
                "sweep": sweep_from_json}[kind](doc)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise DocumentError(f"The {kind} results are incomplete or damaged (missing or invalid {err})") from None


def _tasks(doc: dict, names: list[str], metrics: dict) -> list[TaskSpec]:
    """The task specifications: stored ones, else guessed from the metric names (a
    ``train --json`` file has none; binary tasks have an AUC, regression an RMSE)."""
    from ..tasks import TaskSpec

    if doc.get("task_specs"):
        return [TaskSpec.from_dict(t) for t in doc["task_specs"]]
    out = []
    for name in names:
        m = metrics.get(name, {}) or {}
        kind = "binary" if "auc" in m else "regression" if "rmse" in m else "multiclass" if "macro_f1" in m else "binary"
        out.append(TaskSpec(name, kind))
    return out


def _num(v, default=math.nan) -> float:
    return default if v is None else float(v)


def _metrics(d: dict | None) -> dict:
    """JSON ``null`` (a NaN written as strict JSON) back to NaN."""
    return {t: {k: (math.nan if v is None else v) for k, v in (m or {}).items()} for t, m in (d or {}).items()}


def training_from_json(doc: dict) -> TrainResult:
    from ..train.config import TrainConfig
    from ..train.result import TrainResult

    config = TrainConfig.from_dict(doc["config"])
    test = _metrics(doc["test"])
    return TrainResult(
        config=config, tasks=_tasks(doc, list(config.tasks), test), test=test, valid=_metrics(doc.get("valid")),
        history=list(doc.get("history") or []), train_seconds=_num(doc.get("train_seconds"), 0.0),
        params=int(doc.get("params") or 0), best_epoch=_num(doc.get("best_epoch"), 0.0),
        epochs_run=_num(doc.get("epochs_run"), 0.0), stopped=bool(doc.get("stopped")),
        reason=str(doc.get("reason") or "completed"), device=str(doc.get("device") or "cpu"),
        latency_ms_per_1k=_num(doc.get("latency_ms_per_1k"), 0.0), latency=dict(doc.get("latency") or {}),
        diagnostics=list(doc.get("diagnostics") or []),
    )


def comparison_from_json(doc: dict) -> Comparison:
    from ..compare import Comparison, Run
    from ..train.config import TrainConfig

    config = TrainConfig.from_dict(doc["config"])
    runs = [Run(r["method"], int(r["seed"]), _metrics(r["test"]), _num(r.get("train_seconds"), 0.0),
                _num(r.get("best_epoch"), 0.0), str(r.get("reason") or "completed")) for r in doc["runs"]]
    first = runs[0].test if runs else {}
    return Comparison(tasks=_tasks(doc, list(doc["tasks"]), first), metrics=dict(doc["metrics"]),
                      methods=list(doc["methods"]), seeds=[int(s) for s in doc["seeds"]], config=config, runs=runs,
                      stopped=bool(doc.get("stopped")), error=doc.get("error"))


def sweep_from_json(doc: dict) -> SweepResult:
    from ..tradeoff.sweep import SweepPoint, SweepResult

    points = [SweepPoint(list(p["weights"]), _metrics(p["test"]), _num(p.get("train_seconds"), 0.0))
              for p in doc.get("points") or []]
    conditioned = [SweepPoint(list(p["weights"]), _metrics(p["test"]), _num(p.get("train_seconds"), 0.0))
                   for p in doc.get("conditioned") or []]
    first = (points or conditioned)[0].test if (points or conditioned) else {}
    return SweepResult(
        tasks=_tasks(doc, list(doc["tasks"]), first), points=points, conditioned=conditioned,
        baselines={t: dict(m) for t, m in _metrics(doc.get("baselines")).items()},
        reference=[float(v) for v in doc.get("reference") or []],
        retrain_seconds=_num(doc.get("retrain_seconds"), 0.0),
        conditioned_train_seconds=_num(doc.get("conditioned_train_seconds"), 0.0),
        conditioned_eval_seconds=_num(doc.get("conditioned_eval_seconds"), 0.0), stopped=bool(doc.get("stopped")),
    )


def status_of(result) -> tuple[str, str]:
    """``(status, why)``: ``completed``, ``stopped`` or ``failed``, and in words why."""
    kind = result_kind(result)
    if kind == "comparison" and result.error:
        return "failed", result.error
    if kind == "training" and getattr(result, "fault", None):
        return "failed", f"training diverged: {result.fault['message']}; the best model before it was kept"
    if result.stopped:
        if kind == "training":
            return "stopped", (f"training was stopped after {result.epochs_run:g} epoch(s) of "
                               f"{result.config.epochs}; the best model so far was kept")
        return "stopped", f"the {kind} was stopped before every training finished; it holds what was trained"
    return "completed", ""


def describe_data(prepared) -> dict:
    """What a stored run says about its data: name, sizes, the split, the role table
    and the label summary (statistics only: never the rows themselves)."""
    data = prepared.data
    return {
        "name": data.name,
        "rows": int(data.n_rows),
        "columns": len(data.frame.columns),
        "train_rows": len(prepared.train), "valid_rows": len(prepared.valid), "test_rows": len(prepared.test),
        "split": prepared.split.to_dict(),
        "tasks": [t.to_dict() for t in prepared.tasks],
        "roles": _records(data.schema.table()),
        "labels": _records(data.label_summary()),
        "warnings": list(prepared.warnings),
    }


def _records(frame) -> list[dict]:
    # pandas' own JSON writer turns numpy scalars and NaN into plain JSON values
    return json.loads(frame.to_json(orient="records"))


def training_from_model(trained) -> TrainResult:
    """A saved model (:class:`~mtl.train.TrainedModel`, e.g. an opened zip) as a training
    result: its stored test and validation metrics and configuration, with the model
    attached (a saved model keeps no history, so there are no curves)."""
    from ..train.result import TrainResult

    m = trained.metrics if isinstance(trained.metrics, dict) else {}
    test = m.get("test") if isinstance(m.get("test"), dict) else {}
    valid = m.get("valid") if isinstance(m.get("valid"), dict) else {}
    return TrainResult(config=trained.config, tasks=list(trained.tasks), test=_metrics(test), valid=_metrics(valid),
                       train_seconds=float(m["train_seconds"]) if _is_num(m.get("train_seconds")) else 0.0,
                       params=int(m["params"]) if _is_num(m.get("params")) else 0, reason="saved model",
                       trained=trained)


def describe_model_data(trained) -> dict:
    """What a saved model says about its data: name, sizes of its split, the role table."""
    out = {"name": trained.data_name, "rows": len(trained.interactions) if trained.interactions is not None else 0,
           "roles": _records(trained.schema.table())}
    if trained.interactions is not None and "split" in trained.interactions:
        counts = trained.interactions["split"].value_counts()
        out.update(train_rows=int(counts.get("train", 0)), valid_rows=int(counts.get("valid", 0)),
                   test_rows=int(counts.get("test", 0)))
    return out


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
