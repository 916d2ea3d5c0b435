"""Plotly figures for gradient diagnostics (see :mod:`mtl.train.diagnostics`).

Pure functions from diagnostics rows (``step``, ``epoch``, ``cos:<a>|<b>``,
``norm:<task>``, ``weight:<task>``: :attr:`TrainResult.diagnostics
<mtl.train.TrainResult.diagnostics>` or :attr:`BackgroundTraining.diagnostics
<mtl.train.BackgroundTraining.diagnostics>`) to figures, no user-interface imports:

* :func:`cosine_curves`: each task pair's gradient cosine over training, the
  negative (conflict) half shaded;
* :func:`norm_curves`: each task's gradient norm over training (log scale);
* :func:`weight_curves`: the weights the method applied to each task, per batch;
* :func:`cosine_heatmap`: the mean cosine of every task pair as a matrix, for a
  glance at which tasks fight when there are many pairs.

One value per measured batch is noisy, so each curve is an exponential moving
average (as TensorBoard smooths) with the raw values as faint dots behind it. Tasks
keep their colours; pairs get their own palette (:mod:`mtl.plots.style`).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from . import style

#: Points drawn per series at most: long runs are smoothed over every row, then
#: thinned evenly, so live charts stay light to send to the browser.
MAX_POINTS = 500


def _frame(rows: Sequence[dict] | pd.DataFrame) -> pd.DataFrame:
    return rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))


def smooth(values: pd.Series) -> pd.Series:
    """Exponential moving average whose span grows with the number of points (about
    a twentieth of them, at least 1), skipping missing values."""
    span = max(1, len(values) // 20)
    return values.astype(float).ewm(span=span, ignore_na=True).mean()


def thin(n: int, most: int = MAX_POINTS) -> np.ndarray:
    """At most ``most`` evenly spread positions among ``n``, first and last included."""
    if n <= most:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, most).round().astype(int))


def _add_series(fig: go.Figure, x: pd.Series, y: pd.Series, name: str, color: str, hover: str) -> None:
    keep = thin(len(y))
    x, raw, smoothed = x.iloc[keep], y.iloc[keep], smooth(y).iloc[keep]
    if len(y) > 1:
        fig.add_trace(go.Scatter(x=x, y=raw, mode="markers", marker=dict(color=color, size=4, opacity=0.25),
                                 name=name, legendgroup=name, showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=smoothed, mode="lines" if len(y) > 1 else "markers", name=name,
                             legendgroup=name, line=dict(color=color, width=2), marker=dict(color=color),
                             hovertemplate=f"{name}<br>epoch %{{x:.2f}}<br>{hover} %{{y:.3g}}<extra></extra>"))


def _per_task(frame: pd.DataFrame, tasks: Sequence[str], quantity: str) -> go.Figure:
    """A figure with one smoothed series per task of the ``<quantity>:<task>`` columns."""
    fig = go.Figure()
    for i, task in enumerate(tasks):
        col = f"{quantity}:{task}"
        if col in frame:
            _add_series(fig, frame["epoch"], frame[col], task, style.series_color(i), quantity)
    return fig


def pair_names(tasks: Sequence[str]) -> list[tuple[str, str]]:
    return list(combinations(tasks, 2))


def cosine_curves(rows: Sequence[dict] | pd.DataFrame, tasks: Sequence[str]) -> go.Figure:
    """Cosine similarity of each pair of task gradients on the shared representation
    against epochs: above 0 the tasks agree, below 0 (shaded) they conflict."""
    frame = _frame(rows)
    fig = go.Figure()
    fig.add_hrect(y0=-1, y1=0, fillcolor=style.CONFLICT_FILL, line_width=0, layer="below",
                  annotation_text="conflict", annotation_position="bottom left")
    fig.add_hline(y=0, line=dict(color=style.INK, width=1))
    for i, (a, b) in enumerate(pair_names(tasks)):
        col = f"cos:{a}|{b}"
        if col in frame:
            _add_series(fig, frame["epoch"], frame[col], f"{a} · {b}", style.pair_color(i), "cosine")
    fig.update_layout(**style.layout(title="Gradient agreement (cosine)", xaxis_title="epoch",
                                     yaxis=dict(title="cosine", range=[-1.05, 1.05])))
    return fig


def norm_curves(rows: Sequence[dict] | pd.DataFrame, tasks: Sequence[str]) -> go.Figure:
    """Each task's gradient norm on the shared representation (its own, unweighted
    loss) against epochs, on a log scale: a task far above the others pulls hardest."""
    fig = _per_task(_frame(rows), tasks, "norm")
    fig.update_layout(**style.layout(title="Gradient norm per task", xaxis_title="epoch",
                                     yaxis=dict(title="gradient norm (log scale)", type="log")))
    return fig


def weight_curves(rows: Sequence[dict] | pd.DataFrame, tasks: Sequence[str]) -> go.Figure:
    """The weight the method applied to each task's gradient or loss, per measured
    batch, against epochs (constant for static weights)."""
    fig = _per_task(_frame(rows), tasks, "weight")
    fig.update_layout(**style.layout(title="Effective task weights", xaxis_title="epoch",
                                     yaxis=dict(title="weight", rangemode="tozero")))
    return fig


def cosine_heatmap(pairs: pd.DataFrame, tasks: Sequence[str]) -> go.Figure:
    """Mean cosine of every pair of task gradients as a symmetric matrix (the
    ``pairs`` table of :func:`mtl.train.diagnostics.explain`): red where the tasks
    conflict, blue where they agree, 1 on the diagonal."""
    names = list(tasks)
    index = {t: i for i, t in enumerate(names)}
    matrix = np.eye(len(names))
    text = [["1" if i == j else "" for j in range(len(names))] for i in range(len(names))]
    for row in pairs.itertuples(index=False):
        if row.a in index and row.b in index:
            i, j = index[row.a], index[row.b]
            matrix[i, j] = matrix[j, i] = row.mean_cosine
            text[i][j] = text[j][i] = "-" if np.isnan(row.mean_cosine) else f"{row.mean_cosine:+.2f}"
    fig = go.Figure(go.Heatmap(
        z=matrix, x=names, y=names, zmin=-1, zmax=1, colorscale=style.COSINE_SCALE, text=text, texttemplate="%{text}",
        hovertemplate="%{y} · %{x}: mean cosine %{z:+.3f}<extra></extra>", colorbar=dict(title="cosine"),
    ))
    fig.update_layout(**style.layout(title="Mean gradient cosine per task pair", yaxis=dict(autorange="reversed"),
                                     height=max(260, 90 + 50 * len(names))))
    return fig
