"""Trade-off logic: Pareto fronts, hypervolume, weight grids, curves, conditioned models."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from mtl.cli import main
from mtl.data import from_frame, prepare
from mtl.data.synthetic import simulate
from mtl.errors import ConfigError, DataError
from mtl.models import ModelConfig
from mtl.tasks import TaskSpec
from mtl.tradeoff import (
    ConditionedExplorer,
    SweepPoint,
    SweepResult,
    alpha_from_fusion,
    conditioned_front,
    efficiency_relevance_curve,
    hypervolume,
    pareto_mask,
    sweep,
    sweep_steps,
    weight_grid,
)
from mtl.tradeoff.curves import default_k, derived_labels, side_conflicts, suggest_sides
from mtl.train import TrainConfig, Trainer

SMALL = ModelConfig(emb_dim=4, hidden=(16,), tower=(8,))


# ------------------------------------------------------------------ Pareto / HV
def test_pareto_mask_marks_non_dominated_points():
    pts = np.array([[0.7, 0.6], [0.6, 0.7], [0.65, 0.65], [0.6, 0.6], [0.7, 0.6], [np.nan, 0.9]])
    assert pareto_mask(pts).tolist() == [True, True, True, False, True, False]


def test_hypervolume_two_dimensions_by_hand():
    # Staircase of (3,1), (2,2), (1,3) above the origin: 3 + 2 + 1 = 6.
    assert hypervolume(np.array([[3, 1], [2, 2], [1, 3]]), np.zeros(2)) == pytest.approx(6.0)
    # Dominated points add nothing; points below the reference add nothing.
    assert hypervolume(np.array([[3, 1], [2, 2], [1, 3], [1, 1], [-1, 5]]), np.zeros(2)) == pytest.approx(6.0)
    assert hypervolume(np.zeros((0, 2)), np.zeros(2)) == 0.0


def test_hypervolume_three_dimensions_matches_inclusion_exclusion():
    rng = np.random.default_rng(3)
    pts = rng.random((6, 3))
    ref = np.zeros(3)
    exact = 0.0  # inclusion-exclusion over all subsets (small n only)
    for r in range(1, len(pts) + 1):
        for subset in itertools.combinations(range(len(pts)), r):
            exact += (-1) ** (r + 1) * np.prod(pts[list(subset)].min(axis=0))
    assert hypervolume(pts, ref) == pytest.approx(exact, rel=1e-9)


# ------------------------------------------------------------------ weight grid
def test_weight_grid_two_tasks_is_an_inset_line():
    grid = weight_grid(2, 11)
    assert len(grid) == 11
    assert grid[0] == (0.95, 0.05) and grid[-1] == (0.05, 0.95)
    assert all(sum(w) == pytest.approx(1) for w in grid)


def test_weight_grid_three_tasks_is_a_simplex_lattice():
    grid = weight_grid(3, 10)
    assert len(grid) >= 10 and len(set(grid)) == len(grid)
    assert all(sum(w) == pytest.approx(1) and min(w) >= 0.05 - 1e-9 for w in grid)
    with pytest.raises(ConfigError):
        weight_grid(1, 5)


# ------------------------------------------------------------------------ curve
def _curve_frame(seed: int = 0, users: int = 40, per_user: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = users * per_user
    click = rng.integers(0, 2, n)
    like = rng.integers(0, 2, n) * (rng.random(n) < 0.5)
    return pd.DataFrame({"user": np.repeat(np.arange(users), per_user), "click": click, "like": like})


def test_curve_endpoints_rank_by_one_side_only():
    f = _curve_frame()
    noise = np.random.default_rng(1).random(len(f)) * 0.01
    preds = {"click": f["click"] + noise, "like": f["like"] + noise}
    curve = efficiency_relevance_curve(f, preds, ["click"], ["like"], "user", k=3, alphas=[0.0, 1.0])
    by_eff = curve.at(0.0)
    by_rel = curve.at(1.0)
    # alpha = 0: perfect efficiency ranking -> top-3 click rate is the best achievable
    best_click = f.groupby("user")["click"].apply(lambda s: np.sort(s.to_numpy())[::-1][:3].mean()).mean()
    assert by_eff["efficiency_at_k"] == pytest.approx(best_click)
    # alpha = 1: perfect relevance ranking -> NDCG = 1
    assert by_rel["relevance_ndcg_at_k"] == pytest.approx(1.0)
    assert by_eff["relevance_ndcg_at_k"] < 1.0
    assert curve.random["relevance_ndcg_at_k"] < 1.0


def test_curve_oracle_and_validation():
    f = _curve_frame()
    preds = {"click": np.random.default_rng(2).random(len(f)), "like": np.random.default_rng(3).random(len(f))}
    oracle = {"click": f["click"].to_numpy(float), "like": f["like"].to_numpy(float)}
    curve = efficiency_relevance_curve(f, preds, ["click"], ["like"], "user", k=3, oracle=oracle)
    assert len(curve.points) == 21 and curve.oracle is not None
    assert curve.oracle["relevance_ndcg_at_k"].iloc[-1] == pytest.approx(1.0)
    with pytest.raises(ConfigError):
        efficiency_relevance_curve(f, preds, ["click"], ["click"], "user")
    with pytest.raises(ConfigError):
        efficiency_relevance_curve(f, preds, [], ["like"], "user")


def test_curve_finding_says_what_the_data_shows_with_the_spread_across_users():
    """Issue 10 item 2: the text announced the efficiency paradox whatever the data showed."""
    rng = np.random.default_rng(7)
    users, per_user = 200, 12
    n = users * per_user
    user = np.repeat(np.arange(users), per_user)
    like = rng.integers(0, 2, n)
    # Every user's 4 liked items are clicked, as are 4 of the other 8: the top 3 by likes
    # are all clicked, as are the top 3 by clicks, so ranking by likes costs no clicks.
    pattern = np.r_[np.ones(8), np.zeros(4)]
    free = pd.DataFrame({"user": user, "click": np.tile(pattern, users),
                         "like": np.tile(np.r_[np.ones(4), np.zeros(8)], users)})
    preds = {"click": free.click + rng.random(n) * 0.5, "like": free.like + rng.random(n) * 0.5}
    curve = efficiency_relevance_curve(free, preds, ["click"], ["like"], "user", k=3)
    e, r = curve.efficiency_change, curve.relevance_change
    assert not e.measurable and curve.efficiency_varies > 150
    assert r.measurable and r.diff > 0 and r.n_users > 150
    text = curve.finding().text()
    assert "ranking by relevance costs no measurable efficiency" in text and "±" in text
    assert curve.to_json()["finding"] == curve.finding().markdown()
    assert {"efficiency_se", "relevance_se"} <= set(curve.points.columns)
    # Clicks and likes on different items, each predicted well: a real trade-off.
    click = 1 - like
    opposed = pd.DataFrame({"user": user, "click": click, "like": like})
    preds = {"click": click + rng.random(n) * 0.5, "like": like + rng.random(n) * 0.5}
    curve = efficiency_relevance_curve(opposed, preds, ["click"], ["like"], "user", k=3)
    assert curve.efficiency_change.measurable and curve.efficiency_change.diff < 0
    assert "A real trade-off" in curve.finding().text()
    # The same predictions for both sides: both ends rank alike, nothing moves.
    same = rng.random(n)
    curve = efficiency_relevance_curve(opposed, {"click": same, "like": same}, ["click"], ["like"], "user", k=3)
    assert "makes no measurable difference" in curve.finding().text()


def test_a_measure_no_ranking_can_move_is_not_reported_as_costing_nothing():
    """Issue s23 (wt-curve): with clicks constant among each user's candidates efficiency@K
    cannot change, and the finding said "ranking by relevance costs no measurable efficiency"."""
    rng = np.random.default_rng(7)
    users, per_user = 200, 12
    n = users * per_user
    like = rng.integers(0, 2, n)
    flat = pd.DataFrame({"user": np.repeat(np.arange(users), per_user),
                         "click": np.repeat(rng.integers(0, 2, users), per_user), "like": like})
    preds = {"click": rng.random(n), "like": like + rng.random(n) * 0.5}
    curve = efficiency_relevance_curve(flat, preds, ["click"], ["like"], "user", k=3)
    assert curve.efficiency_change.diff == pytest.approx(0.0) and curve.efficiency_varies == 0
    text = curve.finding().text()
    assert "costs no measurable efficiency" not in text
    assert "the ranking cannot change efficiency@3 for most users" in text and "only 0 of the 200 users" in text


def test_curve_counts_only_users_whose_top_k_the_ranking_chooses():
    """Issue s23 (wt-curve): with K = 10 and a median of 4 held-out impressions per user the
    top 10 held every candidate, so efficiency@10 was the same for any order (3.8962 at both
    ends on goodbooks). Users with K or fewer candidates are left out, and said so."""
    rng = np.random.default_rng(3)
    sizes = np.r_[np.full(60, 4), np.full(20, 14)]     # 60 users with 4 candidates, 20 with 14
    user = np.repeat(np.arange(len(sizes)), sizes)
    n = len(user)
    like = rng.integers(0, 2, n)
    click = 1 - like                                    # ranking by likes costs clicks
    f = pd.DataFrame({"user": user, "click": click, "like": like})
    preds = {"click": click + rng.random(n) * 0.1, "like": like + rng.random(n) * 0.1}
    curve = efficiency_relevance_curve(f, preds, ["click"], ["like"], "user", k=10)
    assert curve.k == 10 and curve.n_users == 20 and curve.users_ranked == 80 and curve.median_candidates == 4
    big = f[f.user >= 60]
    best = big.groupby("user")["click"].apply(lambda s: np.sort(s.to_numpy())[::-1][:10].mean()).mean()
    assert curve.at(0.0)["efficiency_at_k"] == pytest.approx(best)
    assert curve.efficiency_change.measurable and curve.efficiency_change.diff < 0
    assert "20 of the 80 users" in curve.coverage() and "K = 3 would count at least half" in curve.coverage()
    # Without K: the largest K that half the users exceed (here 3, below the median of 4).
    auto = efficiency_relevance_curve(f, preds, ["click"], ["like"], "user")
    assert auto.k == 3 and auto.n_users == 80 and auto.to_json()["suggested_k"] == 3
    assert auto.efficiency_change.measurable and auto.efficiency_change.diff < 0
    with pytest.raises(DataError, match="No user has more than K = 14"):
        efficiency_relevance_curve(f, preds, ["click"], ["like"], "user", k=14)
    # The users counted at K = 10 without a single like: relevance cannot be measured,
    # said as such (it was a curve of NaN that the page could not draw).
    none = f.assign(like=np.where(f.user >= 60, 0, f.like))
    with pytest.raises(DataError, match="None of the 20 users with more than K = 10 .* positive like.*K = 3"):
        efficiency_relevance_curve(none, preds, ["click"], ["like"], "user", k=10)


def test_default_k_sits_below_the_typical_candidate_count():
    assert default_k([2, 2, 3, 2, 1]) == 1            # goodbooks: a median of 2
    assert default_k([4] * 5 + [7] * 3 + [3] * 2) == 3
    assert default_k([40] * 10) == 10                  # never above a first screen
    with pytest.raises(DataError):
        default_k([1, 1, 0])


def test_derived_labels_are_found_declared_or_by_their_values():
    f = simulate(n_users=60, n_items=80, n_impressions=1500, seed=1)
    # The simulator's long view is watch time past a threshold; clicks and likes are not
    # a cut of any other label.
    assert derived_labels(f, ["click", "like", "long_view", "watch_time", "rating"]) == {"long_view": "watch_time"}
    g = pd.DataFrame({"rating": np.tile([1, 2, 3, 4, 5], 10), "liked": np.tile([0, 0, 0, 1, 1], 10),
                      "noisy": np.tile([0, 1, 0, 1, 1], 10), "few": [1, 0] * 25})
    assert derived_labels(g, ["rating", "liked", "noisy"]) == {"liked": "rating"}
    assert derived_labels(g.head(10), ["rating", "liked"]) == {}                  # too few rows to tell
    assert derived_labels(g, ["rating", "few"], declared={"few": "few=rating>=3"}) == {"few": "rating"}


def test_default_sides_invent_no_efficiency_label_and_keep_a_label_with_its_source():
    """Issue s23 (wt-curve): goodbooks defaulted to efficiency = rating, relevance = liked,
    where liked is rating >= 4: a label plotted against a threshold of itself."""
    from mtl.data.samples import SAMPLES

    books = SAMPLES["goodbooks"]
    sides = suggest_sides(["rating", "liked"], efficiency=books.efficiency, relevance=books.relevance,
                          derived={"liked": "rating"})
    assert sides.efficiency == [] and sides.relevance == ["rating", "liked"]
    assert "no efficiency label" in sides.notes[0]
    feed = SAMPLES["simulated"]
    sides = suggest_sides(["click", "watch_time", "like", "long_view"], efficiency=feed.efficiency,
                          relevance=feed.relevance, derived={"long_view": "watch_time"})
    assert sides.efficiency == ["click"] and sides.relevance == ["like", "long_view"]
    assert "'watch_time' is left out" in sides.notes[0]
    # Uploaded data: names decide, and none is made up when no name fits.
    assert suggest_sides(["is_click", "like"]).efficiency == ["is_click"]
    none = suggest_sides(["rating", "liked"], derived={"liked": "rating"})
    assert none.efficiency == [] and "named like an efficiency label" in none.notes[0]
    assert side_conflicts(["rating"], ["liked"], {"liked": "rating"}) and not side_conflicts(["click"], ["liked"],
                                                                                              {"liked": "rating"})


def test_curve_measures_the_current_alpha_exactly():
    f = _curve_frame()
    preds = {"click": np.random.default_rng(2).random(len(f)), "like": np.random.default_rng(3).random(len(f))}
    curve = efficiency_relevance_curve(f, preds, ["click"], ["like"], "user", k=3, current_alpha=0.67)
    assert curve.at(0.67)["alpha"] == pytest.approx(0.67) and len(curve.points) == 22


def test_alpha_from_fusion():
    assert alpha_from_fusion({"click": 1, "like": 3}, ["click"], ["like"]) == pytest.approx(0.75)
    assert alpha_from_fusion({"other": 1}, ["click"], ["like"]) is None


# ------------------------------------------------------------ sweeps (tiny data)
@pytest.fixture(scope="module")
def tiny_prepared():
    frame = simulate(n_users=150, n_items=200, n_impressions=6000, seed=4)
    return prepare(from_frame(frame), ["click", "long_view"], "random", seed=0)


def test_sweep_collects_points_front_and_baselines(tiny_prepared):
    base = TrainConfig(tasks=["click", "long_view"], epochs=2, model=ModelConfig(hidden=(32,), tower=(8,)), device="cpu")
    res = sweep(tiny_prepared, base, points=3, conditioned=True)
    objectives = res.objectives()
    assert objectives.shape == (3, 2)
    # More weight on long_view (later points) must help long_view.
    assert objectives[-1, 1] > objectives[0, 1], objectives
    assert [p.weights for p in res.points] == [list(w) for w in weight_grid(2, 3)]
    assert set(res.baselines) == {"click", "long_view"}
    assert len(res.conditioned) == 3 and len(res.fidelity()) == 3
    # The conditioned model is kept, so an app can reuse it (Instant weights) without retraining.
    assert res.conditioned_result.config.model.conditioned and res.conditioned_result.trained is not None
    front = res.pareto()
    assert front and res.hypervolume() > 0
    assert res.hypervolume() == pytest.approx(hypervolume(objectives[front], np.array([0.5, 0.5])))
    doc = res.to_json()
    assert {"points", "pareto", "hypervolume", "conditioned", "baselines"} <= set(doc)
    json.dumps(doc)  # serializable


def test_conditioned_model_reacts_to_the_weights(tiny_prepared):
    cfg = TrainConfig(tasks=["click", "long_view"], epochs=2, model=ModelConfig(emb_dim=4, hidden=(16,), tower=(8,), conditioned=True))
    result = Trainer(tiny_prepared, cfg).fit()
    explorer = ConditionedExplorer.from_prepared(result.trained.model, tiny_prepared)
    a, b = explorer.predict([0.9, 0.1]), explorer.predict([0.1, 0.9])
    assert not np.allclose(a[1], b[1])
    assert set(explorer.metrics([0.5, 0.5])) == {"click", "long_view"}
    # Its own front: one forward pass per weighting, the same numbers as the slider view.
    front = conditioned_front(explorer, points=5)
    assert [p.weights for p in front.conditioned] == [list(w) for w in weight_grid(2, 5)]
    assert front.conditioned[2].test == explorer.quick_metrics([0.5, 0.5]) and not front.points
    with pytest.raises(ConfigError):
        explorer.predict([1.0])
    with pytest.raises(ConfigError):
        TrainConfig(tasks=["click", "like"], weighting="dwa", model=ModelConfig(conditioned=True)).validate()


def test_flat_front_is_reported_in_words():
    tasks = [TaskSpec("click", "binary"), TaskSpec("like", "binary")]

    def result(like_aucs):
        pts = [SweepPoint([1 - a, a], {"click": {"auc": 0.70}, "like": {"auc": v}}) for a, v in zip((0.1, 0.5, 0.9), like_aucs)]
        return SweepResult(tasks=tasks, points=pts, reference=[0.5, 0.5])

    flat = result([0.801, 0.802, 0.803]).flatness()
    assert flat is not None and "flat" in flat and "like AUC moves by 0.0020" in flat
    assert result([0.70, 0.75, 0.80]).flatness() is None


def _conditioned_vs_retrains(cond_like, ret_like):
    tasks = [TaskSpec("click", "binary"), TaskSpec("like", "binary")]
    grid = [[0.9, 0.1], [0.5, 0.5], [0.1, 0.9]]
    ret_click, cond_click = (0.72, 0.66, 0.60), (0.701, 0.700, 0.700)
    pts = [SweepPoint(w, {"click": {"auc": c}, "like": {"auc": v}}) for w, c, v in zip(grid, ret_click, ret_like)]
    cond = [SweepPoint(w, {"click": {"auc": c}, "like": {"auc": v}}) for w, c, v in zip(grid, cond_click, cond_like)]
    return SweepResult(tasks=tasks, points=pts, conditioned=cond, reference=[0.5, 0.5])


def test_response_says_when_the_conditioned_model_does_not_trade_off():
    # The lesson's case: the retrains move by 0.12 and 0.20, the conditioned model by 0.001
    # and 0.002 (under a tenth of the retrains' spread), better than the middle retrain on both.
    res = _conditioned_vs_retrains((0.702, 0.701, 0.700), (0.55, 0.65, 0.75))
    r = res.response()
    assert r["flat"] and r["beats"] == 1 and r["compared"] == 3
    assert r["tasks"]["click"]["spread"] == pytest.approx(0.001) and r["tasks"]["like"]["retrain_spread"] == pytest.approx(0.2)
    assert r["tasks"]["like"]["gains"] == pytest.approx([0.152, 0.051, -0.05])  # signed, not |Δ|
    text = res.response_text()
    assert "does not trade off" in text and "click AUC by 0.001 (the retrains: 0.120)" in text
    assert "like +0.152" not in text and "like -0.050 to +0.152" in text
    assert "1 of 3 weightings it beats the retrain" in text


def test_response_of_a_conditioned_model_that_follows_the_retrains():
    res = _conditioned_vs_retrains((0.56, 0.64, 0.74), (0.55, 0.65, 0.75))
    res.conditioned = [SweepPoint(p.weights, {"click": {"auc": a}, "like": p.test["like"]})
                       for p, a in zip(res.conditioned, (0.715, 0.655, 0.605))]
    r = res.response()
    assert not r["flat"] and r["beats"] == 0
    assert "does not trade off" not in res.response_text()
    # Without retrains the spread is judged alone (FLAT_SPREAD), and nothing is compared.
    alone = SweepResult(tasks=res.tasks, conditioned=res.conditioned)
    assert alone.response()["tasks"]["like"]["retrain_spread"] is None and not alone.response()["flat"]
    still = SweepResult(tasks=res.tasks, conditioned=_conditioned_vs_retrains((0.7, 0.7, 0.701), (0, 0, 0)).conditioned)
    assert still.response()["flat"] and "does not trade off" in still.response_text()
    assert SweepResult(tasks=res.tasks, conditioned=res.conditioned[:1]).response() is None


@pytest.mark.slow
def test_conditioned_fidelity_against_retrains_on_simulated_data():
    frame = simulate(n_users=600, n_items=800, n_impressions=40_000, seed=11)
    p = prepare(from_frame(frame), ["click", "like"], "random", seed=0)
    res = sweep(p, TrainConfig(tasks=["click", "like"], epochs=3, device="cpu"), points=5, conditioned=True)
    deltas = [abs(row["click gain"]) for row in res.fidelity()] + [abs(row["like gain"]) for row in res.fidelity()]
    assert len(res.fidelity()) == 5
    assert float(np.median(deltas)) <= 0.02, res.fidelity()


# --------------------------------------------------------------------------- CLI
def test_cli_sweep_and_curve(tmp_path, capsys):
    data = tmp_path / "feed.csv.gz"
    assert main(["synth", "--out", str(data), "--users", "80", "--items", "120", "--impressions", "3000"]) == 0
    out = tmp_path / "sweep.json"
    assert main(["sweep", "--data", str(data), "--tasks", "click,like", "--points", "3", "--epochs", "1",
                 "--conditioned", "--json", str(out), "--quiet"]) == 0
    doc = json.loads(out.read_text())
    assert len(doc["points"]) == 3 and len(doc["conditioned"]) == 3
    assert {"weights", "test"} <= set(doc["points"][0]) and "auc" in doc["points"][0]["test"]["click"]
    # One epoch on 2,400 rows may learn nothing above the no-skill reference (a zero
    # hypervolume); the measure itself is tested on constructed fronts above.
    assert isinstance(doc["pareto"], list) and doc["hypervolume"] >= 0 and set(doc["baselines"]) == {"click", "like"}
    assert doc["reference"] == [0.5, 0.5]  # AUC of a no-skill model, per task
    # Signed fidelity and whether the conditioned model moves with its weights, printed and saved.
    printed = capsys.readouterr().out
    assert "conditioned minus retrained (gain per task, + = conditioned better)" in printed
    assert "Across 3 weightings the conditioned model's quality moves" in printed
    response = doc["conditioned_response"]
    assert set(response["tasks"]) == {"click", "like"} and len(response["tasks"]["like"]["gains"]) == 3
    assert response["tasks"]["click"]["gains"] == pytest.approx([r["click gain"] for r in doc["fidelity"]])
    model = tmp_path / "m"
    assert main(["train", "--data", str(data), "--tasks", "click,like,long_view", "--epochs", "1", "--save", str(model), "--quiet"]) == 0
    cj = tmp_path / "curve.json"
    assert main(["curve", "--model", str(model), "--efficiency", "click", "--relevance", "like,long_view",
                 "--k", "5", "--json", str(cj)]) == 0
    curve = json.loads(cj.read_text())
    assert len(curve["points"]) == 21 and curve["oracle"] is not None
    assert curve["points"][0]["alpha"] == 0 and curve["points"][-1]["alpha"] == 1
    # The statement of what the curve shows is printed (without markdown) and saved.
    printed = capsys.readouterr().out
    assert curve["finding"].replace("**", "").replace("*", "") in printed and "±" in curve["finding"]
    assert {"diff", "ci95", "n_users"} <= set(curve["efficiency_change"])
    assert main(["curve", "--model", str(model), "--efficiency", "click", "--relevance", "nope"]) == 2
    assert capsys.readouterr().err.startswith("error:")
    # Without --k, K comes from the held-out rows and the users counted are named.
    assert main(["curve", "--model", str(model), "--efficiency", "click", "--relevance", "like",
                 "--json", str(cj)]) == 0
    auto, printed = json.loads(cj.read_text()), capsys.readouterr().out
    assert auto["k"] == auto["suggested_k"] < 10 and "K chosen from the held-out rows" in printed
    assert auto["coverage"] in printed and f"{auto['n_users']:,} of the {auto['users_ranked']:,} users" in printed
    assert main(["curve", "--model", str(model), "--efficiency", "click", "--relevance", "like", "--k", "100"]) == 2
    assert "No user has more than K = 100" in capsys.readouterr().err


def test_sweep_stop_keeps_the_points_trained(tiny_prepared):
    calls = []  # trainings started; Stop comes once the third has started
    res = sweep(tiny_prepared, TrainConfig(tasks=["click", "long_view"], epochs=1, model=SMALL), points=4,
                baselines=False, progress=lambda d, n, m: calls.append(m) if float(d).is_integer() else None,
                should_stop=lambda: len(calls) >= 3)
    assert res.stopped and len(res.points) == 2
    assert res.to_json()["stopped"] is True


def test_sweep_reports_weighting_k_of_n_and_epochs_as_it_trains(tiny_prepared):
    """The app's progress bar and ETA come from these reports (issue 10, item 4)."""
    reports = []
    res = sweep(tiny_prepared, TrainConfig(tasks=["click", "long_view"], epochs=2, model=SMALL), points=3,
                conditioned=True, progress=lambda d, n, m: reports.append((d, n, m)))
    total = sweep_steps(3, conditioned=True)
    assert total == 5 and {n for _, n, _ in reports} == {total}
    starts = [m for d, _, m in reports if float(d).is_integer()]
    assert starts[0] == "single-task baselines" and starts[-1] == "done"
    assert [m.split(" (")[0] for m in starts[1:4]] == ["weighting 1 of 3", "weighting 2 of 3", "weighting 3 of 3"]
    assert starts[4] == "one preference-conditioned model"
    during = [(d, m) for d, _, m in reports if not float(d).is_integer()]
    assert any(m.startswith("weighting 2 of 3") and m.endswith("epoch 2/2") and 2 < d < 3 for d, m in during)
    done = [d for d, _, _ in reports]
    assert done == sorted(done), "progress never goes back"
    assert len(res.points) == 3 and len(res.conditioned) == 3


def test_sweep_stop_abandons_the_training_in_progress(tiny_prepared):
    stop = []

    def progress(done, n, message):
        if 1 < done < 2:  # during the second training: Stop must not wait for it to finish
            stop.append(done)

    res = sweep(tiny_prepared, TrainConfig(tasks=["click", "long_view"], epochs=50, patience=50, model=SMALL),
                points=3, baselines=False, progress=progress, should_stop=lambda: bool(stop))
    assert res.stopped and len(res.points) == 1, "the half-trained second model is no point of the front"


def test_explorer_from_saved_model_matches_prepared(tiny_prepared, tmp_path):
    from mtl.train import TrainedModel

    cfg = TrainConfig(tasks=["click", "long_view"], epochs=1, model=ModelConfig(emb_dim=4, hidden=(16,), tower=(8,), conditioned=True))
    result = Trainer(tiny_prepared, cfg).fit()
    result.trained.save(tmp_path / "m")
    loaded = TrainedModel.load(tmp_path / "m")
    a = ConditionedExplorer.from_prepared(result.trained.model, tiny_prepared).metrics([0.2, 0.8])
    b = ConditionedExplorer.from_trained(loaded).metrics([0.2, 0.8])
    assert a == b


def test_quick_metrics_match_full_metrics(tiny_prepared):
    cfg = TrainConfig(tasks=["click", "long_view"], epochs=1, model=ModelConfig(emb_dim=4, hidden=(16,), tower=(8,), conditioned=True))
    explorer = ConditionedExplorer.from_prepared(Trainer(tiny_prepared, cfg).fit().trained.model, tiny_prepared)
    quick, full = explorer.quick_metrics([0.3, 0.7]), explorer.metrics([0.3, 0.7])
    for task in ("click", "long_view"):
        assert quick[task]["auc"] == pytest.approx(full[task]["auc"])
        assert quick[task]["logloss"] == pytest.approx(full[task]["logloss"], rel=1e-5)
