"""Optional experiment tracking with MLflow, for teams that already use it.

:func:`log_to_mlflow` logs a training, a comparison or a sweep as one MLflow run:
the configuration as params, per-evaluation curves as step metrics, the final
metrics, and as artifacts the HTML report, the results document and (for a training
that kept one) the model folder. MLflow is an optional install
(``pip install 'mtl-tradeoff-explorer[mlflow]'``); without it :func:`check_mlflow`
says how to get it, before anything is trained.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from .errors import ConfigError, MTLError
from .report import flat_config
from .store.documents import result_kind, status_of, to_document
from .store.workspace import finite_or_none, json_default

INSTALL = "pip install 'mtl-tradeoff-explorer[mlflow]'  (or: pip install mlflow-skinny)"


def check_mlflow():
    """The ``mlflow`` module, or :class:`ConfigError` naming the install command."""
    try:
        import mlflow
    except ImportError:
        raise ConfigError(f"MLflow logging needs the mlflow package, which is not installed: {INSTALL}") from None
    return mlflow


def _key(name: str) -> str:
    # MLflow allows letters, digits and _ - . space : / in names; "cos:a|b" needs a substitute
    return re.sub(r"[^A-Za-z0-9_\-. :/]", "_", name)[:250]


def _metrics(prefix: str, test: dict) -> dict[str, float]:
    out = {}
    for task, metrics in (test or {}).items():
        for metric, value in (metrics or {}).items():
            v = finite_or_none(value)
            if v is not None and metric != "n":
                out[_key(f"{prefix}{metric}:{task}")] = v
    return out


def log_to_mlflow(result, tracking_uri: str, *, experiment: str = "mtl-tradeoff-explorer",
                  run_name: str | None = None, dataset: dict | None = None, config=None,
                  model_dir: str | Path | None = None, report: bool = True,
                  artifact_location: str | None = None) -> str:
    """Log ``result`` (a TrainResult, Comparison or SweepResult) to the MLflow server or
    store at ``tracking_uri`` (``file:/path``, ``sqlite:///path.db``, ``http://...``)
    under ``experiment``; returns the MLflow run id. ``config`` is a sweep's base
    configuration; ``model_dir`` a saved model folder to attach (a training's model is
    saved and attached when none is given). A new experiment keeps its artifacts at
    ``artifact_location``; by default, for a ``sqlite:///`` store, in ``mlartifacts``
    beside the database file (MLflow's own default is ``./mlruns`` in whatever the
    current folder is)."""
    mlflow = check_mlflow()
    kind = result_kind(result)
    cfg = result.config if kind in ("training", "comparison") else config
    status, why = status_of(result)
    try:
        mlflow.set_tracking_uri(tracking_uri)
        if mlflow.get_experiment_by_name(experiment) is None:
            mlflow.create_experiment(experiment, artifact_location=artifact_location or _beside(tracking_uri))
        mlflow.set_experiment(experiment)
        with mlflow.start_run(run_name=run_name) as run:
            mlflow.set_tags({"mtl.kind": kind, "mtl.status": status, **({"mtl.status_reason": why} if why else {}),
                             **({"mtl.data": dataset["name"]} if dataset and dataset.get("name") else {})})
            if cfg is not None:
                mlflow.log_params({_key(k): str(v)[:6000] for k, v in flat_config(cfg).items()})
            if kind == "training":
                _log_training(mlflow, result)
            elif kind == "comparison":
                _log_comparison(mlflow, result)
            else:
                _log_sweep(mlflow, result)
            with tempfile.TemporaryDirectory(prefix="mtl-mlflow-") as tmp:
                doc = to_document(result, dataset, config)
                (Path(tmp) / "result.json").write_text(json.dumps(doc, default=json_default))
                mlflow.log_artifact(str(Path(tmp) / "result.json"))
                if report:
                    from .report_html import report_html, write_report

                    page = write_report(report_html(result, dataset=dataset, config=config),
                                        Path(tmp) / "report.html")
                    mlflow.log_artifact(str(page))
                if model_dir is None and kind == "training" and result.trained is not None:
                    model_dir = result.trained.save(Path(tmp) / "model")
                if model_dir is not None:
                    mlflow.log_artifacts(str(model_dir), artifact_path="model")
            return run.info.run_id
    except MTLError:
        raise
    except Exception as err:  # MLflow raises its own types, plus OSError and HTTP errors
        raise MTLError(f"Could not log to MLflow at {tracking_uri}: {type(err).__name__}: {str(err)[:300]}") from None


def _beside(uri: str) -> str | None:
    if not uri.startswith("sqlite:///"):
        return None
    db = Path(uri[len("sqlite:///"):]).expanduser().resolve()
    return (db.parent / "mlartifacts").as_uri()


def _log_training(mlflow, result) -> None:
    for step, row in enumerate(result.history):
        values = {_key(k): v for k, v in ((k, finite_or_none(v)) for k, v in row.items()) if v is not None}
        mlflow.log_metrics(values, step=step)
    # "best_valid_": the kept model's, apart from the per-evaluation "valid_" curves
    final = _metrics("test_", result.test) | _metrics("best_valid_", result.valid)
    final.update({"train_seconds": float(result.train_seconds), "params": float(result.params),
                  "best_epoch": float(result.best_epoch), "epochs_run": float(result.epochs_run)})
    if result.latency_ms_per_1k:
        final["latency_ms_per_1k"] = float(result.latency_ms_per_1k)
    mlflow.log_metrics(final)


def _log_comparison(mlflow, comparison) -> None:
    table = comparison.table()
    final = {}
    for _, row in table.iterrows():
        for col, value in row.items():
            v = finite_or_none(value) if col not in ("method", "title") else None
            if v is not None:
                final[_key(f"{row['method']}.{col}")] = v
    mlflow.log_metrics(final)
    mlflow.log_params({"methods": ",".join(comparison.methods), "seeds": ",".join(map(str, comparison.seeds))})


def _log_sweep(mlflow, result) -> None:
    for which in ("points", "conditioned"):
        for step, point in enumerate(getattr(result, which)):
            values = _metrics(f"{which}.", point.test)
            values.update({_key(f"{which}.weight:{t.name}"): float(w) for t, w in zip(result.tasks, point.weights)})
            mlflow.log_metrics(values, step=step)
        if getattr(result, which):
            mlflow.log_metric(f"{which}.hypervolume", float(result.hypervolume(which)))
    mlflow.log_metrics(_metrics("baseline.", result.baselines))
