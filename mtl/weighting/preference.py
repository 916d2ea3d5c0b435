"""Task weights as the user gives them: the *preference*, a mapping ``{task: weight}``.

One vocabulary across the library, CLI and app: the **preference** is what the user
asked for (slider values, ``--weights``; only ratios matter), the **applied weights**
are what a weighting method actually used in a batch
(:meth:`~mtl.weighting.Weighting.applied_weights`). This module checks a preference
(:func:`check_preference`, called by ``TrainConfig.validate``), reads one written as a
list in task order (older saved models, ``--weights 1,2``) and turns it into shares
summing to 1 for methods and displays (:func:`preference_shares`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

from ..errors import ConfigError

Preference = Mapping[str, float]


def as_preference(weights: Mapping[str, float] | Sequence[float] | None, tasks: Sequence[str]) -> dict[str, float] | None:
    """``weights`` as a ``{task: weight}`` mapping: a mapping is copied, a list is read
    in the order of ``tasks`` (one weight per task), ``None`` stays ``None`` (equal)."""
    if weights is None:
        return None
    if isinstance(weights, Mapping):
        return {str(k): _number(k, v) for k, v in weights.items()}
    values = list(weights)
    if len(values) != len(tasks):
        raise ConfigError(f"Got {len(values)} task weights for {len(tasks)} tasks ({', '.join(tasks)}); "
                          "give one weight per task")
    return {t: _number(t, v) for t, v in zip(tasks, values)}


def _number(task, value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"The weight of task '{task}' must be a number, got '{value}'") from None


def check_preference(preference: Preference | None, tasks: Sequence[str]) -> None:
    """Raise :class:`ConfigError` with one message unless ``preference`` is ``None`` or
    names every task of ``tasks`` (and no other) with a finite weight >= 0, at least one
    above zero."""
    if preference is None:
        return
    if not isinstance(preference, Mapping):
        raise ConfigError(f"Task weights must be a mapping {{task: weight}}, got {type(preference).__name__}")
    unknown = [k for k in preference if k not in tasks]
    if unknown:
        raise ConfigError(f"Weights given for {', '.join(map(repr, unknown))}, which "
                          f"{'is' if len(unknown) == 1 else 'are'} not a task here ({', '.join(tasks)})")
    missing = [t for t in tasks if t not in preference]
    if missing:
        raise ConfigError(f"Give a weight for every task; missing: {', '.join(missing)}")
    for task in tasks:
        w = preference[task]
        if isinstance(w, bool) or not isinstance(w, numbers.Real) or not math.isfinite(w) or w < 0:
            raise ConfigError(f"The weight of task '{task}' must be a finite number >= 0, got {w}")
    if not any(preference[t] > 0 for t in tasks):
        raise ConfigError("At least one task weight must be above zero")


def preference_shares(preference: Preference | None, tasks: Sequence[str]) -> dict[str, float]:
    """Each task's share of the total weight (summing to 1; equal when ``preference`` is
    ``None``): what methods use and what displays show as percentages."""
    check_preference(preference, tasks)
    if preference is None:
        return {t: 1.0 / len(tasks) for t in tasks} if tasks else {}
    total = sum(preference[t] for t in tasks)
    return {t: preference[t] / total for t in tasks}
