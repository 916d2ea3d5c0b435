"""What ``app.py`` needs before any page runs: the page files and the navigation mode.

Kept free of heavy imports (no torch, scikit-learn or pandas), so the frame and the
first lines of a page reach the browser while the machine-learning libraries load.
"""

from __future__ import annotations

import importlib
import os
import threading

# One intra-op thread for torch in the app's process, set before anything imports torch.
# The server thread, live-progress reruns and (often) the browser share the machine with
# training; torch's OpenMP threads then spin against them. Measured on 2 cores with the
# browser on the same machine: "Train with defaults" trained in 2.4 s with one thread
# against 7.9 s with two (benchmarks/app_latency.py). An explicit OMP_NUM_THREADS wins.
os.environ.setdefault("OMP_NUM_THREADS", "1")

HOME, DATA, TRAIN, RECOMMEND = "pages/home.py", "pages/data.py", "pages/train.py", "pages/recommendations.py"
TRADEOFFS, COMPARE, LEARN = "pages/tradeoffs.py", "pages/compare.py", "pages/learn.py"

_warm_lock = threading.Lock()
_warming = False


def use_explicit_navigation() -> None:
    """Keep Streamlit in ``st.navigation`` mode for this server process.

    An app whose folder has a ``pages/`` directory is treated by Streamlit as a legacy
    multipage app until some script calls ``st.navigation``: the server's first run
    lists every file of ``pages/`` (``_common`` included) in the sidebar, and when that
    first visitor arrives through a link to a page (``/train?...``) it runs that page's
    file on its own, skipping ``app.py``. Our layout keeps ``pages/``, so the first of
    our scripts to run turns the legacy mode off and, if this very run was started in
    it, starts the run over: the visitor's URL (page and query parameters) is kept, and
    from then on ``app.py`` runs on every rerun and its ``st.navigation`` decides the page.
    """
    import streamlit as st
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    started_in_legacy_mode = PagesManager.uses_pages_directory
    PagesManager.uses_pages_directory = False
    if started_in_legacy_mode and get_script_run_ctx(suppress_warning=True) is not None:
        st.rerun()


def warm_up() -> None:
    """Start importing the pages' shared module (torch, scikit-learn, pandas: seconds on
    a fresh server) in a background thread, once per process, so that it overlaps with
    drawing the first page instead of delaying it. Python's import lock makes a page
    that imports it meanwhile wait for the same import."""
    global _warming
    with _warm_lock:
        if _warming:
            return
        _warming = True
    threading.Thread(target=importlib.import_module, args=("pages._common",), name="mtl-warm-up", daemon=True).start()


use_explicit_navigation()
