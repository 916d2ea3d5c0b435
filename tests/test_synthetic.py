"""Tests of the feed-log simulator (mtl.data.synthetic)."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from mtl.data.synthetic import (
    COLUMNS,
    START_TIMESTAMP,
    SimulationConfig,
    bayes_auc,
    simulate,
    write,
)

SMALL = dict(n_users=300, n_items=400, n_impressions=5_000)


@pytest.fixture(scope="module")
def default_df() -> pd.DataFrame:
    # Default users/items/exposure, fewer impressions to stay fast.
    return simulate(n_impressions=40_000, seed=11)


def test_deterministic_by_seed():
    a = simulate(**SMALL, seed=3)
    b = simulate(SimulationConfig(**SMALL, seed=3))
    pd.testing.assert_frame_equal(a, b)
    c = simulate(**SMALL, seed=4)
    assert not a[["user_id", "item_id", "click"]].equals(c[["user_id", "item_id", "click"]])


def test_overrides_replace_config_fields():
    cfg = SimulationConfig(**SMALL, seed=5, exposure="random")
    a = simulate(cfg, seed=6)
    b = simulate(SimulationConfig(**SMALL, seed=6, exposure="random"))
    pd.testing.assert_frame_equal(a, b)


def test_columns_and_dtypes(default_df):
    df = default_df
    assert tuple(df.columns) == COLUMNS
    for col in ("user_id", "item_id", "timestamp", "click", "like", "long_view"):
        assert df[col].dtype == np.int64, col
    for col in ("user_activity", "watch_time", "rating", "true_click", "true_like",
                "true_long_view"):
        assert df[col].dtype == np.float64, col
    for col in ("item_category", "item_title"):
        assert pd.api.types.is_string_dtype(df[col]), col
        assert df[col].map(type).eq(str).all(), col
    assert len(df) == 40_000
    assert df.index.equals(pd.RangeIndex(len(df)))


def test_timestamps_sorted_and_within_days(default_df):
    ts = default_df["timestamp"]
    assert ts.is_monotonic_increasing
    assert ts.min() >= START_TIMESTAMP
    assert ts.max() < START_TIMESTAMP + 14 * 86_400
    days = (ts - START_TIMESTAMP) // 86_400
    assert days.nunique() == 14  # every day has traffic, so a time split works


def test_rates_in_stated_ranges(default_df):
    df = default_df
    assert 0.30 <= df["click"].mean() <= 0.45
    assert 0.02 <= df["like"].mean() <= 0.05
    assert 0.20 <= df["long_view"].mean() <= 0.35
    assert df["user_activity"].gt(0).all()


def test_post_click_outcomes_consistent(default_df):
    df = default_df
    no_click = df["click"] == 0
    assert (df["watch_time"].isna() == no_click).all()
    assert (df["rating"].isna() == no_click).all()
    assert (df.loc[no_click, ["like", "long_view"]] == 0).all().all()
    clicked = df[~no_click]
    assert clicked["watch_time"].gt(0).all()
    assert set(clicked["rating"].unique()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert clicked["rating"].nunique() == 5
    # A long view is a watch of at least 18 seconds.
    assert (clicked["long_view"] == (clicked["watch_time"] >= 18.0)).all()
    # Watch time is heavy-tailed: the mean is well above the median.
    assert clicked["watch_time"].mean() > 1.3 * clicked["watch_time"].median()
    for col in ("true_click", "true_like", "true_long_view"):
        assert df[col].between(0, 1).all(), col
    assert (df["true_like"] <= df["true_click"]).all()
    assert (df["true_long_view"] <= df["true_click"]).all()


def test_items_have_one_category_and_title(default_df):
    per_item = default_df.groupby("item_id")[["item_category", "item_title"]].nunique()
    assert (per_item == 1).all().all()
    items = default_df.drop_duplicates("item_id")
    assert (items.apply(lambda r: r["item_title"].startswith(r["item_category"] + ": "),
                        axis=1)).all()
    assert items["item_title"].is_unique
    assert items["item_category"].nunique() == 12
    bait = items["item_title"].str.contains("You won't believe|SHOCKING|THIS happened|WRONG")
    assert 0 < bait.mean() < 0.3


def test_many_categories_get_numbered_names():
    df = simulate(n_users=50, n_items=600, n_impressions=2_000, n_categories=25, seed=1)
    names = set(df["item_category"])
    assert "Cooking 2" in names or "Travel 2" in names
    assert all(name.strip() for name in names)


def test_more_impressions_keep_users_and_items():
    a = simulate(**SMALL, seed=2).drop_duplicates("item_id").set_index("item_id")
    b = simulate(**{**SMALL, "n_impressions": 8_000}, seed=2)
    b = b.drop_duplicates("item_id").set_index("item_id")
    common = a.index.intersection(b.index)
    assert len(common) > 100
    pd.testing.assert_series_equal(a.loc[common, "item_title"], b.loc[common, "item_title"])


def _item_corr(rho: float) -> float:
    df = simulate(n_users=500, n_items=300, n_impressions=20_000,
                  appeal_quality_corr=rho, seed=1)
    like_given_click = df["true_like"] / df["true_click"]
    g = df.assign(like_given_click=like_given_click).groupby("item_id")
    means = g[["true_click", "like_given_click"]].mean()
    return float(means["true_click"].corr(means["like_given_click"]))


def test_appeal_quality_corr_changes_click_like_relation():
    high, low = _item_corr(0.9), _item_corr(-0.5)
    assert high > 0.5
    assert low < 0.0
    assert high - low > 0.6


def test_bayes_auc(default_df):
    for task in ("click", "like", "long_view"):
        auc = bayes_auc(default_df, task)
        assert 0.6 < auc < 1.0, (task, auc)
    with pytest.raises(ValueError, match="true_rating"):
        bayes_auc(default_df, "rating")


def test_exposure_policies_differ():
    def top_share(df: pd.DataFrame) -> float:
        counts = df["item_id"].value_counts()
        return counts.iloc[: max(1, len(counts) // 100)].sum() / len(df)  # top-1% items

    kw = dict(n_users=500, n_items=2_000, n_impressions=20_000, seed=0)
    rand = simulate(**kw, exposure="random")
    pop = simulate(**kw, exposure="popular")
    pers = simulate(**kw, exposure="personalized")
    assert top_share(pop) > 3 * top_share(rand)
    assert pop["item_id"].nunique() < rand["item_id"].nunique()
    # Personalization shows users better-matched items, so they click more.
    assert pers["true_click"].mean() > rand["true_click"].mean() + 0.03


def _calibration_gaps(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> list[tuple]:
    """Per quantile bin of ``p``: (|mean label - mean p|, allowed gap)."""
    order = np.argsort(p, kind="stable")
    out = []
    for idx in np.array_split(order, n_bins):
        yb, pb = y[idx].astype(float), p[idx]
        # 4 standard errors of a mean of Bernoulli(pb) draws, plus the 4-decimal rounding.
        allowed = 4.0 * np.sqrt(np.sum(pb * (1.0 - pb))) / len(idx) + 1e-3
        out.append((abs(yb.mean() - pb.mean()), allowed, pb.mean()))
    return out


def test_labels_are_calibrated_against_truth(default_df):
    # true_<task> is the probability each label was drawn from: within every bin of
    # true_<task>, the share of positives matches the bin's mean probability.
    df = default_df
    for task in ("click", "like", "long_view"):
        for gap, allowed, p in _calibration_gaps(df[task].to_numpy(), df[f"true_{task}"].to_numpy()):
            assert gap <= allowed, (task, p, gap, allowed)
    # The same holds given a click, for P(like | click) and P(long view | click).
    clicked = df[df["click"] == 1]
    for task in ("like", "long_view"):
        p_cond = (clicked[f"true_{task}"] / clicked["true_click"]).to_numpy()
        for gap, allowed, p in _calibration_gaps(clicked[task].to_numpy(), p_cond):
            assert gap <= allowed, (task, "given click", p, gap, allowed)


def test_truth_is_exact_per_user_item_pair():
    # A tiny catalogue seen very often: for every (user, item) pair the share of
    # positives matches true_<task> to within sampling error, with noise present.
    df = simulate(n_users=3, n_items=4, n_impressions=300_000, exposure="random",
                  task_noise=1.5, seed=1)
    agg = df.groupby(["user_id", "item_id"]).agg(
        n=("click", "size"), click=("click", "mean"), like=("like", "mean"),
        long_view=("long_view", "mean"), true_click=("true_click", "first"),
        true_like=("true_like", "first"), true_long_view=("true_long_view", "first"))
    assert len(agg) == 12 and agg["n"].min() > 5_000
    for task in ("click", "like", "long_view"):
        p = agg[f"true_{task}"]
        z = (agg[task] - p) / np.sqrt(p * (1 - p) / agg["n"])
        assert z.abs().max() < 4.5, (task, z.round(2).tolist())


def test_truth_depends_only_on_user_and_item(default_df):
    # The per-impression noise is integrated out: true_<task> is P(label | user, item,
    # time), and time has no effect, so repeated (user, item) pairs share it exactly.
    df = default_df
    pairs = df.groupby(["user_id", "item_id"])
    assert (pairs.size() > 1).sum() > 100  # enough repeated pairs to check
    for col in ("true_click", "true_like", "true_long_view"):
        assert (pairs[col].nunique() == 1).all(), col


def test_more_task_noise_flattens_truth_and_lowers_bayes_auc():
    kw = dict(n_users=500, n_items=800, n_impressions=20_000, seed=4)
    dfs = {s: simulate(**kw, task_noise=s) for s in (0.0, 1.0, 3.0)}
    # Same users, items and exposure; only the outcome noise differs.
    assert dfs[0.0]["item_id"].equals(dfs[3.0]["item_id"])
    for task in ("click", "like", "long_view"):
        aucs = [bayes_auc(dfs[s], task) for s in (0.0, 1.0, 3.0)]
        assert aucs[0] > aucs[1] + 0.01 and aucs[1] > aucs[2] + 0.03, (task, aucs)
    # Noise flattens P(click) without reordering it.
    clicks = [dfs[s]["true_click"] for s in (0.0, 1.0, 3.0)]
    assert clicks[0].std() > clicks[1].std() > clicks[2].std()
    assert clicks[0].corr(clicks[2], method="spearman") > 0.999


def test_task_noise_zero_works():
    df = simulate(**SMALL, task_noise=0.0, seed=0)
    assert 0.2 < df["click"].mean() < 0.6


@pytest.mark.parametrize(
    "overrides, words",
    [
        (dict(n_users=-1), ["n_users"]),
        (dict(n_items=0), ["n_items"]),
        (dict(n_impressions=2.5), ["n_impressions", "integer"]),
        (dict(days=0), ["days"]),
        (dict(appeal_quality_corr=1.5), ["appeal_quality_corr", "-1", "1"]),
        (dict(appeal_quality_corr=float("nan")), ["appeal_quality_corr"]),
        (dict(task_noise=-0.1), ["task_noise"]),
        (dict(exposure="trending"), ["exposure", "random", "popular", "personalized"]),
        (dict(seed=-3), ["seed"]),
        (dict(n_user=10), ["n_user", "n_users"]),
    ],
)
def test_bad_parameters_raise_value_error(overrides, words):
    with pytest.raises(ValueError) as info:
        simulate(**overrides)
    for word in words:
        assert word in str(info.value)


def test_bad_config_object_raises():
    with pytest.raises(ValueError, match="exposure"):
        SimulationConfig(exposure="Random")


def test_write_csv_gz_is_reproducible_and_round_trips(tmp_path):
    df = simulate(**SMALL, seed=8)
    p1, p2 = tmp_path / "a" / "feed.csv.gz", tmp_path / "feed2.csv.gz"
    write(df, p1)
    write(df, p2)
    assert p1.read_bytes() == p2.read_bytes()
    assert p1.read_bytes()[4:8] == b"\0\0\0\0"  # gzip mtime 0
    with gzip.open(p1, "rt") as f:
        assert f.readline().strip() == ",".join(COLUMNS)
    back = pd.read_csv(p1)
    assert list(back.columns) == list(COLUMNS)
    pd.testing.assert_frame_equal(back, df, check_dtype=False)


def test_write_parquet_and_plain_csv(tmp_path):
    df = simulate(**SMALL, seed=9)
    write(df, tmp_path / "feed.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "feed.parquet"), df,
                                  check_dtype=False)
    write(df, tmp_path / "feed.csv")
    assert len(pd.read_csv(tmp_path / "feed.csv")) == len(df)
    with pytest.raises(ValueError, match=".parquet"):
        write(df, tmp_path / "feed.xlsx")


# --- scenario knobs used by the Learn page's lessons ---------------------------------
def test_scenario_knobs_default_to_the_usual_feed():
    base = simulate(n_users=50, n_items=80, n_impressions=2000, seed=4)
    same = simulate(n_users=50, n_items=80, n_impressions=2000, seed=4, click_gate=True, like_offset=0.0,
                    match_strength=1.0, outcome_coupling=0.0, click_offset=0.0, quality_strength=1.0,
                    item_properties=False)
    pd.testing.assert_frame_equal(base, same)


def test_click_offset_quality_strength_and_item_properties():
    kw = dict(n_users=100, n_items=200, n_impressions=20_000, seed=2, click_gate=False)
    base = simulate(**kw)
    more = simulate(**kw, click_offset=1.2, quality_strength=2.0, item_properties=True)
    assert more["click"].mean() > base["click"].mean() + 0.15
    assert abs(more["click"].mean() - more["true_click"].mean()) < 0.01  # still the truth
    # The item features are each video's own appeal and quality: one value per video,
    # and likes follow quality more surely when it pulls harder.
    assert (more.groupby("item_id")[["item_appeal", "item_quality"]].nunique() == 1).all().all()
    assert more["true_like"].corr(more["item_quality"]) > base["true_like"].corr(more["item_quality"])
    assert "item_appeal" not in base


def test_without_the_click_gate_every_impression_is_watched():
    df = simulate(n_users=100, n_items=200, n_impressions=20_000, seed=2, click_gate=False)
    assert ((df["like"] == 1) & (df["click"] == 0)).any()
    assert df["watch_time"].notna().all() and df["rating"].notna().all()
    # The truth is the like probability itself, and it is calibrated.
    assert abs(df["like"].mean() - df["true_like"].mean()) < 0.01


def test_like_offset_makes_likes_sparser_and_match_strength_weakens_taste():
    dense = simulate(n_users=100, n_items=200, n_impressions=20_000, seed=2, click_gate=False)
    sparse = simulate(n_users=100, n_items=200, n_impressions=20_000, seed=2, click_gate=False, like_offset=-2.0)
    assert sparse["like"].mean() < dense["like"].mean() / 2.5
    flat = simulate(n_users=100, n_items=200, n_impressions=20_000, seed=2, match_strength=0.0)
    assert flat["true_click"].std() < dense["true_click"].std()
    # appeal_strength flattens the click rates across videos and leaves likes alone.
    weak = simulate(n_users=100, n_items=200, n_impressions=20_000, seed=2, click_gate=False, appeal_strength=0.3)
    assert weak["true_click"].std() < 0.85 * dense["true_click"].std()
    pd.testing.assert_series_equal(weak["true_like"], dense["true_like"])


def test_outcome_coupling_correlates_the_draws_and_keeps_the_truth():
    kw = dict(n_users=100, n_items=200, n_impressions=30_000, seed=3, click_gate=False, like_offset=2.0)
    free = simulate(**kw)
    coupled = simulate(**kw, outcome_coupling=-0.9)
    pd.testing.assert_series_equal(free["true_like"], coupled["true_like"])
    assert abs(coupled["like"].mean() - coupled["true_like"].mean()) < 0.01  # marginal unchanged
    corr = lambda df: np.corrcoef(df["click"], df["like"])[0, 1]
    assert corr(coupled) < corr(free) - 0.1


@pytest.mark.parametrize("overrides, words", [
    ({"click_gate": "yes"}, "click_gate"),
    ({"like_offset": float("nan")}, "like_offset"),
    ({"match_strength": -1.0}, "match_strength"),
    ({"appeal_strength": -0.5}, "appeal_strength"),
    ({"quality_strength": -1.0}, "quality_strength"),
    ({"click_offset": float("inf")}, "click_offset"),
    ({"item_properties": 1}, "item_properties"),
    ({"outcome_coupling": 1.5}, "outcome_coupling"),
])
def test_bad_scenario_knobs_raise(overrides, words):
    with pytest.raises(ValueError, match=words):
        simulate(n_users=10, n_items=10, n_impressions=100, **overrides)
