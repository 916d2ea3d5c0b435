"""Figures of a method comparison (:class:`mtl.compare.Comparison`):

* :func:`delta_m_bars`: Δm per method with its spread over seeds; the zero line is
  the single-task baseline.
* :func:`metric_bars`: one panel per task, each method's test metric (mean and
  standard deviation over seeds), the baseline as a dashed line.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..compare import BASELINE, Comparison
from ..metrics import higher_is_better
from ..report import METRIC_LABELS
from . import style


def _label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def _errors(values: list[float]) -> dict:
    """Error bars, or none when no standard deviation is defined (one seed)."""
    if all(math.isnan(v) for v in values):
        return dict(visible=False)
    return dict(type="data", array=[0.0 if math.isnan(v) else v for v in values], visible=True)


def delta_m_bars(comparison: Comparison) -> go.Figure:
    """Horizontal bars: each method's Δm (%) over the single-task baseline, mean over
    seeds with ± one standard deviation; green when better than the baseline."""
    table = comparison.table()
    table = table[table["method"] != BASELINE]
    means, stds = table["delta_m"].tolist(), table["delta_m_std"].tolist()
    colors = [style.NEUTRAL if math.isnan(m) else style.BETTER if m > 0 else style.WORSE for m in means]
    fig = go.Figure(go.Bar(
        x=means, y=table["title"].tolist(), orientation="h", marker_color=colors, error_x=_errors(stds),
        text=["-" if math.isnan(m) else f"{m:+.2f}%" for m in means], textposition="outside",
        hovertemplate="%{y}: Δm %{x:+.2f}%<extra></extra>",
    ))
    fig.add_vline(x=0, line=dict(color=style.INK, width=1))
    n_seeds = len({r.seed for r in comparison.runs})
    fig.update_layout(**style.layout(
        title="Δm: gain over single-task training",
        xaxis_title=f"mean relative gain over tasks, % (higher is better; {n_seeds} seed{'s' if n_seeds != 1 else ''})", yaxis=dict(autorange="reversed"),
        height=max(220, 60 + 40 * len(table)), showlegend=False,
    ))
    return fig


def metric_bars(comparison: Comparison) -> go.Figure:
    """One panel per task: each method's compared test metric, mean ± one standard
    deviation over seeds, with the single-task baseline as a dashed line. Each panel's
    axis is zoomed on the differences and says so."""
    table = comparison.table()
    tasks = comparison.tasks
    # Two lines: on one, "mood: accuracy (higher is better)" ran past a narrow panel's edges.
    titles = [f"{t.name}: {_label(comparison.metrics[t.name])}<br>"
              f"{'higher' if higher_is_better(comparison.metrics[t.name]) else 'lower'} is better" for t in tasks]
    # Room between panels for each one's tick labels and axis title (plotly's default gap
    # put a panel's axis title against the previous panel's bars).
    fig = make_subplots(rows=1, cols=len(tasks), subplot_titles=titles,
                        horizontal_spacing=min(0.1, 0.4 / max(1, len(tasks) - 1)))
    methods = table[table["method"] != BASELINE]
    colors = [style.series_color(i) for i in range(len(methods))]
    base = table[table["method"] == BASELINE]
    for col, t in enumerate(tasks, start=1):
        m = comparison.metrics[t.name]
        means, stds = methods[f"{m}:{t.name}"].tolist(), methods[f"{m}_std:{t.name}"].tolist()
        fig.add_trace(go.Bar(
            x=methods["title"].tolist(), y=means, marker_color=colors, error_y=_errors(stds),
            customdata=stds, hovertemplate=f"%{{x}}: {m} %{{y:.4f}}"
            + ("" if all(math.isnan(v) for v in stds) else " ± %{customdata:.4f} (std over seeds)")
            + f"<extra>{t.name}</extra>",
        ), row=1, col=col)
        values = [v + sign * (0.0 if math.isnan(s) else s) for v, s in zip(means, stds) if not math.isnan(v)
                  for sign in (-1, 1)]
        if len(base):
            b = float(base[f"{m}:{t.name}"].iloc[0])
            if not math.isnan(b):
                fig.add_hline(y=b, line=dict(dash="dash", color=style.BASELINE, width=1), row=1, col=col,
                              annotation_text="single-task", annotation_position="top left")
                values.append(b)
        if values:  # zoom on the differences: bars from zero would hide them
            lo, hi = min(values), max(values)
            pad = max(hi - lo, 1e-3 * max(abs(hi), 1.0)) * 0.6
            # Said on the axis: zoomed on the differences, bar lengths are not proportional to the values.
            fig.update_yaxes(range=[lo - pad, hi + pad], title_text="zoomed, not from 0", row=1, col=col)
    # No figure title: it sits where the panel titles sit, just above the plots, and was drawn over them.
    fig.update_layout(**style.layout(height=380, showlegend=False, panels=len(tasks)))
    return fig
