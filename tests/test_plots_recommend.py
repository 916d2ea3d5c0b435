"""Figure builders of mtl.plots.recommend, tested without a browser."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mtl.plots.recommend import contributions_chart
from mtl.recommend import top_k


def test_contributions_chart_stacks_each_task_and_marks_the_score():
    rng = np.random.default_rng(0)
    scores = pd.DataFrame({"item_id": np.arange(30), "title": [f"video {i}" for i in range(30)],
                           "click": rng.random(30), "like": rng.random(30) * 0.1})
    top = top_k(scores, {"click": 1.0, "like": -0.5}, 5)
    fig = contributions_chart(top, ["click", "like"], "item_id", "title")
    bars = [t for t in fig.data if t.type == "bar"]
    assert [b.name for b in bars] == ["click", "like"]
    assert fig.layout.barmode == "relative" and fig.layout.yaxis.autorange == "reversed"
    assert list(bars[0].y) == [f"{r}. video {i} ({i})" for r, i in zip(top["rank"], top["item_id"])]
    # The bars of an item add up to its score (the tick).
    tick = next(t for t in fig.data if t.name == "fused score")
    assert np.allclose(np.add(bars[0].x, bars[1].x), tick.x)
    assert np.allclose(tick.x, top.score)


def test_the_axis_title_fits_the_chart_width():
    """Review s23: "contribution to the fused score (weight × standardized prediction)" was
    cut off at "standardized p" in the chart's column; about 7 px a character at 14 px, a
    title over 55 characters does not fit 450 px."""
    scores = pd.DataFrame({"item_id": np.arange(5), "click": np.linspace(0, 1, 5)})
    fig = contributions_chart(top_k(scores, {"click": 1.0}, 3), ["click"], "item_id")
    assert len(fig.layout.xaxis.title.text) <= 55
    assert "weight × standardized prediction" in fig.data[0].hovertemplate  # said on hover instead
