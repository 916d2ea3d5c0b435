"""Figures of recommendations: why a top-K list is in its order (from
:func:`mtl.recommend.top_k` results)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from ..recommend import contribution_column
from . import style

#: Short enough for the chart's usual width (three fifths of the page, about 450 px):
#: "... (weight × standardized prediction)" was cut off at "standardized p". The hover
#: and the text beside the chart say how a contribution is computed.
AXIS_TITLE = "contribution to the fused score"


def _item_label(row: pd.Series, item_col: str, title_col: str | None) -> str:
    title = str(row[title_col]) if title_col and pd.notna(row.get(title_col)) else ""
    if len(title) > 28:
        title = title[:27] + "…"
    return f"{int(row['rank'])}. {title or row[item_col]}" + (f" ({row[item_col]})" if title else "")


def contributions_chart(top: pd.DataFrame, tasks: Sequence[str], item_col: str, title_col: str | None = None) -> go.Figure:
    """One horizontal bar per ranked item, split into each task's contribution to its
    fused score (stacked: positive parts right of zero, negative left), with the fused
    score as a tick. ``top`` is :func:`~mtl.recommend.top_k`'s result; rank 1 on top."""
    labels = [_item_label(r, item_col, title_col) for _, r in top.iterrows()]
    fig = go.Figure()
    for i, task in enumerate(tasks):
        col = contribution_column(task)
        if col not in top:
            continue
        fig.add_trace(go.Bar(y=labels, x=top[col], orientation="h", name=task, marker_color=style.series_color(i),
                             hovertemplate=f"%{{y}}<br>{task}: %{{x:+.2f}} (weight × standardized prediction)<extra></extra>"))
    fig.add_trace(go.Scatter(y=labels, x=top["score"], mode="markers", name="fused score",
                             marker=dict(symbol="line-ns", size=16, line=dict(width=3, color=style.INK)),
                             hovertemplate="%{y}<br>fused score %{x:.2f}<extra></extra>"))
    fig.update_layout(**style.layout(title="What each task adds to the fused score", barmode="relative",
                                     xaxis_title=AXIS_TITLE,
                                     yaxis=dict(autorange="reversed", automargin=True),
                                     height=max(300, 60 + 28 * len(top))))
    fig.add_vline(x=0, line=dict(color=style.INK, width=1))
    return fig
