"""Relevance-versus-efficiency curves: what ranking by engagement costs in value.

Tasks are split into **efficiency** (attention captured per impression: click,
watch time) and **relevance** (value to the user: like, long view, follow, rating).
For a fusion weight ``alpha`` from 0 to 1, every user's candidates (their held-out
test impressions) are ranked by

    (1 - alpha) * efficiency score + alpha * relevance score,

where each score is the mean of the z-scored predictions of its tasks, standardized
over the user's candidates (as :mod:`mtl.recommend` does). For each ``alpha`` we
report, averaged over users:

* efficiency@K: the mean efficiency label among the top K (e.g. click rate);
* relevance@K: NDCG@K with the summed relevance labels as graded gains.

``alpha = 0`` ranks by efficiency alone, ``alpha = 1`` by relevance alone. A random
ranking and, on simulated data, the oracle ranking by the true probabilities give the
floor and the ceiling. When engagement and value disagree, the curve bends: this is
the "efficiency paradox" of engagement-driven feeds made visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..data.encode import canonical
from ..errors import ConfigError, DataError

DEFAULT_ALPHAS = tuple(np.round(np.linspace(0, 1, 21), 4))


@dataclass
class CurveResult:
    k: int
    efficiency: list[str]
    relevance: list[str]
    points: pd.DataFrame                       # alpha, efficiency_at_k, relevance_ndcg_at_k, per-task columns
    random: dict[str, float]
    oracle: pd.DataFrame | None = None
    current_alpha: float | None = None
    n_users: int = 0
    notes: list[str] = field(default_factory=list)

    def at(self, alpha: float) -> dict[str, float]:
        """The point of the curve nearest to ``alpha``."""
        i = int(np.abs(self.points["alpha"].to_numpy() - alpha).argmin())
        return self.points.iloc[i].to_dict()

    def to_json(self) -> dict:
        """The CLI's ``curve --json`` document."""
        return {
            "k": self.k,
            "efficiency": self.efficiency,
            "relevance": self.relevance,
            "n_users": self.n_users,
            "points": self.points.to_dict(orient="records"),
            "random": self.random,
            "oracle": None if self.oracle is None else self.oracle.to_dict(orient="records"),
            "current_alpha": self.current_alpha,
            "notes": self.notes,
        }


def alpha_from_fusion(fusion: Mapping[str, float], efficiency: Sequence[str], relevance: Sequence[str]) -> float | None:
    """Where a set of fusion weights sits on the curve: relevance share of the weight."""
    e = sum(abs(fusion.get(t, 0.0)) for t in efficiency)
    r = sum(abs(fusion.get(t, 0.0)) for t in relevance)
    return None if e + r == 0 else r / (e + r)


def _group_z(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    s = pd.Series(values)
    g = s.groupby(groups)
    sd = g.transform("std", ddof=0).to_numpy()
    z = (values - g.transform("mean").to_numpy()) / np.where(sd > 0, sd, 1.0)
    return np.where(sd > 0, z, 0.0)


def _evaluate_ranking(score: np.ndarray, groups: np.ndarray, gain: np.ndarray, eff: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    """Mean NDCG@k over users with any gain, and the mean of each efficiency label
    column in the top k over all users. ``groups`` are integer user codes."""
    order = np.lexsort((-score, groups))
    g = groups[order]
    starts = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
    pos = np.arange(len(g)) - np.repeat(starts, np.diff(np.r_[starts, len(g)]))
    top = pos < k
    discount = 1.0 / np.log2(pos + 2.0)
    dcg = np.bincount(g[top], weights=(gain[order] * discount)[top], minlength=g.max() + 1)
    # ideal: same users, gains sorted descending
    ideal_order = np.lexsort((-gain, groups))
    idcg = np.bincount(groups[ideal_order][top], weights=(gain[ideal_order] * discount)[top], minlength=g.max() + 1)
    has_gain = idcg > 0
    ndcg = float(np.mean(dcg[has_gain] / idcg[has_gain])) if has_gain.any() else float("nan")
    n_top = np.bincount(g[top], minlength=g.max() + 1).astype(float)
    users = n_top > 0
    eff_means = []
    for j in range(eff.shape[1]):
        col = eff[order, j]
        ok = top & ~np.isnan(col)
        s = np.bincount(g[ok], weights=col[ok], minlength=g.max() + 1)
        c = np.bincount(g[ok], minlength=g.max() + 1).astype(float)
        per_user = np.divide(s, c, out=np.full_like(s, np.nan), where=c > 0)
        eff_means.append(np.nanmean(per_user[users]) if np.any(c[users] > 0) else np.nan)
    return ndcg, np.array(eff_means)


def efficiency_relevance_curve(
    frame: pd.DataFrame,
    predictions: Mapping[str, np.ndarray],
    efficiency: Sequence[str],
    relevance: Sequence[str],
    user_col: str,
    *,
    k: int = 10,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    oracle: Mapping[str, np.ndarray] | None = None,
    random_draws: int = 5,
    seed: int = 0,
    current_alpha: float | None = None,
) -> CurveResult:
    """Compute the curve over the rows of ``frame`` (held-out impressions with labels).

    ``predictions`` maps each efficiency and relevance task to its predicted scores
    for those rows; ``oracle`` optionally maps them to the true probabilities.
    Users with fewer than two candidates are left out (nothing to rank).
    """
    efficiency, relevance = list(efficiency), list(relevance)
    if not efficiency or not relevance:
        raise ConfigError("Mark at least one efficiency task and one relevance task")
    both = set(efficiency) & set(relevance)
    if both:
        raise ConfigError(f"'{sorted(both)[0]}' cannot be both an efficiency and a relevance task")
    if k < 1:
        raise ConfigError("k must be at least 1")
    for t in efficiency + relevance:
        if t not in frame.columns:
            raise DataError(f"Label '{t}' is not in the evaluation rows", column=t)
        if t not in predictions:
            raise ConfigError(f"The model does not predict '{t}'; curves need a prediction for every chosen task")
    codes = pd.factorize(canonical(frame[user_col]))[0]
    sizes = np.bincount(codes)
    keep = sizes[codes] >= 2
    if keep.sum() == 0:
        raise DataError("No user has two or more held-out impressions to rank")
    rows = frame[keep]
    groups = pd.factorize(codes[keep])[0]
    labels = {t: pd.to_numeric(rows[t], errors="coerce").to_numpy(dtype=float) for t in efficiency + relevance}
    gain = np.nansum(np.column_stack([np.nan_to_num(labels[t], nan=0.0) for t in relevance]), axis=1)
    if (gain < 0).any():
        raise DataError("Relevance labels must be non-negative to serve as ranking gains")
    eff = np.column_stack([labels[t] for t in efficiency])

    def combined(source: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        e = np.mean([_group_z(np.asarray(source[t], dtype=float)[keep], groups) for t in efficiency], axis=0)
        r = np.mean([_group_z(np.asarray(source[t], dtype=float)[keep], groups) for t in relevance], axis=0)
        return e, r

    def trace(source) -> pd.DataFrame:
        e, r = combined(source)
        out = []
        for a in alphas:
            ndcg, effs = _evaluate_ranking((1 - a) * e + a * r, groups, gain, eff, k)
            row = {"alpha": float(a), "efficiency_at_k": float(effs[0]), "relevance_ndcg_at_k": ndcg}
            row.update({f"{t}_at_k": float(v) for t, v in zip(efficiency, effs)})
            out.append(row)
        return pd.DataFrame(out)

    points = trace(predictions)
    rng = np.random.default_rng(seed)
    rand = [_evaluate_ranking(rng.random(len(groups)), groups, gain, eff, k) for _ in range(random_draws)]
    random_point = {"efficiency_at_k": float(np.mean([r[1][0] for r in rand])),
                    "relevance_ndcg_at_k": float(np.mean([r[0] for r in rand]))}
    oracle_points = None
    notes = []
    if oracle is not None and all(t in oracle for t in efficiency + relevance):
        oracle_points = trace(oracle)
    elif oracle is not None:
        missing = [t for t in efficiency + relevance if t not in oracle]
        notes.append(f"No oracle curve: the data has no true probabilities for {', '.join(missing)}.")
    return CurveResult(k, efficiency, relevance, points, random_point, oracle_points, current_alpha,
                       int(groups.max() + 1), notes)


def curve_for_model(trained, efficiency: Sequence[str], relevance: Sequence[str], *, k: int = 10,
                    alphas: Sequence[float] = DEFAULT_ALPHAS, fusion: Mapping[str, float] | None = None,
                    weights: Sequence[float] | None = None) -> CurveResult:
    """The curve for a :class:`~mtl.train.TrainedModel` on its saved test rows.

    ``weights`` (conditioned models only) picks the task weighting to predict with;
    ``fusion`` marks the current position (alpha) on the curve.
    """
    rows = getattr(trained, "test_rows", None)
    if rows is None or trained.schema.user is None:
        raise DataError("Curves rank each user's candidates, so they need data with a user id column")
    for t in list(efficiency) + list(relevance):
        if t not in trained.task_names:
            raise ConfigError(f"The model does not predict '{t}'; its tasks: {', '.join(trained.task_names)}")
    preds = trained.predict_arrays(rows, pref=weights)
    by_task = dict(zip(trained.task_names, preds))
    oracle_cols = {c[len("true_"):]: rows[c].to_numpy(dtype=float) for c in trained.schema.oracle if c in rows}
    current = alpha_from_fusion(fusion, efficiency, relevance) if fusion else None
    return efficiency_relevance_curve(rows, by_task, efficiency, relevance, trained.schema.user, k=k, alphas=alphas,
                                      oracle=oracle_cols or None, current_alpha=current)
