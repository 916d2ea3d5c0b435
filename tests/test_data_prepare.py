"""from_frame / load / prepare: tasks, label checks, targets, side tables, leaks, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from mtl.data import SplitSpec, find_leaks, from_frame, load, prepare, split_indices
from mtl.errors import ConfigError, DataError


def _table(n=300, seed=0, **extra) -> pd.DataFrame:
    """A small interaction table ordered by time; ``extra`` columns are added as given."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "user_id": rng.integers(0, 25, n), "item_id": rng.integers(0, 40, n), "timestamp": np.arange(n) * 60,
        "click": rng.integers(0, 2, n), "device": rng.choice(["ios", "android", "web"], n),
    })
    for k, v in extra.items():
        df[k] = v
    return df


# ------------------------------------------------------------------ tasks
def test_no_task(tiny_data):
    with pytest.raises(ConfigError, match="at least one task"):
        prepare(tiny_data, [])


def test_unknown_task_lists_the_labels(tiny_data):
    with pytest.raises(ConfigError, match=r"'share' is not a label column; labels in this data: "
                                          r"click, like, long_view, watch_time, rating"):
        prepare(tiny_data, ["click", "share"])


def test_task_that_is_another_role(tiny_data):
    with pytest.raises(ConfigError, match=r"'user_activity' is not a label column \(it is a numeric feature\)"):
        prepare(tiny_data, ["user_activity"])
    with pytest.raises(ConfigError, match=r"'item_id' is not a label column \(it is an item id\)"):
        prepare(tiny_data, ["item_id"])
    with pytest.raises(ConfigError, match=r"'true_click' is not a label column \(it is an oracle\).*labels in this"):
        prepare(tiny_data, ["true_click"])


def test_task_on_an_ignored_column_says_why():
    data = from_frame(_table(flag=1))
    with pytest.raises(ConfigError, match=r"'flag' is not a label column \(ignored: constant.*\); labels in this data: click"):
        prepare(data, ["flag"])


def test_duplicated_task(tiny_data):
    with pytest.raises(ConfigError, match="Task 'like' is listed twice"):
        prepare(tiny_data, ["click", "like", "like"])


# ------------------------------------------------------------------ label checks
def test_binary_label_constant_in_the_train_split():
    n = 300
    flag = np.zeros(n, dtype=int)
    flag[-30:] = np.arange(30) % 2  # 1s only in the newest rows
    data = from_frame(_table(n, flag=flag))
    assert data.schema.labels["flag"] == "binary"
    with pytest.raises(DataError, match=r"Label 'flag' is 0 on every training row") as info:
        prepare(data, ["click", "flag"], SplitSpec("time"))
    assert info.value.column == "flag"


def test_regression_label_constant_in_the_train_split():
    n = 300
    wt = np.full(n, 5.0)
    wt[-30:] = np.arange(30.0)
    data = from_frame(_table(n, watch_time=wt))
    with pytest.raises(DataError, match=r"Label 'watch_time' has the same value \(5\) on every training row") as info:
        prepare(data, ["watch_time"], SplitSpec("time"))
    assert info.value.column == "watch_time"


def test_multiclass_label_single_class_in_the_train_split():
    n = 300
    tier = np.array(["gold"] * n, dtype=object)
    tier[-30:] = np.array(["silver", "bronze", "gold"] * 10)
    data = from_frame(_table(n, label_tier=tier))
    assert data.schema.labels["label_tier"] == "multiclass"
    with pytest.raises(DataError, match=r"Label 'label_tier' has a single class \('gold'\)") as info:
        prepare(data, ["label_tier"], SplitSpec("time"))
    assert info.value.column == "label_tier"


def test_constant_label_forced_by_override():
    data = from_frame(_table(flag=1), roles={"labels": {"flag": "binary"}})
    with pytest.raises(DataError, match="Label 'flag' is 1 on every training row"):
        prepare(data, ["flag"])


def test_too_few_labelled_rows():
    n = 300
    r = np.full(n, np.nan)
    r[:5] = [1, 2, 3, 4, 5]
    data = from_frame(_table(n, rating=r))
    with pytest.raises(DataError, match=r"Label 'rating' has only \d labelled rows in the training split") as info:
        prepare(data, ["rating"])
    assert info.value.column == "rating"


def test_text_in_a_mostly_numeric_label_is_missing_and_said():
    """'five' among 300 ratings: the rating is still a task, that row unlabelled, and
    the remark (Data page, CLI, training warnings) says how many and which."""
    rating = np.random.default_rng(1).integers(1, 6, 300).astype(object)
    rating[41], rating[90], rating[91] = "five", "unknown", "five"
    data = from_frame(_table(rating=rating))
    assert data.schema.labels["rating"] == "regression"  # 99% numbers: still a rating
    assert data.schema.remarks["rating"] == ("3 values of rating are not numbers (e.g. 'five' or 'unknown') and are "
                                             "treated as missing.")
    assert "3 values not numbers (e.g. 'five' or 'unknown'), treated as missing" in data.schema.notes["rating"]
    summary = data.label_summary().set_index("label").loc["rating"]
    assert summary["labelled rows"] == 297 and summary["missing %"] == 1.0 and summary["distinct values"] == 5
    prepared = prepare(data, ["rating"])
    assert data.schema.remarks["rating"] in prepared.warnings
    rows = np.concatenate([prepared.train.rows, prepared.valid.rows, prepared.test.rows])
    y = np.concatenate([prepared.train.y[:, 0], prepared.valid.y[:, 0], prepared.test.y[:, 0]])
    assert set(rows[np.isnan(y)]) == {41, 90, 91}


def test_a_label_chosen_on_a_column_of_mostly_text_names_column_and_row():
    rating = np.random.default_rng(1).integers(1, 6, 300).astype(object)
    rating[:200:2] = "five"  # a third text: not a numeric column read with some junk
    data = from_frame(_table(rating=rating), roles={"labels": {"rating": "regression"}})
    with pytest.raises(DataError, match=r"Label 'rating' should be numeric but has the value 'five' at row 1") as info:
        prepare(data, ["rating"])
    assert (info.value.column, info.value.row) == ("rating", 0)


def test_binary_label_with_another_value_names_column_and_row():
    flag = np.arange(300) % 2
    flag[7] = 2
    data = from_frame(_table(flag=flag), roles={"labels": {"flag": "binary"}})
    with pytest.raises(DataError, match=r"Label 'flag' is binary but has the value 2 at row 8") as info:
        prepare(data, ["flag"])
    assert (info.value.column, info.value.row) == ("flag", 7)


def test_infinite_regression_label():
    wt = np.random.default_rng(2).exponential(5, 300)
    wt[3] = np.inf
    data = from_frame(_table(watch_time=wt))
    with pytest.raises(DataError, match=r"Label 'watch_time' has an infinite value \(inf\) at row 4;") as info:
        prepare(data, ["watch_time"])
    assert (info.value.column, info.value.row) == ("watch_time", 3)


# ------------------------------------------------------------------ targets
@pytest.fixture(scope="module")
def prepared(tiny_data):
    return prepare(tiny_data, ["click", "rating", "watch_time"], seed=0)


def test_parts_cover_the_rows(prepared, tiny_data):
    rows = np.concatenate([prepared.train.rows, prepared.valid.rows, prepared.test.rows])
    assert np.array_equal(np.sort(rows), np.arange(tiny_data.n_rows))
    for part in (prepared.train, prepared.valid, prepared.test):
        n = len(part)
        assert part.x_cat.shape == (n, len(prepared.encoder.categorical)) and part.x_cat.dtype == torch.int32
        assert part.x_num.shape == (n, len(prepared.encoder.numeric_names)) and part.x_num.dtype == torch.float32
        assert part.y.shape == (n, 3) and part.y.dtype == torch.float32
        assert torch.isfinite(part.x_num).all()
    assert prepared.task_names == ["click", "rating", "watch_time"]


def test_features_exclude_labels_oracles_and_text(prepared):
    enc = prepared.encoder
    used = set(enc.categorical) | set(enc.numeric)
    assert used == {"user_id", "item_id", "item_category", "user_activity"}


def test_missing_labels_are_nan(prepared, tiny_feed):
    total = 0
    for part in (prepared.train, prepared.valid, prepared.test):
        rating = tiny_feed["rating"].to_numpy()[part.rows]
        y = part.y[:, 1].numpy()
        assert np.array_equal(np.isnan(y), np.isnan(rating))
        assert not np.isnan(part.y[:, 0].numpy()).any()  # click is always there
        total += int((~np.isnan(y)).sum())
    assert total == tiny_feed["rating"].notna().sum()
    # rating is missing exactly when there was no click
    assert tiny_feed["rating"].isna().equals(tiny_feed["click"] == 0)


def test_binary_targets_are_the_labels(prepared, tiny_feed):
    y = prepared.test.y[:, 0].numpy()
    assert np.array_equal(y, tiny_feed["click"].to_numpy()[prepared.test.rows].astype(np.float32))


def test_regression_targets_standardized_with_train_statistics(prepared, tiny_feed):
    for j, name in ((1, "rating"), (2, "watch_time")):
        spec = prepared.tasks[j]
        train_values = tiny_feed[name].iloc[prepared.train.rows]
        assert spec.kind == "regression"
        assert spec.mean == pytest.approx(train_values.mean())
        assert spec.std == pytest.approx(train_values.std())
        raw = tiny_feed[name].to_numpy()[prepared.valid.rows]
        y = prepared.valid.y[:, j].numpy()
        ok = ~np.isnan(raw)
        assert y[ok] == pytest.approx((raw[ok] - spec.mean) / spec.std, rel=1e-5, abs=1e-6)
    assert float(np.nanmean(prepared.train.y[:, 1].numpy())) == pytest.approx(0.0, abs=1e-5)


def test_multiclass_targets_are_class_indices():
    rng = np.random.default_rng(3)
    tier = rng.choice(["gold", "silver", "bronze"], 300)
    tier = pd.Series(tier, dtype=object)
    tier[[5, 9]] = None
    data = from_frame(_table(label_tier=tier))
    p = prepare(data, ["label_tier", "click"])
    spec = p.tasks[0]
    assert spec.kind == "multiclass" and spec.classes == ("bronze", "gold", "silver")
    for part in (p.train, p.valid, p.test):
        y = part.y[:, 0].numpy()
        truth = tier.to_numpy()[part.rows]
        for value, target in zip(truth, y):
            if value is None:
                assert np.isnan(target)
            else:
                assert spec.classes[int(target)] == value


def test_multiclass_numeric_classes():
    level = np.arange(300) % 4 + 1.0
    level[::50] = np.nan  # floats with gaps, as a CSV integer column with blanks reads
    data = from_frame(_table(label_level=level))
    p = prepare(data, ["label_level"])
    assert p.tasks[0].classes == ("1", "2", "3", "4")
    for part in (p.train, p.test):
        truth = level[part.rows]
        assert np.array_equal(part.y[:, 0].numpy(), truth - 1, equal_nan=True)


def test_split_column_must_exist(tiny_data):
    with pytest.raises(DataError, match="split column 'day' is not in the data") as info:
        prepare(tiny_data, ["click"], SplitSpec("time", column="day"))
    assert info.value.column == "day"


def test_time_split_through_prepare(tiny_data, tiny_feed):
    p = prepare(tiny_data, ["click"], "time")
    t = tiny_feed["timestamp"].to_numpy()
    assert t[p.train.rows].max() <= t[p.valid.rows].min() <= t[p.valid.rows].max() <= t[p.test.rows].min()


# ------------------------------------------------------------------ side tables
def _side_tables():
    main = _table(200)
    main["genre"] = np.random.default_rng(4).choice(["x", "y"], 200)  # clashes with the item table
    users = pd.DataFrame({"uid": [str(u) for u in range(25)],  # other key name, ids as text
                          "age": np.arange(25) + 20, "is_vip": np.arange(25) % 2})
    items = pd.DataFrame({"item_id": list(range(40)) + [0],  # a duplicated key: the first row wins
                          "genre": [f"g{i % 5}" for i in range(40)] + ["dup"],
                          "price": np.linspace(1, 50, 41)})
    return main, users, items


def test_side_tables_join_by_id():
    main, users, items = _side_tables()
    data = from_frame(main, user_table=users, item_table=items)
    f, s = data.frame, data.schema
    assert len(f) == len(main)
    assert f["age"].tolist() == (main["user_id"] + 20).tolist()
    assert f["is_vip"].tolist() == (main["user_id"] % 2).tolist()
    assert f["genre"].tolist() == main["genre"].tolist()  # the main table's column is kept as is
    assert f["genre_item"].tolist() == [f"g{i % 5}" for i in main["item_id"]]
    assert s.side == {"age": "user", "is_vip": "user", "genre_item": "item", "price": "item"}
    assert "is_vip" in s.categorical and "is_vip" not in s.labels  # side 0/1 columns are features
    assert s.labels == {"click": "binary"}
    assert "uid" not in f.columns
    p = prepare(data, ["click"])
    assert p.encoder.level["age"] == "user" and p.encoder.level["genre_item"] == "item"
    assert p.encoder.level["genre"] == "context"


def test_side_table_with_unknown_ids_gives_missing_values():
    main, users, items = _side_tables()
    data = from_frame(main, user_table=users.iloc[:10])
    missing = data.frame["age"].isna()
    assert missing.equals(main["user_id"] >= 10)


def test_side_table_without_the_key_column():
    main, users, items = _side_tables()
    with pytest.raises(DataError, match=r"The item feature table has no 'item_id' column to join on") as info:
        from_frame(main, item_table=items.rename(columns={"item_id": "sku"}))
    assert info.value.column == "item_id"
    with pytest.raises(DataError, match="user feature table was given, but the data has no user id column"):
        from_frame(main.drop(columns=["user_id"]), user_table=users)


def test_load_from_files_with_side_tables(write_table):
    main, users, items = _side_tables()
    data = load(write_table(main, "log.csv.gz"), user_features=write_table(users, "users.parquet"),
                item_features=write_table(items, "items.tsv"))
    assert data.name == "log.csv.gz"
    assert data.frame["age"].tolist() == (main["user_id"] + 20).tolist()
    assert data.schema.side["price"] == "item"
    with pytest.raises(DataError, match="over the limit of 100"):
        load(write_table(main, "log.csv"), max_rows=100)


def test_from_frame_rejects_an_empty_frame():
    with pytest.raises(DataError, match="empty.csv has no rows"):
        from_frame(_table().iloc[:0], name="empty.csv")


# ------------------------------------------------------------------ leaks
def _leaky() -> pd.DataFrame:
    df = _table(400, seed=5)
    rng = np.random.default_rng(6)
    df["label_income_over_50k"] = rng.integers(0, 2, 400)
    df["income"] = np.where(df["label_income_over_50k"] == 1, " 50000+.", " - 50000.")
    return df


def test_find_leaks_detects_a_text_copy_of_a_label():
    data = from_frame(_leaky())
    assert "income" in data.schema.categorical
    leaks = find_leaks(data.frame, data.schema, list(data.schema.labels))
    assert leaks == {"income": "label_income_over_50k"}
    assert find_leaks(data.frame, data.schema, ["click"]) == {}


def test_prepare_removes_a_leak_with_a_warning():
    data = from_frame(_leaky())
    p = prepare(data, ["click"])
    assert "income" not in p.encoder.categorical
    assert any("'income'" in w and "label_income_over_50k" in w for w in p.warnings)
    assert "income" in p.data.schema.ignored and "leak" in p.data.schema.notes["income"]
    assert "income" in data.schema.categorical  # the caller's schema is not changed


# ------------------------------------------------------------------ determinism
def test_prepare_is_deterministic(tiny_data):
    a = prepare(tiny_data, ["click", "like"], seed=7)
    b = prepare(tiny_data, ["click", "like"], seed=7)
    for name in ("train", "valid", "test"):
        pa, pb = a.part(name), b.part(name)
        assert np.array_equal(pa.rows, pb.rows)
        assert torch.equal(pa.x_cat, pb.x_cat) and torch.equal(pa.x_num, pb.x_num)
        assert torch.equal(torch.nan_to_num(pa.y, -1.0), torch.nan_to_num(pb.y, -1.0))
    assert a.encoder.to_dict() == b.encoder.to_dict()
    other = split_indices(tiny_data.n_rows, SplitSpec("random", seed=8))
    assert not np.array_equal(a.test.rows, other[2])


def test_prepare_without_id_stats(tiny_data):
    p = prepare(tiny_data, ["click"], id_stats=False)
    assert p.encoder.id_stats == []
    assert p.encoder.numeric_names == ["user_activity"]
    assert p.train.x_num.shape[1] == 1
