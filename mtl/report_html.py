"""One self-contained HTML report for a training, a comparison or a sweep.

The file opens offline: plotly.js is inlined once and every chart stays interactive
(zoom, hover). Its sections, each a ``<section id=...>``: ``summary`` (what ran, when,
and whether it finished, stopped or failed), ``findings`` (the same sentences the app
shows), ``metrics`` (tables), ``charts``, ``config`` (every setting), ``data`` (the data
summary, role table and label statistics, when known) and ``environment`` (seeds and
package versions). Made for handing a result to someone who was not in the room.
"""

from __future__ import annotations

import html
import json
import os
import secrets
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .errors import MTLError
from .finding import Finding
from .report import METRIC_LABELS, comparison_findings, comparison_table, flat_config, metrics_table, network_label
from .store.documents import result_kind, status_of
from .store.workspace import package_versions

SECTIONS = ("summary", "findings", "metrics", "charts", "config", "data", "environment")

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;
color:#1f2430;line-height:1.45}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{border-bottom:1px solid #dde;padding-bottom:.2rem;margin-top:2rem}
.sub{color:#5a6070}.status{padding:.7rem 1rem;border-radius:6px;margin:1rem 0;font-weight:600}
.status.stopped{background:#fff4d6;border:1px solid #e8c35a}.status.failed{background:#fde2e2;border:1px solid #e07070}
.status.completed{background:#e5f5e8;border:1px solid #7cc18a}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}th,td{padding:.25rem .6rem;border-bottom:1px solid #e5e7ee;
text-align:right}th{background:#f4f5f9}td:first-child,th:first-child{text-align:left}
.chart{margin:1rem 0}.note{color:#5a6070;font-size:.9rem}dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}
dt{font-weight:600}
"""


def _esc(text) -> str:
    return html.escape(str(text))


def _table(frame: pd.DataFrame, digits: int = 4) -> str:
    if frame is None or frame.empty:
        return '<p class="note">Nothing to show.</p>'
    return frame.to_html(index=False, border=0, na_rep="-", float_format=lambda v: f"{v:.{digits}f}", classes="table")


def _pairs(items: dict) -> str:
    return "<dl>" + "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in items.items()) + "</dl>"


def _chart(fig, caption: str) -> str:
    body = fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True})
    return f'<div class="chart">{body}<p class="note">{_esc(caption)}</p></div>'


def _section(key: str, title: str, body: str) -> str:
    return f'<section id="{key}"><h2>{_esc(title)}</h2>{body}</section>'


def _page(title: str, kind: str, sections: dict[str, str]) -> str:
    from plotly.offline import get_plotlyjs

    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{_esc(title)}</title>"
            f"<style>{_CSS}</style><script type=\"text/javascript\">{get_plotlyjs()}</script></head><body>"
            f"<header><h1>{_esc(title)}</h1><p class=\"sub\">{_esc(kind)} · MTL Trade-off Explorer report</p></header>"
            + "".join(sections[k] for k in SECTIONS) + "</body></html>")


def _data_section(dataset: dict | None) -> str:
    if not dataset:
        return ('<p class="note">The data description was not recorded with this result (e.g. a report made from a '
                "--json file). Reports of runs kept in the workspace, or made in the app, include it.</p>")
    facts = {"data": dataset.get("name", "-"), "rows": f"{dataset.get('rows', 0):,}",
             "columns": dataset.get("columns", "-")}
    if "train_rows" in dataset:
        facts["train / valid / test rows"] = (f"{dataset['train_rows']:,} / {dataset['valid_rows']:,} / "
                                              f"{dataset['test_rows']:,}")
    split = dataset.get("split") or {}
    if split:
        facts["split"] = ", ".join(f"{k} {v}" for k, v in split.items() if v is not None)
    body = _pairs(facts)
    if dataset.get("warnings"):
        body += "<ul>" + "".join(f"<li>{_esc(w)}</li>" for w in dataset["warnings"]) + "</ul>"
    if dataset.get("labels"):
        body += "<h3>Labels</h3>" + _table(pd.DataFrame(dataset["labels"]), 3)
    if dataset.get("roles"):
        body += "<h3>Column roles</h3>" + _table(pd.DataFrame(dataset["roles"]))
    return body


def _environment(seeds: Sequence[int], split_seed, versions: dict | None, created: float | None) -> str:
    when = datetime.fromtimestamp(created, timezone.utc) if created else datetime.now(timezone.utc)
    facts = {"seeds": ", ".join(map(str, seeds)), "split seed": split_seed,
             "date": when.strftime("%Y-%m-%d %H:%M UTC")}
    facts.update({f"{k}": v for k, v in (versions or package_versions()).items()})
    return _pairs(facts) + ('<p class="note">The same settings, seeds, data and package versions reproduce these '
                            "numbers (on the same device type).</p>")


def _status(result) -> tuple[str, str]:
    status, why = status_of(result)
    text = {"completed": "Completed.", "stopped": f"Stopped early: {why}.",
            "failed": f"Failed: {why}."}[status]
    return status, f'<div class="status {status}">{_esc(text)}</div>'


def _summary(result, facts: dict) -> str:
    _, banner = _status(result)
    return banner + _pairs(facts)


def training_report(result, *, dataset: dict | None = None, title: str | None = None, created: float | None = None,
                    versions: dict | None = None) -> str:
    """The report of one training (:class:`~mtl.train.TrainResult`), as HTML text."""
    from .plots.diagnostics import cosine_curves, weight_curves
    from .plots.train import loss_curves, metric_curves
    from .train.diagnostics import explain

    cfg = result.config
    names = [t.name for t in result.tasks]
    title = title or f"{cfg.arch} + {cfg.weighting} on {(dataset or {}).get('name', 'the data')}"
    facts = {"tasks": ", ".join(names), "architecture": network_label(cfg), "weighting": cfg.weighting,
             "parameters": f"{result.params:,}", "training time": f"{result.train_seconds:.1f} s on {result.device}",
             "best epoch": f"{result.best_epoch:g} of {result.epochs_run:g} run", "ended": result.reason}
    if result.latency_ms_per_1k:
        facts["inference"] = result.latency_text()
    findings = [f"{t.name}: test {METRIC_LABELS.get(t.primary_metric, t.primary_metric)} "
                f"{result.test.get(t.name, {}).get(t.primary_metric, float('nan')):.4f}" for t in result.tasks]
    if result.diagnostics:
        findings += explain(result.diagnostics, names, method=cfg.weighting, conditioned=cfg.model.conditioned).findings
    charts = []
    if result.history:
        charts.append(_chart(loss_curves(result.history, names), "Training and validation loss per evaluation."))
        charts.append(_chart(metric_curves(result.history, names), "Validation metric per task per evaluation."))
    if result.diagnostics and len(names) > 1:
        charts.append(_chart(cosine_curves(result.diagnostics, names),
                             "Cosine between task gradients on the shared layers: below 0 the tasks pull apart."))
        charts.append(_chart(weight_curves(result.diagnostics, names), "Effective task weights during training."))
    sections = {
        "summary": _section("summary", "Summary", _summary(result, facts)),
        "findings": _section("findings", "Findings", _findings(findings)),
        "metrics": _section("metrics", "Held-out metrics",
                            "<h3>Test</h3>" + _table(metrics_table(result, "test").rename(columns=METRIC_LABELS))
                            + "<h3>Validation</h3>"
                            + _table(metrics_table(result, "valid").rename(columns=METRIC_LABELS))),
        "charts": _section("charts", "Charts", "".join(charts) or '<p class="note">No history was recorded.</p>'),
        "config": _section("config", "Configuration", _pairs(flat_config(cfg))),
        "data": _section("data", "Data", _data_section(dataset)),
        "environment": _section("environment", "Reproducibility",
                                _environment([cfg.seed], cfg.split.seed, versions, created)),
    }
    return _page(title, "Training run", sections)


def comparison_report(comparison, *, dataset: dict | None = None, title: str | None = None,
                      created: float | None = None, versions: dict | None = None) -> str:
    """The report of a method comparison (:class:`~mtl.compare.Comparison`)."""
    from .plots.compare import delta_m_bars, metric_bars

    cfg = comparison.config
    title = title or f"Weighting methods compared on {(dataset or {}).get('name', 'the data')}"
    facts = {"tasks": ", ".join(t.name for t in comparison.tasks), "architecture": network_label(cfg),
             "methods": ", ".join(comparison.methods), "seeds": ", ".join(map(str, comparison.seeds)),
             "complete seeds": ", ".join(map(str, comparison.complete_seeds())) or "none",
             "trainings": str(len(comparison.runs))}
    runs = pd.DataFrame([dict(r.to_json(), delta_m=comparison.delta_m(r)) for r in comparison.runs])
    if not runs.empty:
        runs = runs.drop(columns=["test"])
    charts = ""
    if comparison.runs:
        charts = (_chart(delta_m_bars(comparison), "Δm: mean relative gain over the single-task baseline, in %, with "
                                                   "the seed-to-seed spread.")
                  + _chart(metric_bars(comparison), "Each task's compared metric per method: mean ± one standard "
                                                    "deviation over seeds, the single-task baseline dashed; axes "
                                                    "zoomed, not from 0."))
    sections = {
        "summary": _section("summary", "Summary", _summary(comparison, facts)),
        "findings": _section("findings", "Findings", _findings(comparison_findings(comparison))),
        "metrics": _section("metrics", "Results",
                            "<p class=\"note\">Test metrics as mean ± std over seeds; Δm is the mean relative gain "
                            "over the single-task baseline, in %.</p>" + _table(comparison_table(comparison))
                            + "<h3>Every training</h3>" + _table(runs)),
        "charts": _section("charts", "Charts", charts or '<p class="note">No training finished.</p>'),
        "config": _section("config", "Configuration", _pairs(flat_config(cfg))),
        "data": _section("data", "Data", _data_section(dataset)),
        "environment": _section("environment", "Reproducibility",
                                _environment(comparison.seeds, cfg.split.seed, versions, created)),
    }
    return _page(title, "Method comparison", sections)


def sweep_report(result, *, dataset: dict | None = None, config=None, title: str | None = None,
                 created: float | None = None, versions: dict | None = None) -> str:
    """The report of a task-weight sweep (:class:`~mtl.tradeoff.SweepResult`);
    ``config`` is the sweep's base training configuration, when known."""
    from .plots.tradeoff import fidelity_bars, fidelity_table, front_table, pareto_front

    names = [t.name for t in result.tasks]
    title = title or f"Trade-offs between {' and '.join(names)} on {(dataset or {}).get('name', 'the data')}"
    facts = {"tasks": ", ".join(names), "retrained weightings": str(len(result.points)),
             "conditioned weightings": str(len(result.conditioned)),
             "retraining time": f"{result.retrain_seconds:.1f} s"}
    if config is not None:
        facts = {"architecture": network_label(config), **facts}
    findings = []
    for label, which in (("Retrained", "points"), ("Conditioned model", "conditioned")):
        if getattr(result, which):
            front = result.pareto(which)
            findings.append(f"{label}: {len(front)} of {len(getattr(result, which))} weightings are on the Pareto "
                            f"front; hypervolume {result.hypervolume(which):.5f}.")
    flat = result.flatness() if result.points else (result.flatness("conditioned") if result.conditioned else None)
    if flat:
        findings.append(flat)
    response = result.response_text()
    if response:
        findings.append(response.replace("**", ""))
    tables = ""
    for label, which in (("Retrained weightings", "points"), ("Conditioned model", "conditioned")):
        if getattr(result, which):
            tables += f"<h3>{label}</h3>" + _table(front_table(result, which))
    if result.baselines:
        tables += "<h3>Single-task baselines</h3>" + _table(pd.DataFrame(
            [{"task": t.name, "metric": t.primary_metric, "value": result.baselines.get(t.name, {}).get(t.primary_metric)}
             for t in result.tasks]))
    charts = ""
    if (result.points or result.conditioned) and len(names) > 1:
        charts += _chart(pareto_front(result), "Each weighting's test quality on two tasks; the line joins the Pareto "
                                               "front; dotted lines are single-task baselines.")
    if result.points and result.conditioned:
        charts += _chart(fidelity_bars(result), "The one conditioned model minus the retrained one at the same "
                                                 "weights, per task: above 0 it is better, below worse.")
        tables += "<h3>Conditioned against retrained</h3>" + _table(fidelity_table(result))
    seeds = [config.seed] if config is not None else []
    sections = {
        "summary": _section("summary", "Summary", _summary(result, facts)),
        "findings": _section("findings", "Findings", _findings(findings)),
        "metrics": _section("metrics", "Results", tables or '<p class="note">No weighting finished.</p>'),
        "charts": _section("charts", "Charts", charts or '<p class="note">No weighting finished.</p>'),
        "config": _section("config", "Configuration", _pairs(flat_config(config)) if config is not None else
                           '<p class="note">The base configuration was not recorded with this result.</p>'),
        "data": _section("data", "Data", _data_section(dataset)),
        "environment": _section("environment", "Reproducibility",
                                _environment(seeds, config.split.seed if config is not None else "-", versions,
                                             created)),
    }
    return _page(title, "Task-weight sweep", sections)


def _findings(lines: Sequence[str | Finding]) -> str:
    if not lines:
        return '<p class="note">No findings to report.</p>'
    return "<ul>" + "".join(f"<li>{line.html() if isinstance(line, Finding) else _esc(line)}</li>" for line in lines) + "</ul>"


def report_html(result, *, dataset: dict | None = None, title: str | None = None, config=None,
                created: float | None = None, versions: dict | None = None) -> str:
    """The report of any result: a training, a comparison or a sweep."""
    kind = result_kind(result)
    if kind == "training":
        return training_report(result, dataset=dataset, title=title, created=created, versions=versions)
    if kind == "comparison":
        return comparison_report(result, dataset=dataset, title=title, created=created, versions=versions)
    return sweep_report(result, dataset=dataset, config=config, title=title, created=created, versions=versions)


def document_report(doc: dict, *, title: str | None = None) -> str:
    """The report of a results document (a stored run's, or a ``--json`` file)."""
    from .store.documents import from_document
    from .train.config import TrainConfig

    result = from_document(doc)
    config = None
    if result_kind(result) == "sweep" and doc.get("config"):
        config = TrainConfig.from_dict(doc["config"])
    return report_html(result, dataset=doc.get("dataset"), title=title or doc.get("name"), config=config,
                       created=doc.get("created"), versions=doc.get("versions"))


def model_report(trained, *, title: str | None = None) -> str:
    """The report of a saved model (:class:`~mtl.train.TrainedModel`): its test and
    validation metrics, configuration and data description (a saved model keeps no
    training history, so there are no curves: report the ``--json`` file for those)."""
    from .train.result import TrainResult

    m = trained.metrics or {}
    result = TrainResult(config=trained.config, tasks=list(trained.tasks), test=m.get("test", {}),
                         valid=m.get("valid", {}), train_seconds=float(m.get("train_seconds") or 0.0),
                         params=int(m.get("params") or 0), reason="saved model")
    rows = len(trained.interactions) if trained.interactions is not None else None
    dataset = {"name": trained.data_name, "rows": rows or 0, "columns": len(trained.schema.notes),
               "roles": json.loads(trained.schema.table().to_json(orient="records"))}
    if trained.interactions is not None and "split" in trained.interactions:
        counts = trained.interactions["split"].value_counts()
        dataset.update(train_rows=int(counts.get("train", 0)), valid_rows=int(counts.get("valid", 0)),
                       test_rows=int(counts.get("test", 0)))
    return training_report(result, dataset=dataset, title=title)


def stored_report(stored) -> str:
    """The report of a run kept in the workspace (:class:`~mtl.store.StoredRun`)."""
    doc = dict(stored.document, name=stored.info.name, created=stored.info.created)
    return document_report(doc)


def write_report(text: str, path: str | os.PathLike) -> Path:
    """Write a report (atomically: a reader never sees half of it)."""
    out = Path(path)
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(3)}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    except OSError as err:
        raise MTLError(f"Could not write the report to {out}: {err.strerror or err}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return out


def loads_report_json(text: str) -> dict:
    """A ``--json`` results file's text as a document (NaN written as null is fine)."""
    try:
        doc = json.loads(text)
    except ValueError as err:
        raise MTLError(f"The results file is not valid JSON ({err})") from None
    if not isinstance(doc, dict):
        raise MTLError("The results file does not hold a JSON object")
    return doc
