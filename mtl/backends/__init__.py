"""Where the trainings of a sweep or a comparison run: pluggable backends.

``local`` (the default) trains one model after another in the calling thread. ``ray``
makes every training a Ray task, on a Ray runtime started on this machine or on an
existing cluster (``pip install 'mtl-tradeoff-explorer[ray]'``). A backend takes a
plan of :class:`Training` s on one prepared dataset and yields the results as they
end; :func:`mtl.tradeoff.sweep` and :func:`mtl.compare.compare` put them back in plan
order, so the same seeds give the same numbers on every backend.

Add a backend with one file holding a :class:`Backend` subclass decorated with
:func:`register`, imported below.

::

    from mtl.backends import get_backend
    result = sweep(prepared, config, points=8, backend=get_backend("ray", num_cpus=2))
"""

from __future__ import annotations

from . import local, ray_backend  # noqa: F401  (registers the backends)
from .base import Backend, Tracker, Training, TrainingFailed, Update
from .registry import available_backends, backend_missing, get_backend, get_backend_class, register

__all__ = [
    "Backend", "Tracker", "Training", "TrainingFailed", "Update", "available_backends", "backend_missing",
    "get_backend", "get_backend_class", "register",
]
