"""Load interaction data, join side tables, infer roles, and prepare model inputs.

Two steps, both pure functions:

1. :func:`load` (or :func:`from_frame`) reads a table and optional user / item
   feature tables into an :class:`InteractionData`: one joined frame plus its
   :class:`~mtl.data.schema.Schema`.
2. :func:`prepare` picks tasks, splits the rows, fits encoders on the training
   part, and returns :class:`PreparedData` with tensors ready for the trainer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from ..tasks import TaskSpec
from .derive import apply_derived
from .encode import MAX_STAT_LABELS, FeatureEncoder, canonical, canonical_codes
from .io import DECIMAL_COMMA_ATTR, DEFAULT_MAX_DECOMPRESSED_BYTES, Source, read_table
from .schema import ITEM_NAMES, MAX_CLASSES, USER_NAMES, RoleOverrides, Schema, infer_schema, mostly_numeric
from .split import MIN_ROWS_PER_PART, SplitSpec, split_indices

# torch is imported where tensors are made (preparing): importing it takes seconds, and
# reading, checking and describing data (the app's first page) need none of it.
if TYPE_CHECKING:
    import torch

#: Fewest labelled training rows a task needs.
MIN_LABELLED_ROWS = 10


@dataclass
class InteractionData:
    """A joined interaction table and the role of each of its columns."""

    frame: pd.DataFrame
    schema: Schema
    name: str = "data"
    #: Raw side tables as given (kept for display, e.g. item titles).
    user_table: pd.DataFrame | None = None
    item_table: pd.DataFrame | None = None

    @property
    def n_rows(self) -> int:
        return len(self.frame)

    def label_summary(self) -> pd.DataFrame:
        """Per label: kind, labelled rows, positive rate or mean/std, distinct values."""
        rows = []
        for col, kind in self.schema.labels.items():
            s = self.frame[col]
            num = pd.to_numeric(s, errors="coerce") if kind != "multiclass" else None
            if num is not None:  # infinities and overflowing squares say nothing about a typical value
                num = num.where(np.isfinite(num) & (num.abs() < 1e150))
            rows.append(
                {
                    "label": col,
                    "kind": kind,
                    "labelled rows": int(s.notna().sum()),
                    "missing %": round(100 * float(s.isna().mean()), 2),
                    "positive rate %": round(100 * float(num.mean()), 3) if kind == "binary" else None,
                    "mean": float(num.mean()) if kind == "regression" else None,
                    "std": float(num.std()) if kind == "regression" else None,
                    "distinct values": int(s.nunique()),
                }
            )
        return pd.DataFrame(rows)


def _find_key(table: pd.DataFrame, key: str, names: tuple[str, ...], what: str) -> str:
    if key in table.columns:
        return key
    lower = {c.lower(): c for c in table.columns}
    for n in names:
        if n in lower:
            return lower[n]
    raise DataError(
        f"The {what} feature table has no '{key}' column to join on "
        f"(its columns: {', '.join(map(str, table.columns[:8]))}...)",
        column=key,
    )


def _join_side(frame: pd.DataFrame, table: pd.DataFrame, key: str, names, what: str, side: dict) -> pd.DataFrame:
    tkey = _find_key(table, key, names, what)
    table = table.drop_duplicates(subset=[tkey], keep="first")
    left = canonical(frame[key])
    right = table.set_index(canonical(table[tkey]).to_numpy()).drop(columns=[tkey])
    clash = [c for c in right.columns if c in frame.columns]
    right = right.rename(columns={c: f"{c}_{what}" for c in clash})
    for c in right.columns:
        side[c] = what
    joined = right.reindex(left.to_numpy())
    joined.index = frame.index
    return pd.concat([frame, joined], axis=1)


def from_frame(
    frame: pd.DataFrame,
    *,
    user_table: pd.DataFrame | None = None,
    item_table: pd.DataFrame | None = None,
    roles: RoleOverrides | dict | None = None,
    name: str = "data",
) -> InteractionData:
    """Build :class:`InteractionData` from in-memory tables (see :func:`load`)."""
    if len(frame) == 0:
        raise DataError(f"{name} has no rows")
    ov = roles if isinstance(roles, RoleOverrides) else RoleOverrides.from_dict(roles)
    frame = frame.reset_index(drop=True)
    here = set(map(str, frame.columns))  # derived labels and side-table columns come later
    ids = _infer_roles(frame, RoleOverrides(user=ov.user, item=ov.item, time=ov.time,
                                            ignore=[c for c in ov.ignore if c in here],
                                            labels={c: k for c, k in ov.labels.items() if c in here}))
    side: dict[str, str] = {}
    joined = frame
    if user_table is not None:
        if not ids.user:
            raise DataError("A user feature table was given, but the data has no user id column to join it on")
        joined = _join_side(joined, user_table, ids.user, USER_NAMES, "user", side)
    if item_table is not None:
        if not ids.item:
            raise DataError("An item feature table was given, but the data has no item id column to join it on")
        joined = _join_side(joined, item_table, ids.item, ITEM_NAMES, "item", side)
    joined = apply_derived(joined, ov.derive)
    joined, words = _boolean_words(joined)
    schema = _infer_roles(joined, ov, side=side)
    for col, (yes, no) in words.items():
        said = f"'{yes}'/'{no}' read as 1/0"
        if schema.labels.get(col) == "binary" and col not in ov.labels:
            schema.notes[col] = f"binary label: values {said}"
        elif col in schema.notes:
            schema.notes[col] = f"{schema.notes[col]}; {said}"
        schema.remarks[col] = f"Column '{col}': values {said}."
    for col in _decimal_comma_columns(frame, user_table, item_table, joined.columns):
        said = "numbers written with a decimal comma (33,6) read as 33.6"
        if col in schema.notes:
            schema.notes[col] = f"{schema.notes[col]}; {said}"
        schema.remarks[col] = f"Column '{col}': {said}."
    joined = _text_as_missing(joined, schema)
    return InteractionData(frame=joined, schema=schema, name=name, user_table=user_table, item_table=item_table)


def _decimal_comma_columns(frame, user_table, item_table, columns) -> list[str]:
    """Columns :func:`~mtl.data.io.read_table` read with decimal commas (a side-table
    column renamed on a clash is not named: it is rare, and the note is only words)."""
    out = []
    for table in (frame, user_table, item_table):
        if table is not None:
            out += [c for c in table.attrs.get(DECIMAL_COMMA_ATTR, []) if c in columns and c not in out]
    return out


def _text_as_missing(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """``frame`` with the values of regression labels that are not numbers ("five",
    "unknown" among ratings) as missing, each such label's note and remark saying how
    many and which. Inference makes a column named like a rating a label when 90% of
    it parses; left as text, summaries counted the rest as labelled while metrics and
    per-id statistics skipped them, and training refused the task."""
    out = {}
    for col, kind in schema.labels.items():
        s = frame[col]
        if kind != "regression" or pd.api.types.is_numeric_dtype(s) or not mostly_numeric(s):
            continue
        num = pd.to_numeric(s, errors="coerce")
        bad = s[num.isna() & s.notna()]
        if bad.empty:
            continue
        examples = list(dict.fromkeys(str(v) for v in bad.iloc[:1000]))[:2]
        said = " or ".join(f"'{v}'" for v in examples)
        n = len(bad)
        values, are = ("values", "are") if n > 1 else ("value", "is")
        schema.remarks[col] = f"{n:,} {values} of {col} {are} not numbers (e.g. {said}) and {are} treated as missing."
        schema.notes[col] = f"{schema.notes[col]}; {n:,} {values} not numbers (e.g. {said}), treated as missing"
        out[col] = num.astype(float)
    return frame.assign(**out) if out else frame


#: Tables longer than this have their column roles inferred on this many rows.
ROLE_SAMPLE_ROWS = 500_000


def _infer_roles(frame: pd.DataFrame, overrides: RoleOverrides, side: dict | None = None) -> Schema:
    """:func:`infer_schema` on at most :data:`ROLE_SAMPLE_ROWS` rows (kept in file
    order, so a sorted column stays sorted): inference counts distinct values, pairs
    and string lengths, which on 10M rows takes minutes and GBs. The decisions a
    sample could get wrong are checked on every row: a label read as 0/1 has no other
    value, a constant column or a row number is one. If a check fails, the roles are
    inferred on the whole table."""
    if len(frame) <= ROLE_SAMPLE_ROWS:
        return infer_schema(frame, overrides, side=side)
    rows = np.sort(np.random.default_rng(0).choice(len(frame), ROLE_SAMPLE_ROWS, replace=False))
    schema = infer_schema(frame.iloc[rows], overrides, side=side)
    for col, kind in schema.labels.items():
        if kind == "binary" and col not in overrides.labels and not _only_0_1(frame[col]):
            return infer_schema(frame, overrides, side=side)
    for col, note in schema.notes.items():
        if (note.startswith("ignored: constant") and frame[col].nunique(dropna=True) > 1) or (
                note.startswith("ignored: a row number") and not frame[col].is_unique):
            return infer_schema(frame, overrides, side=side)
    return schema


def _only_0_1(s: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(s):
        return True
    return pd.api.types.is_numeric_dtype(s) and bool(np.isin(s.dropna().unique(), [0, 1]).all())


#: Spellings of a yes/no outcome, read as 1/0 (case and spaces ignored).
BOOLEAN_WORDS = (("yes", "no"), ("y", "n"), ("true", "false"))


def _boolean_words(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, tuple[str, str]]]:
    """``frame`` with text columns of yes/no, y/n or true/false (and object columns of
    Python booleans with gaps) as 1.0/0.0 floats, missing kept missing; and, per
    converted column, the (yes, no) spellings found, to say so."""
    out: dict[str, pd.Series] = {}
    words: dict[str, tuple[str, str]] = {}
    for col in frame.columns:
        s = frame[col]
        if not (pd.api.types.is_string_dtype(s) or s.dtype == object) or pd.api.types.is_bool_dtype(s):
            continue
        values = s.dropna()
        if values.empty:
            continue
        if s.dtype == "str" and values.nunique() > 16:
            continue  # text of many values (a title, an id): decided without a look at every row
        # Decided on the distinct values and converted through a lookup: a Python call
        # per row cost seconds on a 200k-row log with a dozen text columns of few values.
        try:
            distinct = values.unique()
        except TypeError:  # unhashable values (lists, structs): not a yes/no column
            continue
        if len(distinct) > 16:  # more spellings than Yes/YES/yes/' yes'... : not a yes/no column
            continue
        if all(isinstance(v, (bool, np.bool_)) for v in distinct):
            out[col] = s.map({v: float(bool(v)) for v in distinct}).astype(float)
            words[col] = ("True", "False")
            continue
        if not all(isinstance(v, str) for v in distinct):
            continue
        lower = {v: v.strip().lower() for v in distinct}
        for yes, no in BOOLEAN_WORDS:
            if set(lower.values()) <= {yes, no}:
                out[col] = s.map({v: float(lower[v] == yes) for v in distinct}).astype(float)
                seen_yes = next((v.strip() for v in distinct if lower[v] == yes), yes)
                seen_no = next((v.strip() for v in distinct if lower[v] == no), no)
                words[col] = (seen_yes, seen_no)
                break
    return (frame.assign(**out) if out else frame), words


def load(
    path: Source,
    *,
    user_features: Source | None = None,
    item_features: Source | None = None,
    roles: RoleOverrides | dict | None = None,
    name: str | None = None,
    max_bytes: int | None = None,
    max_rows: int | None = None,
    max_decompressed_bytes: int | None = DEFAULT_MAX_DECOMPRESSED_BYTES,
) -> InteractionData:
    """Read an interaction table (CSV, CSV.gz or Parquet) and optional user / item
    feature tables, joined on the user / item id, and infer column roles.

    The library and the CLI read a CSV, CSV.gz or Parquet file of any size from a
    stream (Parquet batch by batch, CSV block by block, into narrow columns: a 10M-row
    log takes about 1.5 GB, see ``benchmarks/scale.py``), and by default no file is
    refused for its size on disk (``max_bytes``). ``max_decompressed_bytes`` holds
    bytes and uploaded files, not paths. The app's uploads keep their own limits
    (``server.maxUploadSize`` and :func:`~mtl.data.io.read_table`'s).
    Raises :class:`~mtl.errors.DataError` with a readable message on bad input.
    """
    limits = {"max_bytes": max_bytes, "max_decompressed_bytes": max_decompressed_bytes}
    frame = read_table(path, max_rows=max_rows, **limits)
    user_table = read_table(user_features, **limits) if user_features is not None else None
    item_table = read_table(item_features, **limits) if item_features is not None else None
    label = name or getattr(path, "name", None) or str(path).rsplit("/", 1)[-1]
    data = from_frame(frame, user_table=user_table, item_table=item_table, roles=roles, name=label)
    check_usable(data)
    return data


def check_usable(data: InteractionData) -> None:
    """Refuse data no choice of tasks or roles can train on: too few rows to split, or
    no input for the model. :func:`load` (the CLI) and the app's upload both call it,
    so a file is accepted or refused the same way everywhere."""
    smallest = min(SplitSpec().fractions)
    minimum = math.ceil(MIN_ROWS_PER_PART / smallest - 1e-9)
    if data.n_rows < minimum:
        raise DataError(f"{data.name} has only {data.n_rows:,} data rows; at least {minimum} are needed to train and "
                        f"evaluate (the split keeps {smallest:.0%} of rows for validation and for testing, "
                        f"{MIN_ROWS_PER_PART} rows each at least)")
    _check_inputs(data.schema, data.name)


def _check_inputs(schema: Schema, name: str) -> None:
    if schema.user or schema.item or schema.categorical or schema.numeric:
        return
    labels = ", ".join(list(schema.labels)[:6]) or "none"
    raise DataError(f"{name} has no input columns for the model (labels: {labels}; every other column is ignored or "
                    "a timestamp); add user / item id or feature columns")


# ---------------------------------------------------------------------- prepare
@dataclass
class Part:
    """One split part as tensors. ``y`` holds one column per task: 0/1 for binary,
    the standardized value for regression, the class index for multiclass, NaN
    where the label is missing. ``rows`` are positions in the joined frame."""

    x_cat: torch.Tensor
    x_num: torch.Tensor
    y: torch.Tensor
    rows: np.ndarray
    groups: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class PreparedData:
    data: InteractionData
    tasks: list[TaskSpec]
    encoder: FeatureEncoder
    split: SplitSpec
    train: Part
    valid: Part
    test: Part
    warnings: list[str] = field(default_factory=list)

    @property
    def task_names(self) -> list[str]:
        return [t.name for t in self.tasks]

    def part(self, name: str) -> Part:
        return {"train": self.train, "valid": self.valid, "test": self.test}[name]


def _categorical_tasks(data: InteractionData, tasks: list[str]) -> tuple[InteractionData, list[str]]:
    """``data`` with the categorical features named as tasks turned into multiclass
    labels (``--tasks category``), and a warning saying so for each."""
    schema = data.schema
    asked = [t for t in dict.fromkeys(tasks) if t in schema.categorical and t not in schema.side]
    if not asked:
        return data, []
    schema = Schema.from_dict(schema.to_dict())
    warnings = []
    for t in asked:
        n = int(canonical(data.frame[t]).nunique(dropna=True))
        if not 2 <= n <= MAX_CLASSES:
            raise ConfigError(f"'{t}' is a categorical feature with {n:,} distinct values; as a task (a multiclass "
                              f"label) it needs 2 to {MAX_CLASSES} classes")
        schema.categorical.remove(t)
        schema.labels[t] = "multiclass"
        schema.notes[t] = f"multiclass label: asked for as a task ({n} classes), so no longer a feature"
        warnings.append(f"'{t}' was a categorical feature; as a task it is a multiclass label with {n} classes, "
                        "and no longer an input (it would give the answer away).")
    return InteractionData(data.frame, schema, data.name, data.user_table, data.item_table), warnings


def check_tasks(schema: Schema, tasks: list[str]) -> None:
    if not tasks:
        raise ConfigError("Choose at least one task (a label column)")
    dup = {t for t in tasks if tasks.count(t) > 1}
    if dup:
        raise ConfigError(f"Task '{sorted(dup)[0]}' is listed twice")
    for t in tasks:
        if t not in schema.labels:
            available = ", ".join(schema.labels) or "none"
            role = schema.role_of(t)
            if t not in schema.notes:
                why = ""
            elif role == "ignored":  # the note says why, e.g. "ignored: constant, carries no information"
                why = f" ({schema.notes[t] or role})"
            else:
                # "an item id", "a user id": the article follows the sound, not the letter
                why = f" (it is {'an' if role[0] in 'aeio' else 'a'} {role})"
            raise ConfigError(f"'{t}' is not a label column{why}; labels in this data: {available}")


def _task_spec(name: str, kind: str, train: pd.Series) -> TaskSpec:
    labelled = train.dropna()
    if len(labelled) < MIN_LABELLED_ROWS:
        raise DataError(
            f"Label '{name}' has only {len(labelled)} labelled rows in the training split; "
            f"at least {MIN_LABELLED_ROWS} are needed",
            column=name,
        )
    if kind == "binary":
        values = set(pd.to_numeric(labelled, errors="coerce").unique())
        if len(values) < 2:
            only = int(next(iter(values))) if values else "?"
            raise DataError(
                f"Label '{name}' is {only} on every training row; a binary task needs both 0s and 1s",
                column=name,
            )
        return TaskSpec(name, "binary")
    if kind == "regression":
        v = labelled.astype(float)
        mean, std = float(v.mean()), float(v.std())
        if std == 0:
            raise DataError(f"Label '{name}' has the same value ({v.iloc[0]:g}) on every training row", column=name)
        return TaskSpec(name, "regression", mean=mean, std=std)
    classes = sorted(canonical(labelled).dropna().unique())
    if len(classes) < 2:
        raise DataError(f"Label '{name}' has a single class ('{classes[0]}') in the training split", column=name)
    return TaskSpec(name, "multiclass", classes=tuple(classes))


def _first_infinite(name: str, s: pd.Series) -> None:
    if pd.api.types.is_float_dtype(s):
        inf = np.isinf(s.to_numpy(dtype=float, na_value=np.nan))
        if inf.any():
            row = int(np.flatnonzero(inf)[0])
            raise DataError(f"Label '{name}' has an infinite value ({s.iloc[row]}) at row {row + 1}"
                            f"{f' and {int(inf.sum()) - 1:,} more' if inf.sum() > 1 else ''}; "
                            "fix or remove those rows, or leave the value empty if it is unknown",
                            column=name, row=row)


def _numeric_label(frame: pd.DataFrame, name: str, kind: str) -> pd.Series:
    s = frame[name]
    if kind == "multiclass":
        _first_infinite(name, s)
        return s
    if pd.api.types.is_bool_dtype(s):
        return s.astype(float)
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() & s.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"Label '{name}' should be numeric but has the value '{s.iloc[row]}' at row {row + 1}",
            column=name, row=row,
        )
    if kind == "binary":
        odd = num.notna() & ~num.isin([0, 1])
        if odd.any():
            row = int(np.flatnonzero(odd.to_numpy())[0])
            raise DataError(
                f"Label '{name}' is binary but has the value {num.iloc[row]:g} at row {row + 1} (expected 0 or 1)",
                column=name, row=row,
            )
    num = num.astype(float)
    _first_infinite(name, num)
    if kind == "regression":
        v = num.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(over="ignore"):
            # Its mean, spread, loss and RMSE all sum squares, which overflow to inf / NaN.
            overflow = not np.isfinite(np.nansum(np.square(v)))
        if overflow:
            row = int(np.nanargmax(np.abs(v)))
            raise DataError(f"Label '{name}' has values too large to learn ({v[row]:g} at row {row + 1}); rescale "
                            "the column (e.g. to thousands) or take its logarithm", column=name, row=row)
    return num


def targets(frame: pd.DataFrame, tasks: list[TaskSpec]) -> torch.Tensor:
    """Encode the label columns of ``frame`` for ``tasks`` as in :class:`Part` ``y``."""
    labels = {t.name: _numeric_label(frame.reset_index(drop=True), t.name, t.kind) for t in tasks}
    return _targets(frame, np.arange(len(frame)), tasks, labels)


def _targets(frame: pd.DataFrame, rows: np.ndarray, tasks: list[TaskSpec], labels: dict) -> torch.Tensor:
    import torch  # here, not at the top: reading and describing data does without it

    y = np.full((len(rows), len(tasks)), np.nan, dtype=np.float32)
    for j, t in enumerate(tasks):
        s = labels[t.name].iloc[rows]
        if t.kind == "binary":
            y[:, j] = s.to_numpy(dtype=float)
        elif t.kind == "regression":
            y[:, j] = (s.to_numpy(dtype=float) - t.mean) / t.std
        else:
            idx = pd.Index(list(t.classes)).get_indexer(canonical(s))
            y[:, j] = np.where(idx >= 0, idx, np.nan)
    return torch.from_numpy(y)


def find_leaks(train: pd.DataFrame, schema: Schema, labels: list[str], min_rows: int = 30) -> dict[str, str]:
    """Categorical features whose every value determines a binary label exactly on the
    training rows (e.g. Census ``income`` text vs ``label_income_over_50k``): such a
    column is another copy of the answer. Returns {feature: label}."""
    leaks: dict[str, str] = {}
    binary = [t for t in labels if schema.labels.get(t) == "binary"]
    for col in schema.categorical:
        if col in schema.side:
            continue
        codes, categories = canonical_codes(train[col])
        if len(categories) > 1000:
            continue
        for label in binary:
            y = pd.to_numeric(train[label], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            ok = ~np.isnan(y) & (codes >= 0)
            if ok.sum() < min_rows:
                continue
            g = pd.Series(y[ok]).groupby(codes[ok])
            mean, size = g.mean(), g.size()
            if ((mean == 0) | (mean == 1)).all() and (mean == 1).any() and (mean == 0).any() and size[mean == 1].sum() >= min_rows:
                leaks[col] = label
                break
    return leaks


def prepare(
    data: InteractionData,
    tasks: list[str],
    split: SplitSpec | str = "random",
    *,
    seed: int = 0,
    id_stats: bool = True,
    history: bool = False,
) -> PreparedData:
    """Choose ``tasks`` (label columns), split the rows, fit encoders on the training
    rows only, and encode every part.

    ``split`` is a :class:`SplitSpec` or a method name (``random``/``time``/``user``);
    its seed defaults to ``seed``. ``id_stats`` adds leakage-free per-user and per-item
    statistics (row counts and smoothed label rates, cross-fitted on train);
    ``history`` adds user-history features (:mod:`mtl.data.history`).
    Raises :class:`ConfigError` / :class:`DataError` with a readable message.
    """
    import torch

    data, warnings = _categorical_tasks(data, list(tasks))
    schema = data.schema
    warnings = list(schema.remarks.values()) + warnings
    check_tasks(schema, list(tasks))
    spec = SplitSpec(method=split, seed=seed) if isinstance(split, str) else split
    frame = data.frame
    # Only chosen tasks must be clean; other labels feed per-id statistics, which
    # skip values that are not numbers.
    labels = {name: _numeric_label(frame, name, schema.labels[name]) for name in tasks}
    time_col = spec.column or schema.time
    if spec.column and spec.column not in frame.columns:
        raise DataError(f"The split column '{spec.column}' is not in the data", column=spec.column)
    train_idx, valid_idx, test_idx = split_indices(
        len(frame), spec,
        time=frame[time_col] if time_col else None,
        users=frame[schema.user] if schema.user else None,
    )
    # Only the columns the encoders read travel on (titles, oracle and ignored columns
    # would be copied into every split part), as they are stored: categorical columns
    # are canonicalized on their distinct values where they are used
    # (:func:`~mtl.data.encode.canonical_codes`), so a narrow integer id stays narrow.
    cat_cols = [c for c in dict.fromkeys([schema.user, schema.item, *schema.categorical]) if c]
    used = list(dict.fromkeys([*cat_cols, *schema.numeric, *schema.labels]))
    frame = frame[used]
    train_frame = frame.iloc[train_idx]
    specs = [_task_spec(t, schema.labels[t], labels[t].iloc[train_idx]) for t in tasks]

    leaks = find_leaks(train_frame, schema, list(schema.labels))
    if leaks:
        schema = Schema.from_dict(schema.to_dict())
        for col, label in leaks.items():
            schema.categorical.remove(col)
            schema.ignored.append(col)
            schema.notes[col] = f"ignored: determines label '{label}' exactly (a leak)"
            warnings.append(f"Column '{col}' determines label '{label}' exactly on the training rows, so it was "
                            "left out of the features (it is another copy of the answer).")
    _check_inputs(schema, data.name)

    encoder = FeatureEncoder.fit(train_frame, schema)
    stat_labels: list[str] = []
    if id_stats:
        ordered = list(tasks) + [c for c in schema.labels if c not in tasks]
        stat_labels = [c for c in ordered if schema.labels[c] != "multiclass"][:MAX_STAT_LABELS]
    train_stats = encoder.fit_id_stats(train_frame, schema, stat_labels, seed=spec.seed) if id_stats else None
    if history:
        from .history import HistoryFeatures

        encoder.history, train_history = HistoryFeatures.fit(
            train_frame, schema, encoder.level, [t for t in tasks if schema.labels[t] != "multiclass"], seed=spec.seed)
        train_stats = train_history if train_stats is None else np.hstack([train_stats, train_history])

    users = data.frame[schema.user] if schema.user else None

    def make_part(rows: np.ndarray, sub: pd.DataFrame | None = None, stats=None) -> Part:
        sub = frame.iloc[rows] if sub is None else sub
        x_cat, x_num = encoder.transform(sub, id_stats=stats)
        # The user ids as stored (a narrow integer column stays narrow): the same user is
        # the same value in every part, which is all per-user metrics (GAUC) need.
        groups = users.iloc[rows].to_numpy() if users is not None else None
        return Part(torch.from_numpy(x_cat), torch.from_numpy(x_num), _targets(frame, rows, specs, labels), rows, groups)

    train = make_part(train_idx, train_frame, train_stats)
    del train_frame, train_stats  # the training rows' copy is encoded; valid and test copy far fewer rows
    prepared = PreparedData(
        data=data if not leaks else InteractionData(data.frame, schema, data.name, data.user_table, data.item_table),
        tasks=specs, encoder=encoder, split=spec,
        train=train, valid=make_part(valid_idx), test=make_part(test_idx),
        warnings=warnings,
    )
    for t, j in zip(specs, range(len(specs))):
        for part_name in ("valid", "test"):
            col = prepared.part(part_name).y[:, j]
            if t.kind == "binary" and not torch.isnan(col).all():
                vals = col[~torch.isnan(col)]
                if vals.min() == vals.max():
                    warnings.append(f"Task '{t.name}' has a single class in the {part_name} split, so its AUC there is undefined.")
    return prepared
