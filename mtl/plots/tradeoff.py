"""Figures of trade-offs (:mod:`mtl.tradeoff` results): Pareto fronts,
conditioned-model fidelity, relevance-versus-efficiency curves and
quality-versus-compute. Every front shows the single-task baselines as reference
lines.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..metrics import higher_is_better
from ..tradeoff import CurveResult, SweepResult, objective, objective_name
from . import style

#: Trade-off charts are taller than the rest: two quality axes deserve a squarer plot.
HEIGHT = 440


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
            marker=dict(size=11, color=[p.weights[names.index(y_task)] for p in result.points], colorscale=style.WEIGHT_SCALE,
                        cmin=0, cmax=1, line=dict(width=1, color=style.OUTLINE),
                        symbol=["star" if i in front else "circle" for i in range(len(xs))],
                        colorbar=dict(title=f"w[{y_task}]", len=0.6)),
            text=[_weights_text(p.weights, names) for p in result.points],
            hovertemplate="%{text}<br>" + f"{x_task}: %{{x:.4f}}<br>{y_task}: %{{y:.4f}}<extra></extra>",
        ))
        order = sorted(front, key=lambda i: xs[i])
        fig.add_trace(go.Scatter(x=[xs[i] for i in order], y=[ys[i] for i in order], mode="lines",
                                 name="Pareto front (retrained)", line=dict(color=style.FRONT, width=2)))
    if result.conditioned:
        cx = [objective(tx, p.test[x_task]) for p in result.conditioned]
        cy = [objective(ty, p.test[y_task]) for p in result.conditioned]
        fig.add_trace(go.Scatter(
            x=cx, y=cy, mode="lines+markers", name="one conditioned model",
            line=dict(color=style.CONDITIONED, dash="dash"), marker=dict(size=6),
            text=[_weights_text(p.weights, names) for p in result.conditioned],
            hovertemplate="%{text}<br>" + f"{x_task}: %{{x:.4f}}<br>{y_task}: %{{y:.4f}}<extra></extra>",
        ))
    if result.baselines:
        bx = objective(tx, result.baselines[x_task])
        by = objective(ty, result.baselines[y_task])
        fig.add_vline(x=bx, line=dict(color=style.BASELINE, dash="dot"),
                      annotation_text=f"single-task {x_task}", annotation_position="bottom right")
        fig.add_hline(y=by, line=dict(color=style.BASELINE, dash="dot"),
                      annotation_text=f"single-task {y_task}", annotation_position="top left")
    if current is not None:
        fig.add_trace(go.Scatter(x=[current[x_task]], y=[current[y_task]], mode="markers", name="current weights",
                                 marker=dict(size=16, color=style.CURRENT, symbol="x")))
    fig.update_layout(**style.layout(title=f"Trade-off: {x_task} vs {y_task}", height=HEIGHT,
                                     xaxis_title=f"{x_task} {objective_name(tx)} (test)",
                                     yaxis_title=f"{y_task} {objective_name(ty)} (test)"))
    return fig


def instant_bars(tasks: Sequence, now: dict[str, dict[str, float]], reference: dict[str, dict[str, float]],
                 reference_name: str = "training weights") -> go.Figure:
    """Per task, how its quality at the chosen weights differs from ``reference`` (the
    conditioned model at its training weights): bars from zero, up = better (RMSE is
    turned so that a drop is shown as a gain)."""
    names, deltas, texts = [], [], []
    for t in tasks:
        a, b = objective(t, now[t.name]), objective(t, reference[t.name])
        names.append(f"{t.name} {objective_name(t)}")
        deltas.append(a - b)
        texts.append(f"{a:.4f} ({a - b:+.4f})")
    fig = go.Figure(go.Bar(x=names, y=deltas, text=texts, textposition="outside", cliponaxis=False,
                           marker_color=[style.series_color(i) for i in range(len(names))],
                           hovertemplate="%{x}<br>change %{y:+.4f}<extra></extra>"))
    top = max([abs(d) for d in deltas if np.isfinite(d)] + [1e-3])
    fig.update_layout(**style.layout(title=f"Change per task vs the {reference_name}", yaxis_title="change (up = better)",
                                     yaxis=dict(range=[-1.4 * top, 1.4 * top], zeroline=True, zerolinecolor=style.INK),
                                     showlegend=False))
    return fig


def fidelity_bars(result: SweepResult) -> go.Figure:
    """The conditioned model's signed gain over the retrained model at each weighting
    (:meth:`SweepResult.fidelity`): above zero it is better, below it worse; an
    absolute difference would hide which."""
    rows = result.fidelity()
    names = [t.name for t in result.tasks]
    labels = [" / ".join(f"{w:.2f}" for w in r["weights"]) for r in rows]
    fig = go.Figure()
    for i, t in enumerate(result.tasks):
        fig.add_trace(go.Bar(x=labels, y=[r[f"{t.name} gain"] for r in rows], name=f"{t.name} {objective_name(t)}",
                             marker_color=style.series_color(i)))
    fig.add_hline(y=0, line_color=style.BASELINE)
    fig.update_layout(**style.layout(title="Conditioned model minus retraining, per weighting", barmode="group",
                                     xaxis_title="weights (" + " / ".join(names) + ")",
                                     yaxis_title="gain (above 0: conditioned better)", height=HEIGHT))
    return fig


#: Labelled alphas, in order of preference; a label is skipped when it would sit closer
#: than LABEL_GAP (a share of the plot's width/height) to one already placed.
LABEL_ALPHAS = (0.0, 1.0, 0.5, 0.25, 0.75)
LABEL_GAP = 0.12
#: An axis spans at least this share of its mean level, so noise in the 4th decimal is
#: not stretched across the whole plot (a flat curve must look flat).
MIN_RELATIVE_SPAN = 0.1


def _axis_range(values: Sequence[float]) -> list[float]:
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if not len(v):  # nothing measured: an empty chart on a neutral axis, not an error
        return [0.0, 1.0]
    lo, hi = float(v.min()), float(v.max())
    span = max(hi - lo, MIN_RELATIVE_SPAN * abs(float(v.mean())), 1e-3)
    mid = (lo + hi) / 2
    lo, hi = min(lo, mid - span / 2), max(hi, mid + span / 2)
    pad = 0.08 * (hi - lo)
    return [lo - pad, hi + pad]


def label_positions(x: Sequence[float], y: Sequence[float], alphas: Sequence[float], xr: Sequence[float],
                    yr: Sequence[float]) -> list[int]:
    """Indices of the points to label: those of :data:`LABEL_ALPHAS` that are at least
    :data:`LABEL_GAP` apart (in shares of the axis ranges) from every label placed before."""
    placed: list[int] = []
    a = np.asarray(alphas, dtype=float)
    for want in LABEL_ALPHAS:
        i = int(np.abs(a - want).argmin())
        if abs(a[i] - want) > 1e-6 or i in placed:
            continue
        px, py = (x[i] - xr[0]) / (xr[1] - xr[0]), (y[i] - yr[0]) / (yr[1] - yr[0])
        if all(np.hypot(px - (x[j] - xr[0]) / (xr[1] - xr[0]), py - (y[j] - yr[0]) / (yr[1] - yr[0])) >= LABEL_GAP
               for j in placed):
            placed.append(i)
    return placed


def efficiency_relevance(curve: CurveResult) -> go.Figure:
    """Relevance@K (NDCG) against efficiency@K as the fusion weight alpha moves from
    pure efficiency (0) to pure relevance (1), with random and oracle references.

    Both axes are set to contain every curve and marker, and never narrower than a
    tenth of their level; a few alphas are labelled where they do not collide (all on
    hover); the current fusion is a measured point of the curve."""
    pts = curve.points
    xs = [*pts["efficiency_at_k"], curve.random["efficiency_at_k"]]
    ys = [*pts["relevance_ndcg_at_k"], curve.random["relevance_ndcg_at_k"]]
    if curve.oracle is not None:
        xs += list(curve.oracle["efficiency_at_k"])
        ys += list(curve.oracle["relevance_ndcg_at_k"])
    xr, yr = _axis_range(xs), _axis_range(ys)
    x, y, a = pts["efficiency_at_k"].to_numpy(), pts["relevance_ndcg_at_k"].to_numpy(), pts["alpha"].to_numpy()
    labelled = label_positions(x, y, a, xr, yr)
    fig = go.Figure()
    spread = np.column_stack([pts.get("efficiency_se", np.full(len(pts), np.nan)),
                              pts.get("relevance_se", np.full(len(pts), np.nan))])
    fig.add_trace(go.Scatter(
        x=x, y=y, mode="lines+markers", name="model", line=dict(color=style.FRONT, width=2), marker=dict(size=6),
        customdata=np.column_stack([a, spread]),
        hovertemplate=("α=%{customdata[0]:.2f}<br>efficiency %{x:.4f} ± %{customdata[1]:.4f}<br>"
                       "relevance %{y:.4f} ± %{customdata[2]:.4f}<br>(± standard error across users)<extra></extra>"),
    ))
    fig.add_trace(go.Scatter(
        x=x[labelled], y=y[labelled], mode="text", text=[f"α={a[i]:.2f}" for i in labelled], textposition="top center",
        showlegend=False, hoverinfo="skip", name="alpha labels",
    ))
    if curve.oracle is not None:
        fig.add_trace(go.Scatter(
            x=curve.oracle["efficiency_at_k"], y=curve.oracle["relevance_ndcg_at_k"], mode="lines",
            name="oracle (true probabilities)", line=dict(color=style.ORACLE, dash="dash"),
            customdata=curve.oracle["alpha"], hovertemplate="oracle α=%{customdata:.2f}<br>%{x:.4f}, %{y:.4f}<extra></extra>",
        ))
    fig.add_trace(go.Scatter(x=[curve.random["efficiency_at_k"]], y=[curve.random["relevance_ndcg_at_k"]],
                             mode="markers", name="random ranking", marker=dict(size=12, color=style.BASELINE, symbol="square")))
    if curve.current_alpha is not None:
        here = curve.at(curve.current_alpha)
        fig.add_trace(go.Scatter(x=[here["efficiency_at_k"]], y=[here["relevance_ndcg_at_k"]], mode="markers",
                                 name=f"current fusion (α={here['alpha']:.2f})",
                                 marker=dict(size=16, color=style.CURRENT, symbol="x")))
    eff = " + ".join(curve.efficiency[:1])
    fig.update_layout(**style.layout(title=f"Relevance vs efficiency in the top {curve.k}", height=HEIGHT,
                                     xaxis_title=f"efficiency@{curve.k}: mean {eff} label",
                                     yaxis_title=f"relevance@{curve.k}: NDCG on {' + '.join(curve.relevance)}"))
    fig.update_xaxes(range=xr, autorange=False)
    fig.update_yaxes(range=yr, autorange=False)
    return fig


COMPUTE_AXES = {"train_seconds": "training time (s)", "params": "parameters", "latency_ms_per_1k": "inference ms per 1,000 rows"}


def run_short_label(run_id: int, arch: str, weighting: str, conditioned: bool = False, baselines: bool = False) -> str:
    """A point label that says what the run is: "#3 mmoe·upgrad", "#4 single-task",
    "#5 mmoe·conditioned"."""
    if baselines or arch == "single":
        return f"#{run_id} single-task"
    return f"#{run_id} {arch}·{'conditioned' if conditioned else weighting}"


#: Two compute-chart labels on the same side of their points collide when their points are
#: closer than this, in shares of the plot's width and height (a label is about a quarter
#: of the width long and a line tall).
LABEL_CLASH = (0.25, 0.07)


def _compute_label_positions(xs: pd.Series, ys: pd.Series, yr: Sequence[float]) -> dict:
    """A text position per run (by index): labels point inwards, so the long ones are not
    cut off at the plot's edges; a label that would sit on a near neighbour's, as they do
    once level runs are drawn level, goes below its point instead of above."""
    x0, x1 = float(xs.min()), float(xs.max())
    px = (xs - x0) / ((x1 - x0) or 1.0)
    py = (ys - yr[0]) / (yr[1] - yr[0])
    placed: list[tuple[float, float, str]] = []
    where = {}
    for i in px.sort_values(kind="stable").index:
        side = "left" if px[i] > 0.5 else "right"
        for vertical in ("top", "bottom"):
            if not any(s == f"{vertical} {side}" and abs(px[i] - x) < LABEL_CLASH[0] and abs(py[i] - y) < LABEL_CLASH[1]
                       for x, y, s in placed):
                break
        else:
            vertical = "top"
        where[i] = f"{vertical} {side}"
        placed.append((float(px[i]), float(py[i]), where[i]))
    return where


def quality_vs_compute(runs: pd.DataFrame, quality: str, axis: str = "train_seconds") -> go.Figure:
    """Every run as a point: ``quality`` (a column, higher is better unless named
    like RMSE/logloss) against a compute column (``train_seconds``, ``params`` or
    ``latency_ms_per_1k``). The quality axis spans at least a tenth of its level, as
    the relevance chart's axes do, so that differences in the fourth decimal look as
    small as they are. ``runs`` needs a ``label`` and an ``arch`` column;
    ``latency_q25``/``latency_q75`` columns, when present, draw the latency's middle
    half as whiskers."""
    if axis not in COMPUTE_AXES:
        raise ValueError(f"axis must be one of {', '.join(COMPUTE_AXES)}")
    fig = go.Figure()
    log = axis == "params" and len(runs) and runs[axis].max() / max(runs[axis].min(), 1) > 20
    xs = np.log10(runs[axis].clip(lower=1)) if log else runs[axis]
    yr = _axis_range(runs[quality].tolist()) if len(runs) else None
    where = _compute_label_positions(xs, runs[quality], yr) if len(runs) else {}
    for i, (arch, group) in enumerate(runs.groupby("arch", sort=False)):
        error_x = None
        if axis == "latency_ms_per_1k" and {"latency_q25", "latency_q75"} <= set(group.columns):
            lo = (group[axis] - group["latency_q25"]).clip(lower=0).fillna(0)
            hi = (group["latency_q75"] - group[axis]).clip(lower=0).fillna(0)
            error_x = dict(type="data", symmetric=False, array=hi.tolist(), arrayminus=lo.tolist(), thickness=1.5)
        fig.add_trace(go.Scatter(
            x=group[axis], y=group[quality], mode="markers+text", name=arch, text=group["label"],
            textposition=[where[i] for i in group.index], cliponaxis=False,
            marker=dict(size=13, color=style.series_color(i)), error_x=error_x,
            hovertemplate="%{text}<br>" + f"{COMPUTE_AXES[axis]}: %{{x:,.3g}}<br>{quality}: %{{y:.4f}}<extra></extra>",
        ))
    metric = quality.rsplit(" ", 1)[-1].lower()
    better = "higher" if higher_is_better(metric) else "lower"
    fig.update_layout(**style.layout(title=f"{quality} vs {COMPUTE_AXES[axis]}", xaxis_title=COMPUTE_AXES[axis],
                                     yaxis_title=f"{quality} ({better} is better)", height=HEIGHT))
    if yr is not None:
        # The relevance chart's rule: a 0.001 AUC spread stretched over the whole height made
        # single-task baselines look far worse than shared models they all but tied with.
        fig.update_yaxes(range=yr, autorange=False)
    if log:
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


def fidelity_table(result: SweepResult) -> pd.DataFrame:
    """The conditioned model against retraining, one row per weighting: the weights in
    one column, then per task its metric retrained, conditioned, and the signed gain
    (positive: the conditioned model is better; for RMSE, lower). Short
    column names, so the table fits beside a chart without scrolling sideways."""
    names = [t.name for t in result.tasks]
    rows = []
    for r in result.fidelity():
        row = {"weights (" + " / ".join(names) + ")": " / ".join(f"{w:.2f}" for w in r["weights"])}
        for t in result.tasks:
            m = t.primary_metric
            label = {"auc": "AUC", "rmse": "RMSE", "accuracy": "acc."}[m]
            row[f"{t.name} {label} retrained"] = r[f"{t.name} {m} (retrained)"]
            row[f"{t.name} {label} conditioned"] = r[f"{t.name} {m} (conditioned)"]
            row[f"{t.name} gain"] = r[f"{t.name} gain"]
        rows.append(row)
    return pd.DataFrame(rows)
