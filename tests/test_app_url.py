"""AppTest tests of the Train page's setup in the address (issue 12 item 2, Train page)."""

from __future__ import annotations

from pages import _nav as nav
from pages._datasets import sample_dataset
from tests._apptest import new_app, no_errors


def open_train(at, **params):
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(nav.TRAIN).run()
    return at


def address(at) -> dict[str, str]:
    """The page's query parameters (AppTest keeps a value or a list of values)."""
    return {k: v[-1] if isinstance(v, list) else v for k, v in at.query_params.items()}


def short(at) -> str:
    return at.session_state["dataset"].short


def test_the_address_mirrors_the_setup_and_a_fresh_session_reads_it_back(app, monkeypatch):
    at = open_train(app)
    no_errors(at)
    assert address(at)["data"] == "simulated" and address(at)["arch"] == "shared_bottom"
    at.selectbox(key="ui.train.arch").set_value("mmoe")
    at.number_input(key="ui.train.epochs").set_value(7)
    at.number_input(key="ui.train.seed").set_value(42)
    at.multiselect(key=f"ui.train.tasks.{short(at)}").set_value(["click", "like"])
    at.run()
    at.slider(key=f"ui.train.preference.{short(at)}.like").set_value(2.5).run()
    no_errors(at)
    params = address(at)
    assert params["arch"] == "mmoe" and params["epochs"] == "7" and params["seed"] == "42"
    assert params["tasks"] == '["click", "like"]' and '"like": 2.5' in params["preference"]

    fresh = open_train(new_app(monkeypatch), **params)  # the copied address, in a new browser
    no_errors(fresh)
    assert not fresh.warning
    assert fresh.selectbox(key="ui.train.arch").value == "mmoe"
    assert fresh.number_input(key="ui.train.epochs").value == 7
    assert fresh.number_input(key="ui.train.seed").value == 42
    assert fresh.multiselect(key=f"ui.train.tasks.{short(fresh)}").value == ["click", "like"]
    assert fresh.slider(key=f"ui.train.preference.{short(fresh)}.like").value == 2.5
    assert address(fresh) == params


def test_bad_parameters_fall_back_to_defaults_with_a_note_naming_them(app):
    at = open_train(app, arch="nope", epochs="many", lr="5", tasks='["click", "ghost"]', preference="{bad json",
                    hidden="0", split="sideways", colour="blue")
    no_errors(at)
    note = " ".join(w.value for w in at.warning)
    for name in ("arch ('nope' is not one of the choices)", "epochs ('many' cannot be read)", "lr (5.0 is outside",
                 "tasks (no label column 'ghost'", "preference ('{bad json' cannot be read)", "hidden (",
                 "split ('sideways'", "colour (not a Train setting)"):
        assert name in note, (name, note)
    assert at.selectbox(key="ui.train.arch").value == "shared_bottom"
    assert at.number_input(key="ui.train.epochs").value != "many"
    assert at.multiselect(key=f"ui.train.tasks.{short(at)}").value == ["click", "like", "long_view"]
    # the address now holds what the page shows, not the bad values
    assert address(at)["arch"] == "shared_bottom" and "colour" not in address(at)


def test_a_link_names_the_bundled_sample_and_says_uploads_do_not_travel(app, monkeypatch):
    at = open_train(app, data="census")
    no_errors(at)
    assert at.session_state["dataset"].source_id == sample_dataset("census").source_id
    other = open_train(new_app(monkeypatch), data="upload", epochs="3")
    no_errors(other)
    note = " ".join(w.value for w in other.warning)
    assert "uploaded data, which cannot travel in a link" in note
    assert other.number_input(key="ui.train.epochs").value == 3
