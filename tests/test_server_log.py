"""A user's terminal stays clean (issue 10, item 12).

``make run`` used to print thousands of "Inotify queue overflowed" lines (Streamlit's
file watcher walked the virtualenv inside the app folder), a ``use_container_width``
deprecation warning per chart, and "The widget with key ... was created with a default
value but also had its value set via the Session State API". Two checks: every page,
with runs and a sweep to show, through AppTest with Streamlit's warnings captured; and
the real server, started with the repository's own ``.streamlit/config.toml``, while
thousands of files appear under its folder and a browser visits every page.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mtl.data import prepare
from mtl.jobs import FINISHED, BackgroundJob, Outcome
from mtl.tradeoff import sweep
from pages import _jobs as jobs
from pages import _nav as nav
from tests._apptest import no_errors, tiny_dataset, trained_run

ROOT = Path(__file__).resolve().parents[1]
#: What must never reach a user's terminal.
NOISE = ("Inotify queue overflowed", "use_container_width", "Session State API", "deprecat", "Traceback")
#: Warnings of AppTest's bare mode (no server), which a real server never logs.
BARE_MODE = ("missing ScriptRunContext", "No runtime found")
PAGES = (nav.HOME, nav.DATA, nav.TRAIN, nav.COMPARE, nav.RECOMMEND, nav.TRADEOFFS)


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def streamlit_warnings(monkeypatch):
    """Every warning logged by Streamlit during the test (its loggers do not propagate)."""
    from streamlit import deprecation_util
    from streamlit.elements.lib import policies

    # Streamlit says some of these once per process: let this test hear them again.
    monkeypatch.setattr(policies, "_shown_default_value_warning", False)
    monkeypatch.setattr(deprecation_util, "_shown_warnings", set())
    handler = _Collect()
    loggers = [logging.getLogger(n) for n in list(logging.root.manager.loggerDict) if n.startswith("streamlit")]
    loggers.append(logging.getLogger("streamlit"))
    for lg in loggers:
        lg.addHandler(handler)
    yield handler.messages
    for lg in loggers:
        lg.removeHandler(handler)


def test_every_page_with_results_logs_no_warning(app, streamlit_warnings):
    ds = tiny_dataset()
    run = trained_run(ds, 1, tasks=("click", "like"))
    cond = trained_run(ds, 2, tasks=("click", "like"))
    cond = trained_run(ds, 2, tasks=("click", "like"), model=cond.config.model.__class__(
        emb_dim=4, hidden=(16,), tower=(8,), conditioned=True))
    prepared = prepare(ds.data, ["click", "like"], run.config.split, seed=0)
    front = sweep(prepared, run.config, points=3, conditioned=True)
    app.session_state["dataset"] = ds
    app.session_state["runs"] = [run, cond]
    app.session_state["results"] = {"sweep": jobs.SessionJob(
        "sweep", BackgroundJob(), ds, {"tasks": ["click", "like"], "arch": "shared_bottom"}, Outcome(FINISHED, front))}
    app.run()
    for page in PAGES:
        # A browser's page switch leaves the previous page's parameters behind (AppTest
        # keeps them: Recommendations' k=10 would reach the Trade-offs curve as a link's K).
        app.query_params.clear()
        app.switch_page(page).run()
        no_errors(app)
    # Back and forth: returning to pages whose widgets kept their values is what used to warn.
    for page in (nav.TRADEOFFS, nav.TRAIN, nav.TRADEOFFS):
        app.query_params.clear()
        app.switch_page(page).run()
    noisy = [m for m in streamlit_warnings if not any(b in m for b in BARE_MODE)]
    assert not noisy, noisy


def test_the_configured_file_watcher_never_walks_the_app_folder():
    """Streamlit's watchdog watcher watches the app's folder recursively, .venv included
    (where `make run` keeps it): that is where the inotify flood came from. The
    repository's config must choose a watcher that does not (none, or polling only the
    app's own files)."""
    script = ("from streamlit import config; from streamlit.watcher import path_watcher as w; "
              "config.get_config_options(force_reparse=True); "
              "print(w.get_path_watcher_class(config.get_option('server.fileWatcherType')).__name__)")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] in ("NoOpPathWatcher", "PollingPathWatcher"), out.stdout


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.xdist_group("browser")
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian's Chromium is not installed (make chromium)")
def test_the_server_log_stays_clean(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _free_port, _nav, _wait_healthy

    port = _free_port()
    log = tmp_path / "server.log"
    # Only what a user's `streamlit run app.py` would have: the repository's config decides the watcher.
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port)]
    probe = ROOT / ".pytest-watch-probe"  # stands in for a virtualenv being written inside the app folder
    tree = tmp_path / "tree"
    for d in range(200):
        folder = tree / f"pkg{d}"
        folder.mkdir(parents=True)
        for f in range(100):
            (folder / f"m{f}.pyc").write_bytes(b"x")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, proc)
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(90_000)
            page.goto(url)
            page.get_by_role("heading", name="MTL Trade-off Explorer").wait_for()
            # Like pip, or a first `import torch` writing .pyc files: tens of thousands of files at
            # native speed (cp), which a recursive watcher of the app folder cannot keep up with.
            subprocess.run(["cp", "-r", str(tree), str(probe)], check=True)
            for title in ("Data", "Train", "Compare methods", "Recommendations", "Trade-offs", "Home"):
                if title == "Home":
                    page.get_by_test_id("stSidebarNavItems").get_by_role("link", name=title).click()
                    page.get_by_role("heading", name="MTL Trade-off Explorer").wait_for()
                else:
                    _nav(page, title)
            page.wait_for_timeout(1000)
            browser.close()
    finally:
        shutil.rmtree(probe, ignore_errors=True)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    text = log.read_text(errors="replace")
    found = {n: text.count(n) for n in NOISE if n in text}
    assert not found, f"the server log has {found}:\n{text[-3000:]}"
