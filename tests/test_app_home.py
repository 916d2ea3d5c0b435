"""AppTest tests of the Home page."""

from __future__ import annotations

import pandas as pd

from mtl.train import available_devices
from pages import _common as cfg
from pages import _datasets as datasets
from pages import _nav as nav
from tests._apptest import (
    button,
    no_errors,
    open_page,
    table_with,
    tiny_dataset,
    training,
    wait_for_job,
)


def test_opens_on_the_bundled_sample_with_devices_and_a_train_button(app):
    at = app.run()
    no_errors(at)
    assert at.title[0].value == "MTL Trade-off Explorer"
    text = " ".join(m.value for m in at.markdown)
    assert "Simulated short-video feed" in text
    assert "Multi-task learning" in text or "multi-task learning" in text.lower()
    for name, description in available_devices().items():
        assert f"**{name}**: {description}" in text
    rows = [m for m in at.metric if m.label == "Rows"]
    assert rows and rows[0].value == "120,000"
    assert not button(at, "Train with defaults").disabled
    # Four pages in the navigation, the default one is Home.
    assert at.session_state["dataset"].sample.key == "simulated"


def test_train_with_defaults_opens_the_train_page_and_ends_with_a_results_table(app):
    ds = tiny_dataset()
    at = open_page(app, nav.HOME, ds)
    button(at, "Train with defaults").click().run()
    no_errors(at)
    assert at.title[0].value == "Train"
    assert training(at) is not None or at.session_state["runs"]  # started (it may already have finished)
    wait_for_job(at)
    no_errors(at)
    runs = at.session_state["runs"]
    assert len(runs) == 1 and runs[0].config.tasks == cfg.default_tasks(ds)
    table = table_with(at, "task", "AUC")
    assert table["task"].tolist() == ["click", "like", "long_view"]
    assert {"AUC", "accuracy", "logloss"} <= set(table.columns)
    assert table["AUC"].between(0, 1).all()


def test_a_dataset_without_labels_cannot_be_trained(app):
    frame = pd.DataFrame({"user_id": range(50), "item_id": [i % 7 for i in range(50)],
                          "price": [float(i) for i in range(50)]})
    at = open_page(app, nav.HOME, datasets.dataset_from_frames(frame, "no-labels.csv"))
    assert not at.exception
    assert button(at, "Train with defaults").disabled
    assert any("no label columns" in w.value for w in at.warning)


def test_the_frame_and_title_need_no_heavy_imports():
    """app.py and the top of the Home page import only Streamlit and light modules, so a
    fresh server draws the first page while torch and scikit-learn load (issue: the first
    page took 8-10 s to appear)."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, mtl.errors, pages._nav; "
            "heavy = sorted(m for m in ('torch', 'sklearn', 'pandas', 'pages._common') if m in sys.modules); "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_active_dataset_needs_neither_torch_nor_scikit_learn():
    """Home draws its active dataset (name, rows, columns, labels, default tasks) with
    what it imports above that section, and none of it imports torch or scikit-learn:
    those take seconds to import on a fresh server and kept the dataset off the first
    page for 7-8 s. Run in a fresh interpreter, as a server starts."""
    import subprocess
    import sys
    from pathlib import Path

    code = """
import ast, sys
src = open("pages/home.py").read()
head = ast.parse(src[:src.index("ds = active_dataset()")])
imports = [n for n in ast.walk(head) if isinstance(n, (ast.Import, ast.ImportFrom))]
assert any("_datasets" in (getattr(n, "module", "") or "") for n in imports), "Home's dataset imports moved"
exec(compile(ast.Module(body=imports, type_ignores=[]), "pages/home.py", "exec"))
from pages._datasets import DEFAULT_SAMPLE, default_tasks, sample_dataset
import mtl.data, mtl.data.samples, mtl.data.suggest, mtl.tasks
ds = sample_dataset(DEFAULT_SAMPLE)
print(ds.data.n_rows, len(ds.data.schema.labels), ",".join(default_tasks(ds)))
print("imported:", ",".join(sorted(m for m in ("torch", "sklearn", "scipy") if m in sys.modules)))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    described, heavy = out.stdout.strip().split("\n")[-2:]
    assert described == "120000 5 click,like,long_view"
    assert heavy.strip() == "imported:"
