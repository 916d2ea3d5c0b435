"""Presentation mode: every page as a projector wants it, switched on in the sidebar or
by ``?present=1`` in the address (a presenter prepares links before the meeting).

What changes, and how pages take part:

- Advanced controls (hyperparameters, device, seeds, method internals) are hidden: a page
  draws them inside :func:`advanced`. They are still drawn, only not shown, so every run
  reads the values they hold: the defaults, or what the user chose before presenting,
  which is there again when presentation mode ends.
- One idea per screen: long explanations and secondary charts or tables go inside
  :func:`details`, a collapsed expander while presenting and a plain container otherwise,
  so the main chart and its one-line reading fill the screen.
- Larger text: the page's base font grows, and every figure is built at
  :data:`FONT_SCALE` (``mtl.plots.style``'s font scale, asked per figure for the session
  that builds it, so two sessions of one server can differ).
- Less sidebar: the pages' links move to a bar at the top and the sidebar starts
  collapsed, leaving it the toggle and the session's status.

``app.py`` calls :func:`read_address` and :func:`start` before the page and
:func:`finish` after it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from mtl.plots import style

#: The address parameter: ``?present=1`` opens a session in presentation mode.
PARAM = "present"
#: The mode itself, in plain session state: a widget's own state can be dropped by a
#: fragment's run (a training's live charts), and the charts drawn then must stay large.
MODE = "present.on"
TOGGLE = "present.toggle"
#: Session flag: the address was read (once per session: a new address is a new session).
READ = "present.read"
#: Text of every figure while presenting: 12 px ticks become 17 px.
FONT_SCALE = 1.4
#: Base text of the page while presenting (Streamlit sizes its text in rem).
TEXT_PX = 20
#: Key prefix of the containers :func:`advanced` draws (CSS class ``st-key-<key>``).
HIDDEN = "present-advanced"
ON, OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")

CSS = f"""
<style>
html {{ font-size: {TEXT_PX}px; }}
div[class*="st-key-{HIDDEN}"] {{ display: none !important; }}
</style>
"""


def presenting() -> bool:
    """Whether this session is in presentation mode."""
    return bool(st.session_state.get(MODE, False))


def _figure_scale() -> float:
    """The font scale of a figure being built now: the building session's. A figure built
    outside a page run (a report's, when its download is clicked) keeps its normal size."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return 1.0
    return FONT_SCALE if presenting() else 1.0


def read_address() -> str:
    """Take the mode from the address on a session's first run; returns a note on a value
    that could not be read ('' otherwise). Runs before anything is drawn, since the
    page's layout (sidebar, navigation) depends on the mode."""
    if st.session_state.get(READ):
        return ""
    st.session_state[READ] = True
    value = st.query_params.get(PARAM)
    if value is None:
        return ""
    if value.strip().lower() in ON:
        st.session_state[MODE] = True
    elif value.strip().lower() not in OFF:
        return (f"The address asked for presentation mode as {PARAM}={value}, which is not understood "
                f"({PARAM}=1 turns it on): it stays off.")
    return ""


def _toggled() -> None:
    st.session_state[MODE] = bool(st.session_state[TOGGLE])


def start() -> None:
    """Before the page: the sidebar toggle, the page's styles and the figures' font scale."""
    style.set_font_scale(_figure_scale)
    # The parameter leaves the address while the page runs and comes back in :func:`finish`:
    # pages write their own settings to the address (replacing it), and a page reading a
    # link would take ``present`` for one of its settings it does not know.
    if PARAM in st.query_params:
        del st.query_params[PARAM]
    if TOGGLE not in st.session_state:  # first run, or dropped while a fragment ran alone
        st.session_state[TOGGLE] = presenting()
    st.sidebar.toggle(
        "Presentation mode", key=TOGGLE, on_change=_toggled,
        help="For a projector: larger text and charts, advanced settings hidden (their values still apply), "
             "explanations folded away. Links keep it: add ?present=1 to an address to open it this way.")
    if presenting():
        st.html(CSS)


def finish() -> None:
    """After the page (also when it stopped early): the mode back in the address, so that
    every page's address, copied, opens in presentation mode too."""
    if presenting() and st.query_params.get(PARAM) != "1":
        st.query_params[PARAM] = "1"


@contextlib.contextmanager
def advanced(name: str) -> Iterator:
    """A container for controls a presentation does not show (``name``: unique on the page).

    It is the same container in both modes, hidden by the page's style while presenting:
    widgets keep their identity and values when the mode changes, and the page reads
    them as usual."""
    with st.container(key=f"{HIDDEN}-{name}") as box:
        yield box


@contextlib.contextmanager
def details(label: str) -> Iterator:
    """Secondary content (a long explanation, a second chart, a table of numbers): folded
    into a collapsed expander titled ``label`` while presenting, shown in place otherwise."""
    with (st.expander(label) if presenting() else st.container()) as box:
        yield box
