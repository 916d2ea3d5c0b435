"""Top-K recommendations from a trained multi-task model.

Scoring a user's candidates gives one prediction per task per item (click
probability, like probability, expected watch time ...). A *fusion* turns them into
one ranking score, the sum of each task's *contribution*:

    score(item) = sum_t  w_t * z_t(item),   z_t = (p_t - mean_t) / max(std_t, floor_t)

where ``p_t`` is the task's prediction and the mean and standard deviation are taken
over this user's candidates, so tasks on different scales (a 2% like rate, a 40%
click rate, seconds of watch time) contribute in proportion to their weights.

The floor keeps noise from deciding the ranking. A plain z-score stretches any
spread to one unit, so a task the model cannot tell apart between items (a 0.1%
follow rate predicted as 0.0003 +- 0.00001 for every item) would weigh as much as a
task with real signal. ``floor_t = MIN_SIGNAL x`` the outcome's own standard
deviation (``sqrt(m (1 - m))`` for a 0/1 task whose mean prediction is ``m``; the
training label's standard deviation for a regression task): predictions that spread
over less than a tenth of the outcome's scale (they explain under 1% of its variance
among these items) count in proportion to that spread instead of fully. The
contributions ``w_t * z_t`` are returned with the ranking, so every score can be
explained task by task, and :func:`fusion_signal` says which tasks were damped.

Fusion weights are chosen at ranking time, independently of the training weights:
re-ranking with new weights needs no retraining (score once, fuse many times).
Negative weights push an outcome down (e.g. a "hate" task). Multiclass tasks are
not fused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .data.encode import canonical
from .errors import ConfigError, DataError
from .train.model_io import TrainedModel

#: A task's predictions count fully once their spread over a user's candidates reaches
#: this fraction of the outcome's own standard deviation (see the module docstring).
MIN_SIGNAL = 0.1

#: Per task: the outcome's standard deviation, or ``None`` for a probability (then
#: ``sqrt(m (1 - m))`` of the mean prediction ``m``).
Scales = Mapping[str, "float | None"]


def parse_fusion(text: str) -> dict[str, float]:
    """Parse ``"like=0.7,click=0.3"`` into a dict (CLI syntax)."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep:
            raise ConfigError(f"Fusion weight '{part}' must look like task=weight, e.g. like=0.7")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"Fusion weight for '{name.strip()}' is not a number: '{value}'") from None
    return out


def check_fusion(trained: TrainedModel, fusion: Mapping[str, float] | None) -> dict[str, float]:
    """Validate fusion weights; ``None`` means equal weights on every fusable task."""
    fusable = [t.name for t in trained.tasks if t.kind != "multiclass"]
    if not fusion:
        return {t: 1.0 for t in fusable}
    for name, w in fusion.items():
        if name not in trained.task_names:
            raise ConfigError(f"Fusion names '{name}', which this model does not predict; tasks: {', '.join(trained.task_names)}")
        if name not in fusable:
            raise ConfigError(f"Task '{name}' is multiclass and cannot be fused into a ranking score")
        if not np.isfinite(w):
            raise ConfigError(f"Fusion weight for '{name}' must be a finite number")
    if all(w == 0 for w in fusion.values()):
        raise ConfigError("At least one fusion weight must be non-zero")
    return dict(fusion)


def users(trained: TrainedModel) -> list[str]:
    """Known user ids (as strings), most active first."""
    if trained.interactions is None or trained.schema.user is None:
        return []
    counts = canonical(trained.interactions[trained.schema.user]).value_counts()
    return counts.index.tolist()


def _user_key(trained: TrainedModel, user) -> str:
    if trained.users is None or trained.schema.user is None:
        raise DataError("This model's data has no user id column, so it cannot recommend per user")
    key = str(user).strip()
    if key.endswith(".0") and key[:-2].lstrip("-").isdigit():
        key = key[:-2]
    ids = canonical(trained.users[trained.schema.user])
    if not (ids == key).any():
        sample = ", ".join(ids.iloc[:3].tolist())
        raise DataError(f"User '{user}' is not in this model's data ({len(ids):,} users, e.g. {sample})")
    return key


def history(trained: TrainedModel, user) -> pd.DataFrame:
    """The user's interactions with their labels (newest first), joined with item
    metadata such as titles when the data has them."""
    key = _user_key(trained, user)
    s, inter = trained.schema, trained.interactions
    rows = inter[canonical(inter[s.user]) == key]
    if s.time:
        rows = rows.sort_values(s.time, ascending=False)
    if trained.items is not None and s.item:
        meta_cols = [c for c in trained.items.columns if c in s.text or c in s.categorical]
        meta = trained.items[[s.item] + [c for c in meta_cols if c != s.item and c not in rows.columns]]
        rows = rows.merge(meta, on=s.item, how="left")
    return rows.reset_index(drop=True)


def score_candidates(trained: TrainedModel, user, candidates=None) -> pd.DataFrame:
    """Per-task predictions for every candidate item for ``user``.

    Candidates default to every item in the model's catalogue. Item features come
    from the catalogue, the user's features from their latest row, and
    impression-level (context) features take their most typical training value.
    The result has the item id, ``seen`` (the user interacted with it), item
    metadata, and one column per task.
    """
    key = _user_key(trained, user)
    s, enc = trained.schema, trained.encoder
    if trained.items is None or s.item is None:
        raise DataError("This model's data has no item id column, so it cannot recommend items")
    items = trained.items
    if candidates is not None:
        wanted = pd.Index([str(c) for c in candidates])
        items = items[canonical(items[s.item]).isin(wanted)]
        if items.empty:
            raise DataError("None of the candidate items is in this model's catalogue")
    user_row = trained.users[canonical(trained.users[s.user]) == key].iloc[0]
    frame = items.copy()
    for col in trained.users.columns:
        if col not in frame.columns:
            frame[col] = user_row[col]
    for col, value in enc.context_defaults.items():
        if col not in frame.columns:
            frame[col] = value
    for col in enc.categorical + enc.numeric:
        if col not in frame.columns:  # a feature of unknown level: treat as missing
            frame[col] = np.nan
    preds = trained.predict(frame)
    out = items.reset_index(drop=True).copy()
    seen = set(canonical(trained.interactions.loc[canonical(trained.interactions[s.user]) == key, s.item]))
    out.insert(1, "seen", canonical(out[s.item]).isin(seen).to_numpy())
    for t in trained.task_names:
        out[t] = preds[t].to_numpy()
    return out


def outcome_scales(trained: TrainedModel) -> dict[str, float | None]:
    """Each fusable task's outcome scale for :func:`fuse`: ``None`` for 0/1 tasks
    (derived from the predicted rate), the training label's standard deviation for
    regression tasks."""
    return {t.name: (float(t.std) if t.kind == "regression" else None) for t in trained.tasks if t.kind != "multiclass"}


def _floor(p: np.ndarray, scale: float | None) -> float:
    if scale is None:
        if len(p) == 0 or p.min() < 0 or p.max() > 1:
            return 0.0  # not a probability and no scale given: a plain z-score
        m = float(p.mean())
        scale = math.sqrt(m * (1 - m))
    return MIN_SIGNAL * abs(float(scale))


def contributions(scores: pd.DataFrame, fusion: Mapping[str, float], scales: Scales | None = None) -> pd.DataFrame:
    """Each task's share of the fused score, ``w_t * z_t``, one column per task (their
    row sums are :func:`fuse`). ``scales`` as :func:`outcome_scales` gives them; a task
    missing there counts as a probability when its predictions lie in [0, 1]."""
    scales = scales or {}
    out = {}
    for task, w in fusion.items():
        p = scores[task].to_numpy(dtype=float)
        spread = max(float(p.std()), _floor(p, scales.get(task)))
        out[task] = w * ((p - p.mean()) / spread if spread > 0 else np.zeros_like(p))
    return pd.DataFrame(out, index=scores.index)


def fuse(scores: pd.DataFrame, fusion: Mapping[str, float], scales: Scales | None = None) -> np.ndarray:
    """Fused ranking score: the weighted sum of per-task z-scores over the candidates,
    each spread floored at a tenth of the outcome's scale (see the module docstring)."""
    parts = contributions(scores, fusion, scales)
    return parts.sum(axis=1).to_numpy() if len(parts.columns) else np.zeros(len(scores))


def fusion_signal(scores: pd.DataFrame, fusion: Mapping[str, float], scales: Scales | None = None) -> pd.DataFrame:
    """Per fused task: the spread of its predictions over the candidates, the floor,
    and ``strength`` (spread / max(spread, floor)): 1 counts fully, 0.01 means its
    z-score was damped a hundredfold because the model barely tells items apart."""
    scales = scales or {}
    rows = []
    for task, w in fusion.items():
        p = scores[task].to_numpy(dtype=float)
        sd, floor = float(p.std()), _floor(p, scales.get(task))
        rows.append({"task": task, "weight": float(w), "spread": sd, "floor": floor,
                     "strength": sd / max(sd, floor) if max(sd, floor) > 0 else 0.0})
    return pd.DataFrame(rows, columns=["task", "weight", "spread", "floor", "strength"])


def damped_notes(signal: pd.DataFrame, threshold: float = 0.5) -> list[str]:
    """Plain-words notes for tasks whose contribution was damped (strength below
    ``threshold``), for the page and the CLI."""
    notes = []
    for r in signal[(signal.strength < threshold) & (signal.weight != 0)].itertuples():
        notes.append(f"{r.task}: the predictions barely differ between these items (spread {r.spread:.2g}, under a "
                     f"tenth of the outcome's own scale), so it counts at {r.strength:.0%} of its weight; a plain "
                     "z-score would have let this noise reorder the list.")
    return notes


def top_k(scores: pd.DataFrame, fusion: Mapping[str, float], k: int = 10, exclude_seen: bool = True,
          scales: Scales | None = None) -> pd.DataFrame:
    """Rank scored candidates by fused score; ties broken by position (stable). The
    result has ``score`` and one ``<task> contribution`` column per fused task."""
    if k < 1:
        raise ConfigError("k must be at least 1")
    parts = contributions(scores, fusion, scales)
    ranked = scores.assign(score=parts.sum(axis=1).to_numpy() if len(parts.columns) else 0.0)
    for task in parts.columns:
        ranked[contribution_column(task)] = parts[task].to_numpy()
    if exclude_seen and "seen" in ranked:
        ranked = ranked[~ranked["seen"]]
    ranked = ranked.sort_values("score", ascending=False, kind="stable").head(k).reset_index(drop=True)
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
    return ranked


def contribution_column(task: str) -> str:
    return f"{task} contribution"


def recommend(trained: TrainedModel, user, k: int = 10, fusion: Mapping[str, float] | None = None,
              exclude_seen: bool = True, candidates=None) -> pd.DataFrame:
    """Top-``k`` items for ``user`` with each item's per-task predictions."""
    weights = check_fusion(trained, fusion)
    return top_k(score_candidates(trained, user, candidates), weights, k, exclude_seen, outcome_scales(trained))


def rank_changes(before: pd.DataFrame, after: pd.DataFrame, item_col: str) -> dict[str, pd.DataFrame]:
    """What changed between two top-K lists: items that ``entered``, ``left``, and
    ``moved`` (with both ranks)."""
    b = before.set_index(canonical(before[item_col]))
    a = after.set_index(canonical(after[item_col]))
    entered = after[~canonical(after[item_col]).isin(b.index)]
    left = before[~canonical(before[item_col]).isin(a.index)]
    common = a.index.intersection(b.index, sort=False)
    moved = pd.DataFrame({item_col: common, "rank_before": b.loc[common, "rank"].to_numpy(),
                          "rank_after": a.loc[common, "rank"].to_numpy()})
    moved = moved[moved.rank_before != moved.rank_after].reset_index(drop=True)
    return {"entered": entered.reset_index(drop=True), "left": left.reset_index(drop=True), "moved": moved}
