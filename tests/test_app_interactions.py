"""AppTest: the Train page offers the interaction blocks and numeric embeddings beside
the architecture, each with its one-line description, and trains with the choice."""

from __future__ import annotations

from mtl.models import available_interactions, available_num_embeddings
from pages import _nav as nav
from tests._apptest import button, fast_settings, no_errors, open_page, tiny_dataset, wait_for_job


def test_train_page_offers_the_blocks_and_trains_with_them(app):
    at = open_page(app, nav.TRAIN, tiny_dataset(), ())
    fast_settings(at)
    at.run()
    no_errors(at)
    inter = at.selectbox(key="ui.train.interaction")
    assert inter.options == list(available_interactions()) and inter.value == "none"
    inter.set_value("fm")
    at.selectbox(key="ui.train.num_emb").set_value("periodic")
    at.run()
    assert available_interactions()["fm"] in [c.value for c in at.caption]
    assert at.selectbox(key="ui.train.num_emb").options == list(available_num_embeddings())
    assert available_num_embeddings()["periodic"] in [c.value for c in at.caption]
    assert at.query_params["interaction"] in ("fm", ["fm"]) and at.query_params["num_emb"] in ("periodic", ["periodic"])
    button(at, "Train").click().run()
    wait_for_job(at)
    no_errors(at)
    model = at.session_state["runs"][0].config.model
    assert (model.interaction, model.num_embedding) == ("fm", "periodic")


def test_train_page_trains_mmoe_on_an_input_projection(app):
    """The input projection's width travels in the address and reaches the model."""
    at = open_page(app, nav.TRAIN, tiny_dataset(), ())
    fast_settings(at)
    at.selectbox(key="ui.train.arch").set_value("mmoe")
    at.number_input(key="ui.train.proj").set_value(8)
    at.run()
    no_errors(at)
    assert at.query_params["proj"] in ("8", ["8"])
    button(at, "Train").click().run()
    wait_for_job(at)
    no_errors(at)
    run = at.session_state["runs"][0]
    assert run.config.arch == "mmoe" and run.config.model.input_proj == 8
