"""Task-weighting methods, pluggable through a registry (one method per file).

Add a method by writing one file with a :class:`Weighting` subclass decorated with
:func:`register` and importing it below; the trainer, CLI and app list it by name.
"""

from __future__ import annotations

from typing import Sequence

from ..errors import ConfigError
from ..tasks import TaskSpec
from .base import Weighting, normalize_preference

_REGISTRY: dict[str, type[Weighting]] = {}


def register(cls: type[Weighting]) -> type[Weighting]:
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a non-empty `name`")
    _REGISTRY[cls.name] = cls
    return cls


def available_weightings() -> dict[str, str]:
    """Registered methods: name -> one-line description."""
    return {name: cls.description for name, cls in _REGISTRY.items()}


def build_weighting(name: str, tasks: Sequence[TaskSpec], weights: Sequence[float] | None = None) -> Weighting:
    try:
        cls = _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"Unknown weighting method '{name}'; choose one of: {', '.join(_REGISTRY)}") from None
    return cls(tasks, normalize_preference(weights, len(tasks)))


from . import static, uncertainty, dwa  # noqa: E402,F401

__all__ = ["Weighting", "available_weightings", "build_weighting", "normalize_preference", "register"]
