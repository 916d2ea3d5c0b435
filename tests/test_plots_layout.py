"""What every figure shares, checked on one figure of each kind (issue 10, item 11):
titles clear of plotly's toolbar, and zoomed bar axes that say so."""

from __future__ import annotations

import pandas as pd

from mtl import plots
from mtl import plots_compare as cplots
from mtl import plots_diagnostics as dplots
from mtl import plots_tradeoff as tplots
from mtl.tasks import TaskSpec
from mtl.tradeoff import SweepPoint, SweepResult
from mtl.train.diagnostics import explain
from tests.test_compare import made_up  # noqa: F401 (a fixture)
from tests.test_plots import HISTORY, TASKS
from tests.test_plots_diagnostics import TASKS as DIAG_TASKS
from tests.test_plots_diagnostics import rows

#: Height of plotly's toolbar at the figure's top right (px), shown on hover.
TOOLBAR_PX = 30


def _front() -> SweepResult:
    tasks = [TaskSpec("click", "binary"), TaskSpec("like", "binary")]
    pts = [SweepPoint([0.9, 0.1], {"click": {"auc": 0.72}, "like": {"auc": 0.70}}),
           SweepPoint([0.1, 0.9], {"click": {"auc": 0.69}, "like": {"auc": 0.73}})]
    return SweepResult(tasks=tasks, points=pts, conditioned=list(pts), reference=[0.5, 0.5],
                       baselines={"click": {"auc": 0.715}, "like": {"auc": 0.725}})


def _figures(comparison):
    found = explain(rows(), DIAG_TASKS)
    table = pd.DataFrame({"task": ["click", "click"], "metric": ["auc", "logloss"], "A": [0.71, 0.5],
                          "B": [0.72, 0.49], "B - A": [0.01, -0.01], "better": ["B", "B"]})
    return {
        "loss": plots.loss_curves(HISTORY, TASKS), "metric": plots.metric_curves(HISTORY, TASKS),
        "two runs": plots.run_comparison_bars(table, ("#1", "#2")),
        "cosine": dplots.cosine_curves(rows(), DIAG_TASKS), "norm": dplots.norm_curves(rows(), DIAG_TASKS),
        "weights": dplots.weight_curves(rows(), DIAG_TASKS), "matrix": dplots.cosine_heatmap(found.pairs, DIAG_TASKS),
        "front": tplots.pareto_front(_front()), "fidelity": tplots.fidelity_bars(_front()),
        "delta m": cplots.delta_m_bars(comparison), "methods": cplots.metric_bars(comparison),
    }


def test_titles_sit_below_the_toolbar(made_up):  # noqa: F811
    """The toolbar covered the middle of long titles ("Gradient a...between tasks (cosine")."""
    for name, fig in _figures(made_up).items():
        layout = fig.layout
        assert layout.margin.t >= TOOLBAR_PX + 30, f"{name}: no room above the plot for toolbar and title"
        if layout.title.text:
            assert (layout.title.yref, layout.title.y, layout.title.yanchor) == ("paper", 1, "bottom"), \
                f"{name}: the title must sit just above the plot area, below the toolbar"


def test_bars_of_metrics_start_at_zero_or_say_they_do_not(made_up):  # noqa: F811
    for name, fig in _figures(made_up).items():
        full = fig  # the ranges a builder sets itself: plotly's own autorange of bars includes 0
        for trace in full.data:
            if trace.type != "bar" or trace.orientation == "h":
                continue
            axis = full.layout[("yaxis" + trace.yaxis[1:]) if trace.yaxis else "yaxis"]
            if axis.range is not None and not axis.range[0] <= 0 <= axis.range[1]:
                said = " ".join(str(t) for t in (full.layout.title.text, axis.title.text) if t)
                assert "not from 0" in said, f"{name}: a zoomed bar axis that does not say so"
