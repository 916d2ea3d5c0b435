"""Task-weighting methods, pluggable through a registry (one method per file).

Add a method by writing one file with a :class:`Weighting` subclass decorated with
:func:`register` and importing it below; the trainer, CLI and app list it by name.

Loss-based methods combine the task losses: ``static``, ``uncertainty``, ``dwa`` need
nothing more; ``imtl_l``, ``geometric_mean``, ``famo``, ``stch``, ``pbi`` and ``cosmos``
run on TorchJD's scalarizers. Gradient-based methods balance the task gradients on the
shared representation: ``gradnorm``, ``imtl_g`` and ``graddrop`` need nothing more;
``upgrad``, ``mgda``, ``pcgrad``, ``aligned_mtl``, ``dualproj``, ``gradvac``,
``config``, ``fairgrad`` (also SciPy), ``excess_mtl``, ``sdmgrad``, ``modo`` and
``cr_mogm`` use `TorchJD <https://torchjd.org>`_ (``pip install
'mtl-tradeoff-explorer[torchjd]'``), ``cagrad`` and ``nash_mtl`` also cvxpy
(``pip install 'mtl-tradeoff-explorer[cvxpy]'``). Every method is listed whether or
not its dependencies are installed; :func:`weighting_status` tells which can run
and how to install the others, and :func:`build_weighting` raises a
:class:`~mtl.errors.ConfigError` carrying the install command.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch

from ..errors import ConfigError
from ..tasks import TaskSpec
from .base import JacobianWeighting, Weighting
from .preference import Preference, as_preference, check_preference, preference_shares

_REGISTRY: dict[str, type[Weighting]] = {}


def register(cls: type[Weighting]) -> type[Weighting]:
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a non-empty `name`")
    _REGISTRY[cls.name] = cls
    return cls


def available_weightings() -> dict[str, str]:
    """Registered methods: name -> one-line description (including methods whose
    optional dependencies are missing: see :func:`weighting_status`)."""
    return {name: cls.description for name, cls in _REGISTRY.items()}


class MethodStatus(NamedTuple):
    """Whether a method can run here, and if not, the command that makes it run."""

    available: bool
    hint: str


def weighting_status() -> dict[str, MethodStatus]:
    """Registered methods: name -> (available, install hint). The hint is empty for
    available methods. Checks that the modules can be found, without importing them."""
    return {name: _status(cls) for name, cls in _REGISTRY.items()}


def _status(cls: type[Weighting]) -> MethodStatus:
    missing = cls.missing_dependencies()
    if not missing:
        return MethodStatus(True, "")
    return MethodStatus(False, f"{cls.display_name()} needs {', '.join(missing)}: {cls.install_hint()}")


def get_weighting_class(name: str) -> type[Weighting]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"Unknown weighting method '{name}'; choose one of: {', '.join(_REGISTRY)}") from None


def check_available(name: str) -> type[Weighting]:
    """The method's class; a :class:`ConfigError` naming the install command when its
    optional dependencies are missing (or when the name is unknown)."""
    cls = get_weighting_class(name)
    status = _status(cls)
    if not status.available:
        raise ConfigError(status.hint)
    return cls


def build_weighting(name: str, tasks: Sequence[TaskSpec],
                    preference: Preference | Sequence[float] | None = None) -> Weighting:
    """An instance of method ``name`` for ``tasks`` with the user's ``preference``
    (``{task: weight}``, or weights in task order; ``None`` = equal), checked by
    :func:`check_preference`."""
    cls = check_available(name)
    names = [t.name for t in tasks]
    shares = preference_shares(as_preference(preference, names), names)
    return cls(tasks, torch.tensor(list(shares.values()), dtype=torch.float32))


# Built-in methods register themselves on import (order = display order).
# isort: off
from . import static, uncertainty, dwa  # noqa: E402,F401
from . import imtl_l, geometric_mean, famo, stch, pbi, cosmos  # noqa: E402,F401
from . import gradnorm, upgrad, mgda, pcgrad, imtl_g, aligned_mtl, cagrad, nash_mtl  # noqa: E402,F401
from . import dualproj, gradvac, conflict_free, fairgrad, excess_mtl  # noqa: E402,F401
from . import graddrop, sdmgrad, modo, cr_mogm  # noqa: E402,F401
# isort: on

__all__ = [
    "JacobianWeighting", "MethodStatus", "Weighting", "available_weightings", "build_weighting", "check_available",
    "Preference", "as_preference", "check_preference", "get_weighting_class", "preference_shares", "register",
    "weighting_status",
]
