"""Result tables: per-task metrics, gains over single-task baselines, run and method
comparisons, and strict JSON for downloads.

Pure pandas on top of :class:`~mtl.train.TrainResult`, shared by the app and usable
from a notebook. Metric names stay the library's keys (``auc``, ``rmse`` ...);
:data:`METRIC_LABELS` gives their display names.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from .compare import BASELINE, Comparison
from .finding import Finding, strong
from .metrics import METRICS_BY_KIND, higher_is_better, relative_gain
from .models import get_model_class
from .train.config import TrainConfig
from .train.result import TrainResult
from .weighting import preference_shares

#: The metrics shown per task kind, in display order: those computed, but F1 at a
#: 0.5 threshold, which says little for a rare label (it stays in the JSON).
TABLE_METRICS: dict[str, tuple[str, ...]] = {
    kind: tuple(m for m in metrics if m != "f1") for kind, metrics in METRICS_BY_KIND.items()}
METRIC_LABELS = {
    "auc": "AUC", "gauc": "GAUC", "accuracy": "accuracy", "logloss": "logloss", "f1": "F1",
    "rmse": "RMSE", "mae": "MAE", "r2": "R²", "macro_f1": "macro-F1",
}
_ORDER = tuple(dict.fromkeys(m for metrics in TABLE_METRICS.values() for m in metrics))


def _value(metrics: dict, task: str, metric: str) -> float:
    v = metrics.get(task, {}).get(metric)
    return float(v) if v is not None else math.nan


def metrics_table(result: TrainResult, part: str = "test") -> pd.DataFrame:
    """A run's per-task metrics, the one table the CLI, the app and reports show: one
    row per task with ``task``, ``kind``, ``n`` (labelled rows) and the metrics of
    :data:`TABLE_METRICS` measured for any of the tasks (NaN where one does not
    apply; a metric measured for none, such as GAUC without user ids, is left out)."""
    metrics = result.test if part == "test" else result.valid
    used = {m for t in result.tasks for m in TABLE_METRICS[t.kind]}
    columns = [m for m in _ORDER if m in used]
    rows = []
    for t in result.tasks:
        row = {"task": t.name, "kind": t.kind, "n": int(metrics.get(t.name, {}).get("n", 0))}
        for m in columns:
            row[m] = _value(metrics, t.name, m) if m in TABLE_METRICS[t.kind] else math.nan
        rows.append(row)
    table = pd.DataFrame(rows, columns=["task", "kind", "n", *columns])
    return table.drop(columns=[m for m in columns if table[m].isna().all()])


def baseline_comparison(result: TrainResult, baseline: TrainResult, part: str = "test") -> pd.DataFrame:
    """The model against single-task baselines on the same split: one row per task
    and metric with ``model``, ``single-task`` and ``gain %`` (positive is better,
    :func:`mtl.metrics.relative_gain`), and ``primary`` marking each task's main
    metric. Tasks the baseline did not learn are left out."""
    ours = result.test if part == "test" else result.valid
    theirs = baseline.test if part == "test" else baseline.valid
    rows = []
    for t in result.tasks:
        if t.name not in theirs:
            continue
        for m in TABLE_METRICS[t.kind]:
            a, b = _value(ours, t.name, m), _value(theirs, t.name, m)
            if math.isnan(a) and math.isnan(b):
                continue
            rows.append({"task": t.name, "metric": m, "model": a, "single-task": b,
                         "gain %": relative_gain(a, b, m), "primary": m == t.primary_metric})
    return pd.DataFrame(rows, columns=["task", "metric", "model", "single-task", "gain %", "primary"])


def compare_runs(a: TrainResult, b: TrainResult, part: str = "test") -> pd.DataFrame:
    """Two runs side by side: one row per task (in either run) and metric, with the
    values ``A`` and ``B``, ``B - A`` and which is ``better`` ("A", "B", "tie" or ""
    when a run lacks the task)."""
    ma = a.test if part == "test" else a.valid
    mb = b.test if part == "test" else b.valid
    kinds = {t.name: t.kind for t in a.tasks}
    kinds.update({t.name: t.kind for t in b.tasks if t.name not in kinds})
    rows = []
    for task, kind in kinds.items():
        for m in TABLE_METRICS[kind]:
            va, vb = _value(ma, task, m), _value(mb, task, m)
            if math.isnan(va) and math.isnan(vb):
                continue
            if math.isnan(va) or math.isnan(vb):
                better = ""
            elif va == vb:
                better = "tie"
            else:
                better = "B" if (vb > va) == higher_is_better(m) else "A"
            rows.append({"task": task, "metric": m, "A": va, "B": vb, "B - A": vb - va, "better": better})
    return pd.DataFrame(rows, columns=["task", "metric", "A", "B", "B - A", "better"])


def flat_config(config: TrainConfig) -> dict[str, object]:
    """A training configuration as flat, readable ``setting -> value`` pairs."""
    d = config.to_dict()
    out: dict[str, object] = {}
    for key, value in d.items():
        if key in ("model", "split"):
            for sub, v in value.items():
                out[f"{key}.{sub}"] = _readable(v)
        else:
            out[key] = _readable(value)
    return out


def _readable(v) -> object:
    if isinstance(v, dict):
        return ", ".join(f"{k}={_fmt_number(x)}" for k, x in v.items()) if v else "-"
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt_number(x) for x in v) if v else "-"
    return "-" if v is None else v


def _fmt_number(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def config_differences(a: TrainConfig, b: TrainConfig) -> pd.DataFrame:
    """The settings in which two configurations differ: ``setting``, ``A``, ``B``."""
    fa, fb = flat_config(a), flat_config(b)
    keys = list(dict.fromkeys([*fa, *fb]))
    rows = [{"setting": k, "A": str(fa.get(k, "-")), "B": str(fb.get(k, "-"))} for k in keys if fa.get(k) != fb.get(k)]
    return pd.DataFrame(rows, columns=["setting", "A", "B"])


def network_label(config: TrainConfig) -> str:
    """The architecture and the input blocks it was given beyond the plain network, in
    words: ``mmoe with dcn interactions, periodic numeric embeddings, user-history
    features`` (just ``mmoe`` without them; ``ModelConfig.input_proj`` where the
    architecture reads it), for headers of results trained many times and reports."""
    m = config.model
    extras = [f"{m.interaction} interactions" if m.interaction != "none" else "",
              f"{m.num_embedding} numeric embeddings" if m.num_embedding != "none" else "",
              "user-history features" if config.history else "",
              f"a {m.input_proj}-wide input projection"
              if m.input_proj and get_model_class(config.arch).reads_input_proj else ""]
    extras = [e for e in extras if e]
    return config.arch + (f" with {', '.join(extras)}" if extras else "")


def run_summary(result: TrainResult) -> dict[str, object]:
    """One row for a run-history table: setup, cost, and each task's primary test metric."""
    cfg = result.config
    shares = preference_shares(cfg.preference, cfg.tasks)
    row: dict[str, object] = {
        "tasks": ", ".join(cfg.tasks),
        "weights": ", ".join(f"{w:.0%}" for w in shares.values()),
        "architecture": cfg.arch,
        "weighting": cfg.weighting,
        "epochs": round(result.epochs_run, 2),
        "seconds": round(result.train_seconds, 1),
        "parameters": result.params,
        "ended": result.reason,
    }
    for t in result.tasks:
        row[f"{t.name} {METRIC_LABELS[t.primary_metric]}"] = _value(result.test, t.name, t.primary_metric)
    return row


def primary_metrics(tasks: Sequence) -> dict[str, str]:
    """Task name -> its primary metric (``TaskSpec.primary_metric``)."""
    return {t.name: t.primary_metric for t in tasks}


def comparison_table(comparison: Comparison, digits: int = 4, *, sort: bool = True,
                     label: str = "title") -> pd.DataFrame:
    """A method comparison (:class:`mtl.compare.Comparison`) for reading: one row per
    method, the single-task baseline first, then the others by Δm, best first (in
    the comparison's order with ``sort=False``). Columns: ``method`` (its display
    title, or its registry name with ``label="method"``), ``runs``, ``Δm %`` and one
    ``"<METRIC> <task>"`` per task, each as ``"mean ± std"`` over seeds (the mean
    alone with one seed), and ``s per run``."""
    table = comparison.table()
    if table.empty:
        return pd.DataFrame(columns=["method", "runs", "Δm %", "s per run"])
    if sort:
        table = pd.concat([table[table["method"] == BASELINE],
                           table[table["method"] != BASELINE].sort_values("delta_m", ascending=False,
                                                                          na_position="last")])
    out = pd.DataFrame({"method": table[label], "runs": table["runs"]})
    for t in comparison.tasks:
        metric = comparison.metrics[t.name]
        out[f"{METRIC_LABELS.get(metric, metric)} {t.name}"] = [
            _pm(m, s, digits) for m, s in zip(table[f"{metric}:{t.name}"], table[f"{metric}_std:{t.name}"])]
    out["Δm %"] = [_pm(m, s, 2, signed=True) for m, s in zip(table["delta_m"], table["delta_m_std"])]
    out["s per run"] = [f"{v:.1f}" for v in table["train_seconds"]]
    return out.reset_index(drop=True)


def comparison_findings(comparison: Comparison) -> list[Finding]:
    """A few sentences about a method comparison: the best Δm and whether its lead is
    larger than the seed-to-seed spread, how many methods beat single-task training,
    and the best method for each task."""
    table = comparison.table()
    if table.empty:
        return []
    ranked = table[(table["method"] != BASELINE) & table["delta_m"].notna()].sort_values("delta_m", ascending=False)
    if ranked.empty:
        return []
    best = ranked.iloc[0]
    text = Finding(strong(best["title"]), f" has the best Δm, {best['delta_m']:+.2f}%")
    if len(ranked) > 1:
        second = ranked.iloc[1]
        spread = math.hypot(best["delta_m_std"], second["delta_m_std"])
        lead = best["delta_m"] - second["delta_m"]
        versus = f"{second['title']} ({second['delta_m']:+.2f}%)"
        if math.isnan(spread):
            text += f", ahead of {versus}; with one seed there is no telling a lead from luck: run more seeds."
        elif lead <= spread:
            text += (f", but its lead over {versus} is within the seed-to-seed spread (±{spread:.2f} points): "
                     "treat them as tied.")
        else:
            text += f", ahead of {versus} by more than the seed-to-seed spread (±{spread:.2f} points)."
    else:
        text += "."
    beat = int((ranked["delta_m"] > 0).sum())
    out = [text, Finding(f"{beat} of {len(ranked)} method{'s' if len(ranked) != 1 else ''} beat training each task "
                         "on its own (Δm above 0).")]
    per_task = []
    for t in comparison.tasks:
        metric = comparison.metrics[t.name]
        col = f"{metric}:{t.name}"
        scored = table[table[col].notna()]
        if scored.empty:
            continue
        row = scored.loc[scored[col].idxmax() if higher_is_better(metric) else scored[col].idxmin()]
        per_task.append(f"{t.name}: {row['title']} ({METRIC_LABELS.get(metric, metric)} {row[col]:.4f})")
    if per_task:
        out.append(Finding("Best per task: " + "; ".join(per_task) + "."))
    return out


def _pm(mean: float, std: float, digits: int, signed: bool = False) -> str:
    """``"mean ± std"``, the mean alone when there is no spread (one seed), ``-`` when missing."""
    if math.isnan(mean):
        return "-"
    mean = round(mean, digits + 2) + 0.0  # no "-0.00" for a baseline whose Δm is 0 up to rounding
    text = f"{mean:+.{digits}f}" if signed else f"{mean:.{digits}f}"
    return text if math.isnan(std) else f"{text} ± {std:.{digits}f}"


def json_safe(obj):
    """NaN and infinity become null, so the output is strict JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


# ---------------------------------------------------------------- for people
def text_table(frame: pd.DataFrame, *, left: int = 1, digits: int = 4) -> str:
    """A table as aligned text for a terminal: the first ``left`` columns (names)
    left-aligned, the others right-aligned, floats with ``digits`` decimals and
    missing values as ``-``."""

    def cell(v) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "-"
        return f"{v:.{digits}f}" if isinstance(v, float) else str(v)

    header = [str(c) for c in frame.columns]
    rows = [[cell(v) for v in row] for row in frame.itertuples(index=False)]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.ljust(w) if i < left else c.rjust(w)
                                   for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return "\n".join(line(r) for r in [header, *rows])


def plural(n: float, word: str, many: str | None = None) -> str:
    """``"1 epoch"``, ``"3 epochs"``, ``"1,200 rows"``; ``many`` for irregular plurals."""
    count = f"{n:,}" if isinstance(n, int) or float(n).is_integer() else f"{n:g}"
    return f"{count.removesuffix('.0')} {word if n == 1 else (many or word + 's')}"


#: Epoch timestamps by magnitude: seconds (2001-2286), milliseconds, microseconds, nanoseconds.
_EPOCH_UNITS = ((1e9, 1e10, "s"), (1e12, 1e13, "ms"), (1e15, 1e16, "us"), (1e18, 1e19, "ns"))


def epoch_unit(values: pd.Series) -> str | None:
    """The unit of a column of Unix timestamps (``"s"``, ``"ms"``, ``"us"``, ``"ns"``),
    judged by the magnitude of its values; ``None`` when it does not look like one
    (e.g. ``20220425`` dates, small counters, text)."""
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None
    v = values.dropna()
    if v.empty:
        return None
    lo, hi = float(v.min()), float(v.max())
    for low, high, unit in _EPOCH_UNITS:
        if low <= lo and hi < high:
            return unit
    return None


def readable_times(frame: pd.DataFrame, columns: Sequence[str | None]) -> pd.DataFrame:
    """``frame`` with the Unix-timestamp ``columns`` shown as dates and times (UTC);
    other columns, and columns that are not epoch numbers, are left as they are."""
    out = frame
    for col in columns:
        if col and col in frame.columns:
            unit = epoch_unit(frame[col])
            if unit is not None:
                if out is frame:
                    out = frame.copy()
                out[col] = pd.to_datetime(frame[col], unit=unit)
    return out


def looks_like_links(values: pd.Series) -> bool:
    """Whether a text column holds web addresses (most non-empty values start with
    ``http://`` or ``https://``): useful in a file, noise in a table of items."""
    text = values.dropna().astype(str).head(200)
    return len(text) > 0 and text.str.match(r"https?://").mean() > 0.8
