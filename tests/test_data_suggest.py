"""suggest_tasks: default tasks a practitioner would choose, with a reason per label."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mtl.data import from_frame
from mtl.data.suggest import suggest_tasks


def _kuairand_like(n=20_000, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # Column order as in KuaiRand: the first three 0/1 columns include the rare is_follow.
    return pd.DataFrame({
        "user_id": rng.integers(0, 500, n), "video_id": rng.integers(0, 800, n),
        "is_click": (rng.random(n) < 0.44).astype(int), "is_like": (rng.random(n) < 0.017).astype(int),
        "is_follow": (rng.random(n) < 0.0014).astype(int), "is_hate": (rng.random(n) < 0.02).astype(int),
        "long_view": (rng.random(n) < 0.31).astype(int), "play_time_ms": rng.exponential(20_000, n),
    })


def test_kuairand_like_upload_picks_long_view_over_a_rare_follow():
    s = suggest_tasks(from_frame(_kuairand_like()))
    assert s.tasks == ["is_click", "is_like", "long_view"]  # in the file's order
    assert "too rare" in s.reasons["is_follow"] and "% positive (" in s.reasons["is_follow"]
    assert "engagement" in s.reasons["is_click"] and "value" in s.reasons["long_view"]
    assert "negative feedback" in s.reasons["is_hate"] and "is_hate" not in s.tasks
    assert s.summary().startswith("is_click: 43.7% positive, an engagement signal")
    assert not s.hint


def test_a_ratings_log_gets_a_hint_to_derive_labels_and_derived_labels_come_first():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"user_id": rng.integers(0, 100, 3000), "book_id": rng.integers(0, 200, 3000),
                       "rating": rng.integers(1, 6, 3000)})
    plain = suggest_tasks(from_frame(df))
    assert plain.tasks == ["rating"] and "--derive liked=rating>=4" in plain.hint
    derived = suggest_tasks(from_frame(df, roles={"derive": ["liked=rating>=4"]}))
    assert derived.tasks == ["rating", "liked"] and "you derived it" in derived.reasons["liked"]
    assert not derived.hint


def test_no_usable_label_still_names_one_so_training_can_say_why():
    df = pd.DataFrame({"x": range(500), "rare": [1] + [0] * 499})
    s = suggest_tasks(from_frame(df))
    assert s.tasks == ["rare"] and "too rare" in s.reasons["rare"]


def test_an_id_made_a_label_is_never_a_default_task():
    df = _kuairand_like(3000)
    s = suggest_tasks(from_frame(df, roles={"user": "", "labels": {"user_id": "regression"}}))
    assert s.tasks == suggest_tasks(from_frame(df)).tasks  # as if it were not a label
    assert s.reasons["user_id"].startswith("named like an id")
    # An outcome whose name merely holds "id" is still one.
    df["is_id_verified"] = (np.random.default_rng(2).random(3000) < 0.4).astype(int)
    verified = suggest_tasks(from_frame(df)).reasons["is_id_verified"]
    assert verified.startswith("39.7% positive") and "named like an id" not in verified
