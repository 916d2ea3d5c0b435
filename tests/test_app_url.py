"""AppTest tests of each page's setup in the address (issue 12 item 2): round trips into
a fresh session, and bad or stale parameters named and dropped."""

from __future__ import annotations

import dataclasses

import pytest

from mtl.models import ModelConfig
from pages import _nav as nav
from pages import _url
from pages._datasets import sample_dataset
from tests._apptest import new_app, no_errors, table_with, tiny_dataset, trained_run


def open_train(at, **params):
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(nav.TRAIN).run()
    return at


def address(at) -> dict[str, str]:
    """The page's query parameters (AppTest keeps a value or a list of values)."""
    return {k: v[-1] if isinstance(v, list) else v for k, v in at.query_params.items()}


def notes(at) -> str:
    """The warnings' text as shown (a link's words are escaped Markdown)."""
    return " ".join(w.value for w in at.warning).replace("\\", "")


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
    note = notes(at)
    for name in ("arch ('nope' is not one of the choices)", "epochs ('many' cannot be read)", "lr (5.0 is outside",
                 "tasks (no 'ghost' in the label columns", "preference ('{bad json' cannot be read)", "hidden (",
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
    note = notes(other)
    assert "uploaded data, which cannot travel in a link" in note
    assert other.number_input(key="ui.train.epochs").value == 3


@pytest.mark.parametrize("page", [nav.TRAIN, nav.TRADEOFFS])
def test_the_sidebar_names_the_dataset_a_link_opened(app, page):
    """The sidebar is drawn before the page reads its address: a link's ``data=`` must
    not leave it naming the dataset the session had before."""
    app.query_params["data"] = "goodbooks"
    at = app.switch_page(page).run()
    no_errors(at)
    title = sample_dataset("goodbooks").name
    assert at.session_state["dataset"].source_id == sample_dataset("goodbooks").source_id
    assert [c.value for c in at.sidebar.caption if c.value.startswith("Dataset:")] == [f"Dataset: **{title}**"]


# ------------------------------------------------------------- every page's link
def open_page_with(at, page, ds=None, runs=(), **params):
    """A session that starts on ``page`` from an address with ``params`` (``ds`` active
    and ``runs`` in its history when given: what a stored run would bring)."""
    if ds is not None:
        at.session_state["dataset"] = ds
    if runs:
        at.session_state["runs"] = list(runs)
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(page).run()
    return at


def test_every_setting_a_link_reads_at_once_has_a_check():
    ds = sample_dataset("simulated")
    for link in (_url.TRAIN, _url.COMPARE, _url.TRADEOFFS, _url.RECOMMEND):
        names = {f.name for part in link.parts for f in dataclasses.fields(part)}
        assert set(link.checks(ds)) == names - link.later, link.page
        assert link.later <= names


def test_compare_round_trip(app, monkeypatch):
    at = open_page_with(app, nav.COMPARE)
    no_errors(at)
    s = short(at)
    at.multiselect(key="ui.cmp.methods").set_value(["static", "gradnorm"])
    at.number_input(key="ui.cmp.seeds").set_value(2)
    at.number_input(key="ui.cmp.epochs").set_value(4)
    at.selectbox(key="ui.cmp.arch").set_value("mmoe")
    at.multiselect(key=f"ui.cmp.tasks.{s}").set_value(["click", "like"])
    at.run()
    at.slider(key=f"ui.cmp.preference.{s}.like").set_value(3.0)
    at.selectbox(key=f"ui.cmp.metrics.{s}.like").set_value("logloss").run()
    no_errors(at)
    params = address(at)
    assert params["data"] == "simulated" and params["methods"] == '["static", "gradnorm"]'
    assert params["seeds"] == "2" and params["arch"] == "mmoe" and '"like": "logloss"' in params["metrics"]

    fresh = open_page_with(new_app(monkeypatch), nav.COMPARE, **params)
    no_errors(fresh)
    assert not fresh.warning
    assert fresh.multiselect(key="ui.cmp.methods").value == ["static", "gradnorm"]
    assert fresh.number_input(key="ui.cmp.seeds").value == 2
    assert fresh.number_input(key="ui.cmp.epochs").value == 4
    assert fresh.selectbox(key="ui.cmp.arch").value == "mmoe"
    assert fresh.multiselect(key=f"ui.cmp.tasks.{s}").value == ["click", "like"]
    assert fresh.slider(key=f"ui.cmp.preference.{s}.like").value == 3.0
    assert fresh.selectbox(key=f"ui.cmp.metrics.{s}.like").value == "logloss"
    assert address(fresh) == params


def test_compare_bad_parameters_are_named_and_dropped(app):
    at = open_page_with(app, nav.COMPARE, methods='["static", "nope"]', seeds="0", epochs="x", arch="single",
                        metrics='{"click": "rmse"}', preference='{"click": 9}', train_only="1",
                        **{"[free prize](https://evil.example)": "1"})
    no_errors(at)
    assert "\\[free prize\\]\\(https\\:" in at.warning[0].value  # echoed as text, never as a link
    note = notes(at)
    for name in ("methods (no 'nope' in the weighting methods)", "seeds (0 is outside 1 to 10)",
                 "epochs ('x' cannot be read)", "arch ('single' is not one of the choices)",
                 "metrics ('rmse' is not a metric of click)", "preference (the weight of click must be a number from",
                 "train_only (not a Compare methods setting)"):
        assert name in note, (name, note)
    assert at.number_input(key="ui.cmp.seeds").value == 3 and at.selectbox(key="ui.cmp.arch").value == "shared_bottom"
    assert address(at)["seeds"] == "3" and "train_only" not in address(at)


@pytest.fixture(scope="module")
def conditioned_run():
    """One preference-conditioned model with user ids: instant weights and the curve both use it."""
    return trained_run(tiny_dataset(), 1, model=ModelConfig(emb_dim=4, hidden=(16,), tower=(8,), conditioned=True))


def test_tradeoffs_round_trip_tab_sweep_instant_curve_and_compute(app, monkeypatch, conditioned_run):
    ds = conditioned_run.ds
    at = app
    at.session_state["ui.to.tab"] = "Relevance vs efficiency"
    at.session_state["ui.to.points"] = 5
    at.session_state["ui.to.epochs"] = 2
    at.session_state["ui.to.arch"] = "mmoe"
    at.session_state["ui.to.cond"] = False
    open_page_with(at, nav.TRADEOFFS, ds, [conditioned_run])
    no_errors(at)
    at.slider(key="ui.to.weights.1.click").set_value(0.8)
    at.selectbox(key="ui.to.ix").set_value("like")
    at.multiselect(key="ui.to.eff.1").set_value(["click"]).run()
    at.selectbox(key="ui.to.iy").set_value("click")
    at.multiselect(key="ui.to.rel.1").set_value(["like"])
    at.slider(key="ui.to.alpha.1").set_value(0.75)
    at.number_input(key="ui.to.k.1").set_value(5)
    at.radio(key="ui.to.axis").set_value("params").run()
    no_errors(at)
    params = address(at)
    assert params["data"] == "upload"  # the tiny data is not a bundled sample
    assert params["tab"] == "Relevance vs efficiency" and params["points"] == "5" and params["cond"] == "false"
    assert '"click": 0.8' in params["weights"] and params["eff"] == '["click"]' and params["alpha"] == "0.75"
    assert params["axis"] == "params" and params["k"] == "5" and "quality" in params
    assert params["ix"] == "like" and params["iy"] == "click"

    # A fresh browser with the same model (as a stored run brings it) and the same data.
    del params["data"]
    fresh = open_page_with(new_app(monkeypatch), nav.TRADEOFFS, ds, [conditioned_run], **params)
    no_errors(fresh)
    assert not fresh.warning
    assert fresh.session_state["ui.to.tab"] == "Relevance vs efficiency"
    assert fresh.slider(key="ui.to.points").value == 5 and fresh.number_input(key="ui.to.epochs").value == 2
    assert fresh.selectbox(key="ui.to.arch").value == "mmoe" and fresh.checkbox(key="ui.to.cond").value is False
    assert fresh.slider(key="ui.to.weights.1.click").value == 0.8
    assert fresh.multiselect(key="ui.to.eff.1").value == ["click"]
    assert fresh.multiselect(key="ui.to.rel.1").value == ["like"]
    assert fresh.slider(key="ui.to.alpha.1").value == 0.75 and fresh.number_input(key="ui.to.k.1").value == 5
    assert fresh.radio(key="ui.to.axis").value == "params"
    assert fresh.selectbox(key="ui.to.ix").value == "like" and fresh.selectbox(key="ui.to.iy").value == "click"
    assert address(fresh) == params | {"data": "upload"}


def test_tradeoffs_bad_and_stale_parameters(app, conditioned_run):
    at = open_page_with(app, nav.TRADEOFFS, conditioned_run.ds, [conditioned_run], tab="Nope", points="99",
                        cond="maybe", arch="single", weights='{"ghost": 0.5}', alpha="0.33", eff='["ghost"]',
                        quality="nope", ix="like", iy="like", k="0")
    no_errors(at)
    note = notes(at)
    for name in ("tab ('Nope' is not one of the choices)", "points (99 is outside 3 to 21)", "k (0 is outside 1 to 100)", "cond ('maybe' cannot",
                 "arch ('single'", "weights (no 'ghost' in the tasks of run #1)", "alpha (0.33 is not a multiple",
                 "eff (no 'ghost' in the tasks of run #1)", "quality ('nope' is not one of the choices)",
                 "iy ('like' is not one of the choices)"):
        assert name in note, (name, note)
    assert at.slider(key="ui.to.points").value == 7 and at.slider(key="ui.to.weights.1.click").value == 0.5
    params = address(at)
    assert params["tab"] == "Pareto front" and params["points"] == "7" and params["eff"] == '["click"]'
    assert params["ix"] == "like" and params["iy"] == "click"  # the valid x axis kept, y the first other task


def test_a_link_to_a_model_s_choices_waits_for_a_model(app):
    at = open_page_with(app, nav.RECOMMEND, tiny_dataset(), user="7", fusion='{"click": 1.0}', k="5")
    no_errors(at)
    assert any("This link's user **7** and fusion weights wait for a model" in c.value for c in at.caption)
    assert address(at) == {"user": "7", "fusion": '{"click": 1.0}', "k": "5"}  # kept until a model is shown


@pytest.fixture(scope="module")
def feed_run():
    return trained_run(tiny_dataset(), 1)


def test_recommendations_round_trip(app, monkeypatch, feed_run):
    at = open_page_with(app, nav.RECOMMEND, feed_run.ds, [feed_run])
    no_errors(at)
    second = at.selectbox(key="ui.rec.user.1").options[1].split(" · ")[0]
    at.selectbox(key="ui.rec.user.1").set_value(second)
    at.slider(key="ui.rec.fusion.1.click").set_value(1.0)
    at.slider(key="ui.rec.fusion.1.like").set_value(-0.5)
    at.number_input(key="ui.rec.k").set_value(5)
    at.checkbox(key="ui.rec.exclude_seen").set_value(False).run()
    no_errors(at)
    params = address(at)
    assert params["user"] == second and '"like": -0.5' in params["fusion"] and params["exclude_seen"] == "false"
    assert "data" not in params  # the model, not the active dataset, defines this page

    fresh = open_page_with(new_app(monkeypatch), nav.RECOMMEND, feed_run.ds, [feed_run], **params)
    no_errors(fresh)
    assert not fresh.warning
    assert fresh.selectbox(key="ui.rec.user.1").value == second
    assert fresh.slider(key="ui.rec.fusion.1.like").value == -0.5
    assert fresh.number_input(key="ui.rec.k").value == 5 and fresh.checkbox(key="ui.rec.exclude_seen").value is False
    assert len(table_with(fresh, "rank", "item_id", "score")) == 5
    assert address(fresh) == params


def test_recommendations_bad_parameters(app, feed_run):
    at = open_page_with(app, nav.RECOMMEND, feed_run.ds, [feed_run], user="nobody", fusion='{"click": 3}', k="0",
                        exclude_seen="yes")
    no_errors(at)
    note = notes(at)
    for name in ("user ('nobody' is not one of the choices)", "fusion (the weight of click must be a number from -1",
                 "k (0 is outside 1 to 100)", "exclude_seen ('yes' cannot be read)"):
        assert name in note, (name, note)
    assert address(at)["k"] == "10" and address(at)["user"] != "nobody"


def test_each_page_writes_only_its_own_parameters_and_keeps_the_frame_s(app):
    at = open_page_with(app, nav.COMPARE, present="1")
    no_errors(at)
    assert "methods" in address(at) and address(at)["present"] == "1"
    at.switch_page(nav.TRADEOFFS).run()  # (a browser's page switch also clears the address; AppTest keeps it)
    no_errors(at)
    params = address(at)
    assert "methods" not in params and "seeds" not in params and params["present"] == "1"
    assert params["tab"] == "Pareto front" and params["data"] == "simulated"
    at.switch_page(nav.TRAIN).run()
    assert "tab" not in address(at) and "weighting" in address(at) and address(at)["present"] == "1"
