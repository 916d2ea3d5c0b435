"""Deterministic train / validation / test splits.

* ``random``: rows shuffled with the seed (scikit-learn ``train_test_split``).
* ``time``: the oldest rows train, the newest test, cut at time quantiles (or at
  explicit cut-offs); rows sharing a timestamp never straddle a cut, so the model is
  always evaluated on the future.
* ``user`` (leave-users-out): whole users held out (``GroupShuffleSplit``), to
  measure how the model does for users it has never seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError

SPLITS = ("random", "time", "user")
#: Fewest rows in any part of a split.
MIN_ROWS_PER_PART = 10


@dataclass(frozen=True)
class SplitSpec:
    """How to split. ``fractions`` are (train, valid, test) and must sum to 1.
    ``cutoffs`` (time split only) are two time values: rows with time <= cutoffs[0]
    train, rows <= cutoffs[1] validate, the rest test."""

    method: str = "random"
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    cutoffs: tuple | None = None
    #: Column the time split reads (default: the schema's timestamp column).
    column: str | None = None

    def to_dict(self) -> dict:
        return {"method": self.method, "fractions": list(self.fractions), "seed": self.seed,
                "cutoffs": list(self.cutoffs) if self.cutoffs is not None else None, "column": self.column}

    @classmethod
    def from_dict(cls, d: dict) -> SplitSpec:
        d = dict(d)
        d["fractions"] = tuple(d.get("fractions", (0.8, 0.1, 0.1)))
        if d.get("cutoffs") is not None:
            d["cutoffs"] = tuple(d["cutoffs"])
        return cls(**d)


def _check(spec: SplitSpec) -> None:
    if spec.method not in SPLITS:
        raise ConfigError(f"Unknown split '{spec.method}'; choose one of: {', '.join(SPLITS)}")
    if spec.cutoffs is not None and spec.method != "time":
        raise ConfigError(f"Cut-offs belong to the time split; the {spec.method} split does not use them")
    if spec.cutoffs is not None and len(spec.cutoffs) != 2:
        raise ConfigError(f"A time split takes two cut-offs (end of training, end of validation), "
                          f"got {len(spec.cutoffs)}: {', '.join(map(str, spec.cutoffs))}")
    f = spec.fractions
    if len(f) != 3 or min(f) <= 0 or abs(sum(f) - 1.0) > 1e-6:
        raise ConfigError(f"Split fractions must be three positive numbers summing to 1, got {tuple(f)}")


def split_indices(
    n: int,
    spec: SplitSpec,
    *,
    time: pd.Series | np.ndarray | None = None,
    users: pd.Series | np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row positions of the train, validation and test parts (each sorted)."""
    _check(spec)
    if n < 3 * MIN_ROWS_PER_PART:
        raise DataError(
            f"Only {n} rows: at least {3 * MIN_ROWS_PER_PART} are needed to split into train, validation and test"
        )
    idx = np.arange(n)
    f_train, f_valid, f_test = spec.fractions
    if spec.method == "random":
        from sklearn.model_selection import train_test_split  # slow to import; reading data does without it

        train, rest = train_test_split(idx, train_size=f_train, random_state=spec.seed, shuffle=True)
        valid, test = train_test_split(rest, train_size=f_valid / (f_valid + f_test), random_state=spec.seed + 1)
    elif spec.method == "time":
        if time is None:
            raise DataError("A time split needs a timestamp column; this data has none (choose random or user)")
        t = _as_sortable_time(time)
        if spec.cutoffs is not None:
            c1, c2 = resolve_cutoffs(spec.cutoffs, time)
            train, valid, test = idx[t <= c1], idx[(t > c1) & (t <= c2)], idx[t > c2]
        else:
            q1, q2 = np.quantile(t, [f_train, f_train + f_valid], method="lower")
            train, valid, test = idx[t <= q1], idx[(t > q1) & (t <= q2)], idx[t > q2]
    else:
        if users is None:
            raise DataError("A leave-users-out split needs a user id column; this data has none")
        groups = pd.factorize(np.asarray(users))[0]
        if groups.max() + 1 < 3:
            raise DataError("A leave-users-out split needs at least 3 distinct users")
        from sklearn.model_selection import GroupShuffleSplit

        gss = GroupShuffleSplit(n_splits=1, train_size=f_train, random_state=spec.seed)
        train, rest = next(gss.split(idx, groups=groups))
        gss2 = GroupShuffleSplit(n_splits=1, train_size=f_valid / (f_valid + f_test), random_state=spec.seed + 1)
        v, te = next(gss2.split(rest, groups=groups[rest]))
        valid, test = rest[v], rest[te]
    parts = [np.sort(np.asarray(p)) for p in (train, valid, test)]
    for name, part in zip(("train", "validation", "test"), parts):
        if len(part) < MIN_ROWS_PER_PART:
            raise DataError(
                f"The {spec.method} split leaves only {len(part)} rows for {name}; "
                f"at least {MIN_ROWS_PER_PART} are needed (use more data or other fractions/cut-offs)"
            )
    return parts[0], parts[1], parts[2]


def _as_sortable_time(time, what: str = "row") -> np.ndarray:
    s = pd.Series(np.asarray(time))
    if pd.api.types.is_numeric_dtype(s):
        if s.isna().any():
            raise DataError("The timestamp column has missing values; a time split needs a time on every row")
        return s.to_numpy()
    parsed = pd.to_datetime(s, errors="coerce", utc=True)
    if parsed.isna().any():
        bad = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        if what != "row":
            raise DataError(f"The time split {what} '{s.iloc[bad]}' is not a time")
        raise DataError(f"The timestamp column has a value that is not a time at row {bad + 1}: '{s.iloc[bad]}'", row=bad)
    return parsed.dt.as_unit("us").astype("int64").to_numpy()


def parse_cutoffs(text: str) -> tuple:
    """``"20220505,20220506"`` or ``"2022-05-05, 2022-05-06 12:00"`` -> two cut-offs
    (numbers stay numbers, anything else text, resolved against the column later)."""
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if len(parts) != 2:
        raise ConfigError(f"Give two cut-offs separated by a comma (end of training, end of validation), "
                          f"e.g. 20220505,20220506 or 2022-05-05,2022-05-06; got '{text}'")
    out = []
    for p in parts:
        try:
            v = float(p)
            out.append(int(v) if v == int(v) else v)
        except ValueError:
            out.append(p)
    return tuple(out)


_YYYYMMDD = (19000101, 21001231)
#: Epoch timestamps by magnitude: seconds, milliseconds, microseconds, nanoseconds.
_EPOCH_UNITS = ((1e11, "s"), (1e14, "ms"), (1e17, "us"), (float("inf"), "ns"))


def _is_yyyymmdd(v: np.ndarray) -> bool:
    return bool(len(v)) and np.all(v == np.round(v)) and v.min() >= _YYYYMMDD[0] and v.max() <= _YYYYMMDD[1]


def resolve_cutoffs(cutoffs, time) -> tuple[float, float]:
    """Two cut-offs as values comparable with :func:`_as_sortable_time` of ``time``.

    Cut-offs can be written as the column is (``20220505`` for a yyyymmdd column, a
    number for epoch timestamps) or as dates (``2022-05-05``, ``20220505``,
    ``2022-05-05 12:00``) whatever the column holds: a date is turned into the
    column's own form (yyyymmdd, epoch seconds / ms / us / ns by magnitude, or
    date-time). Raises :class:`DataError` for a cut-off that is not a time, and
    :class:`ConfigError` when the second is not after the first.
    """
    s = pd.Series(np.asarray(time))
    out = []
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        v = s.dropna().to_numpy(dtype=float)
        yyyymmdd = _is_yyyymmdd(v)
        unit = next(u for limit, u in _EPOCH_UNITS if np.abs(v).max(initial=0) < limit)
        for c in cutoffs:
            if isinstance(c, (int, float, np.integer, np.floating)) and not isinstance(c, bool):
                if not yyyymmdd and _is_yyyymmdd(np.array([float(c)])) and np.abs(v).max(initial=0) >= 1e9:
                    c = str(int(c))  # a yyyymmdd date against epoch timestamps: read it as a date
                else:
                    out.append(float(c))
                    continue
            when = _parse_time(c)
            if yyyymmdd:
                out.append(float(when.strftime("%Y%m%d")))
            else:
                out.append(float((when - pd.Timestamp("1970-01-01", tz="UTC")) / pd.Timedelta(1, unit)))
    else:
        epoch = pd.Timestamp("1970-01-01", tz="UTC")
        out = [float((_parse_time(c) - epoch) // pd.Timedelta(1, "us")) for c in cutoffs]
    if not out[0] < out[1]:
        raise ConfigError(f"The second cut-off ({cutoffs[1]}) must be later than the first ({cutoffs[0]})")
    return out[0], out[1]


def _parse_time(c) -> pd.Timestamp:
    text = str(c).strip()
    fmt = "%Y%m%d" if text.isdigit() and len(text) == 8 else None
    try:
        when = pd.to_datetime(text, format=fmt, utc=True)
    except (ValueError, TypeError, OverflowError):
        when = pd.NaT
    if pd.isna(when):
        raise DataError(f"The time split cut-off '{c}' is not a time (write a date such as 2022-05-05 or 20220505, "
                        "or a value of the time column)")
    return when
