"""Helpers for the dashboard's AppTest tests (``tests/test_app_*.py``).

``app_test()`` opens ``app.py`` exactly as ``streamlit run`` serves it after its
first run: through ``st.navigation``. (Streamlit runs the first script of a folder
that has a ``pages/`` directory in its legacy mode, and AppTest resets that mode
before every run, so without the patch every AppTest run after a page switch would
run the page file on its own, skipping ``app.py``.)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the app imports `pages._common`, as `streamlit run` does from the app folder
    sys.path.insert(0, str(ROOT))

from streamlit.runtime.scriptrunner import script_runner  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from mtl.data.synthetic import simulate  # noqa: E402
from pages import _datasets as datasets  # noqa: E402
from pages import _nav as nav  # noqa: E402
from pages import _runs as app_runs  # noqa: E402

# Tiny tensors under pytest-xdist on a 2-core machine: one thread per worker.
torch.set_num_threads(1)

APP = str(ROOT / "app.py")
TIMEOUT = 60


def _run_main_script(main_script_path: str) -> None:
    path = Path(main_script_path)
    code = compile(path.read_text(), str(path), "exec")
    exec(code, {"__name__": "__main__", "__file__": str(path)})


def new_app(monkeypatch) -> AppTest:
    """A fresh AppTest of app.py (one browser session), not yet run (the ``app`` fixture)."""
    monkeypatch.setattr(script_runner, "_mpa_v1", _run_main_script)
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def tiny_frame(seed: int = 1) -> pd.DataFrame:
    return simulate(n_users=100, n_items=200, n_impressions=3000, seed=seed)


def tiny_dataset(seed: int = 1, name: str = "tiny.csv") -> datasets.Dataset:
    return datasets.dataset_from_frames(tiny_frame(seed), name)


def fast_settings(at: AppTest, epochs: int = 2) -> None:
    """Make the Train page's run quick: few epochs, a small network."""
    at.number_input(key="ui.train.epochs").set_value(epochs)
    at.number_input(key=f"ui.train.batch.{at.session_state['dataset'].short}").set_value(256)
    at.number_input(key="ui.train.emb").set_value(4)
    at.text_input(key="ui.train.hidden").set_value("16")


def training(at: AppTest, kind: str = "train"):
    """The session's job of ``kind`` (a ``pages._jobs.SessionJob``) until it is collected, else ``None``."""
    return at.session_state["jobs"].get(kind) if "jobs" in at.session_state else None


def wait_for_job(at: AppTest, timeout: float = 90.0, kind: str = "train") -> AppTest:
    """Rerun the app until the session's job of ``kind`` has been collected."""
    deadline = time.time() + timeout
    while training(at, kind) is not None and time.time() < deadline:
        training(at, kind).job.join(0.5)
        at.run()
    assert training(at, kind) is None, f"the {kind} job did not finish in time"
    return at


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def button(at: AppTest, label: str):
    found = [b for b in at.button if b.label == label]
    assert found, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return found[0]


def trained_run(ds: datasets.Dataset, run_id: int = 1, tasks=("click", "like", "long_view"), **config) -> app_runs.Run:
    """A finished run of ``ds`` trained directly with the library (no UI), tiny and quick."""
    from mtl.data import prepare
    from mtl.models import ModelConfig
    from mtl.train import TrainConfig, Trainer

    kw = dict(tasks=list(tasks), epochs=1, batch_size=256, lr=5e-3, device="cpu",
              model=ModelConfig(emb_dim=4, hidden=(16,), tower=(8,)))
    kw.update(config)
    cfg = TrainConfig(**kw)
    prepared = prepare(ds.data, cfg.tasks, cfg.split, seed=cfg.seed)
    return app_runs.Run(id=run_id, ds=ds, result=Trainer(prepared, cfg).fit(), prepared_key=app_runs.prepared_key(ds.token, cfg))


def open_page(at: AppTest, page: str, ds: datasets.Dataset | None = None, runs=()) -> AppTest:
    """Start a session on ``page`` with ``ds`` active and ``runs`` in its history."""
    if ds is not None:
        at.session_state["dataset"] = ds
    if runs:
        at.session_state["runs"] = list(runs)
    at.run()
    if page != nav.HOME:
        at.switch_page(page).run()
    return at


def tables(at: AppTest) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe]


def table_with(at: AppTest, *columns: str) -> pd.DataFrame:
    """The first table on the page that has all ``columns``."""
    for frame in tables(at):
        if set(columns) <= set(frame.columns):
            return frame
    raise AssertionError(f"no table with columns {columns}; tables: {[list(f.columns) for f in tables(at)]}")
