"""Recommendations (mtl.recommend): top-K, fusion, history and rank changes."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from _fixtures import FEED_TASKS, feed_frame, trained_feed

from mtl.errors import ConfigError, DataError
from mtl.recommend import (
    MIN_SIGNAL,
    check_fusion,
    contributions,
    damped_notes,
    fuse,
    fusion_signal,
    history,
    outcome_scales,
    parse_fusion,
    rank_changes,
    recommend,
    score_candidates,
    top_k,
    users,
)
from mtl.tasks import TaskSpec


@pytest.fixture(scope="module")
def trained():
    return trained_feed()[2].trained


@pytest.fixture(scope="module")
def user(trained):
    return users(trained)[0]   # the most active user: many seen items


@pytest.fixture(scope="module")
def scores(trained, user):
    return score_candidates(trained, user)


def _seen_items(user) -> set[str]:
    df = feed_frame()
    return set(df.loc[df.user_id.astype(str) == str(user), "item_id"].astype(str))


# ------------------------------------------------------------------- top-K
def test_recommend_returns_k_rows_sorted_by_score(trained, user):
    top = recommend(trained, user, k=7)
    assert len(top) == 7
    assert list(top["rank"]) == list(range(1, 8))
    assert top["score"].is_monotonic_decreasing
    assert top["item_id"].is_unique
    for col in ("item_id", "seen", "score", "item_title", "item_category", *FEED_TASKS):
        assert col in top.columns, col
    assert top["click"].between(0, 1).all() and top["like"].between(0, 1).all()
    assert top["item_title"].notna().all() and top["item_category"].notna().all()


def test_recommend_excludes_seen_items_by_default(trained, user):
    seen = _seen_items(user)
    assert len(seen) > 10
    n_items = len(trained.items)
    top = recommend(trained, user, k=n_items)
    assert len(top) == n_items - len(seen)
    assert not top["seen"].any()
    assert not (set(top["item_id"].astype(str)) & seen)
    everything = recommend(trained, user, k=n_items, exclude_seen=False)
    assert len(everything) == n_items
    assert set(everything.loc[everything["seen"], "item_id"].astype(str)) == seen


def test_user_id_forms_are_accepted(trained, user):
    a = recommend(trained, user, k=3)
    for form in (int(user), f"{user}.0", f" {user} "):
        pd.testing.assert_frame_equal(recommend(trained, form, k=3), a)


def test_item_metadata_matches_the_catalogue(trained, user):
    top = recommend(trained, user, k=5)
    df = feed_frame().drop_duplicates("item_id").set_index("item_id")
    for _, row in top.iterrows():
        assert df.loc[row["item_id"], "item_title"] == row["item_title"]
        assert df.loc[row["item_id"], "item_category"] == row["item_category"]


def test_predictions_in_recommendations_match_the_model(trained, user, scores):
    # Per-task columns are the model's predictions for the user x item rows.
    top = recommend(trained, user, k=5)
    merged = top.merge(scores, on="item_id", suffixes=("", "_all"))
    assert np.allclose(merged["click"], merged["click_all"]) and np.allclose(merged["like"], merged["like_all"])


@pytest.mark.parametrize("task", FEED_TASKS)
def test_fusion_on_one_task_ranks_by_that_task(trained, user, scores, task):
    top = recommend(trained, user, k=15, fusion={task: 1.0})
    assert top[task].is_monotonic_decreasing
    unseen = scores[~scores["seen"]].sort_values(task, ascending=False, kind="stable")
    assert list(top["item_id"]) == list(unseen["item_id"].iloc[:15])


def test_fusion_changes_the_ranking(trained, user):
    by_click = recommend(trained, user, k=10, fusion={"click": 1.0})
    by_like = recommend(trained, user, k=10, fusion={"like": 1.0})
    mixed = recommend(trained, user, k=10, fusion={"like": 0.7, "click": 0.3})
    assert list(by_click["item_id"]) != list(by_like["item_id"])
    assert list(mixed["item_id"]) != list(by_click["item_id"])
    # Scaling all weights does not change the order; a negative weight reverses one task.
    scaled = recommend(trained, user, k=10, fusion={"like": 7.0, "click": 3.0})
    assert list(scaled["item_id"]) == list(mixed["item_id"])
    worst = recommend(trained, user, k=10, fusion={"like": -1.0})
    assert worst["like"].is_monotonic_increasing


def test_default_fusion_is_equal_weights(trained, user):
    a = recommend(trained, user, k=10)
    b = recommend(trained, user, k=10, fusion={"click": 1.0, "like": 1.0})
    assert list(a["item_id"]) == list(b["item_id"])
    assert np.allclose(a["score"], b["score"])


def test_candidates_restrict_the_catalogue(trained, user, scores):
    unseen = scores.loc[~scores["seen"], "item_id"].astype(str).tolist()[:4]
    top = recommend(trained, user, k=10, candidates=unseen)
    assert sorted(top["item_id"].astype(str)) == sorted(unseen)
    with pytest.raises(DataError):
        recommend(trained, user, candidates=["no-such-item"])


def test_k_must_be_positive(trained, user):
    with pytest.raises(ConfigError):
        recommend(trained, user, k=0)


# ------------------------------------------------------------------ fusion
def test_fuse_uses_per_task_z_scores():
    scores = pd.DataFrame({"a": [0.1, 0.2, 0.3, 0.6], "b": [10.0, 30.0, 20.0, 0.0], "c": [5.0] * 4})
    got = fuse(scores, {"a": 0.7, "b": 0.3, "c": 2.0})
    za = (scores.a - scores.a.mean()) / scores.a.std(ddof=0)
    zb = (scores.b - scores.b.mean()) / scores.b.std(ddof=0)
    assert np.allclose(got, 0.7 * za + 0.3 * zb)   # a constant task contributes nothing
    # Scale-free: multiplying a task's predictions by 1000 changes nothing.
    bigger = scores.assign(b=scores.b * 1000 + 5)
    assert np.allclose(fuse(bigger, {"a": 0.7, "b": 0.3}), got)
    assert np.allclose(fuse(scores, {"a": 1.0}), za)


def _noisy_rare_task(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Candidates of one user: click with real signal; follow (0.03% base rate) that the
    model cannot tell apart between items: the same value up to noise in the 6th decimal."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"item_id": np.arange(n), "click": rng.beta(2, 4, n),
                         "follow": 0.0003 + 1e-6 * rng.standard_normal(n)})


def test_a_task_without_signal_cannot_decide_the_ranking():
    scores = _noisy_rare_task()
    equal = {"click": 1.0, "follow": 1.0}
    # A plain per-user z-score would stretch follow's noise to the spread of click and
    # let it reorder the list (the KuaiRand is_follow case of issue 10).
    z = {c: (scores[c] - scores[c].mean()) / scores[c].std(ddof=0) for c in ("click", "follow")}
    plain_top = set(scores.item_id[np.argsort(-(z["click"] + z["follow"]).to_numpy())[:10]])
    by_click = set(scores.nlargest(10, "click").item_id)
    assert len(plain_top & by_click) < 8
    top = top_k(scores, equal, 10)
    assert set(top.item_id) == by_click
    # follow counts in proportion to its spread: a hundredth of a unit, not a full z-score.
    assert top["follow contribution"].abs().max() < 0.01
    signal = fusion_signal(scores, equal).set_index("task")
    assert signal.loc["click", "strength"] == 1.0 and signal.loc["follow", "strength"] < 0.01
    notes = damped_notes(fusion_signal(scores, equal))
    assert len(notes) == 1 and notes[0].startswith("follow:")


def test_contributions_add_up_to_the_fused_score_and_are_in_the_ranking():
    scores = _noisy_rare_task(50).assign(like=np.linspace(0.01, 0.05, 50))
    fusion = {"click": 0.5, "like": 1.0, "follow": -0.2}
    parts = contributions(scores, fusion)
    assert list(parts.columns) == ["click", "like", "follow"]
    assert np.allclose(parts.sum(axis=1), fuse(scores, fusion))
    top = top_k(scores, fusion, 5)
    assert np.allclose(top[["click contribution", "like contribution", "follow contribution"]].sum(axis=1), top.score)


def test_regression_tasks_floor_at_their_label_scale():
    scores = pd.DataFrame({"watch": [30.0, 30.001, 29.999, 30.0], "click": [0.1, 0.5, 0.3, 0.2]})
    # Watch time predictions differ by a millisecond; the label's training std is 20 s.
    parts = contributions(scores, {"watch": 1.0, "click": 1.0}, {"watch": 20.0, "click": None})
    assert parts["watch"].abs().max() < 1e-3
    expected = (scores.watch - 30.0) / (MIN_SIGNAL * 20.0)
    assert np.allclose(parts["watch"], expected)
    # Without a scale a non-probability task falls back to a plain z-score.
    assert contributions(scores, {"watch": 1.0})["watch"].abs().max() > 1


def test_outcome_scales_of_a_trained_model(trained):
    assert outcome_scales(trained) == {"click": None, "like": None}
    model = SimpleNamespace(tasks=[TaskSpec("click", "binary"), TaskSpec("watch", "regression", mean=30.0, std=12.5),
                                   TaskSpec("genre", "multiclass", classes=(1, 2, 3))])
    assert outcome_scales(model) == {"click": None, "watch": 12.5}


def test_top_k_ties_are_stable_and_seen_filter():
    scores = pd.DataFrame({"item_id": list("abcd"), "seen": [False, True, False, False], "p": [1.0, 3.0, 1.0, 0.0]})
    top = top_k(scores, {"p": 1.0}, k=3)
    assert list(top.item_id) == ["a", "c", "d"]
    assert list(top_k(scores, {"p": 1.0}, k=2, exclude_seen=False).item_id) == ["b", "a"]


def test_parse_fusion():
    assert parse_fusion("like=0.7,click=0.3") == {"like": 0.7, "click": 0.3}
    assert parse_fusion(" like = 1 , click=-0.5, ") == {"like": 1.0, "click": -0.5}
    assert parse_fusion("x=1e-2") == {"x": 0.01}
    assert parse_fusion("") == {}


@pytest.mark.parametrize("text", ["like", "like=0.7,click", "like:0.7", "like=abc", "like=", "like=0.7=1"])
def test_parse_fusion_rejects_bad_syntax(text):
    with pytest.raises(ConfigError):
        parse_fusion(text)


def test_check_fusion(trained):
    assert check_fusion(trained, None) == {"click": 1.0, "like": 1.0}
    assert check_fusion(trained, {}) == {"click": 1.0, "like": 1.0}
    assert check_fusion(trained, {"like": 2.0}) == {"like": 2.0}
    with pytest.raises(ConfigError, match="watch_time") as err:
        check_fusion(trained, {"watch_time": 1.0})
    assert "click" in str(err.value) and "like" in str(err.value)
    with pytest.raises(ConfigError, match="non-zero"):
        check_fusion(trained, {"like": 0.0, "click": 0})
    with pytest.raises(ConfigError):
        check_fusion(trained, {"like": float("inf")})
    with pytest.raises(ConfigError):
        recommend(trained, users(trained)[0], fusion={"nope": 1.0})


def test_check_fusion_rejects_multiclass_and_skips_it_by_default():
    model = SimpleNamespace(tasks=[TaskSpec("click", "binary"), TaskSpec("mood", "multiclass", classes=(0, 1, 2))],
                            task_names=["click", "mood"])
    assert check_fusion(model, None) == {"click": 1.0}
    with pytest.raises(ConfigError, match="multiclass"):
        check_fusion(model, {"mood": 1.0})


# ------------------------------------------------------- users and history
def test_unknown_user_is_a_data_error_with_examples(trained):
    with pytest.raises(DataError) as err:
        recommend(trained, "no-such-user")
    msg = str(err.value)
    assert "no-such-user" in msg and "e.g." in msg
    known = set(trained.users["user_id"].astype(str))
    examples = msg.split("e.g.")[1].strip(" )").split(", ")
    assert examples and set(examples) <= known
    with pytest.raises(DataError):
        history(trained, 10**9)


def test_users_most_active_first(trained):
    ids = users(trained)
    counts = feed_frame().user_id.astype(str).value_counts()
    assert set(ids) == set(counts.index)
    assert counts[ids[0]] == counts.max()
    assert [counts[u] for u in ids] == sorted(counts.values, reverse=True)


def test_history_returns_the_users_rows(trained, user):
    h = history(trained, user)
    df = feed_frame()
    mine = df[df.user_id.astype(str) == str(user)]
    assert len(h) == len(mine) > 0
    assert (h["user_id"].astype(str) == str(user)).all()
    assert h["timestamp"].is_monotonic_decreasing        # newest first
    assert sorted(h["item_id"]) == sorted(mine["item_id"])
    assert {"click", "like", "split", "item_title", "item_category"} <= set(h.columns)
    assert set(h["split"]) <= {"train", "valid", "test"}
    assert h["click"].sum() == mine["click"].sum()
    row = h.iloc[0]
    src = mine.sort_values("timestamp", ascending=False).iloc[0]
    assert row["item_id"] == src["item_id"] and row["item_title"] == src["item_title"]


# ------------------------------------------------------------ rank changes
def test_rank_changes():
    before = pd.DataFrame({"rank": [1, 2, 3, 4], "item_id": [10, 20, 30, 40]})
    after = pd.DataFrame({"rank": [1, 2, 3, 4], "item_id": [30, 20, 50, 10]})
    ch = rank_changes(before, after, "item_id")
    assert list(ch["entered"]["item_id"]) == [50]
    assert list(ch["entered"]["rank"]) == [3]
    assert list(ch["left"]["item_id"]) == [40]
    moved = ch["moved"].sort_values("rank_before").reset_index(drop=True)
    # 20 stayed at rank 2, so it is not listed.
    assert moved.to_dict("list") == {"item_id": ["10", "30"], "rank_before": [1, 3], "rank_after": [4, 1]}


def test_rank_changes_identical_and_disjoint_lists():
    a = pd.DataFrame({"rank": [1, 2], "item_id": ["x", "y"]})
    same = rank_changes(a, a.copy(), "item_id")
    assert same["entered"].empty and same["left"].empty and same["moved"].empty
    b = pd.DataFrame({"rank": [1, 2], "item_id": ["p", "q"]})
    ch = rank_changes(a, b, "item_id")
    assert list(ch["entered"].item_id) == ["p", "q"] and list(ch["left"].item_id) == ["x", "y"]
    assert ch["moved"].empty


def test_rank_changes_between_real_fusions(trained, user):
    a = recommend(trained, user, k=10, fusion={"click": 1.0})
    b = recommend(trained, user, k=10, fusion={"like": 1.0})
    ch = rank_changes(a, b, "item_id")
    assert len(ch["entered"]) == len(ch["left"])
    assert len(ch["entered"]) + len(set(a.item_id) & set(b.item_id)) == 10
    for _, m in ch["moved"].iterrows():
        assert a.loc[a.item_id.astype(str) == m.item_id, "rank"].item() == m.rank_before
        assert b.loc[b.item_id.astype(str) == m.item_id, "rank"].item() == m.rank_after
