"""AppTest: the Compare page and the Trade-offs sweep offer the Train page's network
options (feature interactions, numeric embeddings, user-history features) with the same
descriptions, keep them in the address, and train every model of the run with them."""

from __future__ import annotations

from mtl.data.history import DESCRIPTION
from mtl.models import available_interactions, available_num_embeddings
from pages import _nav as nav
from tests._apptest import button, new_app, no_errors, open_page, tiny_dataset, wait_for_job


def address(at) -> dict[str, str]:
    return {k: v[-1] if isinstance(v, list) else v for k, v in at.query_params.items()}


def open_with(at, page, **params):
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(page).run()
    return at


def choose_network(at, prefix: str, interaction: str, num_emb: str) -> None:
    at.selectbox(key=f"{prefix}.interaction").set_value(interaction)
    at.selectbox(key=f"{prefix}.num_emb").set_value(num_emb)
    at.checkbox(key=f"{prefix}.history").check()


def test_compare_offers_the_options_and_trains_every_model_with_them(app):
    at = open_page(app, nav.COMPARE, tiny_dataset())
    no_errors(at)
    inter = at.selectbox(key="ui.cmp.interaction")
    assert inter.options == list(available_interactions()) and inter.value == "none"
    assert at.selectbox(key="ui.cmp.num_emb").value == "none"
    box = at.checkbox(key="ui.cmp.history")
    assert box.value is False and box.help == DESCRIPTION
    assert "history" not in at.query_params  # off, the default, stays out of the address
    at.multiselect(key=f"ui.cmp.tasks.{at.session_state['dataset'].short}").set_value(["click", "like"])
    at.multiselect(key="ui.cmp.methods").set_value(["static"])
    at.number_input(key="ui.cmp.seeds").set_value(1)
    at.number_input(key="ui.cmp.epochs").set_value(1)
    # Not dcn with periodic: its cross layers over every numeric column's vector train 3x slower.
    choose_network(at, "ui.cmp", "fm", "periodic")
    at.run()
    assert available_interactions()["fm"] in [c.value for c in at.caption]
    assert at.selectbox(key="ui.cmp.num_emb").options == list(available_num_embeddings())
    assert available_num_embeddings()["periodic"] in [c.value for c in at.caption]
    params = address(at)
    assert (params["interaction"], params["num_emb"], params["history"]) == ("fm", "periodic", "true")
    button(at, "Run the comparison").click().run()
    wait_for_job(at, 120, kind="compare")
    no_errors(at)
    result = at.session_state["results"]["compare"].result
    assert [r.method for r in result.runs] == ["single-task", "static"]
    cfg = result.config
    assert (cfg.model.interaction, cfg.model.num_embedding, cfg.history) == ("fm", "periodic", True)
    header = "shared_bottom with fm interactions, periodic numeric embeddings, user-history features"
    assert any(header in m.value for m in at.markdown)
    # The best method goes to the Train page on the same network.
    button(at, "Train with Static on the Train page").click().run()
    no_errors(at)
    assert at.selectbox(key="ui.train.interaction").value == "fm"
    assert at.selectbox(key="ui.train.num_emb").value == "periodic"
    assert at.checkbox(key="ui.train.history").value is True


def test_the_sweep_offers_the_options_and_trains_with_them(app):
    at = open_page(app, nav.TRADEOFFS, tiny_dataset())
    no_errors(at)
    inter = at.selectbox(key="ui.to.interaction")
    assert inter.value == "none" and inter.options == list(available_interactions())
    # In a form the caption lists every option: the widget's value is the last submission's.
    captions = " ".join(c.value for c in at.caption)
    for name, text in [*available_interactions().items(), *available_num_embeddings().items()]:
        assert f"**{name}**" in captions and text.partition(": ")[2] in captions, name
    assert "None: " not in captions  # not "none: None: the network sees ..."
    assert at.checkbox(key="ui.to.history").help == DESCRIPTION
    at.slider(key="ui.to.points").set_value(3)
    at.number_input(key="ui.to.epochs").set_value(1)
    at.checkbox(key="ui.to.cond").uncheck()
    choose_network(at, "ui.to", "dcn", "none")
    button(at, "Run the sweep").click().run()
    wait_for_job(at, 120, kind="sweep")
    no_errors(at)
    entry = at.session_state["results"]["sweep"]
    assert len(entry.result.points) == 3 and entry.result.baselines
    cfg = entry.meta["config"]
    assert (cfg.model.interaction, cfg.model.num_embedding, cfg.history) == ("dcn", "none", True)
    assert any("shared_bottom with dcn interactions, user-history features" in m.value for m in at.markdown)
    params = address(at)
    assert (params["interaction"], params["num_emb"], params["history"]) == ("dcn", "none", "true")


def test_the_options_round_trip_through_the_address_and_bad_ones_are_named(monkeypatch):
    wanted = {"interaction": "fm", "num_emb": "periodic", "history": "true"}
    for page, prefix in ((nav.COMPARE, "ui.cmp"), (nav.TRADEOFFS, "ui.to")):
        fresh = open_with(new_app(monkeypatch), page, **wanted)
        no_errors(fresh)
        assert not fresh.warning
        assert fresh.selectbox(key=f"{prefix}.interaction").value == "fm"
        assert fresh.selectbox(key=f"{prefix}.num_emb").value == "periodic"
        assert fresh.checkbox(key=f"{prefix}.history").value is True
        assert {k: address(fresh)[k] for k in wanted} == wanted
        bad = open_with(new_app(monkeypatch), page, interaction="xgb", num_emb="fourier", history="maybe")
        no_errors(bad)
        note = " ".join(w.value for w in bad.warning).replace("\\", "")
        for name in ("interaction ('xgb' is not one of the choices)", "num_emb ('fourier' is not one of the choices)",
                     "history ('maybe' cannot be read)"):
            assert name in note, (name, note)
        assert bad.selectbox(key=f"{prefix}.interaction").value == "none"
        assert bad.checkbox(key=f"{prefix}.history").value is False


def test_every_page_names_the_options_short_and_describes_the_choice_below(app):
    """The selects read "none", "periodic" (the address's names), never "none: None: the network sees ..."
    cut off by the select's width; the description is a caption under them."""
    ds = tiny_dataset()
    at = open_page(app, nav.TRAIN, ds)
    for page, prefix in ((nav.TRAIN, "ui.train"), (nav.COMPARE, "ui.cmp"), (nav.TRADEOFFS, "ui.to")):
        at.switch_page(page).run()
        no_errors(at)
        captions = [c.value for c in at.caption]
        for name, described in (("interaction", available_interactions()), ("num_emb", available_num_embeddings())):
            select = at.selectbox(key=f"{prefix}.{name}")
            assert select.options == list(described), (page, select.options)
            assert any(described[select.value].partition(": ")[2] in c for c in captions), (page, name)


def test_a_link_that_turns_on_network_options_shows_them_outside_the_collapsed_expander(monkeypatch):
    """?num_emb=periodic&history=true changes the model: the Train page shows both beside Feature
    interactions, as Compare and Trade-offs do, not inside "Hyperparameters and device"."""
    at = open_with(new_app(monkeypatch), nav.TRAIN, num_emb="periodic", history="true")
    no_errors(at)
    assert at.selectbox(key="ui.train.num_emb").value == "periodic"
    assert at.checkbox(key="ui.train.history").value is True
    hyper = next(e for e in at.expander if e.label == "Hyperparameters and device")
    inside = {w.key for w in [*hyper.selectbox, *hyper.checkbox, *hyper.number_input]}
    assert "ui.train.epochs" in inside  # the expander itself is found
    assert not inside & {"ui.train.num_emb", "ui.train.history", "ui.train.interaction"}, inside
