"""Relevance-versus-efficiency curves: what ranking by engagement costs in value.

Tasks are split into **efficiency** (attention captured per impression: click,
watch time) and **relevance** (value to the user: like, long view, follow, rating).
For a fusion weight ``alpha`` from 0 to 1, every user's candidates (their held-out
test impressions) are ranked by

    (1 - alpha) * efficiency score + alpha * relevance score,

where each score is the mean of the z-scored predictions of its tasks, standardized
over the user's candidates with the same spread floor as :mod:`mtl.recommend` (a
task without signal cannot decide the order). For each ``alpha`` we report,
averaged over users, with the standard error of that mean across users:

* efficiency@K: the mean efficiency label among the top K (e.g. click rate);
* relevance@K: NDCG@K with the summed relevance labels as graded gains.

Only users with **more than K** candidates are counted: for the others every order
puts all their candidates in the top K, so their efficiency@K cannot depend on the
ranking and would pull both ends of the curve to the same value. Held-out rows are
few per user on real logs (a median of 2 to 4), so the default K is chosen from the
candidate counts (:func:`default_k`) rather than fixed at 10, and the result says how
many users it counts and for how many the labels differ at all among the candidates.

``alpha = 0`` ranks by efficiency alone, ``alpha = 1`` by relevance alone. A random
ranking and, on simulated data, the oracle ranking by the true probabilities give the
floor and the ceiling. When engagement and value disagree, the curve bends: the
"efficiency paradox" of engagement-driven feeds made visible. Whether it does on a
given data set is a measured claim: :meth:`CurveResult.finding` compares the two ends
user by user (paired differences with a 95% interval) and says in words what the data
shows, including "ranking by relevance costs no measurable efficiency" (but only
when the ranking could have changed the efficiency of most users counted: otherwise
it says why the measure cannot move).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.encode import canonical
from ..errors import ConfigError, DataError
from ..finding import Finding, em, strong
from ..recommend import MIN_SIGNAL

DEFAULT_ALPHAS = tuple(np.round(np.linspace(0, 1, 21), 4))
#: The default K never exceeds this: a feed's first screen.
MAX_DEFAULT_K = 10
#: Half-width of a 95% normal interval, in standard errors.
Z95 = 1.96


@dataclass
class Change:
    """The paired change of one measure from alpha = 0 to alpha = 1, over users."""

    start: float
    end: float
    diff: float        # mean over users of (end - start)
    ci: float          # half-width of its 95% interval
    n_users: int

    @property
    def measurable(self) -> bool:
        return bool(abs(self.diff) > self.ci)

    def text(self, digits: int = 3) -> str:
        return f"{self.start:.{digits}f} → {self.end:.{digits}f} ({self.diff:+.{digits}f} ± {self.ci:.{digits}f})"

    def to_json(self) -> dict:
        return {"start": self.start, "end": self.end, "diff": self.diff, "ci95": self.ci, "n_users": self.n_users}


def _paired(a: np.ndarray, b: np.ndarray) -> Change:
    ok = ~np.isnan(a) & ~np.isnan(b)
    d = b[ok] - a[ok]
    n = int(ok.sum())
    ci = Z95 * float(d.std(ddof=1)) / np.sqrt(n) if n > 1 else float("nan")
    return Change(float(np.nanmean(a[ok])) if n else float("nan"), float(np.nanmean(b[ok])) if n else float("nan"),
                  float(d.mean()) if n else float("nan"), ci, n)


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
    #: From alpha = 0 to alpha = 1, paired over users: efficiency and relevance.
    efficiency_change: Change | None = None
    relevance_change: Change | None = None
    #: Users with two or more held-out impressions (something to rank), of whom the
    #: ``n_users`` with more than K are counted; their median number of impressions.
    users_ranked: int = 0
    median_candidates: float = float("nan")
    #: Counted users whose candidates differ in the (first) efficiency label, and in the
    #: relevance gain: only for them can the ranking change that measure.
    efficiency_varies: int = 0
    relevance_varies: int = 0
    #: The K :func:`default_k` picks for these candidates.
    suggested_k: int = 1

    def coverage(self) -> str:
        """Which users the curve counts and why, in one sentence."""
        text = (f"{self.n_users:,} of the {self.users_ranked:,} users with two or more held-out impressions have more "
                f"than K = {self.k} (median {self.median_candidates:g} per user) and are counted: for the others every "
                f"ranking puts all their impressions in the top {self.k}.")
        if self.users_ranked and self.n_users < self.users_ranked / 2:
            text += (f" That is only {self.n_users / self.users_ranked:.0%} of them; K = {self.suggested_k} would count "
                     "at least half.")
        return text

    def at(self, alpha: float) -> dict[str, float]:
        """The point of the curve nearest to ``alpha``."""
        i = int(np.abs(self.points["alpha"].to_numpy() - alpha).argmin())
        return self.points.iloc[i].to_dict()

    def finding(self) -> Finding:
        """What the curve shows on this data, in words, with the spread across users:
        the change of each measure from ranking by efficiency only (alpha = 0) to
        relevance only (alpha = 1), as a mean of per-user differences ± its 95%
        interval. A change inside its interval is called not measurable."""
        e, r = self.efficiency_change, self.relevance_change
        if e is None or r is None or np.isnan(e.ci) or np.isnan(r.ci):
            return Finding("Too few users to judge the difference between the two ends of the curve.")
        eff, rel = f"efficiency@{self.k}", f"relevance@{self.k}"
        numbers = (f"From α = 0 to α = 1, {eff} goes {e.text(4)} and {rel} {r.text(4)} "
                   f"(mean of per-user differences ± 95% interval, {e.n_users:,} users).")
        # A measure the ranking cannot move for most users stays put whatever the model
        # knows: its "no measurable change" would be an artifact of the data, not a finding.
        stuck = {}
        if not e.measurable and self.efficiency_varies < self.n_users / 2:
            stuck[eff] = (f"{self.efficiency[0]} differs among the candidates of only {self.efficiency_varies:,} of "
                          f"the {self.n_users:,} users counted")
        if not r.measurable and self.relevance_varies < self.n_users / 2:
            stuck[rel] = (f"{' + '.join(self.relevance)} differs among the candidates of only "
                          f"{self.relevance_varies:,} of the {self.n_users:,} users counted")
        if stuck:
            return Finding(strong(f"On this data the ranking cannot change {' or '.join(stuck)} for most users"),
                           ": " + "; ".join(stuck.values()) + ". For every other user each order gives the same value, "
                           "so an unchanged measure says little about what ranking by relevance costs or gains. "
                           + numbers)
        if not e.measurable and not r.measurable:
            return Finding(strong("On this data the weighting makes no measurable difference"), ": neither efficiency "
                           "nor relevance moves by more than its spread across users. " + numbers)
        if not e.measurable and r.diff > 0:
            return Finding(strong("On this data, ranking by relevance costs no measurable efficiency"), ", and it raises "
                           "relevance. Engagement-only ranking was leaving value on the table: the ",
                           em("efficiency paradox"), ". " + numbers)
        if not e.measurable:
            return Finding(strong("On this data, ranking by relevance costs no measurable efficiency"),
                           ", nor does it add relevance. " + numbers)
        if e.diff < 0 and r.measurable and r.diff > 0:
            return Finding(strong("A real trade-off on this data"), ": ranking by relevance gains relevance and costs "
                           "efficiency. Choose α by how much of one you would give for the other. " + numbers)
        if e.diff < 0 and not r.measurable:
            return Finding(strong("On this data, weighting relevance costs efficiency without a measurable relevance "
                                  "gain"), ": the model's relevance predictions do not rank better than its efficiency "
                           "ones. " + numbers)
        if e.diff > 0 and (not r.measurable or r.diff > 0):
            return Finding(strong("No trade-off on this data"), ": ranking by relevance does not lose efficiency (it "
                           "gains some), so relevance and efficiency point the same way here. " + numbers)
        return Finding(strong("On this data, ranking by relevance gains efficiency but loses relevance"), ": the "
                       "model's relevance predictions rank worse than its efficiency ones for relevance itself. "
                       + numbers)

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
            "efficiency_change": None if self.efficiency_change is None else self.efficiency_change.to_json(),
            "relevance_change": None if self.relevance_change is None else self.relevance_change.to_json(),
            "users_ranked": self.users_ranked,
            "median_candidates": self.median_candidates,
            "efficiency_varies": self.efficiency_varies,
            "relevance_varies": self.relevance_varies,
            "suggested_k": self.suggested_k,
            "coverage": self.coverage(),
            "finding": self.finding().markdown(),
        }


def alpha_from_fusion(fusion: Mapping[str, float], efficiency: Sequence[str], relevance: Sequence[str]) -> float | None:
    """Where a set of fusion weights sits on the curve: relevance share of the weight."""
    e = sum(abs(fusion.get(t, 0.0)) for t in efficiency)
    r = sum(abs(fusion.get(t, 0.0)) for t in relevance)
    return None if e + r == 0 else r / (e + r)


def candidate_counts(frame: pd.DataFrame, user_col: str) -> np.ndarray:
    """How many held-out impressions (candidates) each user has."""
    return np.bincount(pd.factorize(canonical(frame[user_col]))[0])


def default_k(counts: Sequence[int] | np.ndarray, cap: int = MAX_DEFAULT_K) -> int:
    """The largest K up to ``cap`` that at least half of the users with two or more
    candidates exceed, so that for most of them the top K is a choice among their
    candidates (with a median of 4 candidates, K = 3)."""
    c = np.asarray(counts)
    c = c[c >= 2]
    if not len(c):
        raise DataError("No user has two or more held-out impressions to rank")
    return max(k for k in range(1, cap + 1) if k == 1 or np.mean(c > k) >= 0.5)


def _varies(values: np.ndarray, groups: np.ndarray) -> int:
    """How many groups have at least two different (non-missing) values."""
    s = pd.Series(values).groupby(groups)
    return int((s.max() > s.min()).sum())


def _group_z(values: np.ndarray, groups: np.ndarray, scale: float | None = None) -> np.ndarray:
    """Per-user z-scores with the spread floored as in :func:`mtl.recommend.fuse`:
    at ``MIN_SIGNAL`` x the outcome's scale (``sqrt(m (1 - m))`` of the user's mean
    prediction for probabilities, when ``scale`` is None)."""
    s = pd.Series(values)
    g = s.groupby(groups)
    mean = g.transform("mean").to_numpy()
    sd = g.transform("std", ddof=0).to_numpy()
    if scale is not None:
        floor = np.full_like(sd, MIN_SIGNAL * abs(scale))
    elif np.nanmin(values) >= 0 and np.nanmax(values) <= 1:
        floor = MIN_SIGNAL * np.sqrt(mean * (1 - mean))
    else:
        floor = np.zeros_like(sd)
    spread = np.maximum(sd, floor)
    z = (values - mean) / np.where(spread > 0, spread, 1.0)
    return np.where(spread > 0, z, 0.0)


def _evaluate_ranking(score: np.ndarray, groups: np.ndarray, gain: np.ndarray, eff: np.ndarray, k: int,
                      per_user: bool = False):
    """Mean NDCG@k over users with any gain, and the mean of each efficiency label
    column in the top k over all users. ``groups`` are integer user codes. With
    ``per_user``, also the per-user NDCG (NaN without gain) and per-user first
    efficiency label mean, for spreads and paired differences."""
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
    eff_means, first = [], None
    for j in range(eff.shape[1]):
        col = eff[order, j]
        ok = top & ~np.isnan(col)
        s = np.bincount(g[ok], weights=col[ok], minlength=g.max() + 1)
        c = np.bincount(g[ok], minlength=g.max() + 1).astype(float)
        user_means = np.divide(s, c, out=np.full_like(s, np.nan), where=c > 0)
        eff_means.append(np.nanmean(user_means[users]) if np.any(c[users] > 0) else np.nan)
        if first is None:
            first = np.where(users, user_means, np.nan)
    if not per_user:
        return ndcg, np.array(eff_means)
    user_ndcg = np.divide(dcg, idcg, out=np.full_like(dcg, np.nan), where=has_gain)
    return ndcg, np.array(eff_means), user_ndcg, first


def _se(values: np.ndarray) -> float:
    v = values[~np.isnan(values)]
    return float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")


def efficiency_relevance_curve(
    frame: pd.DataFrame,
    predictions: Mapping[str, np.ndarray],
    efficiency: Sequence[str],
    relevance: Sequence[str],
    user_col: str,
    *,
    k: int | None = None,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    oracle: Mapping[str, np.ndarray] | None = None,
    random_draws: int = 5,
    seed: int = 0,
    current_alpha: float | None = None,
    scales: Mapping[str, float | None] | None = None,
) -> CurveResult:
    """Compute the curve over the rows of ``frame`` (held-out impressions with labels).

    ``predictions`` maps each efficiency and relevance task to its predicted scores
    for those rows; ``oracle`` optionally maps them to the true probabilities.
    ``scales`` gives regression tasks their label scale for the spread floor (see
    :func:`mtl.recommend.outcome_scales`). ``current_alpha`` is added to ``alphas``
    so its point is measured, not interpolated. ``k`` defaults to :func:`default_k`
    of the candidate counts. Only users with more than ``k`` candidates are counted
    (for the others the top K holds all their candidates whatever the order).
    """
    efficiency, relevance = list(efficiency), list(relevance)
    if not efficiency or not relevance:
        raise ConfigError("Mark at least one efficiency task and one relevance task")
    both = set(efficiency) & set(relevance)
    if both:
        raise ConfigError(f"'{sorted(both)[0]}' cannot be both an efficiency and a relevance task")
    if k is not None and k < 1:
        raise ConfigError("k must be at least 1")
    for t in efficiency + relevance:
        if t not in frame.columns:
            raise DataError(f"Label '{t}' is not in the evaluation rows", column=t)
        if t not in predictions:
            raise ConfigError(f"The model does not predict '{t}'; curves need a prediction for every chosen task")
    codes = pd.factorize(canonical(frame[user_col]))[0]
    sizes = np.bincount(codes)
    suggested = default_k(sizes)
    k = suggested if k is None else int(k)
    keep = sizes[codes] > k
    if keep.sum() == 0:
        raise DataError(f"No user has more than K = {k} held-out impressions, so every ranking puts all of a user's "
                        f"impressions in the top {k} and none can change efficiency@{k}; the most any user has is "
                        f"{sizes.max()}, so choose K below that (K = {suggested} counts at least half the users)")
    rows = frame[keep]
    groups = pd.factorize(codes[keep])[0]
    labels = {t: pd.to_numeric(rows[t], errors="coerce").to_numpy(dtype=float) for t in efficiency + relevance}
    gain = np.nansum(np.column_stack([np.nan_to_num(labels[t], nan=0.0) for t in relevance]), axis=1)
    if (gain < 0).any():
        raise DataError("Relevance labels must be non-negative to serve as ranking gains")
    if not (np.bincount(groups, weights=gain) > 0).any():
        smaller = f"; choose a smaller K (K = {suggested} counts at least half the users)" if suggested < k else ""
        raise DataError(f"None of the {groups.max() + 1:,} users with more than K = {k} held-out impressions has a "
                        f"positive {' or '.join(relevance)} among them, so no ranking can change relevance@{k}"
                        f"{smaller}")
    eff = np.column_stack([labels[t] for t in efficiency])

    scales = scales or {}
    alphas = sorted({round(float(a), 6) for a in (*alphas, 0.0, 1.0,
                                                   *(() if current_alpha is None else (current_alpha,)))})

    def combined(source: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        def side(tasks):
            return np.mean([_group_z(np.asarray(source[t], dtype=float)[keep], groups, scales.get(t)) for t in tasks],
                           axis=0)
        return side(efficiency), side(relevance)

    ends: dict[float, tuple[np.ndarray, np.ndarray]] = {}

    def trace(source, keep_ends: bool = False) -> pd.DataFrame:
        e, r = combined(source)
        out = []
        for a in alphas:
            ndcg, effs, user_ndcg, user_eff = _evaluate_ranking((1 - a) * e + a * r, groups, gain, eff, k, per_user=True)
            row = {"alpha": float(a), "efficiency_at_k": float(effs[0]), "relevance_ndcg_at_k": ndcg,
                   "efficiency_se": _se(user_eff), "relevance_se": _se(user_ndcg)}
            row.update({f"{t}_at_k": float(v) for t, v in zip(efficiency, effs)})
            out.append(row)
            if keep_ends and a in (0.0, 1.0):
                ends[a] = (user_eff, user_ndcg)
        return pd.DataFrame(out)

    points = trace(predictions, keep_ends=True)
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
    ranked = sizes[sizes >= 2]
    return CurveResult(k, efficiency, relevance, points, random_point, oracle_points, current_alpha,
                       int(groups.max() + 1), notes, efficiency_change=_paired(ends[0.0][0], ends[1.0][0]),
                       relevance_change=_paired(ends[0.0][1], ends[1.0][1]), users_ranked=len(ranked),
                       median_candidates=float(np.median(ranked)), efficiency_varies=_varies(eff[:, 0], groups),
                       relevance_varies=_varies(gain, groups), suggested_k=suggested)


def curve_for_model(trained, efficiency: Sequence[str], relevance: Sequence[str], *, k: int | None = None,
                    alphas: Sequence[float] = DEFAULT_ALPHAS, fusion: Mapping[str, float] | None = None,
                    weights: Sequence[float] | None = None) -> CurveResult:
    """The curve for a :class:`~mtl.train.TrainedModel` on its saved test rows.

    ``weights`` (conditioned models only) picks the task weighting to predict with;
    ``fusion`` marks the current position (alpha) on the curve; ``k`` defaults to
    :func:`default_k` of the users' held-out impression counts.
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
    scales = {t.name: float(t.std) for t in trained.tasks if t.kind == "regression"}
    return efficiency_relevance_curve(rows, by_task, efficiency, relevance, trained.schema.user, k=k, alphas=alphas,
                                      oracle=oracle_cols or None, current_alpha=current, scales=scales)


# ------------------------------------------------------------------ the two sides
#: Task names that read as attention captured per impression (efficiency), when the
#: data set does not say which of its labels are which.
EFFICIENCY_WORDS = ("click", "watch", "play", "dwell", "view_time", "stay")
#: Fewest rows on which both labels are known before a threshold is taken as proof that
#: one label is computed from the other.
MIN_ROWS_FOR_DERIVED = 20


def derived_labels(frame: pd.DataFrame, tasks: Sequence[str], declared: Mapping[str, str] | None = None) -> dict[str, str]:
    """Labels among ``tasks`` that are computed from another of them: derived -> source.

    ``declared`` holds derived-label expressions (``{"liked": "liked=rating>=4"}``, as in
    :attr:`mtl.data.schema.Schema.derived`); a label stored in the file can be one too
    (goodbooks' ``liked`` is ``rating >= 4``, the simulator's ``long_view`` is watch time
    past a threshold), so a 0/1 label that one cut of another label's values separates
    exactly, on every row where both are known, counts as derived from it."""
    from ..data.derive import parse_derived

    tasks = [t for t in tasks if t in frame.columns]
    out: dict[str, str] = {}
    for name, expression in (declared or {}).items():
        source = parse_derived(expression).source
        if name in tasks and source in tasks:
            out[name] = source
    values = {t: pd.to_numeric(frame[t], errors="coerce").to_numpy(dtype=float) for t in tasks}
    for b in tasks:
        if b in out:
            continue
        vb = values[b]
        if not set(np.unique(vb[~np.isnan(vb)])) == {0.0, 1.0}:
            continue
        for a in tasks:
            va = values[a]
            ok = ~np.isnan(va) & ~np.isnan(vb)
            if a == b or ok.sum() < MIN_ROWS_FOR_DERIVED or len(np.unique(va[ok])) <= 2:
                continue
            ones, zeros = va[ok & (vb == 1)], va[ok & (vb == 0)]
            if len(ones) and len(zeros) and (zeros.max() < ones.min() or ones.max() < zeros.min()):
                out[b] = a
                break
    return out


@dataclass
class Sides:
    """Default efficiency and relevance tasks, and what the user should be told about them."""

    efficiency: list[str]
    relevance: list[str]
    notes: list[str] = field(default_factory=list)


def suggest_sides(tasks: Sequence[str], *, efficiency: Sequence[str] | None = None,
                  relevance: Sequence[str] | None = None, derived: Mapping[str, str] | None = None) -> Sides:
    """The curve's default sides for a model's ``tasks``.

    ``efficiency`` / ``relevance`` are the data set's own lists (a bundled sample's);
    given, they are trusted, and a data set that lists no efficiency label gets none
    rather than one invented from its relevance labels. Without them, task names decide
    (:data:`EFFICIENCY_WORDS`). A label and the label it is derived from (``derived``)
    are never put on opposite sides: that would plot a label against a threshold of
    itself."""
    tasks = list(tasks)
    derived = dict(derived or {})
    notes = []
    if efficiency is not None or relevance is not None:
        eff = [t for t in efficiency or () if t in tasks]
        rel = [t for t in relevance or () if t in tasks and t not in eff]
        if not eff:
            notes.append(("This data set has no efficiency label (attention captured per impression, such as a click "
                          "or watch time)" if not efficiency else
                          f"The model predicts none of this data set's efficiency labels ({', '.join(efficiency)})")
                         + f": {', '.join(rel) or 'its labels'} measure value to the user. The curve needs one task "
                         "on each side; pick one only if it really measures attention.")
    else:
        eff = [t for t in tasks if any(w in t.lower() for w in EFFICIENCY_WORDS)]
        rel = [t for t in tasks if t not in eff]
        if not eff:
            notes.append(f"None of the tasks ({', '.join(tasks)}) is named like an efficiency label (a click, watch "
                         "or play time), so none is marked: choose one if your data has one.")
    for d, s in derived.items():
        pair = {d, s}
        if not (pair & set(eff) and pair & set(rel)):
            continue
        # The efficiency side gives way (the relevance labels are what the curve is about),
        # unless it would be left empty while the relevance side has another task.
        on_eff, on_rel = (pair & set(eff)).pop(), (pair & set(rel)).pop()
        drop = on_eff if len(eff) > 1 or len(rel) == 1 else on_rel
        (eff if drop == on_eff else rel).remove(drop)
        notes.append(f"'{d}' is computed from '{s}', so they are not put on opposite sides (one would be plotted "
                     f"against a threshold of itself): '{drop}' is left out.")
    return Sides(eff, rel, notes)


def side_conflicts(efficiency: Sequence[str], relevance: Sequence[str], derived: Mapping[str, str]) -> list[str]:
    """Warnings for a derived label and its source chosen on opposite sides."""
    return [f"'{d}' is computed from '{s}': with one on each side the curve plots a label against a threshold of "
            "itself, so it shows how well they agree, not a trade-off." for d, s in derived.items()
            if (d in efficiency and s in relevance) or (d in relevance and s in efficiency)]
