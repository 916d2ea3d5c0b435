"""Gradient playground: every weighting method on a two-objective toy problem.

The landscape is the two-task toy of Liu et al. (CAGrad, NeurIPS 2021), reused by
Navon et al. (Nash-MTL, ICML 2022): a parameter ``x = (x1, x2)`` in ``[-10, 10]^2``
and two losses that are log-shaped valleys for ``x2 > 0`` and quadratics for
``x2 < 0``. Its Pareto set is (up to the grid's resolution) the segment ``x2 ~ -8``,
``x1`` in ``[-7, 7]``; its front in the loss plane runs from about ``(-20, -0.4)``
to ``(-0.4, -20)``. The valleys have very different slopes for the two tasks, which
is what makes plain gradient descent on the summed loss creep or stall, and what
the conflict-aware methods are designed for.

Every method of :mod:`mtl.weighting` runs here through its ordinary
:meth:`~mtl.weighting.Weighting.backward`: the parameter ``x`` plays the shared
representation (``ModelOutput.features``), so a newly registered method appears
without any change to this module. Methods that read loss *values* (uncertainty,
DWA, GradNorm) assume positive losses, so they are given ``f + OFFSET`` (the same
gradients); the numbers reported are the toy's own losses. DWA's "epoch" is
:data:`DWA_EPOCH` steps.

Each step is one Adam step (as in the papers' toy experiments) with learning rate
``lr``. :func:`run_playground` returns the Pareto front, each method's trajectory in
both planes and whether it ended on the front; :func:`playground_figure` draws it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch

from .errors import ConfigError
from .models.base import ModelOutput
from .tasks import TaskSpec
from .weighting import available_weightings, build_weighting, weighting_status
from .weighting.cagrad import C as CAGRAD_C

#: Where the papers start their trajectories (Nash-MTL's toy.py).
START_POINTS: dict[str, tuple[float, float]] = {
    "upper left (-8.5, 7.5)": (-8.5, 7.5),
    "centre (0, 0)": (0.0, 0.0),
    "upper right (9, 9)": (9.0, 9.0),
    "left (-7.5, -0.5)": (-7.5, -0.5),
    "right (9, -1)": (9.0, -1.0),
}
BOUNDS = (-10.0, 10.0)
#: Added to both losses for the methods that read loss values (all are >= -20.2 + ...).
OFFSET = 25.0
DWA_EPOCH = 10
#: Adam with a short second-moment memory, so steps do not shrink for long after the
#: large gradients of the valleys: the front is reached in a few hundred steps
#: instead of the papers' 100,000 at lr 1e-3.
STEPS, LR, BETAS = 250, 0.1, (0.9, 0.99)
#: A final point closer than this (loss units, Euclidean in the loss plane) to the
#: Pareto front counts as on it; the front spans about 20 units on each axis.
ON_PARETO_TOL = 0.25
_LOWER = 5e-6


def toy_losses(x: torch.Tensor) -> torch.Tensor:
    """The two losses at ``x`` ([..., 2] -> [..., 2]), differentiable."""
    x1, x2 = x[..., 0], x[..., 1]
    f1 = torch.clamp((0.5 * (-x1 - 7) - torch.tanh(-x2)).abs(), _LOWER).log() + 6
    f2 = torch.clamp((0.5 * (-x1 + 3) + torch.tanh(-x2) + 2).abs(), _LOWER).log() + 6
    c1 = torch.clamp(torch.tanh(x2 * 0.5), 0)
    f1_sq = ((-x1 + 7).pow(2) + 0.1 * (-x2 - 8).pow(2)) / 10 - 20
    f2_sq = ((-x1 - 7).pow(2) + 0.1 * (-x2 - 8).pow(2)) / 10 - 20
    c2 = torch.clamp(torch.tanh(-x2 * 0.5), 0)
    return torch.stack([f1 * c1 + f1_sq * c2, f2 * c1 + f2_sq * c2], dim=-1)


@lru_cache(maxsize=1)
def pareto_set(resolution: int = 801) -> tuple[np.ndarray, np.ndarray]:
    """The Pareto set (x-plane, [n, 2]) and front (loss plane, [n, 2]) of the toy,
    by exhaustive search on a ``resolution`` x ``resolution`` grid of the domain:
    the non-dominated grid points, sorted by the first loss."""
    axis = torch.linspace(*BOUNDS, resolution, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing="xy"), dim=-1).reshape(-1, 2)
    losses = toy_losses(grid).numpy()
    order = np.lexsort((losses[:, 1], losses[:, 0]))
    best = np.minimum.accumulate(losses[order, 1])
    keep = np.r_[True, losses[order[1:], 1] < best[:-1]]
    idx = order[keep]
    return grid.numpy()[idx], losses[idx]


def distance_to_front(loss: Sequence[float]) -> float:
    """Euclidean distance in the loss plane from ``loss`` to the front (its polyline)."""
    front = pareto_set()[1]
    p = np.asarray(loss, dtype=float)
    a, b = front[:-1], front[1:]
    ab = b - a
    t = np.clip(((p - a) * ab).sum(1) / np.maximum((ab * ab).sum(1), 1e-18), 0, 1)
    nearest = a + t[:, None] * ab
    return float(np.sqrt(((nearest - p) ** 2).sum(1)).min())


def playground_methods() -> list[str]:
    """The registered weighting methods that can run here (installed), in registry order."""
    status = weighting_status()
    return [name for name in available_weightings() if status[name].available]


_TASKS = [TaskSpec("loss 1", "regression"), TaskSpec("loss 2", "regression")]


@dataclass
class Trajectory:
    method: str
    start: tuple[float, float]
    x: np.ndarray        # [steps + 1, 2], the parameter after every step
    loss: np.ndarray     # [steps + 1, 2], the toy's losses there
    seconds: float = 0.0

    @property
    def final_loss(self) -> list[float]:
        return [float(v) for v in self.loss[-1]]

    @property
    def distance(self) -> float:
        return distance_to_front(self.loss[-1])

    @property
    def on_pareto(self) -> bool:
        return self.distance <= ON_PARETO_TOL


def trajectory(method: str, start: Sequence[float], steps: int | None = None, lr: float = LR,
               preference: Mapping[str, float] | None = None) -> Trajectory:
    """Optimize the toy from ``start`` with weighting ``method`` for ``steps`` Adam steps
    (default :data:`STEPS`); ``preference`` maps ``"loss 1"``/``"loss 2"`` to weights."""
    start = _check_start(start)
    steps = STEPS if steps is None else int(steps)
    if steps < 1:
        raise ConfigError(f"steps must be at least 1, got {steps}")
    if has_fast_path(method):
        return _fast_trajectory(method, start, steps, lr, preference)
    return _generic_trajectory(method, start, steps, lr, preference)


def _generic_trajectory(method: str, start: tuple[float, float], steps: int, lr: float,
                        preference: Mapping[str, float] | None) -> Trajectory:
    """Any method, through its ordinary ``backward`` on the torch toy (one autograd pass per step)."""
    begin = time.perf_counter()
    torch.manual_seed(0)  # GradNorm/uncertainty parameters start the same way every time
    weighting = build_weighting(method, _TASKS, preference)
    x = torch.tensor(start, dtype=torch.float32, requires_grad=True)
    optimizer = torch.optim.Adam([x, *weighting.parameters()], lr=lr, betas=BETAS)
    xs = np.empty((steps + 1, 2))
    xs[0] = start
    window = []
    for step in range(steps):
        optimizer.zero_grad(set_to_none=True)
        z = x * 1.0  # a non-leaf copy: gradient methods hook the "shared representation"
        losses = toy_losses(z) + OFFSET
        weighting.backward(losses, ModelOutput(outputs=[], features=[z]))
        if x.grad is None:
            x.grad = torch.zeros_like(x)
        optimizer.step()
        with torch.no_grad():
            x.clamp_(*BOUNDS)
            if weighting.needs_step_losses:
                weighting.step_end(toy_losses(x) + OFFSET)
        xs[step + 1] = x.detach().numpy()
        window.append(losses.detach())
        if len(window) == DWA_EPOCH:
            weighting.epoch_end(torch.stack(window).mean(0))
            window = []
    with torch.no_grad():
        loss = toy_losses(torch.from_numpy(xs)).numpy()
    return Trajectory(method, (float(start[0]), float(start[1])), xs, loss, time.perf_counter() - begin)


# ---------------------------------------------------------------- the fast path
# The generic path above pays autograd and solver overhead on every step (about 10 ms),
# so one trajectory takes seconds. On this 2-D toy with two tasks everything has a
# closed form: the Jacobian below, and the two-task solutions of the methods in
# :data:`CLOSED_FORM`. ``tests/test_playground.py`` checks each closed form against the
# method's own ``task_weights`` on random Gramians and whole trajectories against the
# generic path, so the two cannot drift apart; methods without one (learned weights and
# loss-based methods) keep the generic path.


def toy_jacobian(x: Sequence[float]) -> tuple[tuple[float, float], tuple[float, float, float, float]]:
    """The toy's two losses at ``x`` and their Jacobian ``(d1/dx1, d1/dx2, d2/dx1, d2/dx2)``
    in closed form (the derivative of :func:`toy_losses`), on plain floats: a step costs
    microseconds, where numpy's per-call overhead on 2-vectors would dominate."""
    x1, x2 = float(x[0]), float(x[1])
    th = math.tanh(x2)
    sech2 = 1.0 - th * th
    a1, a2 = -0.5 * x1 - 3.5 + th, -0.5 * x1 + 3.5 - th
    f1, f2 = math.log(max(abs(a1), _LOWER)) + 6, math.log(max(abs(a2), _LOWER)) + 6
    # d log|a| = da / a, where the clamp is not active.
    d11, d12 = (-0.5 / a1, sech2 / a1) if abs(a1) > _LOWER else (0.0, 0.0)
    d21, d22 = (-0.5 / a2, -sech2 / a2) if abs(a2) > _LOWER else (0.0, 0.0)
    th_half = math.tanh(0.5 * x2)
    dth_half = 0.5 * (1.0 - th_half * th_half)
    # torch.clamp passes the gradient at the bound itself: at x2 = 0 both branches do.
    c1, dc1 = (th_half, dth_half) if th_half >= 0 else (0.0, 0.0)
    c2, dc2 = (-th_half, -dth_half) if th_half <= 0 else (0.0, 0.0)
    q, dq = 0.01 * (x2 + 8) ** 2, 0.02 * (x2 + 8)
    f1_sq, f2_sq = (7 - x1) ** 2 / 10 + q - 20, (x1 + 7) ** 2 / 10 + q - 20
    losses = (f1 * c1 + f1_sq * c2, f2 * c1 + f2_sq * c2)
    jac = (d11 * c1 + (x1 - 7) / 5 * c2, d12 * c1 + dq * c2 + f1 * dc1 + f1_sq * dc2,
           d21 * c1 + (x1 + 7) / 5 * c2, d22 * c1 + dq * c2 + f2 * dc1 + f2_sq * dc2)
    return losses, jac


# Two-task closed forms of ``JacobianWeighting.task_weights``: ``g = (G11, G12, G22)`` the
# unit-trace Gramian, ``p`` the preference (summing to 1), both tasks with a gradient.

def _mgda(g, p):
    # Minimum-norm point of the segment between the two preference-scaled gradients.
    s1, s2 = 2 * p[0], 2 * p[1]
    h11, h12, h22 = g[0] / (s1 * s1), g[1] / (s1 * s2), g[2] / (s2 * s2)
    denom = h11 + h22 - 2 * h12
    a = min(1.0, max(0.0, (h22 - h12) / denom)) if denom > 1e-18 else 0.5
    return a / s1, (1 - a) / s2


def _pcgrad(g, p):
    # Each gradient, when it conflicts with the other, loses its component along it; summed.
    s1, s2 = 2 * p[0], 2 * p[1]
    h11, h12, h22 = g[0] * s1 * s1, g[1] * s1 * s2, g[2] * s2 * s2
    w1, w2 = (1 - h12 / h11, 1 - h12 / h22) if h12 < 0 else (1.0, 1.0)
    return w1 * s1, w2 * s2


def _upgrad(g, p):
    # Each gradient projected onto the dual cone {v : g_t . v >= 0} (with two tasks: it loses
    # its conflicting component), the projections averaged with the preference.
    return p[0] + p[1] * max(0.0, -g[1] / g[0]), p[0] * max(0.0, -g[1] / g[2]) + p[1]


def _imtl_g(g, p):
    # pinv(G) @ (sqrt(diag G) * p); G is invertible unless the gradients are parallel.
    r1, r2 = math.sqrt(max(g[0], 0.0)) * p[0], math.sqrt(max(g[2], 0.0)) * p[1]
    det = g[0] * g[2] - g[1] * g[1]
    if det > 1e-12 * (g[0] + g[2]) ** 2:
        return (g[2] * r1 - g[1] * r2) / det, (g[0] * r2 - g[1] * r1) / det
    inv = np.linalg.pinv(np.array([[g[0], g[1]], [g[1], g[2]]]), hermitian=True) @ np.array([r1, r2])
    return float(inv[0]), float(inv[1])


def _cagrad(g, p, c=CAGRAD_C, eps=1e-4):
    # TorchJD's dual, min over the simplex of w.G0/2 + c |g0| |J^T w| (g0 the mean of the
    # preference-scaled gradients), is convex in one variable with two tasks:
    # w = (a, 1 - a), |J^T w|^2 = A a^2 + B a + C = A t^2 + D with t = a + B / 2A. Its
    # stationary point solves s A t / sqrt(A t^2 + D) = -(b1 - b2), a quadratic in t;
    # clipped to [0, 1] it is the constrained minimum (convexity).
    s1, s2 = 2 * p[0], 2 * p[1]
    if s1 <= 0 or s2 <= 0:  # a task the user switched off is left out: follow the other
        return (0.0, 1.0) if s1 <= 0 else (1.0, 0.0)
    h11, h12, h22 = g[0] * s1 * s1, g[1] * s1 * s2, g[2] * s2 * s2
    trace = h11 + h22
    if trace < eps:
        return 0.0, 0.0
    h11, h12, h22 = h11 / trace, h12 / trace, h22 / trace
    d = (h11 - h22) / 2  # (G 1/2)_1 - (G 1/2)_2
    s = c * math.sqrt(max(h11 + 2 * h12 + h22, 0.0)) / 2  # c |g0|
    quad_a, quad_b, quad_c = h11 - 2 * h12 + h22, 2 * (h12 - h22), h22
    r2 = (d / s) ** 2 if s > 0 else math.inf
    if quad_a <= 1e-15 or r2 >= quad_a:  # no interior stationary point: a vertex
        a = 0.0 if d > 0 else 1.0
    else:
        dist2 = max(quad_c - quad_b * quad_b / (4 * quad_a), 0.0)
        t = -math.copysign(math.sqrt(r2 * dist2 / (quad_a * (quad_a - r2))), d)
        a = min(1.0, max(0.0, t - quad_b / (2 * quad_a)))
    norm = math.sqrt(max(quad_a * a * a + quad_b * a + quad_c, 0.0))
    if norm < eps:  # on the Pareto front: TorchJD returns no update
        return 0.0, 0.0
    return (0.5 + s / norm * a) * s1, (0.5 + s / norm * (1 - a)) * s2


def _nash_mtl(g, p):
    # The bargaining solution a_t (G a)_t = 1 for both tasks gives a2 / a1 = sqrt(G11 / G22):
    # with two tasks Nash-MTL steps along the sum of the *unit* gradients (the bisector),
    # whatever the preference. TorchJD reaches it by a sequence of convex programs; in the
    # batches where its linearized program fails (strong conflict) it keeps the previous
    # weights instead, which the exact solution here does not imitate.
    return 1 / math.sqrt(g[0]), 1 / math.sqrt(g[2])


#: The methods with a two-task closed form (``tests/test_playground.py`` checks each
#: against the method's own ``task_weights``).
CLOSED_FORM = {"mgda": _mgda, "pcgrad": _pcgrad, "upgrad": _upgrad, "imtl_g": _imtl_g, "cagrad": _cagrad,
               "nash_mtl": _nash_mtl}


def has_fast_path(method: str) -> bool:
    """Whether :func:`trajectory` computes ``method`` in closed form (milliseconds)."""
    return method == "static" or method in CLOSED_FORM


def _combine(solve, jac, pref) -> tuple[float, float]:
    """``JacobianWeighting._weights`` for two tasks: the weights on the Jacobian's rows."""
    g11 = jac[0] * jac[0] + jac[1] * jac[1]
    g12 = jac[0] * jac[2] + jac[1] * jac[3]
    g22 = jac[2] * jac[2] + jac[3] * jac[3]
    trace = g11 + g22
    if not trace > 0:
        return 0.0, 0.0
    top = max(g11, g22)
    on1, on2 = g11 > 1e-12 * top, g22 > 1e-12 * top
    if not (on1 and on2):  # one task without a gradient: every method follows the other
        return (1.0, 0.0) if on1 and pref[0] > 0 else (0.0, 1.0) if on2 and pref[1] > 0 else (0.0, 0.0)
    total_p = pref[0] + pref[1]
    w1, w2 = solve((g11 / trace, g12 / trace, g22 / trace), (pref[0] / total_p, pref[1] / total_p))
    total = abs(w1) + abs(w2)
    if not (total > 0 and math.isfinite(total)):
        return 0.0, 0.0
    return w1 / total, w2 / total


def _fast_trajectory(method: str, start: tuple[float, float], steps: int, lr: float,
                     preference: Mapping[str, float] | None) -> Trajectory:
    begin = time.perf_counter()
    weighting = build_weighting(method, _TASKS, preference)
    pref = [float(v) for v in (weighting.preference if method == "static" else weighting.head_weights())]
    solve = CLOSED_FORM.get(method)
    b1, b2 = BETAS
    lo, hi = BOUNDS
    x1, x2 = start
    m1 = m2 = v1 = v2 = 0.0
    xs = [(x1, x2)]
    losses = []
    for step in range(1, steps + 1):
        loss, jac = toy_jacobian((x1, x2))
        losses.append(loss)
        w1, w2 = (pref[0], pref[1]) if solve is None else _combine(solve, jac, pref)
        gr1, gr2 = w1 * jac[0] + w2 * jac[2], w1 * jac[1] + w2 * jac[3]
        m1, m2 = b1 * m1 + (1 - b1) * gr1, b1 * m2 + (1 - b1) * gr2
        v1, v2 = b2 * v1 + (1 - b2) * gr1 * gr1, b2 * v2 + (1 - b2) * gr2 * gr2
        # torch.optim.Adam's update, step for step.
        size, root = lr / (1 - b1 ** step), math.sqrt(1 - b2 ** step)
        x1 = min(hi, max(lo, x1 - size * m1 / (math.sqrt(v1) / root + 1e-8)))
        x2 = min(hi, max(lo, x2 - size * m2 / (math.sqrt(v2) / root + 1e-8)))
        xs.append((x1, x2))
    losses.append(toy_jacobian((x1, x2))[0])
    return Trajectory(method, start, np.array(xs), np.array(losses), time.perf_counter() - begin)

def _check_start(start: Sequence[float]) -> tuple[float, float]:
    try:
        x1, x2 = (float(v) for v in start)
    except (TypeError, ValueError):
        raise ConfigError(f"a start point is two numbers x,y; got {start!r}") from None
    lo, hi = BOUNDS
    if not (lo <= x1 <= hi and lo <= x2 <= hi):
        raise ConfigError(f"start point ({x1:g}, {x2:g}) is outside the toy's domain [{lo:g}, {hi:g}] on each axis")
    return x1, x2


@dataclass
class PlaygroundResult:
    methods: list[str]
    starts: list[tuple[float, float]]
    steps: int
    trajectories: list[Trajectory] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict:
        """The CLI's ``playground --json`` document. With several start points the
        trajectory keys are ``"<method>@<x>,<y>"``; with one, the method name."""
        _, front = pareto_set()
        key = (lambda t: t.method) if len(self.starts) == 1 else (lambda t: f"{t.method}@{t.start[0]:g},{t.start[1]:g}")
        return {
            "pareto": np.round(front, 5).tolist(),
            "trajectories": {key(t): np.round(t.loss, 5).tolist() for t in self.trajectories},
            "final": {key(t): {"loss": [round(v, 5) for v in t.final_loss], "on_pareto": t.on_pareto,
                               "distance": round(t.distance, 5), "x": [round(float(v), 5) for v in t.x[-1]]}
                      for t in self.trajectories},
            "starts": [list(s) for s in self.starts],
            "steps": self.steps,
            "seconds": round(self.seconds, 4),
        }


def run_playground(methods: Sequence[str], starts: Sequence[Sequence[float]] | None = None, steps: int | None = None,
                   lr: float = LR) -> PlaygroundResult:
    """Every method from every start point. Unknown or uninstalled methods raise a
    :class:`ConfigError` naming them (and the install command) before anything runs."""
    methods = list(dict.fromkeys(methods))
    if not methods:
        raise ConfigError("choose at least one weighting method")
    status = weighting_status()
    for m in methods:
        if m not in status:
            raise ConfigError(f"unknown weighting method '{m}'; choose among: {', '.join(status)}")
        if not status[m].available:
            raise ConfigError(status[m].hint)
    starts = [_check_start(s) for s in (starts or [START_POINTS["centre (0, 0)"]])]
    steps = STEPS if steps is None else int(steps)
    begin = time.perf_counter()
    result = PlaygroundResult(methods, starts, steps)
    for s in starts:
        for m in methods:
            result.trajectories.append(trajectory(m, s, steps, lr))
    result.seconds = time.perf_counter() - begin
    return result


@lru_cache(maxsize=4)
def _landscape(resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """The grid axis and the mean loss on it: the same for every picture, so computed once."""
    axis = np.linspace(*BOUNDS, resolution)
    grid = np.stack(np.meshgrid(axis, axis, indexing="xy"), axis=-1)
    with torch.no_grad():
        return axis, toy_losses(torch.from_numpy(grid)).mean(-1).numpy()


def playground_figure(trajectories: Sequence[Trajectory], resolution: int = 121):
    """Two panels: the parameter plane (contours of the mean loss, the Pareto set,
    each trajectory) and the loss plane (the Pareto front, each trajectory)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from .plots import style

    pset, front = pareto_set()
    axis, mean = _landscape(resolution)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=("Parameter plane (contours: mean loss)", "Loss plane"))
    fig.add_trace(go.Contour(x=axis, y=axis, z=mean, colorscale=style.LANDSCAPE_SCALE, reversescale=True, showscale=False,
                             contours={"coloring": "heatmap"}, opacity=0.55, ncontours=25, hoverinfo="skip",
                             name="mean loss"), row=1, col=1)
    fig.add_trace(go.Scatter(x=pset[:, 0], y=pset[:, 1], mode="markers", marker={"size": 3, "color": style.INK},
                             name="Pareto set", legendgroup="pareto"), row=1, col=1)
    fig.add_trace(go.Scatter(x=front[:, 0], y=front[:, 1], mode="lines", line={"color": style.INK, "width": 3},
                             name="Pareto front", legendgroup="pareto"), row=1, col=2)
    methods = list(dict.fromkeys(t.method for t in trajectories))
    seen: set[str] = set()
    for t in trajectories:
        color = style.series_color(methods.index(t.method))
        show = t.method not in seen
        seen.add(t.method)
        label = f"{t.method} {'(on front)' if t.on_pareto else '(off front)'}" if len({x.start for x in trajectories}) == 1 else t.method
        common = {"mode": "lines", "line": {"color": color, "width": 2}, "legendgroup": t.method, "name": label}
        fig.add_trace(go.Scatter(x=t.x[:, 0], y=t.x[:, 1], showlegend=show, **common), row=1, col=1)
        fig.add_trace(go.Scatter(x=t.loss[:, 0], y=t.loss[:, 1], showlegend=False, **common), row=1, col=2)
        for col, pts in ((1, t.x), (2, t.loss)):
            fig.add_trace(go.Scatter(x=[pts[-1, 0]], y=[pts[-1, 1]], mode="markers", showlegend=False,
                                     legendgroup=t.method, marker={"color": color, "size": 9, "symbol": "x"},
                                     hovertext=f"{t.method}: end", hoverinfo="text"), row=1, col=col)
    for s in {t.start for t in trajectories}:
        fig.add_trace(go.Scatter(x=[s[0]], y=[s[1]], mode="markers", showlegend=False, hoverinfo="text",
                                 hovertext=f"start ({s[0]:g}, {s[1]:g})",
                                 marker={"color": style.OUTLINE, "size": 11, "line": {"color": style.INK, "width": 2}}),
                      row=1, col=1)
    fig.update_xaxes(title_text="x1", range=list(BOUNDS), row=1, col=1)
    fig.update_yaxes(title_text="x2", range=list(BOUNDS), row=1, col=1)
    fig.update_xaxes(title_text="loss 1", row=1, col=2)
    fig.update_yaxes(title_text="loss 2", row=1, col=2)
    fig.update_layout(**style.layout(height=470, panels=2))
    return fig


__all__ = [
    "BOUNDS", "ON_PARETO_TOL", "PlaygroundResult", "START_POINTS", "Trajectory", "distance_to_front",
    "pareto_set", "playground_figure", "playground_methods", "run_playground", "toy_losses", "trajectory",
]
