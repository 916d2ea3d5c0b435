"""AppTest of the Train page's "Add a task to this model" section (pages/_finetune.py)."""

from __future__ import annotations

from pages import _nav as nav
from tests._apptest import button, no_errors, open_page, table_with, tiny_dataset, trained_run


def test_add_a_task_compares_transfer_with_scratch_at_each_share(app):
    ds = tiny_dataset()
    at = open_page(app, nav.TRAIN, ds, [trained_run(ds, tasks=("click", "like"))])
    no_errors(at)
    task = at.selectbox(key="finetune.task.1")
    assert "long_view" in task.options and "click" not in task.options
    task.set_value("long_view")
    at.multiselect(key="finetune.fractions.1").set_value([0.1, 1.0])
    at.toggle(key="finetune.freeze.1").set_value(True)
    at.number_input(key="finetune.epochs.1").set_value(1)
    button(at, "Train the new task").click().run()
    no_errors(at)
    table = table_with(at, "mode", "vs scratch")
    assert list(table["mode"]) == ["frozen", "scratch", "frozen", "scratch"]
    assert table["auc"].between(0, 1).all()
    assert any("training from scratch" in m.value for m in at.markdown)
    # The trained run's own results are still there, and the section kept its result on a rerun.
    at.run()
    assert list(table_with(at, "mode", "vs scratch")["mode"]) == ["frozen", "scratch", "frozen", "scratch"]


def test_a_run_without_shared_layers_says_so(app):
    ds = tiny_dataset()
    at = open_page(app, nav.TRAIN, ds, [trained_run(ds, tasks=("click", "like"), arch="single")])
    no_errors(at)
    assert any("no shared layers to reuse" in c.value for c in at.caption)
