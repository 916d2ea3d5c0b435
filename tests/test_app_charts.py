"""AppTest of the Train page's charts that mix metrics of opposite directions (review s23):
a run with an AUC task and an RMSE task, and two such runs compared."""

from __future__ import annotations

import json

from pages import _nav as nav
from tests._apptest import no_errors, open_page, tiny_dataset, trained_run


def _figure(at, key: str) -> dict:
    chart = next(c for c in at.get("plotly_chart") if key in c.proto.id)
    return json.loads(chart.proto.spec)


def test_train_page_charts_say_which_way_each_metric_is_better(app):
    ds = tiny_dataset()
    runs = [trained_run(ds, i, ("click", "watch_time")) for i in (1, 2)]
    at = open_page(app, nav.TRAIN, ds, runs)
    no_errors(at)
    # Validation metrics: the AUC and the RMSE on panels of their own, each axis saying which way is better.
    metric = _figure(at, "chart.metric.")
    layout = metric["layout"]
    axes = {t["name"]: t.get("yaxis", "y") for t in metric["data"]}
    assert axes["click AUC"] != axes["watch_time RMSE"]
    assert layout["yaxis" + axes["click AUC"][1:]]["title"]["text"] == "AUC (higher is better)"
    assert layout["yaxis" + axes["watch_time RMSE"][1:]]["title"]["text"] == "RMSE (lower is better)"
    # Compare two runs: stacked panels (the values cannot run into a neighbour's ticks), titled with the direction.
    compared = _figure(at, "compare.chart")
    titles = [a["text"] for a in compared["layout"]["annotations"]]
    assert titles == ["click AUC (higher is better)", "watch_time RMSE (lower is better)"]
    assert compared["layout"]["xaxis"]["domain"] == compared["layout"]["xaxis2"]["domain"] == [0.0, 1.0]
