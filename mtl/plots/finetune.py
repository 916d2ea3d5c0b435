"""The figure of a transfer to a new task (:mod:`mtl.finetune`): the new task's test
metric against the share of its labels, one line per mode."""

from __future__ import annotations

import plotly.graph_objects as go

from ..metrics import higher_is_better
from ..report import METRIC_LABELS
from . import style

#: Scratch training is the reference every transfer is judged against.
_COLORS = {"frozen": style.series_color(0), "finetuned": style.series_color(1), "scratch": style.BASELINE}
_NAMES = {"frozen": "shared layers frozen", "finetuned": "shared layers fine-tuned", "scratch": "from scratch"}


def transfer_curve(result) -> go.Figure:
    """Test metric of the new task per label fraction (log axis), one line per mode;
    scratch training dashed, as the baseline; the axis says which way is better."""
    table = result.table()
    fig = go.Figure()
    for mode, rows in table.groupby("mode", sort=False):
        fig.add_trace(go.Scatter(
            x=rows["fraction"], y=rows[result.metric], mode="lines+markers", name=_NAMES.get(mode, mode),
            line=dict(color=_COLORS.get(mode, style.NEUTRAL), dash="dash" if mode == "scratch" else "solid"),
            customdata=rows["labelled rows"],
            hovertemplate="%{x:.0%} of the labels (%{customdata:,} rows): %{y:.4f}<extra>%{fullData.name}</extra>",
        ))
    label = METRIC_LABELS.get(result.metric, result.metric)
    fig.update_layout(**style.layout(title=f"New task {result.task}: test {label} by share of its labels",
                                     xaxis_title="share of the new task's training labels (log scale)",
                                     yaxis_title=f"test {label} ({'higher' if higher_is_better(result.metric) else 'lower'} "
                                                 "is better)"))
    fig.update_xaxes(type="log", tickformat=".0%")
    return fig
