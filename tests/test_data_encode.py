"""FeatureEncoder: categorical codes, numeric scaling, leakage-free id statistics, levels, JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mtl.data import RoleOverrides, infer_schema, prepare
from mtl.data.encode import FeatureEncoder, canonical, canonical_codes, target_encoding


# ------------------------------------------------------------------ canonical
def test_canonical_same_value_same_string():
    assert canonical(pd.Series([7, 8])).tolist() == ["7", "8"]
    assert canonical(pd.Series([7.0, 8.0])).tolist() == ["7", "8"]
    assert canonical(pd.Series(["7", "8"])).tolist() == ["7", "8"]
    assert canonical(pd.Series(["7", "8"], dtype=object)).tolist() == ["7", "8"]
    assert canonical(pd.Series([7, 8], dtype="Int64")).tolist() == ["7", "8"]
    assert canonical(pd.Series([True, False])).tolist() == ["1", "0"]
    assert canonical(pd.Series([1.5, 2.0])).tolist() == ["1.5", "2.0"]


def test_canonical_keeps_missing_missing():
    for s in (pd.Series([7.0, np.nan]), pd.Series([7, None], dtype="Int64"), pd.Series(["7", None], dtype=object),
              pd.Series([1.5, np.nan])):
        out = canonical(s)
        assert out.iloc[0] in ("7", "1.5")
        assert pd.isna(out.iloc[1])


def test_canonical_keeps_large_integer_ids_distinct():
    ids = pd.Series([2**53, 2**53 + 1, 1234567890123456789], dtype="int64")
    assert canonical(ids).tolist() == ["9007199254740992", "9007199254740993", "1234567890123456789"]


# ------------------------------------------------------------------ helpers
def _frame(n=400, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    users = rng.integers(0, 30, n)
    items = rng.integers(0, 40, n)
    return pd.DataFrame(
        {
            "user_id": users,
            "item_id": items,
            "hour": rng.integers(0, 24, n),  # varies within user and item: context
            "item_cat": np.array(list("abcdefgh"))[items % 8],  # a function of the item
            "user_age": (18 + users % 50).astype(float) + 0.5,  # a function of the user
            "score": rng.normal(5.0, 2.0, n),
            "heavy": rng.lognormal(0.0, 2.0, n),  # non-negative, heavy right tail
            "signed_heavy": rng.lognormal(0.0, 2.0, n) * rng.choice([-1, 1], n),
            "click": rng.integers(0, 2, n),
        }
    )


def _fit(train: pd.DataFrame, **ov):
    schema = infer_schema(train, RoleOverrides(**ov) if ov else None)
    return schema, FeatureEncoder.fit(train, schema)


# ------------------------------------------------------------------ categorical
@pytest.mark.parametrize("s", [
    pd.Series([7, 8, 7, None, 9], dtype="Int64"), pd.Series([7.0, np.nan, 8.0, np.inf, 7.0]),
    pd.Series([1.5, 2.0, 1.5]), pd.Series([7, "7", None, "x"], dtype=object),
    pd.Series(["b", "a", None, "b"], dtype="str"), pd.Series([True, False, True]),
    pd.Series(np.array([3, 1, 3, 2], dtype=np.int8)), pd.Series([2**63 + 5.0, 2**63 + 4096.0, np.nan]),
    pd.Series(pd.Categorical(["u", "v", None, "u"])), pd.Series([], dtype=float),
])
def test_canonical_codes_are_canonical_on_distinct_values(s):
    codes, categories = canonical_codes(s)
    strings = canonical(s)
    assert len(codes) == len(s) and len(set(categories)) == len(categories)
    assert ((codes < 0) == strings.isna().to_numpy()).all()
    assert [categories[c] for c in codes if c >= 0] == strings.dropna().tolist()


def test_canonical_codes_merge_equal_numbers_of_a_mixed_column():
    # canonical() writes 7.0 of a text column as "7.0"; as a distinct value it is 7's
    # equal (Python hashes them alike), the same category, as canonical() means it.
    codes, categories = canonical_codes(pd.Series([7, "7", 7.0, None], dtype=object))
    assert categories.tolist() == ["7"] and codes.tolist() == [0, 0, 0, -1]


def test_target_encoding_is_scikit_learns_auto_smoothing():
    from sklearn.preprocessing import TargetEncoder

    rng = np.random.default_rng(0)
    for y in (rng.integers(0, 2, 3000).astype(float), rng.lognormal(size=3000), np.ones(3000)):
        codes = rng.integers(0, 60, 3000) ** 2 % 97  # uneven counts, some codes never seen
        te = TargetEncoder(target_type="continuous", smooth="auto").fit(codes.reshape(-1, 1), y)
        encoding, mean = target_encoding(codes, y, 97)
        assert mean == te.target_mean_
        np.testing.assert_array_equal(encoding[te.categories_[0]], te.encodings_[0])
        unseen = np.setdiff1d(np.arange(97), codes)
        assert len(unseen) and (encoding[unseen] == te.target_mean_).all()  # as an unknown category


def test_vocab_and_oov_code_zero():
    train = pd.DataFrame({"color": ["red", "red", "blue", "green", "red", "blue"], "click": [0, 1, 0, 1, 1, 0]})
    schema, enc = _fit(train)
    assert enc.vocab["color"] == ["red", "blue", "green"]  # most frequent first
    assert enc.cardinalities == [4]
    other = pd.DataFrame({"color": ["green", "purple", None, "red"]})
    x_cat, _ = enc.transform(other)
    assert x_cat[:, 0].tolist() == [3, 0, 0, 1]  # unseen and missing -> 0


def test_id_codes_match_across_dtypes():
    train = pd.DataFrame({"user_id": [5, 6, 7, 5, 6, 5], "item_id": [1, 2, 1, 2, 1, 2], "click": [0, 1, 0, 1, 1, 0]})
    schema, enc = _fit(train)
    a, _ = enc.transform(pd.DataFrame({"user_id": [5, 7, 99], "item_id": [1, 2, 3]}))
    b, _ = enc.transform(pd.DataFrame({"user_id": ["5", "7", "99"], "item_id": [1.0, 2.0, np.nan]}))
    assert np.array_equal(a, b)
    assert a[:, 0].tolist() == [1, 3, 0]
    assert b[2, 1] == 0


# ------------------------------------------------------------------ numeric
def test_numeric_standardized_with_train_statistics():
    df = _frame()
    train, other = df.iloc[:300], df.iloc[300:].copy()
    other["score"] = other["score"] + 100.0  # a different distribution must not change the scaling
    schema, enc = _fit(train)
    assert "score" in schema.numeric
    st = enc.numeric_stats["score"]
    assert not st.log
    assert st.mean == pytest.approx(train["score"].mean())
    assert st.std == pytest.approx(train["score"].std(ddof=0))
    _, x_num = enc.transform(other)
    j = enc.numeric_names.index("score")
    expected = (other["score"].to_numpy() - train["score"].mean()) / train["score"].std(ddof=0)
    assert x_num[:, j] == pytest.approx(expected, rel=1e-5)


def test_missing_numbers_become_the_training_median():
    df = _frame()
    schema, enc = _fit(df)
    st = enc.numeric_stats["score"]
    assert st.fill == pytest.approx(df["score"].median())
    probe = df.iloc[:2].copy()
    probe.loc[probe.index[0], "score"] = np.nan
    probe.loc[probe.index[1], "score"] = st.fill
    _, x_num = enc.transform(probe)
    j = enc.numeric_names.index("score")
    assert x_num[0, j] == pytest.approx(x_num[1, j])


def test_heavy_tailed_non_negative_columns_are_log_transformed():
    df = _frame()
    schema, enc = _fit(df)
    assert enc.numeric_stats["heavy"].log
    assert not enc.numeric_stats["signed_heavy"].log  # negative values: no log
    st = enc.numeric_stats["heavy"]
    logged = np.log1p(df["heavy"].to_numpy())
    assert st.mean == pytest.approx(logged.mean()) and st.std == pytest.approx(logged.std())
    _, x_num = enc.transform(df)
    j = enc.numeric_names.index("heavy")
    assert x_num[:, j] == pytest.approx((logged - st.mean) / st.std, rel=1e-4, abs=1e-5)


# ------------------------------------------------------------------ levels
def test_levels():
    df = _frame()
    schema, enc = _fit(df)
    assert enc.level["user_id"] == "user" and enc.level["item_id"] == "item"
    assert enc.level["item_cat"] == "item"
    assert enc.level["user_age"] == "user"
    assert enc.level["hour"] == "context" and enc.level["score"] == "context"
    # Context features have a typical value to score new candidates with.
    assert set(enc.context_defaults) == {c for c, lvl in enc.level.items() if lvl == "context"}
    assert enc.context_defaults["score"] == pytest.approx(df["score"].median())


def test_side_table_features_take_their_table_as_level():
    df = _frame()
    schema = infer_schema(df, side={"hour": "user"})  # pretend hour came from the user table
    enc = FeatureEncoder.fit(df, schema)
    assert enc.level["hour"] == "user"


# ------------------------------------------------------------------ id statistics
def _single_row_users(n=400, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"user_id": np.arange(n), "item_id": rng.integers(0, 20, n), "click": rng.integers(0, 2, n)})


def _stat_raw(enc: FeatureEncoder, values: np.ndarray, name: str) -> np.ndarray:
    j = [s.name for s in enc.id_stats].index(name)
    st = enc.id_stats[j]
    return values[:, j] * st.std + st.mean


def test_training_rows_get_cross_fitted_rates_that_do_not_leak_their_own_label():
    train = _single_row_users()
    schema, enc = _fit(train)
    crossfit = enc.fit_id_stats(train, schema, ["click"], seed=0)
    assert [s.name for s in enc.id_stats] == ["user_id:rows", "user_id:click", "item_id:rows", "item_id:click"]
    y = train["click"].to_numpy()
    own = _stat_raw(enc, crossfit, "user_id:click")
    # Every user has one training row: its cross-fitted rate comes from the other folds only,
    # so it says nothing about its own label.
    assert np.all(np.abs(own - y) > 0.2)
    assert np.corrcoef(own, y)[0, 1] < 0.1
    # The full-training statistics (what validation and test rows get) are the rows' own labels:
    # exactly what would leak if training rows used them.
    _, x_num = enc.transform(train)
    full = _stat_raw(enc, x_num[:, len(enc.numeric):], "user_id:click")
    assert full == pytest.approx(y, abs=1e-6)


def test_new_rows_use_full_training_statistics():
    train = _single_row_users()
    schema, enc = _fit(train)
    enc.fit_id_stats(train, schema, ["click"], seed=0)
    new = pd.DataFrame({"user_id": [3, 4, 10_000], "item_id": [1, 2, 3]})
    _, x_num = enc.transform(new)
    rate = _stat_raw(enc, x_num[:, len(enc.numeric):], "user_id:click")
    assert rate[:2] == pytest.approx(train["click"].iloc[[3, 4]].to_numpy(), abs=1e-6)
    stat = next(s for s in enc.id_stats if s.name == "user_id:click")
    assert rate[2] == pytest.approx(stat.default)  # unseen user: the training mean
    assert stat.default == pytest.approx(train["click"].mean())
    rows = _stat_raw(enc, x_num[:, len(enc.numeric):], "user_id:rows")
    assert rows == pytest.approx(np.log1p([1, 1, 0]))


def test_rows_without_a_label_are_cross_fitted_too():
    """A label that exists only on some rows (a rating only after a click): rows without
    it must not get a value that marks them (before: exactly the full-train encoding)."""
    rng = np.random.default_rng(0)
    n = 3000
    train = pd.DataFrame({"user_id": rng.integers(0, 60, n), "item_id": rng.integers(0, 80, n),
                          "click": rng.integers(0, 2, n)})
    train["rating"] = np.where(train["click"] == 1, rng.integers(1, 6, n), np.nan)
    schema, enc = _fit(train)
    crossfit = enc.fit_id_stats(train, schema, ["click", "rating"], seed=0)
    _, x_num = enc.transform(train)
    stats = x_num[:, len(enc.numeric):]
    j = [s.name for s in enc.id_stats].index("user_id:rating")
    equals_full = np.isclose(crossfit[:, j], stats[:, j], atol=1e-6)
    clicked = train["click"].to_numpy() == 1
    # Out-of-fold values almost never equal the full-train value, clicked or not.
    assert equals_full[~clicked].mean() < 0.05 and equals_full[clicked].mean() < 0.05


def test_boosted_tree_probe_finds_no_leak_in_partially_observed_label_statistics():
    """The simulator's rating and watch time exist exactly when click = 1. A boosted-tree
    probe that predicts click from their per-id statistics must find on the training
    rows (cross-validated) no more than it finds on test rows, and the probe on all the
    features must not lose to the same probe without those statistics."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import cross_val_predict
    from threadpoolctl import threadpool_limits

    from mtl.data import from_frame
    from mtl.data.synthetic import simulate

    df = simulate(n_users=250, n_items=300, n_impressions=8_000, seed=3)
    p = prepare(from_frame(df), ["click"], "random", seed=0)
    names = p.encoder.numeric_names
    partial = [i for i, name in enumerate(names) if name.endswith((":rating", ":watch_time"))]
    assert len(partial) == 4

    def probe():
        return HistGradientBoostingClassifier(max_iter=30, max_leaf_nodes=15, random_state=0)

    def features(part, drop=()):
        keep = [i for i in range(len(names)) if i not in drop]
        return np.hstack([part.x_cat.numpy()[:, 2:], part.x_num.numpy()[:, keep]]), part.y[:, 0].numpy()

    # One OpenMP thread: under pytest-xdist on two cores more threads only fight each other.
    limits = threadpool_limits(1)
    x_tr, y_tr = p.train.x_num.numpy()[:, partial], p.train.y[:, 0].numpy()
    x_te, y_te = p.test.x_num.numpy()[:, partial], p.test.y[:, 0].numpy()
    in_train = roc_auc_score(y_tr, cross_val_predict(probe(), x_tr, y_tr, cv=3, method="predict_proba")[:, 1])
    on_test = roc_auc_score(y_te, probe().fit(x_tr, y_tr).predict_proba(x_te)[:, 1])
    assert in_train < on_test + 0.05, (in_train, on_test)  # with the leak: 0.91 vs 0.58

    def test_auc(drop=()):
        (a, ya), (b, yb) = features(p.train, drop), features(p.test, drop)
        return roc_auc_score(yb, probe().fit(a, ya).predict_proba(b)[:, 1])

    with_stats, without = test_auc(), test_auc(set(partial))
    limits.restore_original_limits()
    assert with_stats > without - 0.02, (with_stats, without)


@pytest.fixture(scope="module")
def prepared(tiny_data):
    return prepare(tiny_data, ["click", "rating"], seed=0)


def test_id_stats_in_prepare(prepared):
    p = prepared
    names = p.encoder.numeric_names
    j = names.index("user_id:click")
    # Validation rows: one value per user (the full-training statistic) ...
    valid = pd.DataFrame({"u": p.valid.groups, "v": p.valid.x_num[:, j].numpy()})
    assert (valid.groupby("u")["v"].nunique() == 1).all()
    # ... training rows: cross-fitted, so one user's rows differ by fold.
    train = pd.DataFrame({"u": p.train.groups, "v": p.train.x_num[:, j].numpy()})
    assert (train.groupby("u")["v"].nunique() > 1).mean() > 0.5
    # Row counts come from the training rows only.
    k = names.index("user_id:rows")
    st = p.encoder.id_stats[k - len(p.encoder.numeric)]
    counts = pd.Series(p.train.groups).value_counts()
    raw = p.valid.x_num[:, k].numpy() * st.std + st.mean
    expected = np.log1p(counts.reindex(p.valid.groups).fillna(0).to_numpy())
    assert raw == pytest.approx(expected, abs=1e-4)


# ------------------------------------------------------------------ persistence
def test_json_round_trip_gives_identical_transforms(prepared, tiny_data):
    p = prepared
    enc = p.encoder
    again = FeatureEncoder.from_dict(json.loads(json.dumps(enc.to_dict())))
    frame = tiny_data.frame.iloc[p.test.rows]
    a_cat, a_num = enc.transform(frame)
    b_cat, b_num = again.transform(frame)
    assert np.array_equal(a_cat, b_cat)
    assert np.array_equal(a_num, b_num)
    assert again.to_dict() == enc.to_dict()
    assert again.cardinalities == enc.cardinalities and again.numeric_names == enc.numeric_names
