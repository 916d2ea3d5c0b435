"""Typed page settings (pages._settings): widget keys and a flat dict of strings for URLs."""

from __future__ import annotations

import pytest

from pages._settings import CompareSettings, SweepSettings, TrainSettings


def test_settings_round_trip_through_a_flat_dict_of_strings():
    s = TrainSettings(tasks=["click", "like"], preference={"click": 1.0, "like": 2.5}, arch="mmoe", epochs=3, lr=0.003,
                      hidden="128, 64", seed=7)
    params = s.to_params()
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in params.items())
    assert params["epochs"] == "3" and params["arch"] == "mmoe" and "weighting" not in params  # unset: left out
    assert TrainSettings.from_params(params) == s
    sweep = SweepSettings(tasks=["click", "like"], points=7, cond=False)
    assert sweep.to_params()["cond"] == "false" and SweepSettings.from_params(sweep.to_params()) == sweep
    cmp = CompareSettings(methods=["static", "upgrad"], metrics={"click": "gauc"}, seeds=3)
    assert CompareSettings.from_params({**cmp.to_params(), "unknown": "x"}) == cmp


def test_widget_keys_follow_one_naming_scheme():
    assert TrainSettings.key("epochs", "abc") == "ui.train.epochs"  # the same on every dataset
    assert TrainSettings.key("tasks", "abc") == "ui.train.tasks.abc"  # choices depend on the data
    assert CompareSettings.key("preference", "abc") == "ui.cmp.preference.abc"
    assert SweepSettings.key("points") == "ui.to.points"


def test_bad_numbers_in_params_are_refused():
    with pytest.raises(ValueError):
        TrainSettings.from_params({"epochs": "many"})


def test_train_settings_describe_the_run_they_start():
    from pages._common import default_config
    from tests._apptest import tiny_dataset

    ds = tiny_dataset()
    s = TrainSettings(tasks=["click", "like"], preference={"click": 2.0, "like": 1.0}, arch="mmoe", batch=128, emb=8,
                      hidden="32, 16", experts=2, seed=3, lr=0.01)
    cfg = s.config(ds)
    assert (cfg.tasks, cfg.preference, cfg.arch, cfg.batch_size, cfg.lr, cfg.seed) == (
        ["click", "like"], {"click": 2.0, "like": 1.0}, "mmoe", 128, 0.01, 3)
    assert (cfg.model.emb_dim, cfg.model.hidden, cfg.model.n_experts) == (8, (32, 16), 2)
    assert cfg.split.seed == 3  # the seed reaches the split too
    unset = TrainSettings().config(ds)  # nothing chosen: the page's defaults
    assert unset == default_config(ds)
    with pytest.raises(Exception, match="Hidden sizes"):
        TrainSettings(hidden="64, lots").config(ds)


def test_recommendation_choices_are_per_run_where_they_depend_on_the_model():
    from pages._settings import RecommendSettings

    assert RecommendSettings.key("user", 3) == "ui.rec.user.3"
    assert RecommendSettings.key("fusion", 3) == "ui.rec.fusion.3"  # one slider per task below it
    assert RecommendSettings.key("k", 3) == "ui.rec.k"  # the same for every model
    s = RecommendSettings(user="42", fusion={"like": 0.5, "click": -0.2}, k=20, exclude_seen=False)
    assert RecommendSettings.from_params(s.to_params()) == s
