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


def _transfer(metric: str):
    from mtl.finetune import FinetuneResult

    rows = [{"fraction": f, "mode": m, "labelled_rows": int(f * 1000), "test": {metric: 130 + f + (m == "scratch")},
             "epochs": 1, "seconds": 0.1} for f in (0.01, 1.0) for m in ("finetuned", "scratch")]
    return FinetuneResult(task="watch_time", kind="regression", metric=metric, arch="shared_bottom",
                          base_tasks=["click"], rows=rows)


def test_the_chart_and_its_caption_say_which_side_of_scratch_is_better():
    """Review s23: "a line above it means the trained layers carry knowledge" was said of
    an RMSE, where the transfer that helps draws its line below scratch."""
    from mtl.plots.finetune import transfer_curve
    from pages._finetune import transfer_caption

    rmse, auc = _transfer("rmse"), _transfer("auc")
    assert "lower RMSE is better, so **below** it here" in transfer_caption(rmse)
    assert "higher AUC is better, so **above** it here" in transfer_caption(auc)
    assert transfer_curve(rmse).layout.yaxis.title.text == "test RMSE (lower is better)"
    assert transfer_curve(auc).layout.yaxis.title.text == "test AUC (higher is better)"
