"""The contract every task-weighting method follows.

A method receives the per-task losses of a batch and is responsible for filling the
parameters' ``.grad``. Loss-based methods (static, uncertainty, DWA) implement
:meth:`Weighting.loss`, a scalar combination of the losses; gradient-based methods
override :meth:`Weighting.backward` and work on the per-task gradients with respect
to the shared representation in ``output.features`` (see :mod:`.jacobian`): GradNorm
directly, the Jacobian-aggregation methods (UPGrad, MGDA, PCGrad, ...) through
:class:`JacobianWeighting`, which only has to turn the Gramian of those gradients
into task weights. Either way the trainer calls ``backward`` and never needs to know
which method runs.

The user's task weights (the app's sliders, see :mod:`.preference`) arrive as
``preference``, a tensor of shares summing to 1 in task order. Methods that learn
their own weights use the preference as a prior multiplier; gradient methods document
per method what the preference means. :meth:`applied_weights` reports the weights
actually applied, for the diagnostics charts.

Methods that need packages beyond the core install name them in ``requires`` and
the project extra that installs them in ``extra``; the registry then reports them
as unavailable, with the install command, instead of failing on import.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.util import find_spec
from typing import ClassVar

import torch
from torch import nn

from ..errors import ConfigError
from ..models.base import ModelOutput
from ..tasks import TaskSpec
from .jacobian import gramian, half_batch_product, shared_features, split_like, task_jacobian

#: The installed distribution's name, for install hints.
DISTRIBUTION = "mtl-tradeoff-explorer"


class Weighting(nn.Module):
    """Base class: set ``name``/``description``; implement ``loss`` or ``backward``."""

    name: ClassVar[str] = ""
    #: Display name (e.g. "Nash-MTL"); defaults to ``name``.
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: Whether the method uses the user's preference weights.
    uses_preference: ClassVar[bool] = True
    #: True for methods that balance task gradients on shared parameters: they need an
    #: architecture whose tasks share some (not the single-task one).
    needs_shared: ClassVar[bool] = False
    #: Importable top-level modules the method needs beyond the core dependencies.
    requires: ClassVar[tuple[str, ...]] = ()
    #: The optional-dependency group of this project that installs ``requires``.
    extra: ClassVar[str] = ""

    @classmethod
    def display_name(cls) -> str:
        return cls.title or cls.name

    @classmethod
    def missing_dependencies(cls) -> list[str]:
        """The modules in ``requires`` that cannot be imported here (without importing them)."""
        return [m for m in cls.requires if find_spec(m) is None]

    @classmethod
    def install_hint(cls) -> str:
        """The command that installs what the method needs (empty when it needs nothing)."""
        return f"pip install '{DISTRIBUTION}[{cls.extra}]'" if cls.extra else ""

    def __init__(self, tasks: Sequence[TaskSpec], preference: torch.Tensor):
        super().__init__()
        self.tasks = list(tasks)
        self.register_buffer("preference", preference.clone().float())
        self._last_weights = preference.clone().float()

    @property
    def n_tasks(self) -> int:
        return len(self.tasks)

    def loss(self, losses: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement loss() or backward()")

    def backward(self, losses: torch.Tensor, output: ModelOutput) -> None:
        """Accumulate gradients for one batch. ``losses`` has one entry per task,
        computed from ``output.outputs``."""
        self.loss(losses).backward()

    def applied_weights(self) -> torch.Tensor:
        """Task weights applied at the last step (for diagnostics)."""
        return self._last_weights

    def epoch_end(self, epoch_losses: torch.Tensor) -> None:
        """Called with the mean training loss per task after every epoch."""

    #: True for methods that learn from how the batch's losses changed across the
    #: optimizer step (FAMO): the trainer then calls :meth:`step_end`, which costs one
    #: more forward pass per batch, so the others do not ask for it.
    needs_step_losses: ClassVar[bool] = False

    def step_end(self, losses_after: torch.Tensor) -> None:
        """Called after the optimizer step, when :attr:`needs_step_losses`, with the
        same batch's per-task losses recomputed by the updated model (no graph)."""


class JacobianWeighting(Weighting):
    """Base of the methods that aggregate the task Jacobian on the shared representation.

    Each batch, :meth:`backward`

    1. computes every task's gradient on ``output.features`` (T short backward passes
       through the task-specific parts, see :func:`~.jacobian.task_jacobian`) and
       their Gramian ``G = J J^T``, scaled to unit trace (all methods here are
       invariant to that scale, and solvers with absolute tolerances stay in range);
    2. asks the method for one weight per task, :meth:`task_weights`, from the Gramian
       restricted to the tasks with a non-zero gradient in this batch (a task with no
       labelled row has nothing to say) and the preference on those tasks;
    3. back-propagates once: the shared parameters receive the weighted combination of
       task gradients, ``sum_t w_t grad L_t``, by replacing the gradient arriving at
       each feature with the same combination of the feature gradients (exact because
       the features form a cut of the graph); the task-specific parameters receive
       their own task's gradient scaled by :meth:`head_weights` (the preference): as
       in TorchJD's ``mtl_backward``, only the shared part is aggregated.

    The weights are scaled so that their absolute values sum to 1 (the direction is
    the method's; the step length is left to the optimizer, as Adam would rescale it
    anyway) and reported by :meth:`applied_weights`. The guarantees a method states
    (no conflict, equal projections, ...) hold for the gradients on the shared
    representation: the MGDA-UB approximation of Sener & Koltun (2018), whose cost
    does not grow with the embedding tables.
    """

    needs_shared = True

    def task_weights(self, gramian: torch.Tensor, preference: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        """Weights on the task gradients. ``gramian`` is [k, k] float64 on the CPU for
        the k tasks with a gradient in this batch; ``preference`` is theirs, rescaled
        to sum to 1 (it may hold zeros)."""
        raise NotImplementedError

    def observe_jacobian(self, jacobian: torch.Tensor, features: Sequence[torch.Tensor]) -> None:
        """Called with the full task Jacobian ([T, features]) before :meth:`task_weights`,
        for methods that need more than its Gramian (ExcessMTL); the others ignore it."""

    def head_weights(self) -> torch.Tensor:
        """Scale of each task's gradient on its own (task-specific) parameters: the
        preference, or equal weights for a method that ignores it."""
        if self.uses_preference:
            return self.preference
        return torch.full_like(self.preference, 1.0 / self.n_tasks)

    def backward(self, losses: torch.Tensor, output: ModelOutput) -> None:
        features = shared_features(output)
        if not features:
            raise ConfigError(f"{self.display_name()} balances gradients on a shared representation, "
                              "and this model shares none; choose an architecture that shares parameters")
        jac = task_jacobian(losses, features, output.outputs)
        direction = split_like(self.combine(jac, features), features)
        handles = [f.register_hook(lambda _grad, d=d: d) for f, d in zip(features, direction)]
        try:
            (self.head_weights().to(losses) * losses).sum().backward()
        finally:
            for handle in handles:
                handle.remove()

    def combine(self, jacobian: torch.Tensor, features: Sequence[torch.Tensor]) -> torch.Tensor:
        """The update of the shared representation, flat like a row of ``jacobian``: the
        weighted sum of the task gradients, with the weights of :meth:`task_weights`.
        A method whose update is no such sum (GradDrop masks coordinates) overrides it
        and sets what :meth:`applied_weights` reports."""
        self.observe_jacobian(jacobian, features)
        weights = self._weights(gramian(jacobian))
        self._last_weights = weights.float()
        return weights.to(jacobian) @ jacobian

    def _weights(self, gram: torch.Tensor) -> torch.Tensor:
        """Full-length weights (zero for the tasks left out), absolute values summing to 1."""
        diag = gram.diagonal()
        trace = float(diag.sum())
        weights = torch.zeros(self.n_tasks, dtype=torch.float64)
        if not trace > 0:  # no task has a gradient on the shared part: nothing to balance
            return weights
        active = diag > 1e-12 * float(diag.max())
        pref = self.head_weights().detach().double().cpu()[active]
        if not float(pref.sum()) > 0:
            return weights  # only tasks the user switched off have a gradient here
        sub = (gram / trace)[active][:, active]
        weights[active] = self.task_weights(sub, pref / pref.sum()).detach().double().cpu()
        total = float(weights.abs().sum())
        if not (total > 0 and bool(torch.isfinite(weights).all())):
            # Nothing to combine (e.g. CAGrad on the Pareto front) or a solver that
            # failed numerically: leave the shared parameters alone for this batch.
            return torch.zeros_like(weights)
        return weights / total


class HalfBatchWeighting(JacobianWeighting):
    """Base of the methods whose weights come from ``A = J1 J2^T``, the product of the
    task Jacobians of two independent mini-batches (SDMGrad, MoDo): here the two halves
    of the batch (:func:`~.jacobian.half_batch_product`); the update is the weighted sum
    of the whole batch's gradients. The method implements :meth:`weights_from`, given
    ``A`` restricted to the tasks with a gradient in this batch. Its solver keeps state
    from batch to batch (``self.solver``, a TorchJD stateful weighting); the state
    restarts when that set of tasks changes (a batch without labels for a task)."""

    def observe_jacobian(self, jacobian: torch.Tensor, features: Sequence[torch.Tensor]) -> None:
        self._cross = half_batch_product(jacobian, features)
        norms = jacobian.detach().double().pow(2).sum(dim=1).cpu()
        self._active = norms > 1e-12 * float(norms.max())

    def task_weights(self, gramian: torch.Tensor, preference: torch.Tensor) -> torch.Tensor:
        active = self._active
        key = tuple(active.tolist()) + tuple((preference > 0).tolist())
        if key != getattr(self, "_state_for", None):
            self.solver.reset()
            self.start(preference)
            self._state_for = key
        return self.weights_from(self._cross[active][:, active], preference)

    def start(self, preference: torch.Tensor) -> None:
        """Called when the solver's state restarts, with the active tasks' preference."""

    def weights_from(self, cross: torch.Tensor, preference: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError


def weights_on_scaled_gradients(solver, gramian: torch.Tensor, preference: torch.Tensor) -> torch.Tensor:
    """Task weights from ``solver`` (a TorchJD weighting of a Gramian) run on the task
    gradients scaled by the preference, ``p_t T g_t``, leaving out tasks the user turned
    off: how the preference steers a method that has no preference of its own. The
    weights returned apply to the unscaled gradients."""
    on = preference > 0
    scale = preference[on] * len(preference)
    weights = torch.zeros_like(preference)
    weights[on] = solver(gramian[on][:, on] * torch.outer(scale, scale)) * scale
    return weights
