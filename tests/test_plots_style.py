"""The shared look of every figure (mtl.plots.style), checked on every builder of
mtl.plots: titles clear of plotly's toolbar, legends under the plot, colours only from
the shared palette, zoomed bar axes that say so, and no builder with a look of its own."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import mtl.plots
from mtl.plots import compare, data, diagnostics, finetune, recommend, style, tradeoff, train
from mtl.recommend import top_k
from mtl.tasks import TaskSpec
from mtl.tradeoff import SweepPoint, SweepResult, efficiency_relevance_curve
from mtl.train.diagnostics import explain
from tests.test_compare import made_up  # noqa: F401 (a fixture)
from tests.test_plots_diagnostics import TASKS as DIAG_TASKS
from tests.test_plots_diagnostics import rows
from tests.test_plots_train import HISTORY, TASKS

#: Height of plotly's toolbar at the figure's top right (px), shown on hover.
TOOLBAR_PX = 30
PLOTS = Path(mtl.plots.__file__).parent


def _front() -> SweepResult:
    tasks = [TaskSpec("click", "binary"), TaskSpec("like", "binary")]
    pts = [SweepPoint([0.9, 0.1], {"click": {"auc": 0.72}, "like": {"auc": 0.70}}),
           SweepPoint([0.1, 0.9], {"click": {"auc": 0.69}, "like": {"auc": 0.73}})]
    return SweepResult(tasks=tasks, points=pts, conditioned=list(pts), reference=[0.5, 0.5],
                       baselines={"click": {"auc": 0.715}, "like": {"auc": 0.725}})


def _curve():
    rng = np.random.default_rng(0)
    f = pd.DataFrame({"u": np.repeat(np.arange(20), 8), "click": rng.integers(0, 2, 160),
                      "like": rng.integers(0, 2, 160)})
    return efficiency_relevance_curve(f, {"click": rng.random(160), "like": rng.random(160)}, ["click"], ["like"], "u",
                                      k=3, current_alpha=0.5,
                                      oracle={"click": f.click.to_numpy(float), "like": f.like.to_numpy(float)})


def _transfer():
    from mtl.finetune import FinetuneResult

    rows = [{"fraction": f, "mode": m, "labelled_rows": int(f * 1000), "test": {"auc": 0.6 + f / 10},
             "epochs": 2, "seconds": 0.1} for f in (0.01, 0.1, 1.0) for m in ("frozen", "scratch")]
    return FinetuneResult(task="like", kind="binary", metric="auc", arch="mmoe", base_tasks=["click"], rows=rows)


def _figures(comparison) -> dict[str, go.Figure]:
    """One figure per builder, keyed ``module.builder`` (two for builders with variants)."""
    front, tasks = _front(), _front().tasks
    two_runs = pd.DataFrame({"task": ["click", "click"], "metric": ["auc", "logloss"], "A": [0.71, 0.5],
                             "B": [0.72, 0.49], "B - A": [0.01, -0.01], "better": ["B", "B"]})
    gains = pd.DataFrame({"task": ["click", "time"], "metric": ["auc", "rmse"], "gain %": [1.0, -2.0],
                          "primary": [True, True]})
    labels = pd.DataFrame({"label": ["click", "like"], "kind": ["binary", "binary"], "positive rate %": [40.0, 2.5]})
    rng = np.random.default_rng(0)
    scores = pd.DataFrame({"item_id": np.arange(30), "click": rng.random(30), "like": rng.random(30)})
    runs = pd.DataFrame({"label": ["#1", "#2", "#3"], "arch": ["single", "mmoe", "ple"], "click AUC": [0.7, 0.71, 0.72],
                         "train_seconds": [10.0, 5.0, 6.0]})
    metrics = {"click": {"auc": 0.70}, "like": {"auc": 0.72}}
    return {
        "data.label_rates": data.label_rates(labels),
        "data.label_distribution": data.label_distribution(pd.Series([1.0, 2.0, 2.5]), "time", "regression"),
        "data.label_distribution (classes)": data.label_distribution(pd.Series(["a", "b"]), "tier", "multiclass"),
        "train.loss_curves": train.loss_curves(HISTORY, TASKS), "train.metric_curves": train.metric_curves(HISTORY, TASKS),
        "train.gain_bars": train.gain_bars(gains), "train.run_comparison_bars": train.run_comparison_bars(two_runs),
        "diagnostics.cosine_curves": diagnostics.cosine_curves(rows(), DIAG_TASKS),
        "diagnostics.norm_curves": diagnostics.norm_curves(rows(), DIAG_TASKS),
        "diagnostics.weight_curves": diagnostics.weight_curves(rows(), DIAG_TASKS),
        "diagnostics.cosine_heatmap": diagnostics.cosine_heatmap(explain(rows(), DIAG_TASKS).pairs, DIAG_TASKS),
        "compare.delta_m_bars": compare.delta_m_bars(comparison), "compare.metric_bars": compare.metric_bars(comparison),
        "recommend.contributions_chart": recommend.contributions_chart(
            top_k(scores, {"click": 1.0, "like": -0.5}, 5), ["click", "like"], "item_id"),
        "tradeoff.pareto_front": tradeoff.pareto_front(front, current={"click": 0.7, "like": 0.72}),
        "tradeoff.instant_bars": tradeoff.instant_bars(tasks, metrics, {"click": {"auc": 0.71}, "like": {"auc": 0.7}}),
        "tradeoff.fidelity_bars": tradeoff.fidelity_bars(front),
        "tradeoff.efficiency_relevance": tradeoff.efficiency_relevance(_curve()),
        "tradeoff.quality_vs_compute": tradeoff.quality_vs_compute(runs, "click AUC"),
        "finetune.transfer_curve": finetune.transfer_curve(_transfer()),
    }


@pytest.fixture
def figures(made_up):  # noqa: F811
    return _figures(made_up)


def _builders() -> set[str]:
    """``module.name`` of every public function of mtl.plots that returns a figure."""
    found = set()
    for info in pkgutil.iter_modules([str(PLOTS)]):
        module = importlib.import_module(f"mtl.plots.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_") and "Figure" in str(fn.__annotations__.get("return")):
                found.add(f"{info.name}.{name}")
    return found


def test_every_figure_builder_is_checked_here(figures):
    """A new builder must join :func:`_figures`, so the rules below apply to it too."""
    built = {name.split(" ")[0] for name in figures}
    assert _builders() == built, "add the missing builders to _figures (or drop the stale ones)"


def test_titles_sit_below_the_toolbar(figures):
    """The toolbar covered the middle of long titles ("Gradient a...between tasks (cosine")."""
    for name, fig in figures.items():
        layout = fig.layout
        assert (layout.margin.t or 0) >= TOOLBAR_PX + 30, f"{name}: no room above the plot for toolbar and title"
        if not layout.title.text:  # e.g. the two-run bars, whose panels have titles
            continue
        assert (layout.title.yref, layout.title.y, layout.title.yanchor) == ("paper", 1, "bottom"), \
            f"{name}: the title must sit just above the plot area, below the toolbar"


def test_no_figure_title_is_drawn_over_the_panel_titles(figures):
    """Review s23: "Test metric per task (mean ± std ...)" was drawn over the compare
    panels' titles: both sit just above the plot area."""
    for name, fig in figures.items():
        panel_titles = [a for a in fig.layout.annotations
                        if a.yref == "paper" and a.yanchor == "bottom" and a.y is not None and a.y >= 0.99]
        assert not (panel_titles and fig.layout.title.text), f"{name}: a figure title over its panels' titles"


def test_every_figure_has_the_shared_margins_and_legend_under_the_plot(figures):
    shared = go.Figure(layout=style.layout(title="x")).layout
    for name, fig in figures.items():
        assert fig.layout.margin == shared.margin, f"{name}: margins of its own"
        assert fig.layout.legend == shared.legend, f"{name}: a legend placed on its own (it may cover the curves)"


def _colors(fig: go.Figure) -> set[str]:
    """Every colour a figure's traces, shapes and axes name (colour scales aside)."""
    found: set[str] = set()

    def add(value):
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, (list, tuple)):
            found.update(v for v in value if isinstance(v, str))

    for trace in fig.data:
        for part in ("marker", "line"):
            obj = getattr(trace, part, None)
            if obj is not None:
                add(obj.color)
                if part == "marker" and obj.line is not None:
                    add(obj.line.color)
        add(getattr(trace, "fillcolor", None))
    for shape in fig.layout.shapes:
        add(shape.line.color)
        add(shape.fillcolor)
    for axis in ("xaxis", "yaxis"):
        add(fig.layout[axis].zerolinecolor)
    return found


def test_figures_use_only_the_shared_colours(figures):
    allowed = {c.lower() for c in style.COLORS}
    for name, fig in figures.items():
        stray = {c for c in _colors(fig) if c.lower() not in allowed}
        assert not stray, f"{name}: colours outside mtl.plots.style: {stray}"


def test_colour_scales_are_the_shared_ones(figures):
    scales = {go.Heatmap(colorscale=s).colorscale for s in (style.WEIGHT_SCALE, style.COSINE_SCALE)}
    used = [(name, t.colorscale if t.type == "heatmap" else t.marker.colorscale) for name, fig in figures.items()
            for t in fig.data if t.type == "heatmap" or (t.type == "scatter" and t.marker.colorscale is not None)]
    assert {"diagnostics.cosine_heatmap", "tradeoff.pareto_front"} <= {name for name, _ in used}
    assert all(scale in scales for _, scale in used)


def test_only_the_style_module_names_colours_and_margins():
    """Layout and colours live in one place: a builder that names its own cannot hide
    behind a value the checks above happen not to draw."""
    literal = re.compile(r"""["']#[0-9a-fA-F]{3,8}["']|rgba?\(|["'](?:black|white|gr[ae]y)["']|\bmargin=|qualitative|colorscale=["']""")
    for path in sorted(PLOTS.glob("*.py")):
        if path.name == "style.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            assert not literal.search(line), f"{path.name}:{number}: use mtl.plots.style: {line.strip()}"


def test_lessons_and_the_playground_take_their_look_from_the_style_module():
    """The Learn page's figures (mtl.lessons, mtl.playground) follow the same rule; the
    playground's figure is cheap to build, so its layout and colours are checked too."""
    import mtl.lessons
    from mtl import playground as pg

    literal = re.compile(r"""["']#[0-9a-fA-F]{3,8}["']|rgba?\(|["'](?:black|white|gr[ae]y)["']|\bmargin=|qualitative|colorscale=["']""")
    paths = [*sorted(Path(mtl.lessons.__file__).parent.glob("*.py")), Path(pg.__file__)]
    for path in paths:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            assert not literal.search(line), f"{path.name}:{number}: use mtl.plots.style: {line.strip()}"
    fig = pg.playground_figure([pg.trajectory(m, (0.0, 0.0), steps=5) for m in ("static", "mgda")])
    shared = go.Figure(layout=style.layout()).layout
    assert fig.layout.margin == shared.margin and fig.layout.legend == shared.legend
    allowed = {c.lower() for c in style.COLORS}
    assert not {c for c in _colors(fig) if c.lower() not in allowed}


def test_style_has_one_name_per_colour_meaning():
    named = {name: value for name, value in vars(style).items() if name.isupper() and isinstance(value, str)
             and (value.startswith(("#", "rgb")) or value in ("black", "white"))}
    by_value: dict[str, list[str]] = {}
    for name, value in named.items():
        by_value.setdefault(value.lower(), []).append(name)
    # ORACLE is BETTER on purpose (the best achievable); any other shared value is a duplicate.
    assert {tuple(sorted(names)) for names in by_value.values() if len(names) > 1} <= {("BETTER", "ORACLE")}


def test_bars_of_metrics_start_at_zero_or_say_they_do_not(figures):
    for name, fig in figures.items():
        for trace in fig.data:  # the ranges a builder sets itself: plotly's own autorange of bars includes 0
            if trace.type != "bar" or trace.orientation == "h":
                continue
            axis = fig.layout[("yaxis" + trace.yaxis[1:]) if trace.yaxis else "yaxis"]
            if axis.range is not None and not axis.range[0] <= 0 <= axis.range[1]:
                said = " ".join(str(t) for t in (fig.layout.title.text, axis.title.text) if t)
                assert "not from 0" in said, f"{name}: a zoomed bar axis that does not say so"


# ---------------------------------------------------------------- font scale (presentation mode)
@pytest.fixture
def scaled(request):
    """Build figures at a font scale, and put the scale back afterwards."""
    def build(scale):
        style.set_font_scale(scale)
        return _figures(request.getfixturevalue("made_up"))

    yield build
    style.set_font_scale(1.0)


def _axes_with_traces(fig: go.Figure) -> set[str]:
    """Layout names of the axes that draw traces (``xaxis``, ``yaxis2``, ...)."""
    found = set()
    for trace in fig.data:
        for letter in "xy":
            ref = getattr(trace, f"{letter}axis", None)
            if ref is not None:
                found.add(f"{letter}axis{ref[1:]}")
    return found


def test_at_scale_one_figures_name_no_text_size(figures):
    """Unscaled, the viewer's theme (Streamlit's, or plotly's in a report) decides the sizes."""
    for name, fig in figures.items():
        layout = fig.layout
        assert layout.font.size is None and layout.title.font.size is None and layout.legend.font.size is None, name
        assert layout.xaxis.tickfont.size is None, name


def test_a_font_scale_enlarges_every_text_and_the_figure(scaled):
    plain, big = scaled(1.0), scaled(1.5)
    for name, fig in big.items():
        layout = fig.layout
        assert layout.height == round(1.5 * plain[name].layout.height), f"{name}: not taller with larger text"
        assert (layout.font.size, layout.legend.font.size, layout.hoverlabel.font.size) == (18, 18, 18), name
        assert layout.title.font.size == 24, name
        for axis in _axes_with_traces(fig):  # every panel of a figure of subplots, not only the first
            assert layout[axis].tickfont.size == 18 and layout[axis].title.font.size == 21, f"{name}: {axis}"
        # The toolbar's band stays as it is; the title's room grows with the title.
        assert layout.margin.t == style.TOOLBAR_BAND + round(1.5 * (style.TOP_MARGIN - style.TOOLBAR_BAND)), name
        # Everything else is the shared look: the legend's place, the side margins, the title's placement.
        assert (layout.legend.y, layout.margin.l, layout.title.yref) == (plain[name].layout.legend.y, 10, "paper"), name


def test_a_scale_source_is_asked_for_every_figure():
    """The dashboard passes a function that answers for the session building the figure."""
    answers = iter([1.0, 2.0])
    style.set_font_scale(lambda: next(answers))
    try:
        small = go.Figure(layout=style.layout("a"))
        large = go.Figure(layout=style.layout("b"))
    finally:
        style.set_font_scale(1.0)
    assert small.layout.title.font.size is None and large.layout.title.font.size == 32
    assert large.layout.height == 2 * style.HEIGHT


@pytest.mark.parametrize("bad", [0, -1, 10, "big", True, float("nan")])
def test_a_font_scale_out_of_range_is_refused(bad):
    with pytest.raises(ValueError, match="font scale"):
        style.set_font_scale(bad)
    assert style.font_scale() == 1.0
