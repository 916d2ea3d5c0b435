"""Multi-task architectures, pluggable through a registry.

Add an architecture by writing one file with a :class:`MultiTaskModel` subclass
decorated with :func:`register`; the trainer, CLI and app pick it up by name.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ConfigError
from ..tasks import TaskSpec
from ._interactions import available_interactions, available_num_embeddings
from .base import ModelConfig, ModelOutput, MultiTaskModel

_REGISTRY: dict[str, type[MultiTaskModel]] = {}


def register(cls: type[MultiTaskModel]) -> type[MultiTaskModel]:
    """Class decorator: make an architecture available under ``cls.name``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a non-empty `name`")
    _REGISTRY[cls.name] = cls
    return cls


def available_models() -> dict[str, str]:
    """Registered architectures: name -> one-line description."""
    return {name: cls.description for name, cls in _REGISTRY.items()}


def get_model_class(name: str) -> type[MultiTaskModel]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"Unknown architecture '{name}'; choose one of: {', '.join(_REGISTRY)}") from None


def build_model(
    name: str, cardinalities: Sequence[int], num_dim: int, tasks: Sequence[TaskSpec], config: ModelConfig | None = None
) -> MultiTaskModel:
    return get_model_class(name)(cardinalities, num_dim, tasks, config or ModelConfig())


# Built-in architectures register themselves on import (order = display order).
# isort: off
from . import single, shared_bottom, mmoe, ple  # noqa: E402,F401
# isort: on

__all__ = ["ModelConfig", "ModelOutput", "MultiTaskModel", "available_interactions", "available_models",
           "available_num_embeddings", "build_model", "get_model_class", "register"]
