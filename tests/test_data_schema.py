"""infer_schema: column roles by name and by value, overrides, side tables, persistence."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mtl.data import RoleOverrides, Schema, infer_schema
from mtl.errors import DataError

N = 300


@pytest.fixture(scope="module")
def mixed() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "UserID": rng.integers(0, 40, N),
            "video_id": rng.integers(0, 60, N),
            "time_ms": np.sort(rng.integers(0, 10**9, N)),
            "click": rng.integers(0, 2, N),
            "liked": rng.random(N) < 0.3,  # booleans
            "my_rating": rng.integers(1, 6, N).astype(float),
            "watch_time": rng.exponential(10, N),
            "label_tier": rng.choice(["gold", "silver", "bronze"], N),
            "true_click": rng.random(N),
            "const": 7,
            "empty": np.nan,
            "desc": [f"a fairly long description of video number {i}" for i in range(N)],
            "grade": rng.integers(0, 5, N),
            "age": rng.integers(18, 80, N) + 0.5,
            "n_friends": rng.integers(0, 500, N),
            "author_id": rng.integers(0, 200, N),
            "city": rng.choice(["Paris", "Oslo", "Rome"], N),
        }
    )


@pytest.fixture(scope="module")
def schema(mixed) -> Schema:
    return infer_schema(mixed)


def test_ids_and_time_by_name(schema):
    assert (schema.user, schema.item, schema.time) == ("UserID", "video_id", "time_ms")
    assert schema.notes["UserID"] == "user id (by name)"
    assert schema.notes["time_ms"] == "timestamp (by name)"


def test_labels_by_values_and_names(schema):
    assert schema.labels == {
        "click": "binary", "liked": "binary", "my_rating": "regression",
        "watch_time": "regression", "label_tier": "multiclass",
    }
    assert "3 classes" in schema.notes["label_tier"]
    for col in schema.labels:
        assert col not in schema.features


def test_oracle_constant_empty_and_text(schema):
    assert schema.oracle == ["true_click"]
    assert "const" in schema.ignored and "constant" in schema.notes["const"]
    assert "empty" in schema.ignored and "empty" in schema.notes["empty"]
    assert schema.text == ["desc"]
    for col in ("true_click", "const", "empty", "desc"):
        assert col not in schema.features
        assert col not in schema.labels


def test_feature_kinds(schema):
    assert "grade" in schema.categorical  # whole numbers, 5 values
    assert "author_id" in schema.categorical  # whole numbers, many values, but named like an id
    assert "city" in schema.categorical  # text
    assert "age" in schema.numeric  # not whole
    assert "n_friends" in schema.numeric  # whole but high cardinality
    assert "whole-number codes" in schema.notes["grade"]


def test_table_has_a_row_per_column_with_a_reason(schema, mixed):
    table = schema.table()
    assert list(table.columns) == ["column", "role", "kind", "why"]
    assert table["column"].tolist() == list(mixed.columns)
    assert (table["why"].str.len() > 0).all()
    row = table.set_index("column")
    assert row.loc["UserID", "role"] == "user id"
    assert row.loc["click", "role"] == "label" and row.loc["click", "kind"] == "binary"
    assert row.loc["age", "role"] == "numeric feature"
    assert row.loc["true_click", "role"] == "oracle"
    assert row.loc["const", "role"] == "ignored"


def test_schema_round_trip_through_json(schema):
    again = Schema.from_dict(json.loads(json.dumps(schema.to_dict())))
    assert again == schema
    assert again.table().equals(schema.table())


def test_tabular_data_without_ids():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"age": rng.normal(40, 10, 100), "sex": rng.choice(["f", "m"], 100),
                       "label_income_over_50k": rng.integers(0, 2, 100)})
    s = infer_schema(df)
    assert (s.user, s.item, s.time) == (None, None, None)
    assert s.labels == {"label_income_over_50k": "binary"}
    assert s.categorical == ["sex"] and s.numeric == ["age"]


def test_second_timestamp_is_ignored():
    df = pd.DataFrame({"user_id": [1, 2, 3, 4], "timestamp": [1, 2, 3, 4], "date": [20240101, 20240101, 20240102, 20240102],
                       "click": [0, 1, 1, 0]})
    s = infer_schema(df)
    assert s.time == "timestamp"
    assert "date" in s.ignored and "second timestamp" in s.notes["date"]


def test_many_unique_strings_are_ignored_as_keys():
    df = pd.DataFrame({"session": [f"s{i}" for i in range(1500)], "click": np.arange(1500) % 2})
    s = infer_schema(df)
    assert "session" in s.ignored and "unique" in s.notes["session"]


def test_label_like_names_with_too_many_classes_are_not_multiclass():
    df = pd.DataFrame({"label_code": [f"c{i % 40}" for i in range(200)], "click": np.arange(200) % 2})
    s = infer_schema(df)
    assert "label_code" not in s.labels
    assert "label_code" in s.categorical


# ------------------------------------------------------------------ overrides
def test_overrides_win(mixed):
    ov = RoleOverrides(
        user="", time="", labels={"age": "regression", "city": "multiclass"}, ignore=["grade", "click"],
        categorical=["n_friends"], numeric=["my_rating"], features=["watch_time"],
    )
    s = infer_schema(mixed, ov)
    assert s.user is None and s.time is None
    assert s.item == "video_id"
    assert "UserID" in s.features  # no longer the id: an ordinary feature
    assert s.labels["age"] == "regression" and s.labels["city"] == "multiclass"
    assert "click" not in s.labels and {"grade", "click"} <= set(s.ignored)
    assert "n_friends" in s.categorical and "my_rating" in s.numeric
    assert "watch_time" in s.numeric and "watch_time" not in s.labels
    assert s.notes["age"] == "regression label (chosen)"
    assert s.notes["grade"] == "ignored (chosen)"
    assert s.notes["n_friends"] == "categorical feature (chosen)"


def test_overrides_as_dict_and_chosen_ids(mixed):
    s = infer_schema(mixed, {"user": "author_id", "item": "UserID", "time": "time_ms"})
    assert (s.user, s.item) == ("author_id", "UserID")
    assert s.notes["author_id"] == "user id (chosen)"
    assert RoleOverrides.from_dict(RoleOverrides(user="x", labels={"a": "binary"}).to_dict()) == RoleOverrides(
        user="x", labels={"a": "binary"})


@pytest.mark.parametrize(
    "ov",
    [{"user": "nope"}, {"item": "nope"}, {"time": "nope"}, {"labels": {"nope": "binary"}}, {"ignore": ["nope"]},
     {"categorical": ["nope"]}, {"numeric": ["nope"]}, {"features": ["nope"]}],
)
def test_override_naming_a_missing_column(mixed, ov):
    with pytest.raises(DataError, match="Column 'nope' was named in the column roles but is not in the data") as info:
        infer_schema(mixed, ov)
    assert info.value.column == "nope"


def test_unknown_label_kind(mixed):
    with pytest.raises(DataError, match=r"Label 'age' has unknown kind 'ordinal'.*binary, regression or multiclass"):
        infer_schema(mixed, {"labels": {"age": "ordinal"}})


def test_duplicate_frame_columns():
    df = pd.DataFrame([[1, 2, 3]], columns=["a", "b", "a"])
    with pytest.raises(DataError, match="two columns named 'a'"):
        infer_schema(df)


# ------------------------------------------------------------------ side tables
def test_side_table_columns_are_always_features():
    rng = np.random.default_rng(2)
    df = pd.DataFrame({
        "user_id": rng.integers(0, 30, 200), "item_id": rng.integers(0, 50, 200), "click": rng.integers(0, 2, 200),
        "is_vip": rng.integers(0, 2, 200),  # 0/1, would be a label in the main table
        "rating_avg": rng.normal(3, 1, 200),  # named like a regression label
        "label_group": rng.choice(["a", "b", "c"], 200),  # named like a multiclass label
        "user": rng.integers(0, 5, 200),  # named like an id
    })
    side = {"is_vip": "user", "rating_avg": "item", "label_group": "item", "user": "user"}
    s = infer_schema(df, side=side)
    assert s.user == "user_id"
    assert s.labels == {"click": "binary"}
    assert {"is_vip", "label_group", "user"} <= set(s.categorical)
    assert "rating_avg" in s.numeric
    assert s.side == side
    assert "(user table)" in s.notes["is_vip"] and "(item table)" in s.notes["rating_avg"]
    # Without the side tagging the same columns are labels.
    plain = infer_schema(df)
    assert plain.labels["is_vip"] == "binary" and plain.labels["rating_avg"] == "regression"


# ------------------------------------------------- weights, row numbers, id aliases
def test_sampling_weights_and_row_numbers_are_ignored_with_the_reason():
    """Census: `instance_weight` is a sampling weight and `source_row` a row index;
    neither is a trait of the person, so neither may become a numeric feature."""
    rng = np.random.default_rng(0)
    n = 500
    df = pd.DataFrame({
        "source_row": np.sort(rng.choice(2000, n, replace=False)),  # a subset's original row numbers
        "instance_weight": rng.uniform(50, 5000, n).round(2),
        "fnlwgt": rng.integers(10_000, 900_000, n),
        "age": rng.integers(18, 90, n),
        "weight": rng.normal(70, 10, n),  # a body weight: a real feature
        "label_high": rng.integers(0, 2, n),
    })
    s = infer_schema(df)
    for col in ("source_row", "instance_weight", "fnlwgt"):
        assert col in s.ignored and col not in s.features
    assert "sampling weight" in s.notes["instance_weight"] and "sampling weight" in s.notes["fnlwgt"]
    assert "row number" in s.notes["source_row"]
    assert "weight" in s.numeric and "age" in s.features
    table = s.table().set_index("column")
    assert "sampling weight" in table.loc["instance_weight", "why"]


def test_unordered_unique_numbers_are_a_row_number_only_when_named_like_one():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"Unnamed: 0": rng.permutation(400), "amount": rng.permutation(400) * 3 + 1,
                       "click": rng.integers(0, 2, 400)})
    s = infer_schema(df)
    assert "Unnamed: 0" in s.ignored and "row number" in s.notes["Unnamed: 0"]
    assert "amount" in s.features


def test_one_to_one_aliases_of_the_item_id_are_ignored():
    """goodbooks: the book table repeats the book id as goodreads id, work id and ISBN."""
    from mtl.data import from_frame

    rng = np.random.default_rng(2)
    n_books, n = 120, 3000
    books = pd.DataFrame({
        "book_id": np.arange(1, n_books + 1),
        "goodreads_book_id": rng.choice(10**7, n_books, replace=False),
        "work_id": rng.choice(10**7, n_books, replace=False),
        "isbn": [f"{v:010d}" if i % 20 else None for i, v in enumerate(rng.choice(10**9, n_books, replace=False))],
        "isbn13": 9.78e12 + rng.choice(10**9, n_books, replace=False).astype(float),
        "ratings_count": rng.choice(10**6, n_books, replace=False),  # one per book, but a real trait
        "authors": rng.choice([f"author {i}" for i in range(40)], n_books),
        "title": [f"A long enough title for book number {i}" for i in range(n_books)],
    })
    ratings = pd.DataFrame({"user_id": rng.integers(0, 300, n), "book_id": rng.integers(1, n_books + 1, n),
                            "rating": rng.integers(1, 6, n)})
    s = from_frame(ratings, item_table=books).schema
    for col in ("goodreads_book_id", "work_id", "isbn", "isbn13"):
        assert col in s.ignored, col
        assert "one-to-one with 'book_id'" in s.notes[col]
    assert "ratings_count" in s.numeric and "authors" in s.categorical and "title" in s.text


def test_an_id_made_a_label_or_an_id_role_removed_is_remarked():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"user_id": rng.integers(0, 50, 400), "item_id": rng.integers(0, 80, 400),
                       "click": rng.integers(0, 2, 400)})
    assert infer_schema(df).remarks == {}
    as_label = infer_schema(df, RoleOverrides(user="", labels={"user_id": "regression"}))
    assert as_label.labels["user_id"] == "regression"
    assert list(as_label.remarks) == ["user_id"]  # one remark: the id role is lost by the same choice
    assert as_label.remarks["user_id"].startswith(
        "Column 'user_id' is named like an id but was made a regression label: an id names a user or an item")
    no_item = infer_schema(df, RoleOverrides(item="", categorical=["item_id"]))
    assert no_item.remarks["item_id"].startswith("There is no item id, though 'item_id' is named like one")
    # An outcome that merely mentions an id is not one.
    df["is_id_verified"] = rng.integers(0, 2, 400)
    assert "is_id_verified" not in infer_schema(df, RoleOverrides(labels={"is_id_verified": "binary"})).remarks
