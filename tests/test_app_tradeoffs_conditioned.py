"""AppTest tests of the Trade-offs page's "Train a conditioned model" (Instant weights
tab, no conditioned model yet): it trains the network set up on the Train page, made
preference-conditioned, and says which beside the button."""

from __future__ import annotations

import dataclasses

from pages import _nav as nav
from pages._common import default_tasks, make_config
from tests._apptest import button, tiny_dataset, training

PRESS = "Train a conditioned model"


def _started(at):
    """The training the button started (stopped at once: only its configuration matters)."""
    entry = training(at)
    assert entry is not None, "no training started"
    entry.job.stop()
    assert entry.job.join(30), "the training did not stop"
    return entry.job.config


def _offer(at) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Trains "))


def test_trains_the_network_set_up_on_the_train_page(app):
    ds = tiny_dataset()
    app.session_state["dataset"] = ds
    at = app.run()
    at.switch_page(nav.TRAIN).run()
    at.multiselect(key=f"ui.train.tasks.{ds.short}").set_value(["click", "like"]).run()
    at.slider(key=f"ui.train.preference.{ds.short}.like").set_value(2.0)
    at.selectbox(key="ui.train.arch").set_value("mmoe")
    at.selectbox(key="ui.train.weighting").set_value("upgrad")
    at.selectbox(key="ui.train.interaction").set_value("dcn")
    at.selectbox(key="ui.train.num_emb").set_value("periodic")
    at.text_input(key="ui.train.hidden").set_value("16, 8")
    at.number_input(key="ui.train.experts").set_value(3)
    at.number_input(key="ui.train.proj").set_value(8)
    at.number_input(key="ui.train.epochs").set_value(2)
    at.number_input(key="ui.train.seed").set_value(7)
    at.run()
    assert not at.exception

    at.switch_page(nav.TRADEOFFS).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    offer = _offer(at)
    assert offer.startswith("Trains **mmoe with dcn interactions, periodic numeric embeddings, a 8-wide input "
                            "projection** (hidden 16, 8, 2 epochs) on click, like, preference-conditioned: your "
                            "Train page settings"), offer
    assert "UPGrad, does not apply" in offer

    button(at, PRESS).click().run()
    config = _started(at)
    assert config.tasks == ["click", "like"] and config.preference["like"] == 2.0
    assert (config.arch, config.weighting, config.epochs, config.seed) == ("mmoe", "static", 2, 7)
    model = config.model
    assert model.conditioned
    assert (model.interaction, model.num_embedding, model.hidden, model.n_experts, model.input_proj) == \
        ("dcn", "periodic", (16, 8), 3, 8)
    assert not at.exception


def test_without_train_page_settings_it_trains_the_defaults(app):
    ds = tiny_dataset()
    app.session_state["dataset"] = ds
    at = app.run()
    at.switch_page(nav.TRADEOFFS).run()
    assert not at.exception and not at.error
    expected = make_config(ds, default_tasks(ds))
    assert _offer(at).endswith("preference-conditioned: the defaults; set your own on the Train page.")
    assert f"**{expected.arch}**" in _offer(at)

    button(at, PRESS).click().run()
    config = _started(at)
    assert config.model == dataclasses.replace(expected.model, conditioned=True)
    assert (config.tasks, config.arch, config.weighting, config.epochs, config.preference, config.split) == \
        (expected.tasks, expected.arch, expected.weighting, expected.epochs, expected.preference, expected.split)


def test_settings_that_cannot_train_conditioned_are_refused_with_what_to_change(app):
    ds = tiny_dataset()
    app.session_state["dataset"] = ds
    at = app.run()
    at.switch_page(nav.TRADEOFFS).run()
    defaults = make_config(ds, default_tasks(ds))
    cases = [("ui.train.arch", "single", defaults.arch, "choose a shared architecture on the Train page"),
             (f"ui.train.tasks.{ds.short}", ["click"], defaults.tasks, "1 task chosen: choose two or more there"),
             ("ui.train.hidden", "16, wide", "16", "Hidden sizes must be comma-separated whole numbers")]
    for key, bad, good, said in cases:
        at.session_state[key] = bad
        at.run()
        assert not at.exception
        errors = [e.value for e in at.error]
        assert len(errors) == 1 and errors[0].startswith("Cannot train a conditioned model from the Train page's "
                                                         "settings: ") and said in errors[0], errors
        assert PRESS not in [b.label for b in at.button]
        assert training(at) is None
        at.session_state[key] = good  # a setting that can train, for the next case
        at.run()
        assert not at.error and PRESS in [b.label for b in at.button]


def test_history_features_on_data_without_a_topic_are_refused(app):
    from pages._datasets import dataset_from_frames
    from tests._apptest import tiny_frame

    ds = dataset_from_frames(tiny_frame().drop(columns=["item_category"]), "no_topic.csv")
    app.session_state["dataset"] = ds
    app.session_state["ui.train.history"] = True
    at = app.run()
    at.switch_page(nav.TRADEOFFS).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "item-level categorical column" in errors[0] and \
        errors[0].endswith("untick user-history features on the Train page."), errors
    assert PRESS not in [b.label for b in at.button]
