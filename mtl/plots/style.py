"""The look every figure shares: one layout and one colour per meaning.

Figure builders take their margins, title placement, legend and height from
:func:`layout`, and every colour from the names below, so that a baseline, a front
or a task looks the same in every chart (``tests/test_plots_style.py`` checks it).
"""

from __future__ import annotations

from collections.abc import Callable

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
#: Height of plotly's toolbar band at the top of the figure (px): it does not grow with the fonts.
TOOLBAR_BAND = 30

# ---------------------------------------------------------------- font scale
#: Text sizes (px) at scale 1: those of Streamlit's chart theme, where the figures are
#: mostly seen (plotly's own are alike: 12 px text, a 17 px title). At scale 1 figures
#: name no size, so each viewer's theme decides; scaled, every part is named, since a
#: theme's per-part sizes (tick labels, axis titles) win over a figure-wide font size.
FONT_SIZE, AXIS_TITLE_SIZE, TITLE_SIZE = 12, 14, 16
_font_scale: Callable[[], float] = lambda: 1.0


def set_font_scale(scale: float | Callable[[], float]) -> None:
    """Draw the text of every figure built from now on ``scale`` times larger (1: as is),
    with the figure as much taller, so that the plot keeps its share of it: a projector's
    back row reads 17 px ticks, not 12 px ones.

    A callable is asked anew for each figure: a server drawing figures for several people
    at once passes one that answers for whoever the figure is being built for (the
    dashboard's presentation mode does); a script passes a number."""
    if not callable(scale):
        value = _checked(scale)
        scale = lambda: value
    global _font_scale
    _font_scale = scale


def font_scale() -> float:
    """The scale figures are built at now (see :func:`set_font_scale`)."""
    return _checked(_font_scale())


def _checked(scale) -> float:
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0.5 <= scale <= 4:
        raise ValueError(f"a font scale must be a number from 0.5 to 4 (got {scale!r})")
    return float(scale)


def _scaled(settings: dict, scale: float, panels: int) -> dict:
    """``settings`` with every text size, the height and the title's room times ``scale``."""
    def px(size: float) -> int:
        return round(size * scale)

    axis = dict(tickfont_size=px(FONT_SIZE), title_font_size=px(AXIS_TITLE_SIZE))
    # An axis the caller configured keeps its settings: the sizes are added beside them.
    axes = {f"{letter}axis{n if n > 1 else ''}": {**axis, **settings.get(f"{letter}axis{n if n > 1 else ''}", {})}
            for letter in "xy" for n in range(1, panels + 1)}
    return {**settings, **axes, "height": px(settings["height"]), "font_size": px(FONT_SIZE),
            "title_font_size": px(TITLE_SIZE), "legend": {**settings["legend"], "font_size": px(FONT_SIZE)},
            "hoverlabel_font_size": px(FONT_SIZE),
            "margin": {**settings["margin"], "t": TOOLBAR_BAND + px(TOP_MARGIN - TOOLBAR_BAND)}}


def layout(title: str | None = None, *, panels: int = 1, **overrides) -> dict:
    """Keyword arguments for ``Figure.update_layout``: the shared margins, legend and
    height with ``overrides`` (a height, axes) on top, and the title, always placed
    below the toolbar; at a :func:`font_scale` other than 1, every text larger and the
    figure taller (``panels``: how many x/y axis pairs a figure of subplots has, so
    that all of them get the larger ticks)."""
    settings = {"margin": dict(l=10, r=10, t=TOP_MARGIN, b=10), "height": HEIGHT, "legend": LEGEND_BELOW, **overrides}
    if title is not None:  # as title_text: a plain ``title`` would reset the placement below
        settings["title_text"] = title
    if (scale := font_scale()) != 1:
        settings = _scaled(settings, scale, panels)
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
