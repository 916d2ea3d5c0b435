"""Plotly figure builders for trade-offs: Pareto fronts, conditioned-model fidelity,
relevance-versus-efficiency curves and quality-versus-compute.

Pure functions from :mod:`mtl.tradeoff` results to figures; no UI imports. Every
front shows the single-task baselines as reference lines.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .plots import TITLE_BELOW_TOOLBAR, TOP_MARGIN, task_color
from .tradeoff import CurveResult, SweepResult, objective, objective_name

_LAYOUT = dict(margin=dict(l=10, r=10, t=TOP_MARGIN, b=10), legend=dict(orientation="h", y=-0.25), height=440,
               **TITLE_BELOW_TOOLBAR)
FRONT_COLOR = "#1f4e79"
CONDITIONED_COLOR = "#e67e22"
BASELINE_COLOR = "#7f7f7f"


def _weights_text(weights: Sequence[float], names: Sequence[str]) -> str:
    return "<br>".join(f"w[{n}] = {w:.2f}" for n, w in zip(names, weights))


def pareto_front(result: SweepResult, x_task: str | None = None, y_task: str | None = None,
                 current: dict[str, float] | None = None) -> go.Figure:
    """Each retrained weighting as a point (x: one task's quality, y: another's), the
    Pareto-optimal ones joined into the front, the conditioned model's curve, the
    single-task baselines as dotted reference lines, and the current weighting."""
    tasks = {t.name: t for t in result.tasks}
    names = [t.name for t in result.tasks]
    x_task, y_task = x_task or names[0], y_task or names[1]
    tx, ty = tasks[x_task], tasks[y_task]
    fig = go.Figure()
    if result.points:
        xs = [objective(tx, p.test[x_task]) for p in result.points]
        ys = [objective(ty, p.test[y_task]) for p in result.points]
        front = set(result.pareto())
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="markers", name="retrained at fixed weights",
            marker=dict(size=11, color=[p.weights[names.index(y_task)] for p in result.points], colorscale="Viridis",
                        cmin=0, cmax=1, line=dict(width=1, color="white"),
                        symbol=["star" if i in front else "circle" for i in range(len(xs))],
                        colorbar=dict(title=f"w[{y_task}]", len=0.6)),
            text=[_weights_text(p.weights, names) for p in result.points],
            hovertemplate="%{text}<br>" + f"{x_task}: %{{x:.4f}}<br>{y_task}: %{{y:.4f}}<extra></extra>",
        ))
        order = sorted(front, key=lambda i: xs[i])
        fig.add_trace(go.Scatter(x=[xs[i] for i in order], y=[ys[i] for i in order], mode="lines",
                                 name="Pareto front (retrained)", line=dict(color=FRONT_COLOR, width=2)))
    if result.conditioned:
        cx = [objective(tx, p.test[x_task]) for p in result.conditioned]
        cy = [objective(ty, p.test[y_task]) for p in result.conditioned]
        fig.add_trace(go.Scatter(
            x=cx, y=cy, mode="lines+markers", name="one conditioned model",
            line=dict(color=CONDITIONED_COLOR, dash="dash"), marker=dict(size=6),
            text=[_weights_text(p.weights, names) for p in result.conditioned],
            hovertemplate="%{text}<br>" + f"{x_task}: %{{x:.4f}}<br>{y_task}: %{{y:.4f}}<extra></extra>",
        ))
    if result.baselines:
        bx = objective(tx, result.baselines[x_task])
        by = objective(ty, result.baselines[y_task])
        fig.add_vline(x=bx, line=dict(color=BASELINE_COLOR, dash="dot"),
                      annotation_text=f"single-task {x_task}", annotation_position="bottom right")
        fig.add_hline(y=by, line=dict(color=BASELINE_COLOR, dash="dot"),
                      annotation_text=f"single-task {y_task}", annotation_position="top left")
    if current is not None:
        fig.add_trace(go.Scatter(x=[current[x_task]], y=[current[y_task]], mode="markers", name="current weights",
                                 marker=dict(size=16, color="#d62728", symbol="x")))
    fig.update_layout(title=f"Trade-off: {x_task} vs {y_task}", xaxis_title=f"{x_task} {objective_name(tx)} (test)",
                      yaxis_title=f"{y_task} {objective_name(ty)} (test)", **_LAYOUT)
    return fig


def fidelity_bars(result: SweepResult) -> go.Figure:
    """|Δ| between the conditioned model and the retrained model at each weighting."""
    rows = result.fidelity()
    names = [t.name for t in result.tasks]
    labels = [" / ".join(f"{w:.2f}" for w in r["weights"]) for r in rows]
    fig = go.Figure()
    for i, t in enumerate(result.tasks):
        key = f"{t.name} |Δ{t.primary_metric}|"
        fig.add_trace(go.Bar(x=labels, y=[r[key] for r in rows], name=f"{t.name} |Δ{t.primary_metric}|",
                             marker_color=task_color(i)))
    fig.update_layout(title="Conditioned model vs retraining, per weighting", barmode="group",
                      xaxis_title="weights (" + " / ".join(names) + ")", yaxis_title="absolute difference", **_LAYOUT)
    return fig


def efficiency_relevance(curve: CurveResult) -> go.Figure:
    """Relevance@K (NDCG) against efficiency@K as the fusion weight alpha moves from
    pure efficiency (0) to pure relevance (1), with random and oracle references."""
    pts = curve.points
    fig = go.Figure()
    labels = [f"α={a:.2f}" if round(a * 100) % 25 == 0 else "" for a in pts["alpha"]]
    fig.add_trace(go.Scatter(
        x=pts["efficiency_at_k"], y=pts["relevance_ndcg_at_k"], mode="lines+markers+text", name="model",
        text=labels, textposition="top center", line=dict(color=FRONT_COLOR, width=2),
        customdata=pts["alpha"], hovertemplate="α=%{customdata:.2f}<br>efficiency %{x:.4f}<br>relevance %{y:.4f}<extra></extra>",
    ))
    if curve.oracle is not None:
        fig.add_trace(go.Scatter(
            x=curve.oracle["efficiency_at_k"], y=curve.oracle["relevance_ndcg_at_k"], mode="lines",
            name="oracle (true probabilities)", line=dict(color="#2e7d32", dash="dash"),
            customdata=curve.oracle["alpha"], hovertemplate="oracle α=%{customdata:.2f}<br>%{x:.4f}, %{y:.4f}<extra></extra>",
        ))
    fig.add_trace(go.Scatter(x=[curve.random["efficiency_at_k"]], y=[curve.random["relevance_ndcg_at_k"]],
                             mode="markers", name="random ranking", marker=dict(size=12, color=BASELINE_COLOR, symbol="square")))
    if curve.current_alpha is not None:
        here = curve.at(curve.current_alpha)
        fig.add_trace(go.Scatter(x=[here["efficiency_at_k"]], y=[here["relevance_ndcg_at_k"]], mode="markers",
                                 name=f"current fusion (α={curve.current_alpha:.2f})",
                                 marker=dict(size=16, color="#d62728", symbol="x")))
    eff = " + ".join(curve.efficiency[:1])
    fig.update_layout(title=f"Relevance vs efficiency in the top {curve.k}",
                      xaxis_title=f"efficiency@{curve.k}: mean {eff} label", yaxis_title=f"relevance@{curve.k}: NDCG on {' + '.join(curve.relevance)}",
                      **_LAYOUT)
    return fig


COMPUTE_AXES = {"train_seconds": "training time (s)", "params": "parameters", "latency_ms_per_1k": "inference ms per 1,000 rows"}


def quality_vs_compute(runs: pd.DataFrame, quality: str, axis: str = "train_seconds") -> go.Figure:
    """Every run as a point: ``quality`` (a column, higher is better unless named
    like RMSE/logloss) against a compute column (``train_seconds``, ``params`` or
    ``latency_ms_per_1k``). ``runs`` needs a ``label`` and an ``arch`` column."""
    if axis not in COMPUTE_AXES:
        raise ValueError(f"axis must be one of {', '.join(COMPUTE_AXES)}")
    fig = go.Figure()
    for i, (arch, group) in enumerate(runs.groupby("arch", sort=False)):
        fig.add_trace(go.Scatter(
            x=group[axis], y=group[quality], mode="markers+text", name=arch, text=group["label"],
            textposition="top center", marker=dict(size=13, color=task_color(i)),
            hovertemplate="%{text}<br>" + f"{COMPUTE_AXES[axis]}: %{{x:,.3g}}<br>{quality}: %{{y:.4f}}<extra></extra>",
        ))
    fig.update_layout(title=f"{quality} vs {COMPUTE_AXES[axis]}", xaxis_title=COMPUTE_AXES[axis], yaxis_title=quality,
                      **_LAYOUT)
    if axis == "params" and len(runs) and runs[axis].max() / max(runs[axis].min(), 1) > 20:
        fig.update_xaxes(type="log")
    return fig


def front_table(result: SweepResult, which: str = "points") -> pd.DataFrame:
    """The numbers behind a front: one row per weighting, weights, objectives, Pareto flag."""
    pts = getattr(result, which)
    obj = result.objectives(which)
    front = set(result.pareto(which))
    rows = []
    for i, p in enumerate(pts):
        row = {f"w[{t.name}]": w for t, w in zip(result.tasks, p.weights)}
        row.update({name: float(v) for name, v in zip(result.objective_names, obj[i])})
        row["pareto"] = i in front
        rows.append(row)
    return pd.DataFrame(rows)
