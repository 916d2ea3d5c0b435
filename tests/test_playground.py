"""The gradient playground: the toy's Pareto set, trajectories, figure and CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mtl import cli
from mtl import playground as pg

UPPER_LEFT = pg.START_POINTS["upper left (-8.5, 7.5)"]
RIGHT = pg.START_POINTS["right (9, -1)"]
#: Methods whose fixed points are Pareto-stationary: theory says they end on the front.
PARETO_METHODS = [m for m in ("mgda", "upgrad", "pcgrad", "imtl_g") if m in pg.playground_methods()]


def test_pareto_set_is_the_known_segment():
    pset, front = pg.pareto_set()
    # x2 ~ -8.3 (the losses are nearly flat in x2 there, hence the grid's spread) and x1 from
    # -7 to 7: the minima of the two quadratics and the segment between them.
    assert ((pset[:, 1] > -8.6) & (pset[:, 1] < -8.0)).all()
    assert pset[:, 0].min() == pytest.approx(-7, abs=0.05) and pset[:, 0].max() == pytest.approx(7, abs=0.05)
    assert front[0] == pytest.approx([-20.0, -0.4], abs=0.05) and front[-1] == pytest.approx([-0.4, -20.0], abs=0.05)
    # Non-dominated: sorted by loss 1, loss 2 strictly decreasing.
    assert (np.diff(front[:, 0]) >= 0).all() and (np.diff(front[:, 1]) < 0).all()
    assert pg.distance_to_front(front[len(front) // 2]) == pytest.approx(0, abs=1e-9)
    assert pg.distance_to_front([0.0, 0.0]) > 5


@pytest.mark.parametrize("method", PARETO_METHODS)
def test_conflict_aware_methods_reach_the_front_from_the_hard_start(method):
    t = pg.trajectory(method, UPPER_LEFT)
    assert t.on_pareto, (method, t.final_loss, t.distance)
    assert len(t.x) == pg.STEPS + 1 and t.x[0] == pytest.approx(UPPER_LEFT)


def test_static_weights_stall_in_the_valley_from_the_hard_start():
    # The papers' Figure: the averaged gradient follows a valley where one loss
    # dominates and does not reach the front in the same budget.
    t = pg.trajectory("static", UPPER_LEFT)
    assert not t.on_pareto and t.distance > 1.0


def test_every_method_reaches_the_front_in_the_convex_region():
    for method in ("static", *PARETO_METHODS):
        t = pg.trajectory(method, RIGHT)
        assert t.on_pareto, (method, t.final_loss, t.distance)


def test_every_installed_method_runs_and_the_figure_draws_them():
    trajs = [pg.trajectory(m, (0.0, 0.0), steps=5) for m in pg.playground_methods()]
    assert all(np.isfinite(t.loss).all() for t in trajs)
    fig = pg.playground_figure(trajs)
    names = {tr.name for tr in fig.data}
    assert {"Pareto set", "Pareto front"} <= names
    assert all(any(n and n.startswith(t.method) for n in names) for t in trajs)


def test_bad_playground_input_is_a_clear_error():
    from mtl.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown weighting method 'nope'"):
        pg.run_playground(["nope"])
    with pytest.raises(ConfigError, match="outside the toy's domain"):
        pg.run_playground(["static"], [(20, 0)])
    with pytest.raises(ConfigError, match="at least one"):
        pg.run_playground([])


def test_cli_playground_writes_the_documented_json(tmp_path, capsys):
    out = tmp_path / "pg.json"
    rc = cli.main(["playground", "--methods", "static,mgda", "--start=9,-1", "--steps", "120", "--json", str(out)])
    assert rc == 0
    doc = json.loads(out.read_text())
    assert set(doc) >= {"pareto", "trajectories", "final"}
    assert len(doc["pareto"]) > 100 and all(len(p) == 2 for p in doc["pareto"])
    assert set(doc["trajectories"]) == {"static", "mgda"}
    assert all(len(t) == 121 and len(t[0]) == 2 for t in doc["trajectories"].values())
    for method in ("static", "mgda"):
        final = doc["final"][method]
        assert final["loss"] == doc["trajectories"][method][-1]
        assert isinstance(final["on_pareto"], bool)
    assert doc["final"]["mgda"]["on_pareto"] is True
    assert "mgda" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["playground", "--methods", "nope"], "unknown weighting method"),
    (["playground", "--start=1"], "two numbers"),
    (["playground", "--start=30,0"], "outside the toy's domain"),
])
def test_cli_playground_bad_input(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
