"""AppTest tests of the Recommendations page."""

from __future__ import annotations

import pytest

from mtl.recommend import history, score_candidates, top_k, users
from pages import _datasets as datasets
from pages import _nav as nav
from tests._apptest import (
    button,
    fast_settings,
    no_errors,
    open_page,
    table_with,
    tiny_dataset,
    tiny_frame,
    trained_run,
    wait_for_job,
)


@pytest.fixture(scope="module")
def feed_run():
    return trained_run(tiny_dataset(), 1)


def fusion(at, run_id, task):
    return at.slider(key=f"ui.rec.fusion.{run_id}.{task}")


def test_without_runs_it_says_to_train_first(app):
    at = open_page(app, nav.RECOMMEND, tiny_dataset())
    no_errors(at)
    assert any("Train a model first" in i.value for i in at.info)


def test_top_k_history_and_per_task_scores_for_the_most_active_user(app, feed_run):
    at = open_page(app, nav.RECOMMEND, feed_run.ds, [feed_run])
    no_errors(at)
    trained = feed_run.result.trained
    active = users(trained)
    user = at.selectbox(key="ui.rec.user.1")
    assert user.value == active[0] and user.options[0].startswith(f"{active[0]} · ")
    top = table_with(at, "rank", "item_id", "score")
    assert top["rank"].tolist() == list(range(1, 11))
    assert {"click", "like", "long_view", "item_title", "item_category"} <= set(top.columns)
    expected = top_k(score_candidates(trained, active[0]), {"click": 1 / 3, "like": 1 / 3, "long_view": 1 / 3}, 10)
    assert top["item_id"].tolist() == expected["item_id"].tolist()
    past = table_with(at, "item_id", "click", "split")
    assert len(past) == min(200, len(history(trained, active[0])))
    assert any(e.label == f"History of user {active[0]} ({len(history(trained, active[0])):,} interactions)"
               for e in at.expander)
    assert any("What this user was shown, newest first" in c.value for c in at.caption)
    assert list(past.columns[:3]) == ["item_id", "split", "timestamp"]  # what "newest first" is checked against


def test_scores_come_right_after_rank_and_title(app, feed_run):
    """Review s23 (goodbooks): after the id, title, authors and language the per-task
    contributions and predictions were off the right of the table."""
    at = open_page(app, nav.RECOMMEND, feed_run.ds, [feed_run])
    no_errors(at)
    columns = list(table_with(at, "rank", "item_id", "score").columns)
    tasks = ["click", "like", "long_view"]
    assert columns == ["rank", "item_title", "score", *[f"{t} contribution" for t in tasks], *tasks, "item_id",
                       "item_category"]


def test_history_of_data_without_time_does_not_claim_newest_first(app):
    """Review s23: goodbooks has no time column, yet the history said "newest first"."""
    ds = datasets.dataset_from_frames(tiny_frame().drop(columns=["timestamp"]), "no-time.csv")
    assert ds.data.schema.time is None
    at = open_page(app, nav.RECOMMEND, ds, [trained_run(ds, 1, ("click", "like"))])
    no_errors(at)
    shown = [c.value for c in at.caption if c.value.startswith("What this user was shown")]
    assert shown and "newest first" not in shown[0] and "no time column" in shown[0]


def test_fusion_sliders_rerank_without_rescoring_and_show_what_changed(app, feed_run):
    at = open_page(app, nav.RECOMMEND, feed_run.ds, [feed_run])
    before = table_with(at, "rank", "item_id", "score")["item_id"].tolist()
    fusion(at, 1, "click").set_value(1.0)
    fusion(at, 1, "like").set_value(0.0)
    fusion(at, 1, "long_view").set_value(0.0).run()
    no_errors(at)
    after = table_with(at, "rank", "item_id", "score")
    user = at.session_state["ui.rec.user.1"]
    expected = top_k(score_candidates(feed_run.result.trained, user), {"click": 1.0}, 10)
    assert after["item_id"].tolist() == expected["item_id"].tolist()
    assert after["item_id"].tolist() != before
    assert len(at.session_state["cache"]["scores"]) == 1  # scored once, fused twice
    # "What changed" compares with the training weights (equal here) by default ... choose it explicitly.
    at.radio(key="rec.reference_choice").set_value("training").run()
    entered = [m.value for m in at.markdown if m.value.startswith("**Entered**")][0]
    left = [m.value for m in at.markdown if m.value.startswith("**Left**")][0]
    n_entered = len(set(after["item_id"]) - set(before))
    assert entered == f"**Entered** ({n_entered})" and left == f"**Left** ({n_entered})"


def test_k_and_seen_items(app, feed_run):
    at = open_page(app, nav.RECOMMEND, feed_run.ds, [feed_run])
    at.number_input(key="ui.rec.k").set_value(5)
    at.checkbox(key="ui.rec.exclude_seen").set_value(False).run()
    no_errors(at)
    top = table_with(at, "rank", "item_id", "score")
    assert len(top) == 5


def test_negative_weights_are_allowed_but_all_zero_is_an_error(app, feed_run):
    at = open_page(app, nav.RECOMMEND, feed_run.ds, [feed_run])
    for task in ("click", "like", "long_view"):
        fusion(at, 1, task).set_value(0.0)
    at.run()
    assert any("At least one fusion weight must be non-zero" in e.value for e in at.error)
    fusion(at, 1, "like").set_value(-0.5).run()
    no_errors(at)


def test_data_without_user_or_item_ids_says_so(app):
    frame = tiny_frame().drop(columns=["user_id", "item_id"])
    ds = datasets.dataset_from_frames(frame, "rows-only.csv")
    run = trained_run(ds, 1, ("click", "like"))
    at = open_page(app, nav.RECOMMEND, ds, [run])
    no_errors(at)
    info = " ".join(i.value for i in at.info)
    assert "has no user ids and item ids" in info
    assert not at.get("dataframe")


def test_it_follows_the_latest_run_of_a_newly_active_dataset(app, feed_run):
    """Issue 10 item 10: after training on a new dataset, the page must show that run."""
    at = open_page(app, nav.RECOMMEND, feed_run.ds, [feed_run])
    assert at.selectbox(key="ui.rec.run").value == 1
    new = tiny_dataset(seed=2, name="new_upload.csv")
    at.session_state["dataset"] = new
    at.switch_page(nav.TRAIN).run()
    fast_settings(at, epochs=1)
    button(at, "Train").click().run()
    wait_for_job(at)
    at.switch_page(nav.RECOMMEND).run()
    no_errors(at)
    assert at.selectbox(key="ui.rec.run").value == 2
    assert not any("newer" in i.value for i in at.info)


def test_an_older_run_chosen_by_hand_says_which_run_it_shows_and_offers_the_newer_one(app, feed_run):
    other = trained_run(tiny_dataset(seed=2, name="new_upload.csv"), 2)
    at = open_page(app, nav.RECOMMEND, other.ds, [feed_run, other])
    assert at.selectbox(key="ui.rec.run").value == 2      # the active dataset's latest run
    at.selectbox(key="ui.rec.run").set_value(1).run()
    no_errors(at)
    notice = " ".join(i.value for i in at.info)
    assert "#1" in notice and "new_upload.csv" in notice and "#2" in notice
    button(at, "Show run #2").click().run()
    assert at.selectbox(key="ui.rec.run").value == 2
    assert not any("Show run" in b.label for b in at.button)


def test_item_links_stay_out_of_the_top_k_table(app):
    """A goodbooks upload put image_url columns before the scores, pushing them off the
    table's right edge."""
    frame = tiny_frame()
    frame["image_url"] = "https://images.example/" + frame["item_id"].astype(str) + ".jpg"
    ds = datasets.dataset_from_frames(frame, "with_links.csv")
    run = trained_run(ds, 1)
    at = open_page(app, nav.RECOMMEND, ds, [run])
    no_errors(at)
    top = table_with(at, "rank", "item_id", "score")
    assert "image_url" not in top.columns and "item_title" in top.columns
