"""Let the browser load the code of the Train page's charts and tables while the visitor
reads the Home page.

Streamlit's frontend loads the code of each kind of element the first time a page
shows one: Plotly's is a 4.7 MB module, whose compiling and first run took the
browser's main thread for seconds on a 2-core machine, in the middle of the first
training (the live charts' first draw), where it held up the live progress and the
results (``benchmarks/app_latency.py``, first session). The Home page shows none of
these elements and the browser sits idle while a fresh server imports the libraries,
so Home asks it to import those modules when it has nothing else to do
(``requestIdleCallback``). The module's address is the one Streamlit imports it from,
so the browser runs it once, and Streamlit finds it loaded.

The modules' file names are those of the installed Streamlit's build (read from its
static folder); a module not found there is skipped, and a failed import changes
nothing (Streamlit loads the module itself when a page needs it).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import streamlit as st

#: The frontend modules of the elements that the Train page (live progress, results) draws.
MODULES = ("PlotlyChart", "DataFrame", "Progress", "Multiselect", "Selectbox", "NumberInput", "Slider")


@functools.cache
def module_paths() -> tuple[str, ...]:
    """Where Streamlit's frontend imports :data:`MODULES` from, relative to the app's
    address (``static/js/PlotlyChart.<hash>.js``); a module without exactly one file
    in the installed build is left out."""
    folder = Path(st.__file__).parent / "static" / "static" / "js"
    paths = []
    for name in MODULES:
        files = list(folder.glob(f"{name}.*.js"))
        if len(files) == 1:
            paths.append(f"static/js/{files[0].name}")
    return tuple(paths)


def preload_script(paths: tuple[str, ...]) -> str:
    """The ``<script>`` that imports ``paths`` when the browser is idle."""
    return ("<script>(window.requestIdleCallback || setTimeout)(() => {"
            f"for (const p of {json.dumps(list(paths))}) import(new URL(p, document.baseURI).href).catch(() => {{}});"
            "});</script>")


def preload_page_code() -> None:
    """Ask the browser to load the Train page's element code when idle (a hidden element)."""
    paths = module_paths()
    if paths:
        st.html(preload_script(paths), unsafe_allow_javascript=True)
