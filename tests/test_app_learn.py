"""AppTest tests of the Learn page: every lesson, every control, and the playground.

The lessons' simulated feeds are shrunk here (their effects are checked at full size
in ``tests/test_lessons.py``); the page code and the lessons' code run unchanged.
"""

from __future__ import annotations

import re

import pytest

from mtl import playground as pg
from mtl.lessons import conflict, lessons, paradox, pareto, sharing
from tests._apptest import ROOT, button, no_errors

LEARN = "pages/learn.py"
#: Script-run limit: a lesson trains in its run (seconds, more on a busy machine).
T = 300


@pytest.fixture
def tiny_lessons(monkeypatch):
    for module, n in ((sharing, 4000), (conflict, 3000), (paradox, 4000), (pareto, 3000)):
        monkeypatch.setitem(module.SCENARIO, "n_impressions", n)
        monkeypatch.setitem(module.SCENARIO, "n_users", 60)
        monkeypatch.setitem(module.SCENARIO, "n_items", 120)
    monkeypatch.setattr(pg, "STEPS", 30)


def _learn(app):
    at = app.run(timeout=T)
    return at.switch_page(LEARN).run(timeout=T)


def _says(at, pattern: str) -> bool:
    return any(re.search(pattern, s.value) for s in at.success)


def test_learn_comes_right_after_home_in_the_navigation():
    source = (ROOT / "app.py").read_text()
    pages = re.findall(r"st\.Page\(([^,]+),", source)
    assert pages[0] == "nav.HOME" and pages[1] == "nav.LEARN"
    from pages import _nav

    assert _nav.LEARN == LEARN


def test_every_lesson_and_every_control(app, tiny_lessons):
    at = _learn(app)
    no_errors(at)
    assert at.title[0].value == "Learn"
    steps = at.radio(key="ui.learn.step").options
    assert len(steps) == len(lessons()) + 1
    for i, lesson in enumerate(lessons()):
        at.radio(key="ui.learn.step").set_value(steps[i]).run(timeout=T)
        no_errors(at)
        assert at.subheader[0].value == lesson.title
        key = f"ui.learn.{lesson.name}"
        widget = at.select_slider(key=key) if lesson.name in ("sharing", "paradox", "pareto") else at.radio(key=key)
        options = list(lesson.control.options)
        if len(options) > 4:  # sliders that only re-read one trained model: both ends and the middle
            options = [options[0], options[len(options) // 2], options[-1]]
        for value in options:
            widget = at.select_slider(key=key) if lesson.name != "conflict" else at.radio(key=key)
            widget.set_value(value).run(timeout=T)
            no_errors(at)
            assert _says(at, r"^\*\*What you should see\.\*\* .*\d"), [s.value for s in at.success]
            assert len(at.get("plotly_chart")) == 1
        # Every setting trained once and is remembered for the session.
        cached = [k for k in at.session_state["learn.results"] if k[0] == lesson.name]
        assert len(cached) == (len(options) if lesson.control.retrains else 1)


def test_next_button_walks_the_sequence(app, tiny_lessons):
    at = _learn(app)
    steps = at.radio(key="ui.learn.step").options
    button(at, f"Next: {steps[1]}").click().run(timeout=T)
    no_errors(at)
    assert at.radio(key="ui.learn.step").value == steps[1]
    assert at.subheader[0].value == lessons()[1].title


def test_playground_controls(app, tiny_lessons):
    at = _learn(app)
    steps = at.radio(key="ui.learn.step").options
    at.radio(key="ui.learn.step").set_value(steps[-1]).run(timeout=T)
    no_errors(at)
    assert at.subheader[0].value == "Gradient playground"
    assert _says(at, r"What you should see")
    methods = at.multiselect(key="ui.learn.pg.methods")
    assert set(methods.value) == {"static", "mgda", "pcgrad", "upgrad"} & set(pg.playground_methods())
    methods.set_value(pg.playground_methods()).run(timeout=T)  # every installed method
    no_errors(at)
    for start in list(pg.START_POINTS)[:2]:
        at.radio(key="ui.learn.pg.start").set_value(start).run(timeout=T)
        no_errors(at)
    at.radio(key="ui.learn.pg.start").set_value("custom point").run(timeout=T)
    at.number_input(key="ui.learn.pg.x1").set_value(9.0).run(timeout=T)
    at.number_input(key="ui.learn.pg.x2").set_value(-1.0).run(timeout=T)
    no_errors(at)
    assert _says(at, r"from \(9, -1\)")
    at.slider(key="ui.learn.pg.steps").set_value(10).run(timeout=T)
    no_errors(at)
    assert _says(at, r"After 10 steps")
    at.multiselect(key="ui.learn.pg.methods").set_value([]).run(timeout=T)
    assert any("at least one method" in i.value for i in at.info)
