"""What every backend shares: the unit of work, the updates it reports, and how a
failed training is told apart from a stopped one."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from ..data.dataset import PreparedData
from ..errors import MTLError
from ..train import TrainConfig
from ..train.result import TrainResult

log = logging.getLogger(__name__)

START, PROGRESS = "start", "progress"


@dataclass(frozen=True)
class Training:
    """One model to train: its configuration, what to call it in progress messages
    (``"weighting 2 of 8 (click 0.50, like 0.50)"``, ``"UPGrad, seed 1"``) and whether
    the caller needs the trained network back (a remote backend then ships it; the
    others only need the metrics)."""

    config: TrainConfig
    label: str
    keep_model: bool = False


@dataclass(frozen=True)
class Update:
    """Training ``index`` of the plan started (``kind == "start"``) or moved on
    (``"progress"``: ``fraction`` of its epochs done, ``detail`` e.g. ``"epoch 2/5"``)."""

    index: int
    kind: str
    fraction: float = 0.0
    detail: str = ""


#: Hears :class:`Update` s, in the caller's thread.
Listener = Callable[[Update], None]


class TrainingFailed(MTLError):
    """Training ``index`` of the plan raised; ``reason`` says what went wrong in one
    line (the project's own message, or ``"<ExceptionType>: <message>"``)."""

    def __init__(self, index: int, reason: str):
        super().__init__(reason)
        self.index = index
        self.reason = reason


def failure_reason(index: int, label: str, err: BaseException) -> TrainingFailed:
    """The :class:`TrainingFailed` for ``err``; anything but the project's own errors
    is logged with its traceback, since the one-line reason hides where it came from."""
    if isinstance(err, MTLError):
        return TrainingFailed(index, str(err))
    log.error("training %r failed", label, exc_info=err)
    return TrainingFailed(index, f"{type(err).__name__}: {err}")


class Backend:
    """Runs a plan of trainings on one prepared dataset.

    :meth:`run` yields ``(index, result)`` as trainings end, in any order; ``result``
    is ``None`` for a training abandoned by a stop. It checks ``should_stop()`` often:
    once true, nothing new starts, and with ``stop_running`` the trainings under way
    stop within a batch and are abandoned (a sweep's half-trained model is no point of
    its front), without it they finish and count (a comparison keeps them). A training
    that raises ends the run with :class:`TrainingFailed` (closing the iterator early
    stops the others). Results are the same whatever the backend for the same seeds,
    on the same kind of device and thread count.
    """

    #: The registry name (``--backend``).
    name = ""
    #: One line for lists and the app.
    description = ""

    def run(self, prepared: PreparedData, plan: Sequence[Training], *, listener: Listener | None = None,
            should_stop: Callable[[], bool] | None = None, stop_running: bool = True,
            ) -> Iterator[tuple[int, TrainResult | None]]:
        raise NotImplementedError

    @property
    def workers(self) -> int:
        """How many trainings run at once."""
        return 1

    def describe(self) -> str:
        """Where the trainings run, in words (said by the CLI and the app)."""
        return self.description

    @classmethod
    def missing(cls) -> str | None:
        """What to install before this backend can run (``None``: nothing)."""
        return None


class Tracker:
    """Turns updates into the ``progress(done, total, message)`` of sweeps and the
    app: ``done`` counts finished trainings plus the fractions of those under way
    (never going back), ``message`` names the training that moved last, with its
    epoch, and how many others run beside it."""

    def __init__(self, plan: Sequence[Training], progress: Callable[[float, int, str], None] | None, total: int):
        self.plan = plan
        self.progress = progress
        self.total = total
        self.finished = 0
        self.running: dict[int, float] = {}
        self._ended: set[int] = set()
        self._last = 0.0
        self._times: dict[int, list[float]] = {}

    def __call__(self, update: Update) -> None:
        label = self.plan[update.index].label
        if update.index in self._ended:  # a remote start heard after its end
            return
        if update.kind == START:
            self.running[update.index] = 0.0
            self._times[update.index] = [time.perf_counter()]
            self._say(self.finished + sum(self.running.values()), label)
        elif update.index in self.running:
            self.running[update.index] = min(max(update.fraction, 0.001), 0.999)
            others = len(self.running) - 1
            text = f"{label} · {update.detail}" + (f" (+{others} more running)" if others else "")
            self._say(self.finished + sum(self.running.values()), text)

    def ended(self, index: int) -> None:
        self.running.pop(index, None)
        self._ended.add(index)
        self._times.setdefault(index, [time.perf_counter()]).append(time.perf_counter())
        self.finished += 1

    def span(self, indices: Sequence[int]) -> float:
        """Wall-clock seconds from the first of ``indices`` starting to the last ending."""
        times = [self._times[i] for i in indices if len(self._times.get(i, ())) == 2]
        return max(t[1] for t in times) - min(t[0] for t in times) if times else 0.0

    def _say(self, done: float, message: str) -> None:
        done = max(done, self._last)
        self._last = done
        if self.progress is not None:
            self.progress(done, self.total, message)
