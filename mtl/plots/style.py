"""The look every figure shares: one layout and one colour per meaning.

Figure builders take their margins, title placement, legend and height from
:func:`layout`, and every colour from the names below, so that a baseline, a front
or a task looks the same in every chart (``tests/test_plots_style.py`` checks it).
"""

from __future__ import annotations

from plotly.colors import qualitative

# ---------------------------------------------------------------- layout
#: Top margin of every figure: plotly's toolbar (shown on hover at the figure's top right,
#: about 30 px tall) gets the top of it, the title the rest.
TOP_MARGIN = 72
#: Every figure's title sits just above the plot area, left-aligned, below the band the
#: toolbar uses: at the top of the figure (plotly's default) the toolbar covered the end
#: of long titles ("Gradient a...between tasks (cosine").
TITLE_BELOW_TOOLBAR = dict(title_x=0, title_xref="container", title_xanchor="left", title_y=1, title_yref="paper",
                           title_yanchor="bottom", title_pad_b=10)
#: Legends go under the plot, below the x-axis title, so they never cover the curves.
LEGEND_BELOW = dict(orientation="h", yanchor="top", y=-0.28, xanchor="left", x=0)
HEIGHT = 360


def layout(title: str | None = None, **overrides) -> dict:
    """Keyword arguments for ``Figure.update_layout``: the shared margins, legend and
    height with ``overrides`` (a height, axes) on top, and the title, always placed
    below the toolbar."""
    settings = {"margin": dict(l=10, r=10, t=TOP_MARGIN, b=10), "height": HEIGHT, "legend": LEGEND_BELOW, **overrides}
    if title is not None:  # as title_text: a plain ``title`` would reset the placement below
        settings["title_text"] = title
    return {**settings, **TITLE_BELOW_TOOLBAR}


# ---------------------------------------------------------------- colours, by meaning
#: One colour per series (task, method, architecture, run), by position: a task keeps
#: its colour in every figure.
PALETTE = qualitative.Plotly
#: One colour per pair of tasks (the gradient cosines), distinct from the task colours.
PAIR_PALETTE = qualitative.Dark2
BETTER = "#2e7d32"
WORSE = "#c62828"
#: No value to judge (e.g. a method without a Δm).
NEUTRAL = "#78909c"
#: Single-task baselines and other references to beat (a random ranking).
BASELINE = "#7f7f7f"
#: The best one can do: a Pareto front of retrained models, the model's own curve.
FRONT = "#1f4e79"
#: The one preference-conditioned model.
CONDITIONED = "#e67e22"
#: Where the user stands now (current weights, current fusion).
CURRENT = "#d62728"
#: Ranking by the true probabilities (simulated data only): the best achievable, so BETTER's green.
ORACLE = BETTER
#: Zero lines and the fused score's tick.
INK = "black"
#: Outline that separates overlapping markers.
OUTLINE = "white"
#: The region where tasks conflict (a negative gradient cosine): WORSE, faintly.
CONFLICT_FILL = "rgba(198, 40, 40, 0.08)"
#: Colour scales: a weight in [0, 1]; a cosine in [-1, 1] (red: conflict, blue: agreement).
WEIGHT_SCALE = "Viridis"
COSINE_SCALE = "RdBu"
#: A landscape of loss values under trajectories (the gradient playground): quiet greys.
LANDSCAPE_SCALE = "Greys"

#: Every colour a figure may use (the shared-look test checks traces and shapes against it).
COLORS = frozenset({*PALETTE, *PAIR_PALETTE, BETTER, WORSE, NEUTRAL, BASELINE, FRONT, CONDITIONED, CURRENT, ORACLE,
                    INK, OUTLINE, CONFLICT_FILL})


def series_color(i: int) -> str:
    """The colour of the ``i``-th series (a task in task order, a method, an architecture)."""
    return PALETTE[i % len(PALETTE)]


def pair_color(i: int) -> str:
    """The colour of the ``i``-th pair of tasks."""
    return PAIR_PALETTE[i % len(PAIR_PALETTE)]
