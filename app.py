"""MTL Trade-off Explorer: the Streamlit dashboard.

Run with ``streamlit run app.py``. The pages live in ``pages/``; all the machine
learning is in the ``mtl`` library, and what pages share is in ``pages/_common.py``
(``pages/_nav.py`` holds the little this file needs, so the first page draws while the
libraries load).
"""

from __future__ import annotations

import logging

import streamlit as st

from mtl.errors import MTLError
from pages import _nav as nav
from pages import _present as present

nav.warm_up()

log = logging.getLogger("mtl.app")

address_note = present.read_address()
# Presenting: the pages' links in a bar at the top and the sidebar folded, so the page has the screen.
st.set_page_config(page_title="MTL Trade-off Explorer", page_icon=":material/balance:", layout="wide",
                   initial_sidebar_state="collapsed" if present.presenting() else "auto")

page = st.navigation([
    st.Page(nav.HOME, title="Home", icon=":material/home:", default=True),
    st.Page(nav.LEARN, title="Learn", icon=":material/school:"),
    st.Page(nav.DATA, title="Data", icon=":material/table:"),
    st.Page(nav.TRAIN, title="Train", icon=":material/model_training:"),
    st.Page(nav.COMPARE, title="Compare methods", icon=":material/leaderboard:"),
    st.Page(nav.RECOMMEND, title="Recommendations", icon=":material/recommend:"),
    st.Page(nav.TRADEOFFS, title="Trade-offs", icon=":material/balance:"),
], position="top" if present.presenting() else "sidebar")
present.start()
if address_note:
    st.warning(address_note, icon=":material/link_off:")

try:
    page.run()
except MTLError as err:  # a user-facing problem a page did not catch itself
    st.error(str(err), icon=":material/error:")
except Exception as err:
    log.exception("page %s failed", page.title)
    st.error(f"Something went wrong on this page ({type(err).__name__}: {err}). "
             "Your data and runs are still there: try again, or go back to the Data page.",
             icon=":material/error:")
finally:
    present.finish()
