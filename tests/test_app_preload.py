"""The Home page has the browser load the Train page's element code while it is idle."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from pages import _preload as preload


def test_the_modules_are_the_files_streamlit_imports():
    paths = preload.module_paths()
    assert any(p.startswith("static/js/PlotlyChart.") for p in paths)
    static = Path(st.__file__).parent / "static"
    main = "".join(f.read_text(errors="ignore") for f in (static / "static" / "js").glob("index.*.js"))
    for path in paths:
        assert (static / path).is_file()
        # Streamlit's frontend imports each module by this file name, next to its main module.
        assert f"./{Path(path).name}" in main


def test_the_script_imports_each_module_when_idle():
    script = preload.preload_script(("static/js/A.1.js", "static/js/B.2.js"))
    assert script.startswith("<script>") and "requestIdleCallback" in script
    assert '["static/js/A.1.js", "static/js/B.2.js"]' in script and "document.baseURI" in script


def test_home_sends_the_script(app):
    at = app.run()
    assert any(preload.module_paths()[0] in e.proto.body for e in at.get("html"))
