"""Backends by name, for ``--backend`` and the app's choice."""

from __future__ import annotations

from ..errors import ConfigError
from .base import Backend

_REGISTRY: dict[str, type[Backend]] = {}


def register(cls: type[Backend]) -> type[Backend]:
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a non-empty `name`")
    _REGISTRY[cls.name] = cls
    return cls


def available_backends() -> dict[str, str]:
    """Registered backends: name -> one-line description (installed or not: see
    :func:`backend_missing`)."""
    return {name: cls.description for name, cls in _REGISTRY.items()}


def backend_missing(name: str) -> str | None:
    """The install command a backend still needs (``None`` when it can run here)."""
    return get_backend_class(name).missing()


def get_backend_class(name: str) -> type[Backend]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"Unknown backend '{name}'; choose one of: {', '.join(_REGISTRY)}") from None


def get_backend(name: str = "local", **options) -> Backend:
    """An instance of backend ``name`` with its ``options`` (the Ray backend's
    ``address``, ``num_cpus``, ...); a :class:`ConfigError` with the install command
    when its package is missing."""
    cls = get_backend_class(name)
    hint = cls.missing()
    if hint:
        raise ConfigError(hint)
    return cls(**options)
