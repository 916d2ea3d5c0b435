"""Learn: guided lessons on multi-task learning, each on a purpose-built simulated feed,
and the gradient playground. The lessons and the playground live in the library
(:mod:`mtl.lessons`, :mod:`mtl.playground`); this page shows them."""

from __future__ import annotations

import time

import streamlit as st

from mtl import playground as pg
from mtl.errors import MTLError
from mtl.lessons import lessons
from mtl.weighting import get_weighting_class
from pages._state import UI, ui_default
from pages._widgets import page_setup, show_error

PLAYGROUND = "Gradient playground"
CUSTOM = "custom point"

page_setup()
st.title("Learn")
st.markdown(
    "Short lessons on the ideas this tool is about. Each one trains small models on a simulated feed built to make "
    "one effect visible, measures it, and tells you what you should see. Every number on this page is computed "
    "from the run you are looking at (seed 0; each lesson trains in seconds and is remembered for this session)."
)

LESSONS = lessons()
steps = [f"{i + 1}. {lesson.title}" for i, lesson in enumerate(LESSONS)] + [f"{len(LESSONS) + 1}. {PLAYGROUND}"]
step_key = ui_default(f"{UI}learn.step", steps[0])
if st.session_state.get("learn.goto") in steps:  # the "Next" button, before the radio is drawn
    st.session_state[step_key] = st.session_state.pop("learn.goto")
choice = st.radio("Lesson", steps, key=step_key, horizontal=True)
index = steps.index(choice)


def _results() -> dict:
    return st.session_state.setdefault("learn.results", {})


def _train(lesson, value, seed: int = 0):
    """The lesson's trained result at ``value``, trained now (with a progress bar) or
    remembered from earlier in this session."""
    cache = _results()
    key = lesson.cache_key(value, seed)
    if key not in cache:
        bar = st.progress(0.0, text=f"Training: {lesson.title}")
        start = time.perf_counter()
        cache[key] = lesson.train(value, seed, progress=lambda f, msg: bar.progress(f, text=f"Training: {msg}"))
        cache[key]["wall_seconds"] = time.perf_counter() - start
        bar.empty()
    return cache[key]


def show_lesson(lesson) -> None:
    st.subheader(lesson.title)
    st.markdown(lesson.text)
    c = lesson.control
    key = ui_default(f"{UI}learn.{lesson.name}", c.default)
    if all(isinstance(o, (int, float)) for o in c.options):
        value = st.select_slider(c.label, options=list(c.options), key=key, help=c.help, format_func=c.format)
    else:
        value = st.radio(c.label, list(c.options), key=key, help=c.help, format_func=c.format, horizontal=True)
    try:
        trained = _train(lesson, value)
        view = lesson.view(trained, value)
    except MTLError as err:
        show_error(err)
        return
    st.plotly_chart(view.figure, width="stretch", key=f"learn.chart.{lesson.name}")
    st.success(f"**What you should see.** {view.what_you_see}", icon=":material/visibility:")
    st.caption(f"Trained in {trained['wall_seconds']:.1f} s "
               f"({'this setting' if c.retrains else 'once; the control re-reads the trained models'}).")
    if view.table is not None:
        with st.expander("The numbers behind the chart"):
            st.dataframe(view.table, hide_index=True)


@st.cache_data(show_spinner=False, max_entries=256)
def _trajectory(method: str, start: tuple[float, float], steps: int):
    """One method's full-length trajectory (the steps slider shows a prefix of it)."""
    t = pg.trajectory(method, start, steps)
    return t.x, t.loss, t.seconds


def show_playground() -> None:
    st.subheader(PLAYGROUND)
    st.markdown(
        "**Two losses, one parameter, every weighting method.** This is the two-task toy landscape of the CAGrad "
        "and Nash-MTL papers: a point `x = (x1, x2)` and two losses whose valleys pull in different directions. "
        "The black curve is the **Pareto set** (left: where in the plane; right: its losses, the **front**): "
        "points where one loss can only improve if the other gets worse. Each coloured line is one weighting "
        "method optimizing from the white start point with the same optimizer; the cross is where it ended.\n\n"
        "Look for: plain weighted sums (*static*) can creep along a valley and stop short of the front, while "
        "methods that remove conflict (MGDA, PCGrad, UPGrad, IMTL-G, ...) reach it, each at its own place along it."
    )
    available = pg.playground_methods()
    default = [m for m in ("static", "mgda", "pcgrad", "upgrad") if m in available] or available[:1]
    methods = st.multiselect("Weighting methods (every registered method that is installed)", available,
                             key=ui_default(f"{UI}learn.pg.methods", default),
                             format_func=lambda m: get_weighting_class(m).display_name())
    c1, c2 = st.columns([2, 1])
    start_name = c1.radio("Start point", [*pg.START_POINTS, CUSTOM], horizontal=True,
                          key=ui_default(f"{UI}learn.pg.start", "upper left (-8.5, 7.5)"))
    if start_name == CUSTOM:
        lo, hi = pg.BOUNDS
        x1 = c1.number_input("x1", lo, hi, step=0.5, key=ui_default(f"{UI}learn.pg.x1", 5.0))
        x2 = c1.number_input("x2", lo, hi, step=0.5, key=ui_default(f"{UI}learn.pg.x2", 5.0))
        start = (float(x1), float(x2))
    else:
        start = pg.START_POINTS[start_name]
    shown = c2.slider("Steps shown", 10, pg.STEPS, key=ui_default(f"{UI}learn.pg.steps", pg.STEPS), step=10,
                      help=f"Each method runs {pg.STEPS} Adam steps (learning rate {pg.LR}); the slider shows the "
                           "first N.")
    if not methods:
        st.info("Choose at least one method.")
        return
    begin = time.perf_counter()
    slow = [m for m in methods if not pg.has_fast_path(m)]
    with st.spinner("Optimizing" + (f" ({', '.join(slow)} run through autograd and their solvers every step: "
                                    "a few seconds the first time)" if slow else "")):
        trajs = []
        for m in methods:
            x, loss, seconds = _trajectory(m, start, pg.STEPS)
            trajs.append(pg.Trajectory(m, start, x[: shown + 1], loss[: shown + 1], seconds))
    fig = pg.playground_figure(trajs)
    elapsed = time.perf_counter() - begin
    st.plotly_chart(fig, width="stretch", key="learn.chart.playground")
    on = [t for t in trajs if t.on_pareto]
    off = [t for t in trajs if not t.on_pareto]
    title = lambda t: get_weighting_class(t.method).display_name()
    sentence = (f"After {shown} steps from ({start[0]:g}, {start[1]:g}), "
                + (f"{', '.join(title(t) for t in on)} ended on the Pareto front" if on else "no method reached the front")
                + ("; " + ", ".join(f"{title(t)} stopped {t.distance:.2f} loss units away" for t in off) if off else "")
                + ". On the front, compare where each method lands: the loss pair it chose.")
    st.success(f"**What you should see.** {sentence}", icon=":material/visibility:")
    st.caption(f"Picture updated in {elapsed:.2f} s (trajectories are computed once per method and start point, "
               "then reused).")
    with st.expander("The numbers behind the chart"):
        import pandas as pd

        st.dataframe(pd.DataFrame([{"method": t.method, "final loss 1": t.final_loss[0], "final loss 2": t.final_loss[1],
                                    "distance to front": t.distance, "on front": t.on_pareto,
                                    "x1": float(t.x[-1, 0]), "x2": float(t.x[-1, 1])} for t in trajs]),
                     hide_index=True)


if index < len(LESSONS):
    show_lesson(LESSONS[index])
else:
    show_playground()

if index + 1 < len(steps):
    if st.button(f"Next: {steps[index + 1]}", icon=":material/arrow_forward:", key="learn.next"):
        st.session_state["learn.goto"] = steps[index + 1]
        st.rerun()
