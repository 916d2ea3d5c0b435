"""Pareto fronts and hypervolume for per-task quality (every objective maximized).

Each trained model is a point with one *objective* per task, oriented so that higher
is better: AUC for binary tasks, accuracy for multiclass, and minus RMSE for
regression. A point is Pareto-optimal when no other point is at least as good on
every task and better on one. The *hypervolume* is the volume of objective space
dominated by the front and bounded below by a reference point; we use a no-skill
model as the stated reference (AUC 0.5, the majority-class accuracy, and minus the
RMSE of predicting the mean), so it grows both when the front moves out and when it
widens.
"""

from __future__ import annotations

import numpy as np

from ..tasks import TaskSpec


def objective(spec: TaskSpec, metrics: dict[str, float]) -> float:
    """The higher-is-better number a task contributes to a front."""
    if spec.kind == "binary":
        return float(metrics.get("auc", np.nan))
    if spec.kind == "multiclass":
        return float(metrics.get("accuracy", np.nan))
    return -float(metrics.get("rmse", np.nan))


def objective_name(spec: TaskSpec) -> str:
    return {"binary": "AUC", "multiclass": "accuracy", "regression": "-RMSE"}[spec.kind]


def no_skill_reference(spec: TaskSpec, y_test: np.ndarray) -> float:
    """The objective of a model that knows nothing about the rows (the reference point)."""
    y = y_test[~np.isnan(y_test)]
    if spec.kind == "binary":
        return 0.5
    if spec.kind == "multiclass":
        return float(np.bincount(y.astype(int)).max() / len(y)) if len(y) else 0.0
    return -float(np.std(y * spec.std + spec.mean)) if len(y) else 0.0


def pareto_mask(points: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``points`` [N, D] (maximization).
    Exact duplicates are all kept. NaN rows are never on the front."""
    pts = np.asarray(points, dtype=float)
    n = len(pts)
    valid = ~np.isnan(pts).any(axis=1)
    mask = valid.copy()
    for i in np.flatnonzero(valid):
        others = pts[valid]
        dominated = np.any(np.all(others >= pts[i], axis=1) & np.any(others > pts[i], axis=1))
        mask[i] = not dominated
    return mask if n else np.zeros(0, bool)


def hypervolume(points: np.ndarray, reference: np.ndarray) -> float:
    """Exact hypervolume dominated by ``points`` above ``reference`` (maximization),
    by slicing along the last objective (fine for the tens of points of a sweep)."""
    pts = np.asarray(points, dtype=float)
    if pts.size == 0:
        return 0.0
    pts = pts[~np.isnan(pts).any(axis=1)]
    shifted = np.maximum(pts - np.asarray(reference, dtype=float), 0.0)
    shifted = shifted[np.all(shifted > 0, axis=1)]
    if len(shifted) == 0:
        return 0.0
    return float(_hv(shifted[pareto_mask(shifted)]))


def _hv(p: np.ndarray) -> float:
    if p.shape[1] == 1:
        return float(p.max())
    p = p[np.argsort(-p[:, -1], kind="stable")]
    total = 0.0
    for i in range(len(p)):
        lower = p[i + 1, -1] if i + 1 < len(p) else 0.0
        height = p[i, -1] - lower
        if height > 0:
            total += height * _hv(p[: i + 1, :-1])
    return total
