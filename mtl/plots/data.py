"""Figures of a data set's labels: positive rates of binary labels, one label's
distribution."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from . import style


def label_rates(summary: pd.DataFrame) -> go.Figure:
    """Positive rate (%) of each binary label (rows of ``InteractionData.label_summary()``)."""
    binary = summary[summary["kind"] == "binary"]
    fig = go.Figure(go.Bar(
        x=binary["label"], y=binary["positive rate %"], name="positive rate %",
        marker_color=[style.series_color(i) for i in range(len(binary))],
        text=[f"{v:.2f}%" for v in binary["positive rate %"]], textposition="outside",
    ))
    fig.update_layout(**style.layout(title="Binary labels: share of positive rows", yaxis_title="% of labelled rows",
                                     height=280))
    return fig


def label_distribution(values: pd.Series, name: str, kind: str, bins: int = 40) -> go.Figure:
    """Distribution of one label: a histogram (regression, cut at the 99th percentile
    so one extreme value does not squash the rest) or counts per class."""
    v = values.dropna()
    if kind == "regression":
        x = pd.to_numeric(v, errors="coerce").dropna()
        cap = float(x.quantile(0.99)) if len(x) else 0.0
        fig = go.Figure(go.Histogram(x=x[x <= cap], nbinsx=bins, name=name, marker_color=style.series_color(0)))
        title = f"{name}: distribution" + (" (top 1% not shown)" if len(x) and (x > cap).any() else "")
        fig.update_layout(**style.layout(title=title, xaxis_title=name, yaxis_title="rows", height=240))
        return fig
    counts = v.astype(str).value_counts().sort_index()
    fig = go.Figure(go.Bar(x=counts.index.tolist(), y=counts.to_numpy(), name=name, marker_color=style.series_color(0)))
    fig.update_layout(**style.layout(title=f"{name}: rows per value", xaxis_title=name, yaxis_title="rows",
                                     height=240))
    return fig
