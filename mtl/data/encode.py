"""Turn table columns into model inputs, fitted on the training split only.

* Categorical columns (ids included) map to integer codes; code 0 is reserved for
  values unseen in training and for missing values, so an unseen user or item gets
  the shared out-of-vocabulary embedding instead of an error.
* Numeric columns are standardized with the training mean and standard deviation;
  non-negative heavy-tailed columns (skewness > 2) are ``log1p``-transformed first.
  Missing and infinite numbers become the training median.
* Per-user and per-item statistics (:class:`IdStat`) give the network what a
  gradient-boosted model gets from target encoding: how many training rows the id
  has, and its smoothed rate of every label. They are computed on the training split
  only and, for the training rows themselves, cross-fitted, so a row's own label never
  leaks into its features. The smoothing is scikit-learn ``TargetEncoder``'s
  (``smooth="auto"``), computed with ``np.bincount`` on the integer codes: the same
  numbers without its per-fit validation and re-hashing of every row (96 fits of it
  took two thirds of preparing KuaiRand).

The fitted encoder is plain data (lists and numbers) and saves to JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import numpy as np
import pandas as pd

from .schema import Schema

#: How many label columns feed per-id rate statistics (chosen tasks come first).
MAX_STAT_LABELS = 8
#: Label values beyond this size are left out of per-id statistics (their squares overflow).
MAX_STAT_VALUE = 1e100
SKEW_FOR_LOG = 2.0


def canonical(s: pd.Series) -> pd.Series:
    """Categorical values as strings (pandas ``str`` dtype), so 7, 7.0 and "7" are the
    same category and codes survive a JSON round trip. Missing stays missing (NaN)."""
    if s.dtype == "str":
        return s
    if pd.api.types.is_bool_dtype(s):
        s = s.astype(float)
    if pd.api.types.is_integer_dtype(s):
        # Not via float: ids above 2**53 would lose digits and distinct ids would merge.
        return s.astype("str").where(s.notna())
    if pd.api.types.is_numeric_dtype(s):
        vals = s.to_numpy(dtype=float, na_value=np.nan)
        finite = np.isfinite(vals)
        whole = vals[finite]
        if np.all(whole == np.round(whole)) and np.abs(whole).max(initial=0) < 2**63:
            out = pd.Series(np.where(finite, vals, 0).astype(np.int64), index=s.index).astype("str")
        elif np.all(whole == np.round(whole)):
            # Beyond int64 a cast is undefined (every id became the same number): exact
            # Python integers keep distinct floats distinct.
            out = pd.Series([str(int(v)) if f else "" for v, f in zip(vals, finite)], index=s.index, dtype="str")
        else:
            out = s.astype("str")
        return out.where(finite)
    return s.astype("str")


def canonical_codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``canonical(s)`` as integer codes (-1 where missing) into its distinct strings
    (an object array, in order of first appearance).

    Computed on the distinct values only: a 10M-row id column of int32 factorizes in a
    fraction of a second, where turning every row into a string first took seconds and
    held a string per row. ``canonical`` decides from the set of values (are they all
    whole, all finite?), which the distinct values share, and values that are the same
    category (7 and "7") merge here as they do there; in a column of mixed Python
    objects 7.0 merges with 7 too (pandas takes equal numbers as one value), where
    ``canonical`` would write it "7.0"."""
    raw, distinct = pd.factorize(s)
    if len(distinct) == 0:
        return raw, np.array([], dtype=object)
    keys = canonical(pd.Series(distinct))
    merged, categories = pd.factorize(keys)  # non-finite numbers became missing: -1
    return np.append(merged, -1)[raw], np.asarray(categories, dtype=object)


@dataclass
class NumericStat:
    log: bool
    mean: float
    std: float
    fill: float  # value used for missing entries, before the transform


@dataclass
class IdStat:
    """One per-id statistic: the id's training row count (``label`` None) or its
    smoothed mean of a label (target encoding)."""

    name: str
    id_column: str
    label: str | None
    categories: list[str]
    values: list[float]
    default: float
    mean: float = 0.0
    std: float = 1.0
    log_label: bool = False


@dataclass
class FeatureEncoder:
    categorical: list[str]
    numeric: list[str]
    vocab: dict[str, list[str]]
    numeric_stats: dict[str, NumericStat]
    id_stats: list[IdStat] = field(default_factory=list)
    #: Which entity a feature describes: "user", "item" or "context" (the impression).
    level: dict[str, str] = field(default_factory=dict)
    #: Typical value of each context feature, used when scoring new candidates.
    context_defaults: dict[str, object] = field(default_factory=dict)
    #: User-history features (:mod:`mtl.data.history`), after the per-id statistics; None when off.
    history: object = None
    _indexes: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def _index(self, key: str, values: list[str]) -> pd.Index:
        """A hashed index over ``values``, built once per vocabulary (lookups are hot)."""
        idx = self._indexes.get(key)
        if idx is None or len(idx) != len(values):
            idx = self._indexes[key] = pd.Index(values, dtype="str")
        return idx

    # ------------------------------------------------------------------ shape
    @property
    def cardinalities(self) -> list[int]:
        """Embedding table sizes (vocabulary + the out-of-vocabulary code 0)."""
        return [len(self.vocab[c]) + 1 for c in self.categorical]

    @property
    def numeric_names(self) -> list[str]:
        return self.numeric + [s.name for s in self.id_stats] + (self.history.names if self.history else [])

    # --------------------------------------------------------------- fitting
    @classmethod
    def fit(cls, train: pd.DataFrame, schema: Schema) -> FeatureEncoder:
        ids = [c for c in (schema.user, schema.item) if c]
        categorical = ids + [c for c in schema.categorical if c not in ids]
        vocab = {}
        for col in categorical:
            codes, categories = canonical_codes(train[col])
            counts = np.bincount(codes[codes >= 0], minlength=len(categories))
            # Most frequent first; ties broken by value for determinism.
            order = sorted(zip(categories.tolist(), counts.tolist()), key=lambda kv: (-kv[1], kv[0]))
            vocab[col] = [k for k, _ in order]
        numeric_stats = {c: _fit_numeric(train[c]) for c in schema.numeric}
        enc = cls(categorical=categorical, numeric=list(schema.numeric), vocab=vocab, numeric_stats=numeric_stats)
        enc.level = _levels(train, schema, categorical + list(schema.numeric))
        for col in categorical + list(schema.numeric):
            if enc.level.get(col) == "context":
                # The most frequent category, the smallest among equals: the vocabulary's first.
                enc.context_defaults[col] = vocab[col][0] if col in categorical else numeric_stats[col].fill
        return enc

    def fit_id_stats(self, train: pd.DataFrame, schema: Schema, stat_labels: list[str], seed: int = 0) -> np.ndarray:
        """Fit per-id statistics on the training rows; return their cross-fitted
        values for those same rows ([n_train, n_stats], standardized)."""
        ids = [c for c in (schema.user, schema.item) if c]
        # One float32 column per statistic, filled in place: a list of float64 columns
        # stacked at the end would take three times the final array (GBs at 10M rows).
        out = np.empty((len(train), len(ids) * (1 + len(stat_labels))), dtype=np.float32)
        columns = 0

        def add(stat: IdStat, raw: np.ndarray) -> None:
            nonlocal columns
            out[:, columns] = self._standardize_stat(stat, raw)
            columns += 1

        folds: np.ndarray | None = None  # the same rows and seed: the same folds for every statistic
        for id_col in ids:
            codes, uniques = _id_codes(train[id_col])
            counts = np.bincount(codes, minlength=len(uniques))
            raw = np.log1p(counts[codes].astype(float))
            stat = IdStat(
                name=f"{id_col}:rows", id_column=id_col, label=None,
                categories=[str(k) for k in uniques], values=np.log1p(counts.astype(float)).tolist(),
                default=0.0,
            )
            add(stat, raw)
            self.level[stat.name] = self.level.get(id_col, "context")
            for label in stat_labels:
                kind = schema.labels[label]
                y = pd.to_numeric(train[label], errors="coerce").to_numpy(dtype=float)
                # Infinite or huge values of a label that is not a task would overflow
                # the encoder's variance: such values are skipped, like missing ones.
                has = np.isfinite(y) & (np.abs(y) < MAX_STAT_VALUE)
                if has.sum() < 20 or (kind == "binary" and len(np.unique(y[has])) < 2):
                    continue
                log_label = kind == "regression" and y[has].min() >= 0 and _skew(y[has]) > SKEW_FOR_LOG
                target = np.log1p(y) if log_label else y
                # Binary and continuous targets share the same smoothing, which also works
                # when a fold happens to hold a single class.
                values, target_mean = target_encoding(codes[has], target[has], len(uniques))
                seen = np.flatnonzero(np.bincount(codes[has], minlength=len(uniques)))
                stat = IdStat(
                    name=f"{id_col}:{label}", id_column=id_col, label=label,
                    categories=[str(c) for c in uniques[seen]], values=values[seen].tolist(),
                    default=target_mean, log_label=bool(log_label),
                )
                if folds is None:
                    folds = _folds(len(codes), seed)
                add(stat, _crossfit(codes, target, has, folds))
                self.level[stat.name] = self.level.get(id_col, "context")
        return out[:, :columns]

    def _standardize_stat(self, stat: IdStat, raw: np.ndarray) -> np.ndarray:
        stat.mean = float(raw.mean())
        stat.std = float(raw.std()) or 1.0
        self.id_stats.append(stat)
        return (raw - stat.mean) / stat.std

    def _lookup(self, stat: IdStat, id_codes: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """``stat``'s values for the rows of an id column given as its :func:`_id_codes`."""
        codes, keys = id_codes
        pos = np.append(self._index("stat:" + stat.name, stat.categories).get_indexer(keys), -1)[codes]
        return np.append(np.asarray(stat.values, dtype=float), stat.default)[pos]  # -1 -> default

    # ------------------------------------------------------------- transform
    def transform(self, frame: pd.DataFrame, id_stats: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Encode ``frame`` into (categorical codes int32 [N, C], numbers float32 [N, D]).
        ``id_stats`` replaces the per-id statistics (the cross-fitted training values).

        Codes are int32, the narrowest type PyTorch's embedding lookups take (int16
        would be cast to a wider copy on every batch): half the memory of int64."""
        n = len(frame)
        x_cat = np.zeros((n, len(self.categorical)), dtype=np.int32)
        for j, col in enumerate(self.categorical):
            codes, keys = canonical_codes(frame[col])
            # -1 (unseen or missing) -> 0
            x_cat[:, j] = np.append(self._index("vocab:" + col, self.vocab[col]).get_indexer(keys), -1)[codes] + 1
        x_num = np.zeros((n, len(self.numeric_names)), dtype=np.float32)
        for j, col in enumerate(self.numeric):
            st = self.numeric_stats[col]
            v = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
            v = np.where(np.isfinite(v), v, st.fill)  # infinities count as missing
            if st.log:
                v = np.log1p(np.clip(v, 0, None))
            x_num[:, j] = (v - st.mean) / st.std
        if id_stats is not None:
            x_num[:, len(self.numeric):] = id_stats
        else:
            id_codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # each id column coded once, not once per statistic
            for j, stat in enumerate(self.id_stats):
                if stat.id_column not in id_codes:
                    id_codes[stat.id_column] = _id_codes(frame[stat.id_column])
                x_num[:, len(self.numeric) + j] = (self._lookup(stat, id_codes[stat.id_column]) - stat.mean) / stat.std
            if self.history is not None:
                x_num[:, len(self.numeric) + len(self.id_stats):] = self.history.transform(frame)
        return x_cat, x_num

    # ---------------------------------------------------------- persistence
    def to_dict(self) -> dict:
        return {
            "categorical": self.categorical, "numeric": self.numeric, "vocab": self.vocab,
            "numeric_stats": {k: asdict(v) for k, v in self.numeric_stats.items()},
            # Shallow: asdict would deep-copy every id's value, ~0.3 s for each saved model of a sample.
            "id_stats": [{f.name: getattr(s, f.name) for f in fields(s)} for s in self.id_stats],
            "level": self.level, "context_defaults": self.context_defaults,
            **({"history": self.history.to_dict()} if self.history is not None else {}),
        }

    @classmethod
    def from_dict(cls, d: dict) -> FeatureEncoder:
        d = dict(d)
        d["numeric_stats"] = {k: NumericStat(**v) for k, v in d["numeric_stats"].items()}
        d["id_stats"] = [IdStat(**s) for s in d.get("id_stats", [])]
        if d.get("history") is not None:
            from .history import HistoryFeatures

            d["history"] = HistoryFeatures.from_dict(d["history"])
        return cls(**d)


def _id_codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """:func:`canonical_codes` with a missing id as one more category, ``<missing>``
    (rows without an id still count, as one group)."""
    codes, categories = canonical_codes(s)
    if (codes < 0).any():
        at = np.flatnonzero(categories == "<missing>")
        if not len(at):
            at, categories = [len(categories)], np.append(categories, np.array(["<missing>"], dtype=object))
        codes = np.where(codes < 0, at[0], codes)
    return codes, categories


def _folds(n: int, seed: int, folds: int = 5) -> np.ndarray:
    """The cross-fitting fold of each of ``n`` training rows (int8): scikit-learn's
    shuffled ``KFold``, drawn once for all the statistics (a byte per row where the
    folds' index arrays would take 40)."""
    from sklearn.model_selection import KFold  # scikit-learn's import is slow; only preparing needs it

    fold = np.empty(n, dtype=np.int8)
    for k, (_, apply_rows) in enumerate(KFold(folds, shuffle=True, random_state=seed).split(np.empty((n, 0)))):
        fold[apply_rows] = k
    return fold


def _crossfit(codes: np.ndarray, target: np.ndarray, has: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Out-of-fold target encoding for *every* training row, labelled or not.

    The folds split all rows; each fold's rows (with or without this label) get the
    encoding fitted on the labelled rows of the other folds. Giving unlabelled rows the
    full-train value instead would make "equals the full-train value" mark exactly the
    rows where the label is missing, e.g. a rating that exists only after a click would
    tell the model which training rows were not clicked, a signal test rows never carry.
    """
    raw = np.empty(len(codes), dtype=float)
    n = int(codes.max(initial=-1)) + 1
    for k in range(int(folds.max(initial=-1)) + 1):
        # Ascending row numbers, as KFold gives them: the sums below add in the same order.
        apply_rows, fit_rows = np.flatnonzero(folds == k), np.flatnonzero((folds != k) & has)
        encoding, _ = target_encoding(codes[fit_rows], target[fit_rows], n)
        raw[apply_rows] = encoding[codes[apply_rows]]
    return raw


def target_encoding(codes: np.ndarray, y: np.ndarray, n: int) -> tuple[np.ndarray, float]:
    """Smoothed mean of ``y`` per code in ``range(n)``, and the overall mean of ``y``.

    scikit-learn ``TargetEncoder(target_type="continuous", smooth="auto")``'s encoding
    (Micci-Barreca's eq. 5-6: a code's mean shrunk towards the overall mean by its
    count against its own variance), with the same sums in the same order, so the
    numbers are the same; a code without rows gets the overall mean, as an unknown
    category does there."""
    y_mean = float(np.mean(y))
    y_variance = float(np.var(y))
    counts = np.bincount(codes, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = np.bincount(codes, weights=y, minlength=n) / counts
        spread = np.bincount(codes, weights=(y - means[codes]) ** 2, minlength=n)
        lam = y_variance * counts / (y_variance * counts + spread / counts)
        encoding = lam * means + (1 - lam) * y_mean
    return np.where(np.isnan(lam), y_mean, encoding), y_mean


def _skew(v: np.ndarray) -> float:
    v = v / (np.abs(v).max(initial=0) or 1.0)  # scale-free, and no overflow for values near 1e308
    sd = v.std()
    return float(((v - v.mean()) ** 3).mean() / sd**3) if sd > 0 else 0.0


def _fit_numeric(s: pd.Series) -> NumericStat:
    v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return NumericStat(log=False, mean=0.0, std=1.0, fill=0.0)
    fill = float(np.median(v))
    log = bool(v.min() >= 0 and _skew(v) > SKEW_FOR_LOG)
    t = np.log1p(v) if log else v
    # Mean and spread of the scaled values, scaled back: squares of values near 1e308
    # overflow, and a NaN spread would make every prediction NaN.
    scale = float(np.abs(t).max(initial=0)) or 1.0
    return NumericStat(log=log, mean=float((t / scale).mean() * scale), std=float((t / scale).std() * scale) or 1.0,
                       fill=fill)


def _levels(train: pd.DataFrame, schema: Schema, columns: list[str]) -> dict[str, str]:
    """Classify features as user-, item- or context-level: a main-table column that
    never varies within one item's rows describes the item (likewise for users)."""
    level: dict[str, str] = {}
    for col in columns:
        if col == schema.user:
            level[col] = "user"
        elif col == schema.item:
            level[col] = "item"
        elif col in schema.side:
            level[col] = schema.side[col]
        else:
            level[col] = "context"
            for lvl, key in (("item", schema.item), ("user", schema.user)):
                if key and (train.groupby(key, sort=False)[col].nunique(dropna=False) <= 1).all():
                    level[col] = lvl
                    break
    return level
