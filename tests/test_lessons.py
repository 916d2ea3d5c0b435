"""The Learn page's lessons: each lesson's claimed effect holds over three seeds.

Every lesson trains small models (seconds each), so the effect tests are marked
``slow``; the registry and view tests reuse one trained result per lesson.
"""

from __future__ import annotations

import numpy as np
import pytest

from mtl.lessons import Lesson, LessonView, get_lesson, lessons

SEEDS = (0, 1, 2)


def test_registry_lists_the_four_lessons_in_teaching_order():
    names = [lesson.name for lesson in lessons()]
    assert names[:4] == ["sharing", "conflict", "paradox", "pareto"]
    for lesson in lessons():
        assert isinstance(lesson, Lesson) and lesson.title and lesson.text and lesson.effect_label
        assert lesson.control.default in lesson.control.options
    assert get_lesson("sharing").cache_key(0.9, 0) != get_lesson("sharing").cache_key(0.0, 0)
    # A control that does not retrain shares one cached result across its values.
    assert get_lesson("paradox").cache_key(0.0, 0) == get_lesson("paradox").cache_key(1.0, 0)


def test_unknown_lesson_is_a_clear_error():
    from mtl.errors import ConfigError

    with pytest.raises(ConfigError, match="Unknown lesson 'nope'"):
        get_lesson("nope")


#: Each lesson must train in under 10 s on two cores. Checked as CPU time on one torch
#: thread, which a busy machine barely changes (several threads spin while they wait for a
#: core and inflate it: 15-29 s measured at load 27 for a 2-5 s training); one core's time
#: bounds two cores' wall time. Measured 2-4.5 s per lesson setting (the conflict lesson's
#: two runs 4.2-4.4 s), 7.3 s for a process's first training.
TRAIN_CPU_SECONDS = 10.0


def _train(lesson, value, seed):
    import time

    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        begin = time.process_time()
        trained = lesson.train(value, seed)
        seconds = time.process_time() - begin
    finally:
        torch.set_num_threads(threads)
    assert seconds < TRAIN_CPU_SECONDS, (lesson.name, value, seed, seconds)
    return trained


def _effects(name: str, value) -> list[float]:
    lesson = get_lesson(name)
    out = []
    for seed in SEEDS:
        trained = _train(lesson, value, seed)
        view = lesson.view(trained, value)
        assert isinstance(view, LessonView) and view.figure.data and view.what_you_see
        out.append(lesson.effect(trained))
    return out


@pytest.mark.slow
def test_sharing_helps_a_sparse_related_task_and_not_an_unrelated_one():
    related = _effects("sharing", 0.9)
    unrelated = _effects("sharing", 0.0)
    assert min(related) >= 0.02, related             # +0.02 AUC or more on every seed
    assert np.mean(unrelated) < np.mean(related) - 0.03, (related, unrelated)
    assert all(u < r for u, r in zip(unrelated, related)), (related, unrelated)


@pytest.mark.slow
def test_conflict_static_moves_against_a_task_and_the_conflict_aware_method_does_not():
    lesson = get_lesson("conflict")
    method = lesson.control.default
    gains = []
    for seed in SEEDS:
        t = _train(lesson, method, seed)
        s, m = t["static"], t["method"]
        # Conflict by construction: a clearly negative cosine (measured -0.35, -0.40, -0.41),
        # negative in nearly every batch.
        assert s["cos"] <= -0.3 and s["conflict"] > 0.9, s
        # Static weights step against a task on nearly every batch (measured 99-100%);
        # the conflict-aware method never does.
        assert s["against"] > 0.9, s
        assert m["against"] == 0, m
        assert lesson.effect(t) > 0.9
        # What that buys the weaker task: the like's test AUC (measured +0.016, +0.016, +0.014),
        # for at most a small cost to the click.
        gains.append(lesson.weaker_task_gain(t))
        assert gains[-1] > 0.005, (seed, s["auc"], m["auc"])
        assert m["logloss"]["like"] < s["logloss"]["like"], (s["logloss"], m["logloss"])
        assert m["auc"]["click"] > s["auc"]["click"] - 0.01, (s["auc"], m["auc"])
        view = lesson.view(t, method)
        assert f"{s['cos']:+.2f}" in view.what_you_see and f"{gains[-1]:+.3f}" in view.what_you_see
    assert np.mean(gains) > 0.01, gains


@pytest.mark.slow
def test_paradox_clicks_alone_lose_relevance_while_efficiency_barely_moves():
    lesson = get_lesson("paradox")
    gains, drops = [], []
    for seed in SEEDS:
        t = _train(lesson, None, seed)
        view = lesson.view(t, 0.0)
        nums = view.numbers
        # Only viewers whose top 10 the ranking chooses are counted, and the text says how many.
        assert f"the {t['curve'].n_users:,} of {t['curve'].users_ranked:,} viewers" in view.what_you_see
        gains.append(nums["gain"])
        drops.append(nums["efficiency_drop"])
        # Measured on seeds 0-2: gain +0.172/+0.116/+0.167 NDCG, click rate -1.3/-1.4/-1.0 points
        # (seeds 3-5: +0.150/+0.136/+0.132 for -1.1 points each), over the users with more than
        # 10 held-out videos (the curve counts only those).
        assert nums["gain"] >= 0.07, nums  # the fused ranking beats clicks alone on relevance
        assert nums["efficiency_drop"] < 0.015, nums  # efficiency barely moves: under 1.5 points, every seed
        curve = t["curve"]
        oracle = curve.oracle
        assert oracle is not None
        # The oracle bends the same way, more, and clicks alone lose against it too.
        o_clicks, o_fused = (lesson._point(oracle, a)["relevance_ndcg_at_k"] for a in (0.0, 0.5))
        assert o_fused - o_clicks >= 0.04 and o_fused - nums["ndcg_clicks"] >= 0.1, (o_clicks, o_fused, nums)
        fig = lesson.view(t, 0.0).figure
        xr, yr = fig.layout.xaxis.range, fig.layout.yaxis.range
        for trace in fig.data:
            assert min(trace.x) >= xr[0] and max(trace.x) <= xr[1]
            assert min(trace.y) >= yr[0] and max(trace.y) <= yr[1]
        # The curve spans a visible range on both axes (alpha from 0 to 1).
        assert curve.points["efficiency_at_k"].max() - curve.points["efficiency_at_k"].min() > 0.02
        assert curve.points["relevance_ndcg_at_k"].max() - curve.points["relevance_ndcg_at_k"].min() > 0.01
    # On average relevance moves far more than efficiency (measured +0.152 NDCG vs -1.19 points of click rate;
    # counting users whose top 10 held every video it was -0.77, which the old bound of 1.2 points was set on).
    assert np.mean(gains) >= 0.1 and np.mean(drops) < 0.013, (gains, drops)


@pytest.mark.slow
def test_pareto_front_exists_and_one_conditioned_model_costs_less_than_the_retrains():
    lesson = get_lesson("pareto")
    for seed in SEEDS:
        t = _train(lesson, None, seed)
        assert lesson.effect(t) > 0.005, seed
        low, high = lesson.view(t, 0.05).numbers, lesson.view(t, 0.95).numbers
        assert low["time_ratio"] > 1.5  # one conditioned model costs less than the retrains
        assert np.isfinite(high["fidelity_gap"])  # measured against the retrains, not assumed
        # Retraining noise is measured (the middle weighting with the next seed), not assumed.
        assert 0 < high["noise_click"] < 0.2 and 0 < high["noise_like"] < 0.2, high
        view = lesson.view(t, 0.95)
        sentence = view.what_you_see
        assert "stays within" not in sentence and f"{high['gain_like']:+.3f} like AUC" in sentence
        assert f"by {high['noise_click']:.3f}" in sentence
        # Measured on seeds 0-2: the conditioned model moves by 0.001-0.006 AUC across the
        # weightings, the retrains by 0.29-0.34; the sentence must say it does not trade off.
        assert high["spread_click"] < 0.1 * low["click_range"] and high["flat"] == 1.0, high
        assert "does not trade off" in sentence
        # Any retrain below chance is named, and chance is drawn in view on both axes.
        below = [p for p in t["sweep"].points if min(p.test[k]["auc"] for k in ("click", "like")) < 0.5]
        assert ("worse than chance" in sentence) == bool(below)
        fig = view.figure
        chance = [s for s in fig.layout.shapes if 0.5 in (s.x0, s.y0) and (s.x0 == s.x1 or s.y0 == s.y1)]
        assert len(chance) == 2
        assert fig.layout.xaxis.range[0] < 0.5 < fig.layout.xaxis.range[1]
        assert fig.layout.yaxis.range[0] < 0.5 < fig.layout.yaxis.range[1]
