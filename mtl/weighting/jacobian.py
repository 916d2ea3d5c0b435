"""Per-task gradients on the shared representation, and their Gramian.

Gradient-based weighting methods and the training diagnostics both need the
gradient of every task's loss with respect to the shared representation
(``ModelOutput.features``) rather than with respect to the shared parameters:

* its size is ``batch x width`` whatever the size of the embedding tables, so the
  cost of a method does not grow with the number of users and items;
* it is what Sener & Koltun (NeurIPS 2018) call the *MGDA-UB* approximation: with
  ``z = f(theta)`` the representation, ``grad_theta L_t = J_f^T grad_z L_t``, so
  weights computed from the ``grad_z L_t`` and applied to the losses steer the shared
  parameters through one ordinary backward pass.

The features of every architecture form a *cut* of the computation graph: each
path from a shared parameter to a loss passes through exactly one of them, and no
feature is computed from another (``tests/test_weighting_gradient.py`` checks this
for every architecture). That is what makes back-propagating a combination of the
per-task feature gradients give the same combination of per-task parameter
gradients.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..models.base import ModelOutput


def shared_features(output: ModelOutput | Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """The differentiable shared representations of a forward pass (empty when the
    model shares nothing, as the single-task architecture)."""
    feats = output.features if isinstance(output, ModelOutput) else output
    return [f for f in feats if f.requires_grad]


def task_jacobian(losses: torch.Tensor, features: Sequence[torch.Tensor],
                  outputs: Sequence[torch.Tensor] = ()) -> torch.Tensor:
    """The Jacobian of the per-task ``losses`` ([T]) with respect to ``features``: one
    row per task, the task's gradient on every feature flattened and concatenated
    ([T, total size of the features]). The graph is kept for the backward pass that
    follows, and no ``.grad`` field is touched.

    With the model's ``outputs`` (the losses being computed from them, as the trainer
    does), each row takes two short passes: from the loss to the outputs, then from
    the outputs it actually depends on (non-zero gradient) down to the features, so
    through that task's own tower only. Without them, one pass per task from its
    loss: exact too, but ``losses`` is a stacked tensor, so that pass also pushes
    zeros through every other task's tower (1.4x slower for three tasks on the
    shared bottom).
    """
    features, outputs = list(features), list(outputs)
    rows = []
    for t in range(losses.shape[0]):
        loss = losses[t]
        if not loss.requires_grad:
            grads = [None] * len(features)
        elif outputs:
            per_output = torch.autograd.grad(loss, outputs, retain_graph=True, allow_unused=True)
            used = [(o, g) for o, g in zip(outputs, per_output) if g is not None and bool(g.any())]
            # The vector-Jacobian product from one scalar, sum(o * g), whose gradient on
            # each output is exactly g: passing g as grad_outputs makes torch import sympy
            # (torch.fx's symbolic shapes) on the first call, over a second of CPU in the
            # first training step of every process.
            grads = (torch.autograd.grad(torch.stack([(o * g).sum().float() for o, g in used]).sum(), features,
                                         retain_graph=True, allow_unused=True) if used else [None] * len(features))
        else:
            grads = torch.autograd.grad(loss, features, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([(g if g is not None else torch.zeros_like(f)).reshape(-1)
                               for g, f in zip(grads, features)]))
    return torch.stack(rows)


def split_like(vector: torch.Tensor, features: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Cut a flat vector (a combination of Jacobian rows) back into tensors shaped
    like ``features``."""
    sizes = [f.numel() for f in features]
    return [part.reshape(f.shape).to(f.dtype) for part, f in zip(vector.split(sizes), features)]


def gramian(jacobian: torch.Tensor) -> torch.Tensor:
    """``J J^T`` as a float64 CPU matrix ([T, T]): inner products of the task
    gradients, all that Gramian-based methods and the diagnostics read."""
    return (jacobian @ jacobian.T).double().cpu()


def cosine_matrix(gram: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-task gradient norms and pairwise cosine similarities from a Gramian.
    A task whose gradient is zero (no labelled row in the batch) has NaN cosines."""
    norms = gram.diagonal().clamp_min(0).sqrt()
    denom = norms[:, None] * norms[None, :]
    cos = torch.where(denom > 0, gram / denom.clamp_min(1e-300), torch.full_like(gram, float("nan")))
    return norms, cos.clamp(-1.0, 1.0)


def half_batch_product(jacobian: torch.Tensor, features: Sequence[torch.Tensor]) -> torch.Tensor:
    """``A = S1 S2^T`` ([T, T], float64 on the CPU) for methods that need task gradients
    from two *independent* mini-batches (SDMGrad, MoDo): the batch's rows are shuffled,
    so its first and second halves are two such mini-batches. ``S1``/``S2`` hold each
    task's gradient on a shift of every unit of the shared representation (the feature
    gradients summed over the half's rows): coordinates both halves share, which the
    per-row features are not. A feature of fewer than two rows gives both halves the
    whole batch (``A`` is then a Gramian). ``A`` is divided by ``sum_t |S1_t| |S2_t|``,
    the trace it has when the halves agree, so that it is on the unit-trace scale of
    :func:`gramian`, then symmetrized and projected onto the positive semi-definite
    matrices (negative eigenvalues set to 0)."""
    first, second = [], []
    for part, f in zip(jacobian.detach().split([f.numel() for f in features], dim=1), features):
        rows = f.shape[0] if f.dim() > 1 else 1
        per_row = part.reshape(len(jacobian), rows, -1).double()
        half = rows // 2
        if half == 0:
            first.append(per_row.sum(dim=1))
            second.append(per_row.sum(dim=1))
        else:
            first.append(per_row[:, :half].sum(dim=1))
            second.append(per_row[:, half:].sum(dim=1))
    s1, s2 = torch.cat(first, dim=1).cpu(), torch.cat(second, dim=1).cpu()
    scale = float((s1.norm(dim=1) * s2.norm(dim=1)).sum())
    if not scale > 0:
        return torch.zeros(len(jacobian), len(jacobian), dtype=torch.float64)
    # Unbiased for E[g] E[g]^T, which is a Gramian; the estimate need not be one (a task whose
    # halves disagree has a negative diagonal, and minimum-norm solvers then run to that task's
    # corner). Its symmetric part is as unbiased; the nearest positive semi-definite matrix to it
    # keeps the solvers' problem convex.
    sym = (s1 @ s2.T + s2 @ s1.T) / (2 * scale)
    values, vectors = torch.linalg.eigh(sym)
    return (vectors * values.clamp_min(0)) @ vectors.T
