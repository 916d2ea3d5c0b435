"""AppTest: the Train page offers the user-history features with their description,
keeps the choice in the address, and trains with them (the run's encoder holds them)."""

from __future__ import annotations

from mtl.data.history import DESCRIPTION
from pages import _nav as nav
from tests._apptest import button, fast_settings, no_errors, open_page, tiny_dataset, wait_for_job


def test_train_page_trains_with_user_history_features(app):
    at = open_page(app, nav.TRAIN, tiny_dataset(), ())
    fast_settings(at)
    at.run()
    no_errors(at)
    box = at.checkbox(key="ui.train.history")
    assert box.value is False and box.help == DESCRIPTION
    assert "history" not in at.query_params  # off, the default, stays out of the address
    box.check().run()
    assert at.query_params["history"] in ("true", ["true"])
    button(at, "Train").click().run()
    wait_for_job(at)
    no_errors(at)
    run = at.session_state["runs"][0]
    assert run.config.history is True
    assert run.result.trained.encoder.history is not None


def test_history_on_data_without_user_ids_is_refused_before_training(app):
    """Ticking the box on a log that cannot have history features says why beside it
    and keeps Train off; unticking brings Train back."""
    from pages import _datasets as datasets
    from tests._apptest import tiny_frame

    frame = tiny_frame().drop(columns=["user_id"])
    at = open_page(app, nav.TRAIN, datasets.dataset_from_frames(frame, "no-users.csv"), ())
    at.checkbox(key="ui.train.history").check().run()
    assert any("need a user id and an item id" in e.value for e in at.error)
    assert button(at, "Train").disabled
    at.checkbox(key="ui.train.history").uncheck().run()
    no_errors(at)
    assert not button(at, "Train").disabled
