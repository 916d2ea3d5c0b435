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

from ..metrics import higher_is_better
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


#: Height added to the validation-metric figure for each panel after the first (px).
METRIC_PANEL_PX = 170


def metric_curves(history: Sequence[dict] | pd.DataFrame, tasks: Sequence[str]) -> go.Figure:
    """Each task's validation metric (its primary metric: AUC, RMSE or accuracy) against
    epochs, one panel per metric, stacked on a shared epoch axis, each axis naming its
    metric and which way is better.

    One panel per metric: on one axis titled "metric", a rating RMSE falling from 0.9
    and a liked AUC rising to 0.7 read as one scale with one direction."""
    frame = _rows(history)
    found = []
    for i, task in enumerate(tasks):
        col = _metric_key(frame, task) if len(frame) else None
        if col is not None:
            found.append((i, task, col, col.split(":", 1)[0][len("valid_"):]))
    metrics = list(dict.fromkeys(metric for *_, metric in found)) or [None]
    n = len(metrics)
    fig = make_subplots(rows=n, cols=1, shared_xaxes=True, vertical_spacing=0.1 if n > 1 else 0.0)
    for i, task, col, metric in found:
        fig.add_trace(go.Scatter(
            x=frame["epoch"], y=frame[col], mode="lines+markers", name=f"{task} {METRIC_LABELS.get(metric, metric)}",
            line=dict(color=style.series_color(i)),
        ), row=metrics.index(metric) + 1, col=1)
    for r, metric in enumerate(metrics, start=1):
        title = "metric" if metric is None else (
            f"{METRIC_LABELS.get(metric, metric)} ({'higher' if higher_is_better(metric) else 'lower'} is better)")
        fig.update_yaxes(title_text=title, row=r, col=1)
    fig.update_xaxes(title_text="epoch", row=n, col=1)
    fig.update_layout(**style.layout(title="Validation metric per task", height=style.HEIGHT + (n - 1) * METRIC_PANEL_PX,
                                     panels=n))
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


#: Run-comparison panels (px): the two bars of a task, and the gap that holds the next panel's title.
PANEL_PX, PANEL_GAP_PX = 64, 44


def run_comparison_bars(table: pd.DataFrame, labels: tuple[str, str] = ("A", "B"),
                        metrics: Mapping[str, str] | None = None) -> go.Figure:
    """One panel per task, stacked: the two runs' values of its primary metric (rows of
    :func:`mtl.report.compare_runs`; ``metrics`` maps task -> metric, default the
    first metric listed for the task) as bars from zero, each value written at the
    end of its bar, each panel's title saying which way is better.

    Stacked, not side by side: beside each other the value over a panel's last bar ran
    into the next panel's axis ticks."""
    tasks = list(dict.fromkeys(table["task"]))
    picked = {t: _pick(table, t, metrics) for t in tasks}
    n = max(1, len(tasks))
    plot_px = n * PANEL_PX + (n - 1) * PANEL_GAP_PX
    fig = make_subplots(rows=n, cols=1, vertical_spacing=PANEL_GAP_PX / plot_px if n > 1 else 0.0,
                        subplot_titles=[f"{t} {METRIC_LABELS.get(m, m)} ({'higher' if higher_is_better(m) else 'lower'} "
                                        "is better)" for t, m in picked.items()] or None)
    for j, task in enumerate(tasks, start=1):
        row = table[(table.task == task) & (table.metric == picked[task])].iloc[0]
        values = [row["A"], row["B"]]
        fig.add_trace(go.Bar(y=list(labels), x=values, orientation="h", showlegend=False, name=task,
                             marker_color=[style.series_color(0), style.series_color(1)],
                             text=[_short(v) for v in values], textposition="outside", cliponaxis=False,
                             hovertemplate=f"%{{y}}: {picked[task]} %{{x:.4f}}<extra>{task}</extra>"), row=j, col=1)
        finite = [float(v) for v in values if v is not None and math.isfinite(v)]
        # Room beyond the longest bar for its value, so the text stays inside the figure.
        top = max([abs(v) for v in finite] + [1e-9])
        fig.update_xaxes(range=[min([0.0, *finite]) * 1.3, top * 1.3], showticklabels=False, row=j, col=1)
    # Category axes: plotly would read labels such as "#1" as the number 1; run A on top.
    fig.update_yaxes(type="category", autorange="reversed")
    fig.update_layout(**style.layout(height=style.TOP_MARGIN + 20 + plot_px, panels=n))
    return fig


def _pick(table: pd.DataFrame, task: str, metrics: Mapping[str, str] | None) -> str:
    if metrics and task in metrics:
        return metrics[task]
    return str(table.loc[table.task == task, "metric"].iloc[0])


def _short(v: float) -> str:
    return "n/a" if v is None or math.isnan(v) else f"{v:.4g}"


