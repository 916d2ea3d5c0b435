"""Guided lessons: one idea of multi-task learning each, shown on a simulated feed
built so that the effect is large, with the effect measured, not asserted.

A lesson is one file with a :class:`Lesson` subclass decorated with
:func:`register`; the Learn page and the tests list them from the registry, in
import order. Every lesson has one :class:`Control`; when ``control.retrains`` is
False the expensive part (:meth:`Lesson.train`) does not depend on the control's
value and only :meth:`Lesson.view` reruns when it moves (instant). A lesson's
:meth:`Lesson.effect` is the number its "what you should see" sentence claims, so
tests can check the claim over several seeds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

#: ``progress(fraction, message)``: lessons that train call it between trainings.
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Control:
    """The lesson's one interactive control."""

    label: str
    options: tuple          # the values it can take (a select slider / radio)
    default: Any
    help: str = ""
    #: True when a new value needs new training (the result is cached per value).
    retrains: bool = True
    #: How to show an option (e.g. a method's title); ``str`` by default.
    format: Callable[[Any], str] = str


@dataclass
class LessonView:
    """What the page shows for a trained lesson at one control value."""

    figure: Any                      # a plotly figure
    what_you_see: str                # the measured effect, in one or two sentences, with numbers
    numbers: dict[str, float] = field(default_factory=dict)
    table: Any = None                # optional pandas DataFrame of the numbers behind the chart


class Lesson:
    """Base class: set the class attributes, implement :meth:`train`, :meth:`view`, :meth:`effect`."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    #: The short text of the lesson (markdown): the idea, and how to read the chart.
    text: ClassVar[str] = ""
    control: ClassVar[Control]
    #: What :meth:`effect` measures, for reports ("AUC gain of like from sharing").
    effect_label: ClassVar[str] = ""

    def train(self, value: Any, seed: int = 0, progress: Progress | None = None) -> Any:  # pragma: no cover
        """The expensive part (simulate + train), at the control's value (ignored when
        ``control.retrains`` is False). Returns a plain object :meth:`view` reads."""
        raise NotImplementedError

    def view(self, trained: Any, value: Any) -> LessonView:  # pragma: no cover
        raise NotImplementedError

    def effect(self, trained: Any) -> float:  # pragma: no cover
        """The lesson's headline number (the one the tests check)."""
        raise NotImplementedError

    def cache_key(self, value: Any, seed: int) -> tuple:
        """Results with the same key are the same (so a page can cache by it)."""
        return (self.name, value if self.control.retrains else None, seed)


_REGISTRY: dict[str, Lesson] = {}


def register(cls: type[Lesson]) -> type[Lesson]:
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a non-empty `name`")
    _REGISTRY[cls.name] = cls()
    return cls


def lessons() -> list[Lesson]:
    """Every registered lesson, in teaching order."""
    return list(_REGISTRY.values())


def get_lesson(name: str) -> Lesson:
    from ..errors import ConfigError

    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"Unknown lesson '{name}'; choose one of: {', '.join(_REGISTRY)}") from None


def report(fraction: float, message: str, progress: Progress | None) -> None:
    if progress is not None:
        progress(max(0.0, min(1.0, fraction)), message)


# Lessons register themselves on import (order = teaching order).
# isort: off
from . import sharing, conflict, paradox, pareto  # noqa: E402,F401
# isort: on

__all__ = ["Control", "Lesson", "LessonView", "Progress", "get_lesson", "lessons", "register"]
