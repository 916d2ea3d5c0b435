"""Figures of a training run: loss and metric curves, gains over single-task
baselines, two runs side by side.

History rows are those of :attr:`TrainResult.history <mtl.train.TrainResult.history>`
and :attr:`BackgroundTraining.history <mtl.train.BackgroundTraining.history>`:
``epoch``, ``train_loss:<task>``, ``valid_loss:<task>``, ``valid_<metric>:<task>``,
``weight:<task>``. The weights a method applied, batch by batch, are drawn from the
gradient diagnostics by :mod:`mtl.plots.diagnostics`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..report import METRIC_LABELS
from . import style


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
                line=dict(color=style.series_color(i), dash=dash), legendgroup=task,
            ))
    fig.update_layout(**style.layout(title="Loss per task", xaxis_title="epoch", yaxis_title="loss"))
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
            line=dict(color=style.series_color(i)),
        ))
    fig.update_layout(**style.layout(title="Validation metric per task", xaxis_title="epoch", yaxis_title="metric"))
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
    colors = [style.BETTER if g >= 0 else style.WORSE for g in np.nan_to_num(gains)]
    fig = go.Figure(go.Bar(
        x=labels, y=gains, marker_color=colors, name="gain %",
        text=[f"{g:+.2f}%" if not math.isnan(g) else "n/a" for g in gains], textposition="outside",
    ))
    fig.add_hline(y=0, line_color=style.INK)
    fig.update_layout(**style.layout(title="Gain over single-task baselines", yaxis_title="relative gain, %"))
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
        fig.add_trace(go.Bar(x=list(labels), y=[row["A"], row["B"]], marker_color=[style.series_color(0), style.series_color(1)],
                             name=task, showlegend=False, text=[_short(row["A"]), _short(row["B"])],
                             textposition="outside"), row=1, col=j)
    # Category axes: plotly would read labels such as "#1" as the number 1.
    fig.update_xaxes(type="category")
    fig.update_layout(**style.layout(height=320, panels=max(1, len(tasks))))
    return fig


def _pick(table: pd.DataFrame, task: str, metrics: Mapping[str, str] | None) -> str:
    if metrics and task in metrics:
        return metrics[task]
    return str(table.loc[table.task == task, "metric"].iloc[0])


def _short(v: float) -> str:
    return "n/a" if v is None or math.isnan(v) else f"{v:.4g}"


