"""Column roles: which columns are ids, time, labels (tasks) and features.

:func:`infer_schema` guesses every role from names and values and records *why*
in :attr:`Schema.notes`, so the app can show the reasoning next to each column.
Every guess can be overridden (:class:`RoleOverrides`).

Rules, in order:

* ``true_<name>`` columns are *oracle* columns (ground-truth probabilities from the
  simulator): never features, used only to compute Bayes-optimal scores.
* user / item ids and the timestamp are found by name (``user_id``, ``video_id``,
  ``timestamp``, ``time_ms`` ...). All three are optional: tabular data such as
  Census-Income has none.
* Labels are the outcomes of an impression: 0/1 or boolean columns (binary),
  numeric columns named like a rating or a time spent (regression), and columns
  named ``label*``/``target*`` with few values (multiclass). Labels are never used as
  features, even when they are not chosen as tasks: an outcome of the same impression
  would leak the answer.
* Every other column is a feature: text-like or low-cardinality integer columns are
  categorical (learned embeddings), other numbers numeric (standardized, heavy
  tails log-transformed). Constant columns and long free text are ignored (long text
  is kept for display as ``text``, e.g. item titles).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from ..errors import DataError
from .derive import parse_derived

USER_NAMES = ("user_id", "userid", "uid", "user", "customer_id", "member_id", "reader_id", "visitor_id")
ITEM_NAMES = (
    "item_id", "itemid", "iid", "item", "video_id", "movie_id", "book_id", "product_id",
    "photo_id", "song_id", "track_id", "article_id", "news_id", "ad_id", "post_id", "video",
)
TIME_NAMES = ("timestamp", "time_ms", "ts", "event_time", "datetime", "time", "date", "created_at")
ORACLE_PREFIX = "true_"

_REGRESSION_HINT = re.compile(
    r"(rating|stars|watch_?time|play_?time|view_?time|stay_?time|dwell|watch_ratio|"
    r"play_ratio|revenue|gmv|spend|minutes_watched|seconds_watched)",
    re.I,
)
_MULTICLASS_HINT = re.compile(r"^(label|target|y)(_|$)|(_label|_target|_class)$", re.I)
_CATEGORICAL_HINT = re.compile(r"(_id$|^id_|code$|recode$|_type$|^type|category|_cat$|^tab$|genre|tag)", re.I)
#: Survey / sampling weights: how many people a row stands for, not a trait of the row
#: (UCI: "should not be used in the classifiers"). Only explicit names: a bare
#: ``weight`` may be a product's weight in kg.
_SAMPLING_WEIGHT = re.compile(
    r"^(instance|sample|sampling|survey|design|final|person|household|analysis)_?(weight|wgt)s?$|"
    r"^(fnlwgt|perwt|pwgtp|wgtp|hhwt|wgt|weight_?final)$|_wgt$",
    re.I,
)
#: Names of row numbers / indexes (a column of a different whole number on every row).
_ROW_NUMBER_HINT = re.compile(r"^(unnamed:? ?\d*|index|idx|row|rownum|row_?(id|no|num|number|index)|"
                              r"(source|orig|original)_?(row|index|line)|line_?(no|number)|id|record_?(id|no))$", re.I)
#: Side-table columns named like identifiers: candidates for aliases of the id.
_IDENTIFIER_HINT = re.compile(r"(^|_)(id|isbn\d*|asin|ean|upc|sku|uuid|guid|key|code)($|_)|isbn|_id$", re.I)
_TIMEISH = re.compile(r"(^|_)(time|date|ts|timestamp|datetime|hourmin)(_|$)", re.I)
#: Integer or float columns with at most this many distinct whole values are categorical.
LOW_CARDINALITY = 20
#: Label columns with at most this many classes may be multiclass tasks.
MAX_CLASSES = 20


@dataclass
class RoleOverrides:
    """User choices that win over inference. ``None`` fields mean "infer".

    ``user``/``item``/``time`` take a column name, or ``""`` to say "there is none".
    ``labels`` maps a column to a kind (``binary``, ``regression``, ``multiclass``) and
    makes it a label; ``features`` forces columns to be features (their kind inferred
    unless also in ``categorical``/``numeric``); ``ignore`` drops columns entirely.
    """

    user: str | None = None
    item: str | None = None
    time: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    numeric: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    #: Derived binary labels, e.g. ``"liked=rating>=4"`` (see :mod:`mtl.data.derive`).
    derive: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> RoleOverrides:
        return cls(**(d or {}))


@dataclass
class Schema:
    """The role of every column of a (joined) interaction table."""

    user: str | None
    item: str | None
    time: str | None
    labels: dict[str, str]
    categorical: list[str]
    numeric: list[str]
    ignored: list[str] = field(default_factory=list)
    oracle: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    #: Where each side-table feature came from: column -> "user" | "item".
    side: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    #: Derived labels: name -> expression (``"liked=rating>=4"``), in the order applied.
    derived: dict[str, str] = field(default_factory=dict)
    #: What was done to a column's values that the user should be told (infinities read
    #: as missing, yes/no read as 1/0, nested values ignored): column -> sentence.
    remarks: dict[str, str] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return self.categorical + self.numeric

    def role_of(self, column: str) -> str:
        for role, cols in (
            ("user id", [self.user]), ("item id", [self.item]), ("timestamp", [self.time]),
            ("label", list(self.labels)), ("categorical feature", self.categorical),
            ("numeric feature", self.numeric), ("oracle", self.oracle), ("text", self.text),
        ):
            if column in cols:
                return role
        return "ignored"

    def table(self) -> pd.DataFrame:
        """One row per column: role, label kind and the reason for the choice."""
        cols = [c for c in self.notes]
        return pd.DataFrame(
            {
                "column": cols,
                "role": [self.role_of(c) for c in cols],
                "kind": [self.labels.get(c, "") for c in cols],
                "why": [self.notes[c] for c in cols],
            }
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Schema:
        return cls(**d)


def looks_like_id(column: str) -> bool:
    """Named like a user, item or other identifier (``user_id``, ``isbn``, ``sku`` ...)."""
    name = str(column).strip().lower()
    return name in USER_NAMES or name in ITEM_NAMES or bool(_IDENTIFIER_HINT.search(name))


#: Names of columns of codes or lists of codes (tags, genres, categories), by whole word:
#: "percentage" holds "tag" but is a number.
_CODES_HINT = re.compile(r"(^|_)(tags?|genres?|categor(y|ies)|codes?|cats?|types?|ids|keys?)($|_)", re.I)


def looks_like_codes(column: str) -> bool:
    """Named like an identifier or a column of codes / lists of codes (``tags``,
    ``genre``, ``category_ids``): a value such as ``3,7`` there is two codes, not a number."""
    return looks_like_id(column) or bool(_CODES_HINT.search(str(column).strip()))


#: Names that say a column identifies something (``user_id``, ``sku``), by their ending:
#: ``is_id_verified`` is an outcome.
_ID_NAME = re.compile(r"(^|_)(id|uuid|guid|isbn\d*|asin|ean|upc|sku)$", re.I)


def named_like_id(column: str) -> bool:
    """Named as an identifier of a user, an item or a record: never an outcome."""
    name = str(column).strip().lower()
    return name in USER_NAMES or name in ITEM_NAMES or bool(_ID_NAME.search(name))


def _id_remarks(ov: RoleOverrides, columns: list[str], labels: dict[str, str], user: str | None,
                item: str | None) -> dict[str, str]:
    """What to tell a user who made an id column a label, or said there is no user /
    item id while a column is named like one: both are accepted (a column may be
    misnamed), but each takes away what the app is for."""
    remarks = {}
    for col in ov.labels:
        if col in labels and named_like_id(col):
            remarks[col] = (f"Column '{col}' is named like an id but was made a {labels[col]} label: an id names a "
                            "user or an item, it is not an outcome, so predicting it teaches the model nothing "
                            "useful, and the model no longer sees it. Give it its id role back unless it really is "
                            "an outcome.")
    for attr, names, what in (("user", USER_NAMES, "user"), ("item", ITEM_NAMES, "item")):
        found = _find_by_name(columns, names)
        if getattr(ov, attr) == "" and found and found not in remarks:
            per = ("per-user metrics (GAUC), the split by user and recommendations for a user" if what == "user"
                   else "recommendations (they rank items) and item features")
            remarks[found] = (f"There is no {what} id, though '{found}' is named like one: {per} need one. "
                              f"Set '{found}' to {what} id unless it is something else.")
    return remarks


def _find_by_name(columns: list[str], names: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in columns}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def _non_null(s: pd.Series) -> pd.Series:
    return s.dropna()


def is_nested(s: pd.Series) -> bool:
    """Holds lists, arrays, dicts or sets (Parquet list / struct / map columns): such
    values are not categories or numbers, and cannot even be counted or hashed."""
    if s.dtype != object:
        return False
    return bool(s.map(lambda v: isinstance(v, (list, tuple, dict, set, np.ndarray))).any())


def infinite_count(s: pd.Series) -> int:
    """Number of +/- infinite values of a numeric column (0 for other columns)."""
    if not pd.api.types.is_float_dtype(s):
        return 0
    return int(np.isinf(s.to_numpy(dtype=float, na_value=np.nan)).sum())


def _is_binary(s: pd.Series) -> bool:
    v = _non_null(s)
    if len(v) == 0:
        return False
    if pd.api.types.is_bool_dtype(v):
        return True
    if not pd.api.types.is_numeric_dtype(v):
        return False
    return bool(np.isin(v.unique(), [0, 1]).all())


def _whole_numbers(s: pd.Series) -> bool:
    v = _non_null(s)
    if not pd.api.types.is_numeric_dtype(v) or pd.api.types.is_bool_dtype(v):
        return False
    vals = v.to_numpy(dtype=float)
    return bool(np.all(np.isfinite(vals)) and np.all(vals == np.round(vals)))


def mostly_numeric(s: pd.Series) -> bool:
    """Numeric, or text of which at least 90% parses as numbers (a typo'd numeric column,
    whose other values a regression label treats as missing)."""
    if pd.api.types.is_numeric_dtype(s):
        return not pd.api.types.is_bool_dtype(s)
    v = _non_null(s)
    return len(v) > 0 and pd.to_numeric(v, errors="coerce").notna().mean() >= 0.9


def _is_display_text(s: pd.Series) -> bool:
    values = _non_null(s).astype(str)
    return bool(len(values)) and float(values.str.len().mean()) > 24 and values.nunique() > 50


def _is_row_number(s: pd.Series, col: str) -> bool:
    """A different whole number on every row, named like an index or in file order."""
    if len(s) < 30 or s.isna().any() or not _whole_numbers(s) or not s.is_unique:
        return False
    return bool(_ROW_NUMBER_HINT.match(col) or s.is_monotonic_increasing or s.is_monotonic_decreasing)


def _alias_of(df: pd.DataFrame, col: str, s: pd.Series, ids: dict, side: dict) -> tuple[str, str] | None:
    """(id column, "user"/"item") when ``col`` is one-to-one with that id: another copy
    of the id (goodbooks' goodreads / work id and ISBN of each book). Text-like or
    identifier-named columns only: a numeric trait such as a book's rating count can
    be unique per book and still be a real feature."""
    textual = not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)
    if textual and _is_display_text(s):
        return None  # titles are one per item too, but they are shown with the items
    if not (textual or _IDENTIFIER_HINT.search(col) or _CATEGORICAL_HINT.search(col)):
        return None
    for id_col, what in ids.items():
        if not id_col or id_col == col or (col in side and side[col] != what):
            continue
        pairs = df[[id_col, col]].dropna().drop_duplicates()
        n_ids = df[id_col].nunique()
        # Most ids carry the column (some books have no ISBN), each maps to one value, and
        # almost every value to one id (an ISBN-13 written as a rounded float may merge two).
        if (len(pairs) >= max(20, 0.9 * n_ids) and pairs[id_col].is_unique
                and pairs[col].nunique() >= 0.98 * len(pairs)):
            return id_col, what
    return None


def label_kind_of(s: pd.Series) -> str:
    """The task kind a label column supports best: binary, multiclass or regression."""
    if _is_binary(s):
        return "binary"
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return "regression"
    return "multiclass"


def _infinite_note(s: pd.Series, categorical: bool) -> str:
    n = infinite_count(s)
    if not n:
        return ""
    return f"; {n:,} infinite value{'s' if n > 1 else ''} treated as missing" + (
        "" if categorical else " (replaced by the training median)")


def _infinite_remark(remarks: dict[str, str], col: str, s: pd.Series) -> None:
    n = infinite_count(s)
    if n:
        remarks[col] = f"Column '{col}' has {n:,} infinite value{'s' if n > 1 else ''}, treated as missing."


def _check_column_names(columns: list[str], what: str) -> None:
    seen: set[str] = set()
    for c in columns:
        if c in seen:
            raise DataError(f"{what} has two columns named '{c}'", column=c)
        seen.add(c)


def infer_schema(
    df: pd.DataFrame,
    overrides: RoleOverrides | dict | None = None,
    side: dict[str, str] | None = None,
) -> Schema:
    """Guess the role of every column of ``df`` (already joined with side tables).

    ``side`` maps side-table columns to ``"user"``/``"item"``: those are always
    features. Raises :class:`DataError` if an override names a missing column.
    """
    ov = overrides if isinstance(overrides, RoleOverrides) else RoleOverrides.from_dict(overrides)
    side = dict(side or {})
    columns = [str(c) for c in df.columns]
    _check_column_names(columns, "The table")
    derived = {d.name: d for d in (parse_derived(e) for e in ov.derive)}
    for name in derived:
        if name not in columns:
            raise DataError(f"Derived label '{name}' is not in the data; build the data with from_frame or load, "
                            "which compute derived labels", column=name)
    named = [ov.user, ov.item, ov.time, *ov.labels, *ov.features, *ov.categorical, *ov.numeric, *ov.ignore]
    for col in named:
        if col and col not in columns:
            raise DataError(f"Column '{col}' was named in the column roles but is not in the data", column=col)
    for col, kind in ov.labels.items():
        if kind not in ("binary", "regression", "multiclass"):
            raise DataError(f"Label '{col}' has unknown kind '{kind}'; use binary, regression or multiclass", column=col)
    nested = {c for c in columns if is_nested(df[c])}
    for col in [ov.user, ov.item, ov.time, *ov.labels, *ov.features, *ov.categorical, *ov.numeric]:
        if col in nested:
            raise DataError(f"Column '{col}' holds lists or nested records (a Parquet list / struct column); it can "
                            "only be ignored", column=col)

    notes: dict[str, str] = {}
    forced_features = set(ov.features) | set(ov.categorical) | set(ov.numeric)
    free = [c for c in columns if c not in ov.ignore and c not in ov.labels and c not in forced_features
            and c not in derived and c not in nested]

    def pick(override: str | None, names: tuple[str, ...], what: str) -> str | None:
        if override is not None:
            if override:
                notes[override] = f"{what} (chosen)"
            return override or None
        col = _find_by_name([c for c in free if c not in side], names)
        if col:
            notes[col] = f"{what} (by name)"
        return col

    user = pick(ov.user, USER_NAMES, "user id")
    item = pick(ov.item, ITEM_NAMES, "item id")
    time = pick(ov.time, TIME_NAMES, "timestamp")
    taken = {user, item, time}

    labels: dict[str, str] = {}
    categorical: list[str] = []
    numeric: list[str] = []
    ignored: list[str] = []
    oracle: list[str] = []
    text: list[str] = []
    remarks: dict[str, str] = {}

    for col in columns:
        if col in taken:
            continue
        s = df[col]
        if col in ov.ignore:
            ignored.append(col)
            notes[col] = "ignored (chosen)"
            continue
        if col in nested:
            ignored.append(col)
            notes[col] = "ignored: holds lists or nested records (a Parquet list / struct column), not single values"
            remarks[col] = f"Column '{col}' holds lists or nested records, so it was left out."
            continue
        if col in derived and col not in ov.labels:
            labels[col] = "binary"
            notes[col] = f"binary label derived from '{derived[col].source}': {derived[col].describe()}"
            continue
        if col in ov.labels:
            labels[col] = ov.labels[col]
            notes[col] = f"{ov.labels[col]} label (chosen)"
            continue
        n_unique = s.nunique(dropna=True)
        if col in forced_features:
            is_cat = col in ov.categorical or (col not in ov.numeric and not pd.api.types.is_numeric_dtype(s))
            (categorical if is_cat else numeric).append(col)
            notes[col] = f"{'categorical' if is_cat else 'numeric'} feature (chosen)" + _infinite_note(s, is_cat)
            _infinite_remark(remarks, col, s)
            continue
        if col.lower().startswith(ORACLE_PREFIX):
            oracle.append(col)
            notes[col] = "ground truth from a simulator: never a feature"
            continue
        if n_unique == 0:
            ignored.append(col)
            notes[col] = "ignored: always empty"
            continue
        if n_unique == 1:
            ignored.append(col)
            notes[col] = "ignored: constant, carries no information"
            continue
        if col not in side:
            if _is_binary(s):
                labels[col] = "binary"
                notes[col] = "binary label: values are 0/1"
                continue
            if _REGRESSION_HINT.search(col) and mostly_numeric(s):
                labels[col] = "regression"
                notes[col] = "regression label: a numeric outcome (rating / time spent)"
                continue
            if _MULTICLASS_HINT.search(col) and 2 < n_unique <= MAX_CLASSES:
                labels[col] = "multiclass"
                notes[col] = f"multiclass label: named like a label, {n_unique} classes"
                continue
            if time and (col.lower() in TIME_NAMES or (_TIMEISH.search(col) and n_unique > 1000)):
                ignored.append(col)
                notes[col] = f"ignored: a second timestamp ('{time}' is the time column)"
                continue
        if _SAMPLING_WEIGHT.search(col) and mostly_numeric(s):
            ignored.append(col)
            notes[col] = ("ignored: a sampling weight (how many people the row stands for), not a trait of the "
                          "row; training and metrics count every row once")
            continue
        if col not in side and _is_row_number(s, col):
            ignored.append(col)
            notes[col] = "ignored: a row number or index (a different whole number on every row)"
            continue
        alias_of = _alias_of(df, col, s, {user: "user", item: "item"}, side)
        if alias_of:
            ignored.append(col)
            notes[col] = (f"ignored: another id of the {alias_of[1]}, one-to-one with '{alias_of[0]}' "
                          "(it adds nothing the id does not)")
            continue
        origin = f" ({side[col]} table)" if col in side else ""
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            if (_whole_numbers(s) and (n_unique <= LOW_CARDINALITY or _CATEGORICAL_HINT.search(col))):
                categorical.append(col)
                notes[col] = f"categorical feature{origin}: {n_unique} whole-number codes"
            else:
                numeric.append(col)
                notes[col] = f"numeric feature{origin}" + _infinite_note(s, False)
                _infinite_remark(remarks, col, s)
            continue
        values = _non_null(s).astype(str)
        if _is_display_text(s):
            text.append(col)
            notes[col] = "text (shown with items, not a feature)"
            continue
        if n_unique > 0.5 * len(values) and n_unique > 1000:
            ignored.append(col)
            notes[col] = "ignored: almost every value is unique (a key or free text)"
            continue
        categorical.append(col)
        notes[col] = f"categorical feature{origin}: {n_unique} values"

    # A column a label is derived from is that label's answer: never a feature.
    for d in derived.values():
        col = d.source
        if col in categorical or col in numeric:
            (categorical if col in categorical else numeric).remove(col)
            if label_kind_of(df[col]) == "regression":
                labels[col] = "regression"
                notes[col] = f"regression label: derived label '{d.name}' is computed from it, so it is not a feature"
            else:
                ignored.append(col)
                notes[col] = f"ignored: derived label '{d.name}' is computed from it, so it is not a feature"
    remarks.update(_id_remarks(ov, columns, labels, user, item))
    for col in (user, item, time):
        if col:
            notes.setdefault(col, "")
    notes = {c: notes[c] for c in columns if c in notes}
    return Schema(
        user=user, item=item, time=time, labels=labels, categorical=categorical,
        numeric=numeric, ignored=ignored, oracle=oracle, text=text,
        side={c: side[c] for c in categorical + numeric if c in side}, notes=notes,
        derived={name: d.expression for name, d in derived.items()},
        remarks=remarks,
    )
