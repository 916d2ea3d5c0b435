"""Item text as features (mtl.data.text): TF-IDF + truncated SVD per item, joined to the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _fixtures import feed_data, run_cli

from mtl.data import from_frame, prepare
from mtl.data.text import add_text_features, parse_text_option, text_features
from mtl.errors import ConfigError, DataError

TITLES = pd.Series([
    "The Hunger Games (The Hunger Games, #1)", "Catching Fire (The Hunger Games, #2)",
    "Mockingjay (The Hunger Games, #3)", "Harry Potter and the Chamber of Secrets (Harry Potter, #2)",
    "Harry Potter and the Prisoner of Azkaban (Harry Potter, #3)", "Harry Potter and the Goblet of Fire (Harry Potter, #4)",
    "Pride and Prejudice", "Sense and Sensibility", "Emma",
], name="title")


def test_titles_of_one_series_are_close_and_features_are_scaled():
    feats = text_features(TITLES, n_components=4, seed=0)
    assert list(feats.columns) == [f"title_svd{j}" for j in range(4)] and feats.index.equals(TITLES.index)
    v = feats.to_numpy(dtype=float)
    v = v / np.linalg.norm(v, axis=1, keepdims=True).clip(1e-9)
    sim = v @ v.T
    # A Hunger Games book is nearer the other Hunger Games books than any Harry Potter book.
    assert sim[0, [1, 2]].min() > sim[0, [3, 4, 5]].max()
    assert sim[3, [4, 5]].min() > sim[3, [0, 1, 2]].max()
    assert np.allclose(feats.std(ddof=0).to_numpy(), 1.0, atol=1e-4)
    # Deterministic for a seed.
    pd.testing.assert_frame_equal(feats, text_features(TITLES, n_components=4, seed=0))


def test_bad_options_and_empty_text_are_refused():
    with pytest.raises(ConfigError, match="from 1 to 256"):
        text_features(TITLES, n_components=0)
    with pytest.raises(DataError, match="holds no words"):
        text_features(pd.Series(["", None, "  "], name="title"))
    assert parse_text_option("title") == ("title", 16)
    assert parse_text_option("title:8") == ("title", 8)
    with pytest.raises(ConfigError, match="whole number"):
        parse_text_option("title:x")


def test_text_features_join_per_item_and_reach_the_encoder():
    data = feed_data()
    assert data.schema.text == ["item_title"]
    out = add_text_features(data, "item_title", 6)
    cols = [f"item_title_svd{j}" for j in range(6)]
    assert set(cols) <= set(out.schema.numeric) and all(out.schema.side[c] == "item" for c in cols)
    # One vector per item: every row of an item carries the same numbers.
    per_item = out.frame.groupby(out.schema.item)[cols].nunique()
    assert (per_item.to_numpy() == 1).all()
    prepared = prepare(out, ["click"], "random", seed=0)
    assert set(cols) <= set(prepared.encoder.numeric) and prepared.encoder.level[cols[0]] == "item"
    assert "item_title_svd0" not in data.frame.columns  # the input data is left as it was
    with pytest.raises(DataError, match="added already"):
        add_text_features(out, "item_title", 6)


def test_items_unseen_in_training_get_their_own_text_vector():
    """The point of text features: a new item is not the out-of-vocabulary blank."""
    data = feed_data()
    out = add_text_features(data, "item_title", 6)
    prepared = prepare(out, ["click"], "random", seed=0)
    item = out.schema.item
    train_items = set(out.frame[item].iloc[prepared.train.rows])
    test_rows = out.frame.iloc[prepared.test.rows]
    cold = test_rows[~test_rows[item].isin(train_items)]
    if cold.empty:  # every test item was seen: make one up from a row's features
        cold = test_rows.head(1)
    x_cat, x_num = prepared.encoder.transform(cold)
    cols = [prepared.encoder.numeric_names.index(f"item_title_svd{j}") for j in range(6)]
    assert np.abs(x_num[:, cols]).sum() > 0


def test_errors_name_the_column():
    data = feed_data()
    with pytest.raises(DataError, match="'nope' is not in the data"):
        add_text_features(data, "nope")
    with pytest.raises(DataError, match="is a label"):
        add_text_features(data, "click")
    no_items = from_frame(pd.DataFrame({"user_id": [1, 2] * 20, "title": ["a b", "c d"] * 20, "click": [0, 1] * 20}))
    with pytest.raises(DataError, match="no item id"):
        add_text_features(no_items, "title")


def test_cli_text_features(tmp_path):
    feed = tmp_path / "feed.csv"
    feed_data().frame.to_csv(feed, index=False)
    code, out, err = run_cli(["inspect", "--data", feed, "--text-features", "item_title:4"])
    assert code == 0, err
    assert "item_title_svd3" in out and "TF-IDF" in out
    code, _, err = run_cli(["inspect", "--data", feed, "--text-features", "nope"])
    assert code == 2 and err.startswith("error: ") and "'nope' is not in the data" in err
