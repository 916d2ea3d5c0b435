"""Training: configuration, the stepwise loop, results, and saved models."""

from __future__ import annotations

from ..data.dataset import InteractionData, prepare
from .background import BackgroundTraining, evals_per_epoch_for, live_config
from .config import TrainConfig
from .device import DEVICES, available_devices, resolve_device
from .events import Done, Evaluation, Event, Progress
from .model_io import TrainedModel
from .result import TrainResult
from .trainer import Trainer


def train(data: InteractionData, config: TrainConfig, callback=None) -> TrainResult:
    """Prepare ``data`` for ``config.tasks`` (split, encoders) and train to the end."""
    prepared = prepare(data, config.tasks, config.split, seed=config.seed, history=config.history)
    return Trainer(prepared, config).fit(callback)


__all__ = [
    "BackgroundTraining", "DEVICES", "Done", "Evaluation", "Event", "Progress", "TrainConfig", "TrainResult", "TrainedModel",
    "Trainer", "available_devices", "evals_per_epoch_for", "live_config", "resolve_device", "train",
]
