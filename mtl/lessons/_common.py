"""What the lessons share: their simulated feeds and small, fast training settings."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pandas as pd

from ..data import SplitSpec, from_frame, prepare
from ..data.synthetic import simulate
from ..models.base import ModelConfig
from ..train import TrainConfig, Trainer

#: A small network: lessons must train in seconds on two CPU cores.
SMALL = ModelConfig(emb_dim=8, hidden=(32,), tower=(16,))


def feed(labels: Sequence[str], **settings) -> pd.DataFrame:
    """A simulated feed with ids, time, category, the chosen labels and their
    ``true_*`` oracle columns (when the simulator has one)."""
    df = simulate(**settings)
    oracle = [f"true_{t}" for t in labels if f"true_{t}" in df.columns]
    return df[["user_id", "item_id", "timestamp", "item_category", *labels, *oracle]]


def prepared(df: pd.DataFrame, tasks: Sequence[str], seed: int, fractions=(0.4, 0.15, 0.45)):
    """Encoded parts for ``tasks``; a large test part keeps sparse tasks' AUC steady.
    No per-id label statistics: they would hand every task the others' label rates
    and hide what sharing a network does."""
    data = from_frame(df, name="lesson feed")  # true_* columns are oracle columns, never features
    return prepare(data, list(tasks), SplitSpec("random", tuple(fractions), seed=seed), seed=seed, id_stats=False)


def train(data, tasks: Sequence[str], seed: int, **changes):
    """Train a small model; returns the :class:`~mtl.train.TrainResult`."""
    settings = dict(tasks=list(tasks), arch="shared_bottom", epochs=6, batch_size=512, lr=3e-3, patience=2,
                    seed=seed, diagnostics_every=0, model=SMALL)
    settings.update(changes)
    start = time.perf_counter()
    result = Trainer(data, TrainConfig(**settings)).fit()
    result.train_seconds = result.train_seconds or time.perf_counter() - start
    return result


def pct(value: float) -> str:
    return f"{100 * value:.0f}%"
