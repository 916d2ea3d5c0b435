"""The cost meter: measuring methods against static weights, the shipped table, captions."""

from __future__ import annotations

import pytest
from _fixtures import FEED_TASKS, feed_prepared, tiny_config

from mtl.train import cost
from mtl.train.cost import CostTable, MethodCost, epoch_cost, measure_costs, method_costs
from mtl.weighting import available_weightings


def test_epoch_cost_times_one_epoch_and_measures_its_peak_memory():
    seconds, mib = epoch_cost(feed_prepared(), tiny_config(weighting="static"))
    assert seconds > 0
    assert mib is None or mib >= 0


def test_measure_costs_is_relative_to_static_and_round_trips(tmp_path):
    messages = []
    table = measure_costs(feed_prepared(), FEED_TASKS, ["imtl_g"], batch_size=64, repeats=1,
                          progress=messages.append)
    assert list(table.costs) == ["static", "imtl_g"]  # static first: the reference
    assert table.costs["static"].time_ratio == 1.0
    imtl = table.costs["imtl_g"]
    assert imtl.time_ratio == pytest.approx(imtl.epoch_seconds / table.costs["static"].epoch_seconds, rel=0.02)
    # IMTL-G adds a backward pass per task and a solve: it cannot be cheaper than static weights.
    assert imtl.time_ratio > 1.0
    assert messages == ["repeat 1/1: static", "repeat 1/1: imtl_g"]
    assert table.shape["batch_size"] == 64 and table.shape["tasks"] == list(FEED_TASKS)
    assert table.machine["cores"] >= 1 and table.machine["load"] >= 0
    path = tmp_path / "cost.json"
    table.save(path)
    again = CostTable.load(path)
    assert again.costs == table.costs and again.machine == table.machine and again.measured == table.measured


def test_shipped_table_covers_every_registered_method():
    """Adding a method means refreshing the table (benchmarks/weighting_overhead.py --write)."""
    table = method_costs()
    assert table is not None, f"{cost.TABLE_PATH} is missing"
    assert set(table.costs) == set(available_weightings())
    assert table.costs["static"].time_ratio == 1.0
    assert all(c.time_ratio > 0 and c.epoch_seconds > 0 for c in table.costs.values())
    assert "load average" in table.note() and "training rows" in table.note()


def test_captions_say_the_ratio_and_the_extra_memory():
    static = MethodCost("static", 1.0, 1.0, 10.0)
    table = CostTable({"static": static, "upgrad": MethodCost("upgrad", 2.5, 2.5, 24.0),
                       "gradnorm": MethodCost("gradnorm", 1.5, 1.5, None),
                       "dwa": MethodCost("dwa", 1.0, 1.0, 11.0)},
                      {"train_rows": 100, "tasks": ["a", "b"], "batch_size": 8, "arch": "shared_bottom"},
                      {"processor": "x86_64", "cores": 2, "torch": "2", "clock": "cpu", "threads": 1, "load": 3.0})
    assert table.caption("upgrad") == "2.5x the time of static weights per epoch, +14 MiB peak memory vs static"
    assert table.caption("gradnorm") == "1.5x the time of static weights per epoch"
    assert table.caption("static") == "the baseline for time, 10 MiB peak memory per epoch"
    assert table.caption("dwa") == "1.0x the time of static weights per epoch, the same peak memory (within 2 MiB)"
    assert table.caption("unknown") == ""


def test_a_missing_or_broken_table_gives_no_costs(tmp_path, monkeypatch):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    monkeypatch.setattr(cost, "TABLE_PATH", broken)
    method_costs.cache_clear()
    try:
        assert method_costs() is None
    finally:
        method_costs.cache_clear()
