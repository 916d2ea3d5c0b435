"""MTL Trade-off Explorer: the Streamlit dashboard.

Run with ``streamlit run app.py``. The pages live in ``pages/``; all the machine
learning is in the ``mtl`` library, and what pages share is in ``pages/_common.py``.
"""

from __future__ import annotations

import logging

import streamlit as st

from mtl.errors import MTLError
from pages import _common as ui

log = logging.getLogger("mtl.app")

st.set_page_config(page_title="MTL Trade-off Explorer", page_icon=":material/balance:", layout="wide")

page = st.navigation([
    st.Page(ui.HOME, title="Home", icon=":material/home:", default=True),
    st.Page("pages/learn.py", title="Learn", icon=":material/school:"),
    st.Page(ui.DATA, title="Data", icon=":material/table:"),
    st.Page(ui.TRAIN, title="Train", icon=":material/model_training:"),
    st.Page(ui.COMPARE, title="Compare methods", icon=":material/leaderboard:"),
    st.Page(ui.RECOMMEND, title="Recommendations", icon=":material/recommend:"),
    st.Page(ui.TRADEOFFS, title="Trade-offs", icon=":material/balance:"),
])

try:
    page.run()
except MTLError as err:  # a user-facing problem a page did not catch itself
    ui.show_error(err)
except Exception as err:  # noqa: BLE001 - never show a traceback in the browser
    log.exception("page %s failed", page.title)
    st.error(f"Something went wrong on this page ({type(err).__name__}: {err}). "
             "Your data and runs are still there: try again, or go back to the Data page.",
             icon=":material/error:")
