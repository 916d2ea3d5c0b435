"""AppTest tests of the Data page, and of the upload and column-role functions it calls."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from mtl.data.samples import SAMPLES
from mtl.errors import ConfigError, DataError, MTLError
from mtl.setup import roles_table
from pages import _common as cfg
from pages import _datasets as datasets
from pages import _nav as nav
from pages._roles import apply_roles
from tests._apptest import (
    button,
    no_errors,
    open_page,
    table_with,
    tiny_dataset,
    tiny_frame,
)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


# -------------------------------------------------------------------- page
def test_shows_the_active_sample_its_columns_and_labels(app):
    at = open_page(app, nav.DATA)
    no_errors(at)
    assert at.title[0].value == "Data"
    assert at.subheader[0].value == "Active: Simulated short-video feed"
    assert at.radio(key="ui.data.sample").options == [s.title for s in SAMPLES.values()]
    roles = at.data_editor[0].value.set_index("column")["role"]
    assert roles["user_id"] == "user id" and roles["click"] == "binary label"
    assert roles["watch_time"] == "regression label" and roles["true_click"] == "oracle"
    labels = table_with(at, "label", "kind", "positive rate %")
    assert labels["label"].tolist() == ["click", "like", "long_view", "watch_time", "rating"]
    assert len(at.get("plotly_chart")) == 3  # binary rates + watch_time + rating distributions
    assert button(at, "Use this sample").disabled  # already active
    assert button(at, "Apply column roles (0 changed)").disabled


def test_choosing_another_sample_makes_it_active(app):
    at = open_page(app, nav.DATA, tiny_dataset())
    at.radio(key="ui.data.sample").set_value("census").run()
    button(at, "Use this sample").click().run()
    no_errors(at)
    ds = at.session_state["dataset"]
    assert ds.sample.key == "census" and ds.data.schema.user is None
    assert at.subheader[0].value == "Active: Census-Income (KDD)"
    assert "income" in ds.data.schema.ignored  # the sample's curated roles apply


def test_uploading_a_csv_makes_it_the_active_dataset(app):
    at = open_page(app, nav.DATA)
    at.file_uploader(key="upload.main").set_value(("my_log.csv", csv_bytes(tiny_frame()), "text/csv")).run()
    no_errors(at)
    ds = at.session_state["dataset"]
    assert ds.name == "my_log.csv" and ds.sample is None and ds.data.n_rows == 3000
    assert at.subheader[0].value == "Active: my_log.csv"
    assert any("Loaded **my_log.csv**" in s.value for s in at.success)


def test_a_bad_upload_shows_an_error_and_keeps_the_previous_dataset(app):
    before = tiny_dataset()
    at = open_page(app, nav.DATA, before)
    bad = b"user_id,,click\n1,2,0\n3,4,1\n"
    at.file_uploader(key="upload.main").set_value(("unnamed.csv", bad, "text/csv")).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "unnamed.csv has a column without a name (position 2); give every column a header"]
    assert any("Still using: **tiny.csv**" in c.value for c in at.caption)
    assert at.session_state["dataset"].token == before.token


def test_a_bad_upload_after_a_good_one_keeps_the_good_one(app):
    at = open_page(app, nav.DATA)
    at.file_uploader(key="upload.main").set_value(("good.csv", csv_bytes(tiny_frame()), "text/csv")).run()
    at.file_uploader(key="upload.main").set_value(("empty.csv", b"", "text/csv")).run()
    assert any("empty" in e.value for e in at.error)
    assert at.session_state["dataset"].name == "good.csv"


def test_upload_with_an_item_table(app):
    frame = tiny_frame()
    items = frame[["item_id", "item_category", "item_title"]].drop_duplicates("item_id")
    log = frame.drop(columns=["item_category", "item_title"])
    at = open_page(app, nav.DATA)
    at.file_uploader(key="upload.items").set_value(("items.parquet", parquet_bytes(items), "application/octet-stream"))
    at.file_uploader(key="upload.main").set_value(("log.csv", csv_bytes(log), "text/csv")).run()
    no_errors(at)
    ds = at.session_state["dataset"]
    assert ds.files == ("log.csv", "items.parquet")
    assert ds.data.schema.side.get("item_category") == "item"
    assert "item_title" in ds.data.schema.text


# ----------------------------------------------------- the upload function
def test_dataset_from_upload_reads_csv_gzip_and_parquet_alike():
    frame = tiny_frame()
    a = datasets.dataset_from_upload(("a.csv", csv_bytes(frame)))
    b = datasets.dataset_from_upload(("a.parquet", parquet_bytes(frame)))
    import gzip

    c = datasets.dataset_from_upload(("a.csv.gz", gzip.compress(csv_bytes(frame))))
    for ds in (a, b, c):
        assert ds.data.n_rows == len(frame)
        assert list(ds.data.schema.labels) == ["click", "like", "long_view", "watch_time", "rating"]
    assert a.token != b.token  # different bytes, different identity
    assert datasets.dataset_from_upload(("a.csv", csv_bytes(frame))).token == a.token


@pytest.mark.parametrize("name, content, message", [
    ("x.csv", b"", "x.csv is empty (0 bytes)"),
    ("x.csv", b"a,b,a\n1,2,3\n", "x.csv has two columns named 'a'"),
    ("x.csv", b"\x00\x01\x02garbage", "looks like a binary file"),
    ("x.parquet", b"PAR1 not really", "x.parquet is not a readable Parquet file"),
    ("x.csv", b"only\n1\n2\n", "x.csv has only one column 'only'"),
])
def test_bad_uploads_raise_readable_errors(name, content, message):
    with pytest.raises(DataError) as err:
        datasets.dataset_from_upload((name, content))
    assert message in str(err.value)


def test_a_side_table_without_ids_to_join_on_is_rejected():
    frame = tiny_frame().drop(columns=["item_id"])
    items = pd.DataFrame({"item_id": [1, 2], "genre": ["a", "b"]})
    with pytest.raises(MTLError, match="no item id column"):
        datasets.dataset_from_upload(("log.csv", csv_bytes(frame)), items=("items.csv", csv_bytes(items)))


# ------------------------------------------------------------ column roles
def _edit(ds: datasets.Dataset, **roles) -> pd.DataFrame:
    table = roles_table(ds.data.schema)
    for col, role in roles.items():
        table.loc[table.column == col, "role"] = role
    return table


def test_unchanged_roles_keep_the_dataset():
    ds = tiny_dataset()
    assert apply_roles(ds, roles_table(ds.data.schema)) is ds


def test_changing_roles_rebuilds_the_dataset_with_only_those_pinned():
    ds = tiny_dataset()
    new = apply_roles(ds, _edit(ds, rating="ignored", item_category="ignored", user_activity="categorical feature",
                                   watch_time="numeric feature"))
    s = new.data.schema
    assert "rating" not in s.labels and "rating" in s.ignored and "item_category" in s.ignored
    assert "user_activity" in s.categorical and "watch_time" in s.numeric
    assert s.labels == {"click": "binary", "like": "binary", "long_view": "binary"}
    assert set(new.overrides.ignore) == {"rating", "item_category"}
    assert new.token != ds.token and ds.data.schema.labels["rating"] == "regression"  # the original is untouched
    # Edits accumulate: a second edit keeps the first.
    again = apply_roles(new, _edit(new, rating="regression label"))
    assert again.data.schema.labels["rating"] == "regression" and "item_category" in again.data.schema.ignored


def test_moving_the_user_id_to_another_column():
    ds = tiny_dataset()
    new = apply_roles(ds, _edit(ds, user_id="ignored"))
    assert new.data.schema.user is None and new.overrides.user == ""
    with pytest.raises(ConfigError, match="Only one column can be the item id"):
        apply_roles(ds, _edit(ds, user_id="item id"))


@pytest.mark.parametrize("edit, message", [
    ({"item_title": "binary label"}, "Column 'item_title' cannot be a binary label: it has the value"),
    ({"watch_time": "binary label"}, "Column 'watch_time' cannot be a binary label"),
    ({"user_activity": "text"}, "Column 'user_activity': the 'text' role is assigned automatically"),
    ({"click": None}, "Column 'click' has no role"),
])
def test_impossible_roles_are_refused_naming_the_column(edit, message):
    ds = tiny_dataset()
    with pytest.raises(MTLError) as err:
        apply_roles(ds, _edit(ds, **edit))
    assert message in str(err.value)


def _junk_ratings_upload(n=3000) -> pd.DataFrame:
    import numpy as np

    rng = np.random.default_rng(4)
    rating = rng.integers(1, 6, n).astype(object)
    rating[rng.random(n) < 0.02] = "five"
    return pd.DataFrame({"user_id": rng.integers(0, 200, n), "item_id": rng.integers(0, 300, n),
                         "clicked": rng.choice(["yes", "no"], n), "rating": rating,
                         "liked": rng.integers(0, 2, n)})


def test_the_page_says_how_columns_were_read_and_warns_when_an_id_becomes_a_label(app):
    frame = _junk_ratings_upload()
    junk = int((frame["rating"] == "five").sum())
    at = open_page(app, nav.DATA)
    at.file_uploader(key="upload.main").set_value(("junk.csv", csv_bytes(frame), "text/csv")).run()
    no_errors(at)
    [warning] = at.warning
    assert f"- {junk} values of rating are not numbers (e.g. 'five') and are treated as missing." in warning.value
    assert "- Column 'clicked': values 'yes'/'no' read as 1/0." in warning.value
    labels = table_with(at, "label", "labelled rows", "default task").set_index("label")
    assert labels.loc["rating", "labelled rows"] == len(frame) - junk

    ds = at.session_state["dataset"]
    at.session_state["dataset"] = apply_roles(ds, _edit(ds, user_id="regression label"))
    at.run()
    no_errors(at)
    [warning] = at.warning
    assert "Column 'user_id' is named like an id but was made a regression label" in warning.value
    labels = table_with(at, "label", "default task").set_index("label")
    assert not labels.loc["user_id", "default task"]
    assert "user_id" not in cfg.default_tasks(at.session_state["dataset"])


def test_a_rating_with_words_can_be_ignored_and_made_a_label_again():
    ds = datasets.dataset_from_upload(("junk.csv", csv_bytes(_junk_ratings_upload())))
    ignored = apply_roles(ds, _edit(ds, rating="ignored"))
    back = apply_roles(ignored, _edit(ignored, rating="regression label"))
    assert back.data.schema.labels["rating"] == "regression"
    assert back.data.schema.remarks["rating"] == ds.data.schema.remarks["rating"]
    assert back.data.frame["rating"].isna().sum() == (ds.frame["rating"] == "five").sum()


# ------------------------------------------------- default tasks, derived labels
def _kuairand_like_upload(n=6000) -> pd.DataFrame:
    import numpy as np

    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "user_id": rng.integers(0, 300, n), "video_id": rng.integers(0, 400, n),
        "is_click": (rng.random(n) < 0.44).astype(int), "is_like": (rng.random(n) < 0.03).astype(int),
        "is_follow": (rng.random(n) < 0.0014).astype(int), "long_view": (rng.random(n) < 0.31).astype(int),
    })


def test_an_upload_defaults_to_usable_tasks_and_the_page_says_why(app):
    """KuaiRand-like: the first three 0/1 columns include is_follow (0.14%); long_view (31%) is chosen instead."""
    at = open_page(app, nav.DATA)
    at.file_uploader(key="upload.main").set_value(("kr.csv", csv_bytes(_kuairand_like_upload()), "text/csv")).run()
    no_errors(at)
    ds = at.session_state["dataset"]
    assert cfg.default_tasks(ds) == ["is_click", "is_like", "long_view"]
    labels = table_with(at, "label", "default task").set_index("label")
    assert labels["default task"].to_dict() == {"is_click": True, "is_like": True, "is_follow": False,
                                                "long_view": True}
    why = next(m.value for m in at.markdown if m.value.startswith("- **is_click** (default task)"))
    assert "engagement" in why.splitlines()[0] and "**is_follow**: 0.1" in why and "too rare" in why
    at.switch_page(nav.TRAIN).run()
    no_errors(at)
    assert at.multiselect(key=f"ui.train.tasks.{ds.short}").value == ["is_click", "is_like", "long_view"]
    assert any(c.value.startswith("Suggested because is_click: 4") and "long_view: 3" in c.value for c in at.caption)


def test_deriving_a_label_on_the_data_page(app):
    """A ratings log: derive liked = rating >= 4, train it; remove it again."""
    import numpy as np

    rng = np.random.default_rng(1)
    ratings = pd.DataFrame({"user_id": rng.integers(0, 80, 2000), "book_id": rng.integers(0, 120, 2000),
                            "rating": rng.integers(1, 6, 2000)})
    at = open_page(app, nav.DATA, datasets.dataset_from_frames(ratings, "ratings.csv"))
    assert any("derive 0/1 labels" in i.value for i in at.info)  # one label only: the page suggests deriving
    at.text_input(key="data.derive.name").set_value("liked")
    at.selectbox(key="data.derive.source").set_value("rating")
    at.selectbox(key="data.derive.op").set_value(">=")
    at.text_input(key="data.derive.value").set_value("4")
    button(at, "Add derived label").click().run()
    no_errors(at)
    ds = at.session_state["dataset"]
    assert ds.data.schema.labels["liked"] == "binary" and ds.overrides.derive == ["liked=rating>=4"]
    assert ds.data.frame["liked"].tolist() == (ratings["rating"] >= 4).astype(float).tolist()
    assert cfg.default_tasks(ds) == ["rating", "liked"]
    assert any("derived from 'rating'" in m.value for m in at.markdown)
    button(at, "Remove").click().run()
    no_errors(at)
    assert "liked" not in at.session_state["dataset"].data.schema.labels


@pytest.mark.parametrize("name, value, message", [
    ("liked", "high", "needs a number"),
    ("rating", "4", "already a column named 'rating'"),
    ("", "4", "should look like"),
])
def test_a_bad_derived_label_is_refused_and_the_data_kept(app, name, value, message):
    at = open_page(app, nav.DATA, tiny_dataset())
    before = at.session_state["dataset"]
    at.text_input(key="data.derive.name").set_value(name)
    at.selectbox(key="data.derive.source").set_value("rating")
    at.text_input(key="data.derive.value").set_value(value)
    button(at, "Add derived label").click().run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert at.session_state["dataset"] is before


def test_census_roles_say_why_weights_and_row_numbers_are_ignored(app):
    at = open_page(app, nav.DATA)
    at.radio(key="ui.data.sample").set_value("census").run()
    button(at, "Use this sample").click().run()
    no_errors(at)
    roles = at.data_editor[0].value.set_index("column")
    assert roles.loc["instance_weight", "role"] == "ignored" and "sampling weight" in roles.loc["instance_weight", "why"]
    assert roles.loc["source_row", "role"] == "ignored" and "row number" in roles.loc["source_row", "why"]
