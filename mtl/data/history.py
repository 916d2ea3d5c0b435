"""User-history features: what a user's past impressions say about their taste for an item's topic.

An embedding per user id learns a taste from that user's labels alone: with a few dozen
impressions per user it stays close to its starting point (on the simulated sample every
network stops improving after two epochs). The log says more than the labels: a
personalized feed shows each user the topics it believes they like, so *which* items a
user was shown is evidence of their taste, and so is how they reacted to each topic.
These features hand that evidence to any model as numeric columns, per impression
(user u, item i of topic c, where the topic is an item-level categorical column such
as ``item_category``):

* ``history:topic_share``: log lift of c among u's training impressions (smoothed
  towards c's overall share);
* ``history:taste_match``: u's topic shares dotted with the mean topic shares of i's
  other training viewers, relative to chance (users shown the same video share a
  taste, at a finer grain than its topic);
* ``history:topic_<task>``: the (u, c) pair's smoothed mean of each task's label
  (target encoding, as the per-id statistics of :mod:`mtl.data.encode`). The pair
  means of the data's other labels (watch time, rating) were measured too and added
  nothing on the simulated sample, so only the tasks get one.

No label of a row reaches its own features: training rows leave their own impression
out of the exposure counts and get out-of-fold pair rates (the same cross-fitting as
the per-id statistics), so a training row looks like a test row, whose impression is
not in the history. On the bundled simulated sample they lift the plain network's test
AUC by 0.021 (click), 0.023 (like) and 0.027 (long view), 3 seeds, every seed gaining
(``benchmarks/simulated_ceiling.py``; README, "Interaction blocks and numeric embeddings").
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from ..errors import ConfigError
from .encode import (
    MAX_STAT_VALUE,
    SKEW_FOR_LOG,
    _crossfit,
    _folds,
    _levels,
    _skew,
    canonical,
    canonical_codes,
    target_encoding,
)

#: Pseudo-impressions that pull a user's topic shares towards the overall shares.
SHARE_SMOOTHING = 4.0
#: A topic column needs at least 2 and at most this many values (a share per user and topic is stored).
MAX_TOPICS = 200
PREFIX = "history:"
#: One line for the app and the CLI.
DESCRIPTION = ("User-history features: each user's share of and task rates on the item's topic in their training "
               "rows, and the taste they share with the item's other viewers (needs user and item ids and an "
               "item category column).")


def topic_column(schema, level: dict[str, str], train: pd.DataFrame) -> str:
    """The item-level categorical column with the most values up to :data:`MAX_TOPICS`
    (on the simulated sample ``item_category``). Raises :class:`ConfigError` without one."""
    if not (schema.user and schema.item):
        raise ConfigError("User-history features need a user id and an item id column")
    best, best_n = None, 1
    for col in schema.categorical:
        n = int(train[col].nunique())
        if level.get(col) == "item" and col != schema.item and best_n < n <= MAX_TOPICS:
            best, best_n = col, n
    if best is None:
        raise ConfigError(f"User-history features need an item-level categorical column (a topic, a category) with "
                          f"2 to {MAX_TOPICS} values; this data has none")
    return best


def unavailable(data) -> str:
    """Why ``data`` (an :class:`~mtl.data.InteractionData`) cannot have user-history
    features, or ``""``: :func:`topic_column`'s checks on the whole log, so that a user
    interface can say so before anything is prepared or trained."""
    schema = data.schema
    try:
        topic_column(schema, _levels(data.frame, schema, list(schema.categorical)), data.frame)
    except ConfigError as err:
        return str(err)
    return ""


@dataclass
class HistoryFeatures:
    """The fitted tables; :meth:`fit` builds them, :meth:`transform` reads them."""

    user_column: str
    item_column: str
    topic_column: str
    labels: list[str]
    topics: list[str]
    prior: list[float]
    users: list[str]
    #: Per user, the smoothed share of each topic among their training impressions.
    shares: list[list[float]]
    items: list[str]
    #: Per item, its training viewers' mean topic shares.
    audience: list[list[float]]
    #: Per label: (user, topic) pair keys ``"user\ttopic"`` and their rates, and the rate of an unseen pair.
    pair_keys: dict[str, list[str]] = field(default_factory=dict)
    pair_rates: dict[str, list[float]] = field(default_factory=dict)
    pair_default: dict[str, float] = field(default_factory=dict)
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [PREFIX + "topic_share", PREFIX + "taste_match", *(f"{PREFIX}topic_{lb}" for lb in self.labels)]

    @classmethod
    def fit(cls, train: pd.DataFrame, schema, level: dict[str, str], labels: list[str],
            seed: int = 0) -> tuple[HistoryFeatures, np.ndarray]:
        """Fit on the training rows; return the tables and the training rows' own
        (leave-one-out, cross-fitted, standardized) features ``[n, k]`` float32."""
        topic = topic_column(schema, level, train)
        u, users = canonical_codes(train[schema.user])
        i, items = canonical_codes(train[schema.item])
        c, topics = canonical_codes(train[topic])
        if (u < 0).any() or (i < 0).any() or (c < 0).any():
            keep = (u >= 0) & (i >= 0) & (c >= 0)
            u, i, c = np.where(keep, u, 0), np.where(keep, i, 0), np.where(keep, c, 0)
        else:
            keep = np.ones(len(train), bool)
        n_u, n_i, n_c = len(users), len(items), len(topics)
        counts = np.zeros((n_u, n_c))
        np.add.at(counts, (u[keep], c[keep]), 1.0)
        prior = (counts.sum(0) + 1.0) / (counts.sum() + n_c)
        shares = _shares(counts, prior)
        audience = np.zeros((n_i, n_c))
        np.add.at(audience, i[keep], shares[u[keep]])
        viewers = np.bincount(i[keep], minlength=n_i).astype(float)
        own = keep.astype(float)
        # Leave-one-out: the row's own impression out of its user's counts and its item's audience.
        row_share = (counts[u, c] - own + SHARE_SMOOTHING * prior[c]) / (counts[u].sum(1) - own + SHARE_SMOOTHING)
        loo_user = (counts[u] - own[:, None] * np.eye(n_c)[c] + SHARE_SMOOTHING * prior) / \
            (counts[u].sum(1, keepdims=True) - own[:, None] + SHARE_SMOOTHING)
        others = viewers[i] - own
        aud = np.where(others[:, None] > 0, (audience[i] - own[:, None] * shares[u]) / np.maximum(others, 1)[:, None],
                       prior)
        columns = [np.log(row_share / prior[c]), np.log((loo_user * aud / prior).sum(1))]
        pair = u.astype(np.int64) * n_c + c
        pair_codes, pair_index = pd.factorize(pair)
        folds = _folds(len(train), seed)  # the per-id statistics' folds (the same rows and seed)
        table = cls(schema.user, schema.item, topic, [], topics.astype(str).tolist(), prior.tolist(),
                    users.astype(str).tolist(), shares.tolist(), items.astype(str).tolist(),
                    # An item seen only on rows without a topic has no audience: the overall shares.
                    np.where(viewers[:, None] > 0, audience / np.maximum(viewers, 1)[:, None], prior).tolist())
        for label in labels:
            y = pd.to_numeric(train[label], errors="coerce").to_numpy(dtype=float)
            has = np.isfinite(y) & (np.abs(y) < MAX_STAT_VALUE) & keep
            if has.sum() < 20 or len(np.unique(y[has])) < 2:
                continue
            if y[has].min() >= 0 and _skew(y[has]) > SKEW_FOR_LOG:  # heavy-tailed (watch time): its log, as the per-id statistics
                y = np.log1p(np.where(has, y, 0.0))
            rates, default = target_encoding(pair_codes[has], y[has], len(pair_index))
            seen = np.bincount(pair_codes[has], minlength=len(pair_index)) > 0
            keys = [f"{users[k // n_c]}\t{topics[k % n_c]}" for k in np.asarray(pair_index)[seen]]
            table.labels.append(label)
            table.pair_keys[label], table.pair_rates[label] = keys, rates[seen].tolist()
            table.pair_default[label] = default
            columns.append(_crossfit(pair_codes, y, has, folds))
        raw = np.column_stack(columns)
        if not keep.all():
            # Rows without a user, item or topic were left out of the tables: they read them as
            # any new row does (no evidence where the value is missing).
            raw[~keep] = table._raw(train.iloc[np.flatnonzero(~keep)])
        table.mean, table.std = raw.mean(0).tolist(), [float(s) or 1.0 for s in raw.std(0)]
        return table, table._standardize(raw)

    def _standardize(self, raw: np.ndarray) -> np.ndarray:
        return ((raw - np.asarray(self.mean)) / np.asarray(self.std)).astype(np.float32)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The features of rows outside the training rows (validation, test, new
        candidates): from the whole training history. Unknown or missing users, items
        and topics get the overall shares (no evidence: lift 0)."""
        return self._standardize(self._raw(frame))

    def _raw(self, frame: pd.DataFrame) -> np.ndarray:
        prior = np.asarray(self.prior)
        shares = np.vstack([np.asarray(self.shares).reshape(-1, len(prior)), prior])  # last row: unknown user
        audience = np.vstack([np.asarray(self.audience).reshape(-1, len(prior)), prior])
        u = _lookup(self.users, frame[self.user_column])
        i = _lookup(self.items, frame[self.item_column])
        c = _lookup(self.topics, frame[self.topic_column])
        known_c = c < len(prior)
        c_safe = np.where(known_c, c, 0)
        lift = np.where(known_c, np.log(shares[u, c_safe] / prior[c_safe]), 0.0)
        columns = [lift, np.log((shares[u] * audience[i] / prior).sum(1))]
        users = np.asarray(canonical(frame[self.user_column]).fillna(""), dtype=object)
        topics = np.asarray(canonical(frame[self.topic_column]).fillna(""), dtype=object)
        keys = pd.Index(users + "\t" + topics)
        for label in self.labels:
            at = pd.Index(self.pair_keys[label]).get_indexer(keys)
            rates = np.append(np.asarray(self.pair_rates[label], dtype=float), self.pair_default[label])
            columns.append(rates[at])  # -1 (an unseen pair) -> the default
        return np.column_stack(columns)

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict) -> HistoryFeatures:
        return cls(**d)


def _shares(counts: np.ndarray, prior: np.ndarray) -> np.ndarray:
    return (counts + SHARE_SMOOTHING * prior) / (counts.sum(1, keepdims=True) + SHARE_SMOOTHING)


def _lookup(keys: list[str], column: pd.Series) -> np.ndarray:
    """Positions of ``column``'s values in ``keys``; ``len(keys)`` for an unknown value."""
    at = pd.Index(keys).get_indexer(pd.Index(canonical(column)))
    return np.where(at < 0, len(keys), at)
