"""The default backend: trainings one after another in the calling thread (the app's
background job, the CLI's process), as the library has always run them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from ..data.dataset import PreparedData
from ..train import Trainer
from ..train.events import Progress
from ..train.result import TrainResult
from .base import PROGRESS, START, Backend, Listener, Training, Update, failure_reason
from .registry import register


def train_one(prepared: PreparedData, training: Training, index: int, listener: Listener | None,
              should_stop: Callable[[], bool] | None, stop_running: bool) -> TrainResult | None:
    """Train one model of a plan, wherever it runs; ``None`` when a stop abandoned it."""
    if listener is not None:
        listener(Update(index, START))
    trainer = Trainer(prepared, training.config)

    def follow(event) -> None:
        if stop_running and should_stop is not None and should_stop():
            trainer.request_stop()
        if listener is not None and isinstance(event, Progress):
            listener(Update(index, PROGRESS, event.fraction, f"epoch {event.epoch}/{event.epochs}"))

    result = trainer.fit(follow)
    if result.stopped and stop_running and should_stop is not None and should_stop():
        return None
    return result


@register
class LocalBackend(Backend):
    name = "local"
    description = "this machine, one training after another in a background thread"

    def run(self, prepared: PreparedData, plan: Sequence[Training], *, listener: Listener | None = None,
            should_stop: Callable[[], bool] | None = None, stop_running: bool = True,
            ) -> Iterator[tuple[int, TrainResult | None]]:
        for index, training in enumerate(plan):
            if should_stop is not None and should_stop():
                return
            try:
                result = train_one(prepared, training, index, listener, should_stop, stop_running)
            except Exception as err:
                raise failure_reason(index, training.label, err) from err
            yield index, result
