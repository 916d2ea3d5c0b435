"""Derived labels: binary tasks computed from another column.

A ratings log has one outcome, ``rating`` (1-5); multi-task learning needs several.
A derived label turns a column into a 0/1 task with a threshold or an equality:

* ``liked=rating>=4``: 1 where the rating is 4 or 5, 0 where it is 1-3;
* ``long=watch_time>=30``; ``five=rating==5``; ``drama=genre==drama``;
* ``rated=rating>=1,missing=negative``: rows without a rating count as 0 (by default
  a missing source stays missing, and the task skips those rows, as for a rating that
  exists only after a click).

Operators: ``>=``, ``>``, ``<=``, ``<``, ``==``, ``!=``. Comparisons need a numeric
column; equality compares numbers when both sides are numbers, text otherwise.

The expressions are part of the data's column roles
(:attr:`~mtl.data.schema.RoleOverrides.derive`), recorded in a run's
``TrainConfig.derive`` and saved with a model, so the same labels can be computed
again from raw rows (:func:`apply_derived`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError

OPERATORS = (">=", "<=", "==", "!=", ">", "<")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\- ]*$")
_SPEC = re.compile(r"^\s*(?P<name>[^=<>!]+?)\s*=\s*(?P<source>[^=<>!]+?)\s*(?P<op>>=|<=|==|!=|>|<)\s*(?P<value>.+?)\s*$")


@dataclass(frozen=True)
class DerivedLabel:
    """``name`` is 1 where ``source op value`` holds, 0 where it does not, and missing
    where the source is missing (0 with ``missing="negative"``)."""

    name: str
    source: str
    op: str
    value: float | str
    missing: str = "missing"

    @property
    def expression(self) -> str:
        value = f"{self.value:g}" if isinstance(self.value, float) else self.value
        tail = ",missing=negative" if self.missing == "negative" else ""
        return f"{self.name}={self.source}{self.op}{value}{tail}"

    def describe(self) -> str:
        value = f"{self.value:g}" if isinstance(self.value, float) else f"'{self.value}'"
        when_missing = "counts as 0" if self.missing == "negative" else "stays missing"
        return f"1 where {self.source} {self.op} {value}, else 0; a missing {self.source} {when_missing}"


def parse_derived(text: str) -> DerivedLabel:
    """``"liked=rating>=4"`` (optionally ``",missing=negative"``) -> :class:`DerivedLabel`.
    Raises :class:`ConfigError` with the expected form on anything else."""
    body, missing = str(text).strip(), "missing"
    m = re.search(r",\s*missing\s*=\s*(\w+)\s*$", body)
    if m:
        missing = {"negative": "negative", "0": "negative", "missing": "missing", "skip": "missing"}.get(m.group(1).lower())
        if missing is None:
            raise ConfigError(f"Derived label '{text}': missing= takes 'negative' (count as 0) or 'missing' (skip the row)")
        body = body[: m.start()]
    found = _SPEC.match(body)
    if not found:
        raise ConfigError(f"Derived label '{text}' should look like name=column>=value, e.g. liked=rating>=4 "
                          f"(operators: {' '.join(OPERATORS)}; add ',missing=negative' to count missing as 0)")
    name, source, op, raw = (found.group(k).strip() for k in ("name", "source", "op", "value"))
    if not _NAME.match(name):
        raise ConfigError(f"Derived label name '{name}' should start with a letter and use letters, digits or _")
    raw = raw.strip("'\"")
    try:
        value: float | str = float(raw)
    except ValueError:
        if op not in ("==", "!="):
            raise ConfigError(f"Derived label '{text}': '{op}' needs a number to compare with, got '{raw}'") from None
        value = raw
    return DerivedLabel(name, source, op, value, missing)


def _compare(values, op: str, value):
    return {">=": values >= value, ">": values > value, "<=": values <= value, "<": values < value,
            "==": values == value, "!=": values != value}[op]


def derived_values(frame: pd.DataFrame, label: DerivedLabel) -> pd.Series:
    """The 0/1 (float, NaN where missing) column of ``label`` on ``frame``."""
    if label.source not in frame.columns:
        raise DataError(f"Derived label '{label.name}': there is no column '{label.source}' "
                        f"(columns: {', '.join(map(str, list(frame.columns)[:12]))}...)", column=label.source)
    s = frame[label.source]
    present = s.notna().to_numpy()
    num = pd.to_numeric(s, errors="coerce") if not pd.api.types.is_bool_dtype(s) else s.astype(float)
    numeric_ok = not (num.isna() & s.notna()).any()
    if isinstance(label.value, float) and numeric_ok:
        hit = _compare(num.to_numpy(dtype=float), label.op, label.value)
    elif label.op in ("==", "!="):
        text = s.astype(str).str.strip().to_numpy()
        target = f"{label.value:g}" if isinstance(label.value, float) else str(label.value)
        hit = _compare(text, label.op, target)
    else:
        row = int(np.flatnonzero((num.isna() & s.notna()).to_numpy())[0])
        raise DataError(f"Derived label '{label.name}': column '{label.source}' must be numeric for '{label.op}', "
                        f"but has the value '{s.iloc[row]}' at row {row + 1}", column=label.source, row=row)
    out = np.where(hit, 1.0, 0.0)
    if label.missing != "negative":
        out = np.where(present, out, np.nan)
    return pd.Series(out, index=frame.index, name=label.name)


def apply_derived(frame: pd.DataFrame, expressions: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """``frame`` with one new 0/1 column per derived-label expression (in order, so a
    later expression may use an earlier one). Raises :class:`ConfigError` /
    :class:`DataError` for a bad expression, a missing column or a name clash."""
    if not expressions:
        return frame
    labels = [parse_derived(e) for e in expressions]
    out = frame.copy()
    for label in labels:
        if label.name in out.columns:
            raise DataError(f"Derived label '{label.name}' has the name of an existing column; choose another name",
                            column=label.name)
        out[label.name] = derived_values(out, label)
    return out
