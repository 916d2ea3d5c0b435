"""AppTest tests of presentation mode (issue 12 item 3): the sidebar toggle and
``?present=1`` on every page, advanced controls hidden with their values kept, charts
present and built at the larger font scale, and the parameter kept across pages."""

from __future__ import annotations

import json

import pytest
from streamlit.runtime.state.common import user_key_from_element_id

from mtl.plots import style
from pages import _nav as nav
from pages import _present as present
from tests._apptest import new_app, no_errors, open_page, tiny_dataset, trained_run

#: Per page: labels of advanced controls a presentation hides, and whether a chart is drawn
#: (with the module's dataset and one trained run in the history).
PAGES = {
    nav.HOME: (["Compute"], False),
    nav.DATA: (["New label name", "Add derived label"], True),
    nav.TRAIN: (["Epochs", "Learning rate", "Experts", "Seed", "Device", "Batch size"], True),
    nav.COMPARE: (["Seeds per method", "Epochs per model", "Architecture"], False),
    nav.RECOMMEND: ([], True),
    nav.TRADEOFFS: (["Epochs per model", "Architecture",
                     "Also train one preference-conditioned model and compare it with the retrains"], True),
}


@pytest.fixture(scope="module")
def dataset():
    return tiny_dataset()


@pytest.fixture(scope="module")
def run(dataset):
    return trained_run(dataset)


def _key(node) -> str:
    proto = getattr(node, "proto", None)
    element_id = getattr(proto, "id", "") if proto is not None else ""
    return (user_key_from_element_id(element_id) if element_id else None) or ""


def _styled(at) -> bool:
    """Whether the page carries presentation mode's styles (which hide the advanced containers)."""
    return any(present.CSS.strip() in h.proto.body for h in at.get("html"))


def shown(at) -> set[str]:
    """Labels and subheaders a viewer sees: everything drawn, except what sits in an
    :func:`pages._present.advanced` container while the page carries the hiding styles."""
    hide = _styled(at)
    found: set[str] = set()

    def walk(node, hidden: bool) -> None:
        hidden = hidden or (hide and _key(node).startswith(present.HIDDEN))
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child, hidden)
        elif not hidden:
            text = getattr(node, "label", None) or (getattr(node, "value", None) if node.type == "subheader" else None)
            if isinstance(text, str):
                found.add(text)

    walk(at.main, False)
    return found


def charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def param(at, name: str = present.PARAM) -> str | None:
    """A query parameter's value after the run (AppTest keeps a value or a list of values)."""
    value = at.query_params.get(name)
    return value[-1] if isinstance(value, list) else value


def open_presenting(monkeypatch, page, dataset, run, **params):
    at = new_app(monkeypatch)
    for name, value in {present.PARAM: "1", **params}.items():
        at.query_params[name] = value
    return open_page(at, page, dataset, runs=[run])


@pytest.mark.parametrize("page", list(PAGES), ids=lambda p: p.split("/")[-1][:-3])
def test_the_address_opens_every_page_presenting(monkeypatch, dataset, run, page):
    at = open_presenting(monkeypatch, page, dataset, run)
    no_errors(at)
    assert at.sidebar.toggle(key=present.TOGGLE).value is True
    assert _styled(at)
    advanced, has_chart = PAGES[page]
    assert not set(advanced) & shown(at), f"advanced controls on screen: {set(advanced) & shown(at)}"
    if has_chart:
        assert charts(at), "the page's main chart is missing"
    for spec in charts(at):  # every figure at the presentation's font scale
        assert spec["layout"]["title"]["font"]["size"] == round(style.TITLE_SIZE * present.FONT_SCALE)
    assert param(at) == "1", "the address lost ?present=1"


@pytest.mark.parametrize("page", list(PAGES), ids=lambda p: p.split("/")[-1][:-3])
def test_without_presentation_every_advanced_control_is_there(monkeypatch, dataset, run, page):
    """The other side of the test above: the labels it checks are the page's real ones."""
    at = open_page(new_app(monkeypatch), page, dataset, runs=[run])
    no_errors(at)
    assert not _styled(at) and at.sidebar.toggle(key=present.TOGGLE).value is False
    assert set(PAGES[page][0]) <= shown(at)
    for spec in charts(at):
        assert "size" not in spec["layout"]["title"].get("font", {})
    assert param(at) is None


def test_the_toggle_keeps_hidden_settings_and_the_address_follows(monkeypatch, dataset, run):
    at = open_page(new_app(monkeypatch), nav.TRAIN, dataset, runs=[run])
    at.number_input(key="ui.train.epochs").set_value(7)
    at.selectbox(key="ui.train.arch").set_value("mmoe").run()
    assert "Epochs" in shown(at)

    at.sidebar.toggle(key=present.TOGGLE).set_value(True).run()
    no_errors(at)
    assert "Epochs" not in shown(at) and param(at) == "1"
    # Hidden, not reset: the page still reads the earlier choice (the address mirrors what it reads).
    assert at.number_input(key="ui.train.epochs").value == 7 and param(at, "epochs") == "7"

    at.switch_page(nav.COMPARE).run()  # another page: still presenting, still in the address
    no_errors(at)
    assert at.sidebar.toggle(key=present.TOGGLE).value is True and param(at) == "1"
    assert "Seeds per method" not in shown(at)

    at.switch_page(nav.TRAIN).run()
    at.sidebar.toggle(key=present.TOGGLE).set_value(False).run()
    no_errors(at)
    assert "Epochs" in shown(at) and param(at) is None
    assert at.number_input(key="ui.train.epochs").value == 7 and at.selectbox(key="ui.train.arch").value == "mmoe"


def test_a_train_link_with_present_is_not_taken_for_an_unknown_setting(monkeypatch, dataset, run):
    """The Train page reads its settings from the address and names the ones it does not know."""
    at = open_presenting(monkeypatch, nav.TRAIN, dataset, run, epochs="9")
    no_errors(at)
    assert not at.warning, [w.value for w in at.warning]
    assert at.number_input(key="ui.train.epochs").value == 9 and param(at) == "1"


def test_an_unreadable_value_leaves_presentation_off_with_a_note(monkeypatch):
    at = new_app(monkeypatch)
    at.query_params[present.PARAM] = "maybe"
    at.run()
    no_errors(at)
    assert at.sidebar.toggle(key=present.TOGGLE).value is False
    assert any("present=maybe" in w.value for w in at.warning)
    assert param(at) is None


def test_present_zero_is_off_without_a_note(monkeypatch):
    at = new_app(monkeypatch)
    at.query_params[present.PARAM] = "0"
    at.run()
    no_errors(at)
    assert not at.warning and at.sidebar.toggle(key=present.TOGGLE).value is False


def test_folded_details_keep_their_content(monkeypatch, dataset, run):
    """One idea per screen: the learning curves and diagnostics fold into expanders, still drawn."""
    at = open_presenting(monkeypatch, nav.TRAIN, dataset, run)
    labels = [e.label for e in at.expander]
    assert {"Learning curves", "Gradient diagnostics", "What these metrics mean"} <= set(labels)
    curves = at.expander[labels.index("Learning curves")]
    assert curves.get("plotly_chart"), "the learning curves are no longer drawn"
