"""Plotly figure builders for training curves, results and data statistics.

Pure functions from library objects (history rows, result tables, label summaries)
to :class:`plotly.graph_objects.Figure`; no user-interface imports, so the app, a
notebook and the tests build the same figures. Each task keeps one colour across
every figure (its position in the task list).

History rows are those of :attr:`TrainResult.history <mtl.train.TrainResult.history>`
and :attr:`BackgroundTraining.history <mtl.train.BackgroundTraining.history>`:
``epoch``, ``train_loss:<task>``, ``valid_loss:<task>``, ``valid_<metric>:<task>``,
``weight:<task>``. The weights a method applied, batch by batch, are drawn from the
gradient diagnostics by :mod:`mtl.plots_diagnostics`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from .report import METRIC_LABELS

PALETTE = qualitative.Plotly
GAIN_COLORS = {"better": "#2e7d32", "worse": "#c62828"}
#: Top margin of every figure: plotly's toolbar (shown on hover at the figure's top right,
#: about 30 px tall) gets the top of it, the title the rest.
TOP_MARGIN = 72
#: Every figure's title sits just above the plot area, left-aligned, below the band the
#: toolbar uses: at the top of the figure (plotly's default) the toolbar covered the end
#: of long titles ("Gradient a...between tasks (cosine"). Merge into ``update_layout``.
TITLE_BELOW_TOOLBAR = dict(title_x=0, title_xref="container", title_xanchor="left", title_y=1, title_yref="paper",
                           title_yanchor="bottom", title_pad_b=10)
# Legends go under the plot, below the x-axis title, so they never cover the curves.
_LAYOUT = dict(margin=dict(l=10, r=10, t=TOP_MARGIN, b=10), height=360,
               legend=dict(orientation="h", yanchor="top", y=-0.28, xanchor="left", x=0), **TITLE_BELOW_TOOLBAR)


def task_color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _rows(history: Sequence[dict] | pd.DataFrame) -> pd.DataFrame:
    return history.copy() if isinstance(history, pd.DataFrame) else pd.DataFrame(list(history))


def _metric_key(frame: pd.DataFrame, task: str) -> str | None:
    for col in frame.columns:
        if col.startswith("valid_") and not col.startswith("valid_loss:") and col.endswith(f":{task}"):
            return col
    return None


def loss_curves(history: Sequence[dict] | pd.DataFrame, tasks: Sequence[str]) -> go.Figure:
    """Training (solid) and validation (dashed) loss per task against epochs."""
    frame = _rows(history)
    fig = go.Figure()
    for i, task in enumerate(tasks):
        for part, dash in (("train", "solid"), ("valid", "dash")):
            col = f"{part}_loss:{task}"
            if col not in frame:
                continue
            fig.add_trace(go.Scatter(
                x=frame["epoch"], y=frame[col], mode="lines+markers", name=f"{task} ({'validation' if part == 'valid' else 'training'})",
                line=dict(color=task_color(i), dash=dash), legendgroup=task,
            ))
    fig.update_layout(title="Loss per task", xaxis_title="epoch", yaxis_title="loss", **_LAYOUT)
    return fig


def metric_curves(history: Sequence[dict] | pd.DataFrame, tasks: Sequence[str]) -> go.Figure:
    """Each task's validation metric (its primary metric: AUC, RMSE or accuracy) against epochs."""
    frame = _rows(history)
    fig = go.Figure()
    for i, task in enumerate(tasks):
        col = _metric_key(frame, task) if len(frame) else None
        if col is None:
            continue
        metric = col.split(":", 1)[0][len("valid_"):]
        fig.add_trace(go.Scatter(
            x=frame["epoch"], y=frame[col], mode="lines+markers", name=f"{task} {METRIC_LABELS.get(metric, metric)}",
            line=dict(color=task_color(i)),
        ))
    fig.update_layout(title="Validation metric per task", xaxis_title="epoch", yaxis_title="metric", **_LAYOUT)
    return fig


def gain_bars(comparison: pd.DataFrame, tasks: Sequence[str] | None = None) -> go.Figure:
    """Relative gain over the single-task baseline of each task's primary metric, in %
    (rows of :func:`mtl.report.baseline_comparison` with ``primary``). Green: the
    shared model is better; red: worse."""
    rows = comparison[comparison["primary"]] if "primary" in comparison else comparison
    if tasks is not None:
        rows = rows.set_index("task").reindex([t for t in tasks if t in set(rows["task"])]).reset_index()
    gains = rows["gain %"].to_numpy(dtype=float)
    labels = [f"{t} ({METRIC_LABELS.get(m, m)})" for t, m in zip(rows["task"], rows["metric"])]
    colors = [GAIN_COLORS["better"] if g >= 0 else GAIN_COLORS["worse"] for g in np.nan_to_num(gains)]
    fig = go.Figure(go.Bar(
        x=labels, y=gains, marker_color=colors, name="gain %",
        text=[f"{g:+.2f}%" if not math.isnan(g) else "n/a" for g in gains], textposition="outside",
    ))
    fig.add_hline(y=0, line_color="#888")
    fig.update_layout(title="Gain over single-task baselines", yaxis_title="relative gain, %", **_LAYOUT)
    return fig


def run_comparison_bars(table: pd.DataFrame, labels: tuple[str, str] = ("A", "B"),
                        metrics: Mapping[str, str] | None = None) -> go.Figure:
    """One small panel per task: the two runs' values of its primary metric (rows of
    :func:`mtl.report.compare_runs`; ``metrics`` maps task -> metric, default the
    first metric listed for the task)."""
    tasks = list(dict.fromkeys(table["task"]))
    fig = make_subplots(rows=1, cols=max(1, len(tasks)), subplot_titles=[
        f"{t} {METRIC_LABELS.get(_pick(table, t, metrics), '')}" for t in tasks] or None)
    for j, task in enumerate(tasks, start=1):
        metric = _pick(table, task, metrics)
        row = table[(table.task == task) & (table.metric == metric)].iloc[0]
        fig.add_trace(go.Bar(x=list(labels), y=[row["A"], row["B"]], marker_color=["#636efa", "#ef553b"],
                             name=task, showlegend=False, text=[_short(row["A"]), _short(row["B"])],
                             textposition="outside"), row=1, col=j)
    # Category axes: plotly would read labels such as "#1" as the number 1.
    fig.update_xaxes(type="category")
    fig.update_layout(**{**_LAYOUT, "height": 320})
    return fig


def _pick(table: pd.DataFrame, task: str, metrics: Mapping[str, str] | None) -> str:
    if metrics and task in metrics:
        return metrics[task]
    return str(table.loc[table.task == task, "metric"].iloc[0])


def _short(v: float) -> str:
    return "n/a" if v is None or math.isnan(v) else f"{v:.4g}"


def label_rates(summary: pd.DataFrame) -> go.Figure:
    """Positive rate (%) of each binary label (rows of ``InteractionData.label_summary()``)."""
    binary = summary[summary["kind"] == "binary"]
    fig = go.Figure(go.Bar(
        x=binary["label"], y=binary["positive rate %"], name="positive rate %",
        marker_color=[task_color(i) for i in range(len(binary))],
        text=[f"{v:.2f}%" for v in binary["positive rate %"]], textposition="outside",
    ))
    fig.update_layout(title="Binary labels: share of positive rows", yaxis_title="% of labelled rows",
                      **{**_LAYOUT, "height": 280})
    return fig


def label_distribution(values: pd.Series, name: str, kind: str, bins: int = 40) -> go.Figure:
    """Distribution of one label: a histogram (regression, cut at the 99th percentile
    so one extreme value does not squash the rest) or counts per class."""
    v = values.dropna()
    if kind == "regression":
        x = pd.to_numeric(v, errors="coerce").dropna()
        cap = float(x.quantile(0.99)) if len(x) else 0.0
        fig = go.Figure(go.Histogram(x=x[x <= cap], nbinsx=bins, name=name, marker_color="#636efa"))
        title = f"{name}: distribution" + (" (top 1% not shown)" if len(x) and (x > cap).any() else "")
        fig.update_layout(title=title, xaxis_title=name, yaxis_title="rows", **{**_LAYOUT, "height": 240})
        return fig
    counts = v.astype(str).value_counts().sort_index()
    fig = go.Figure(go.Bar(x=counts.index.tolist(), y=counts.to_numpy(), name=name, marker_color="#636efa"))
    fig.update_layout(title=f"{name}: rows per value", xaxis_title=name, yaxis_title="rows",
                      **{**_LAYOUT, "height": 240})
    return fig
