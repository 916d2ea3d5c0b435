"""The contract every architecture follows.

A model maps a batch of encoded features to one raw output per task (see
:mod:`mtl.tasks`). It also exposes ``features``: the tensors computed by shared
parameters that the task-specific parts read. Gradient-based weighting methods take
task Jacobians with respect to these (their size stays bounded however large the
embedding tables grow); loss-based methods ignore them.

The features must form a *cut* of the computation graph: every path from a shared
parameter to a task's output passes through exactly one feature, and no feature is
computed from another. Then back-propagating any combination of the per-task
feature gradients gives the same combination of per-task gradients on the shared
parameters (``tests/test_weighting_gradient.py`` checks every architecture).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import ClassVar

import torch
from torch import nn

from ..tasks import TaskSpec


@dataclass
class ModelConfig:
    """Sizes of the network. Every architecture reads the fields it needs."""

    #: Embedding size (the largest one with ``emb_sizing="cardinality"``).
    emb_dim: int = 16
    #: ``"fixed"``: ``emb_dim`` for every categorical column; ``"cardinality"``: columns
    #: with few values get smaller embeddings, ids keep ``emb_dim`` (about 1.3x faster
    #: epochs on KuaiRand, but 0.002-0.005 lower like AUC there); ``"bag"``: columns with
    #: few values are summed into one ``emb_dim`` vector, ids keep their own (see
    #: :func:`mtl.models.layers.embedding_dims` and :class:`mtl.models.layers.InputLayer`).
    emb_sizing: str = "fixed"
    #: Hidden sizes of the shared bottom (shared_bottom) or of each expert (mmoe, ple).
    hidden: tuple[int, ...] = (128, 64)
    #: Hidden sizes of each task tower, before its output layer.
    tower: tuple[int, ...] = (32,)
    n_experts: int = 4            # mmoe: shared experts
    n_shared_experts: int = 2     # ple: shared experts per level
    n_task_experts: int = 1       # ple: experts owned by each task, per level
    n_levels: int = 1             # ple: extraction levels (CGC layers)
    #: MMoE and PLE: the width of one shared linear projection of the input that every
    #: expert and gate reads instead of the input itself (0: none). It factors their
    #: first layers through ``input_proj`` dimensions: each row's product with the wide
    #: input (512 values on KuaiRand) is paid once, not once per expert.
    input_proj: int = 0
    #: Preference-conditioned: the task-weight vector is an input, so one trained
    #: network serves every weighting (see ``TrainConfig`` and ``mtl.tradeoff``).
    conditioned: bool = False
    #: Dropout after hidden layers. Off by default: early stopping regularizes, and
    #: dropout's random masks cost about a quarter of a CPU training step.
    dropout: float = 0.0
    #: Feature interactions handed to the network (:mod:`mtl.models._interactions`):
    #: ``"none"``, ``"fm"`` (pairwise embedding dot products and their sum) or ``"dcn"``
    #: (a DCN-v2 cross network of ``cross_layers`` layers).
    interaction: str = "none"
    cross_layers: int = 2
    #: ``"none"`` (one standardized value per numeric column) or ``"periodic"``
    #: (an ``emb_dim`` vector per numeric column, Gorishniy et al. 2022).
    num_embedding: str = "none"

    #: Values of fields a description saved before the field existed implies (the
    #: network it was trained with), whatever the field's current default.
    LEGACY: ClassVar[dict] = {"interaction": "none", "cross_layers": 2, "num_embedding": "none", "input_proj": 0}

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hidden"], d["tower"] = list(self.hidden), list(self.tower)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        d = {**cls.LEGACY, **d}
        for key in ("hidden", "tower"):
            if key in d:
                d[key] = tuple(int(v) for v in d[key])
        return cls(**d)


@dataclass
class ModelOutput:
    outputs: list[torch.Tensor]
    #: Shared representations read by task-specific parameters, forming a cut of the
    #: graph (see the module docstring); empty if nothing is shared.
    features: list[torch.Tensor] = field(default_factory=list)


class MultiTaskModel(nn.Module):
    """Base class: subclasses set ``name``/``description`` and implement ``forward``."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: True when tasks share parameters (False for independent single-task networks).
    shares_parameters: ClassVar[bool] = True
    #: True when the network reads ``ModelConfig.input_proj`` (its experts and gates
    #: read one shared projection of the input).
    reads_input_proj: ClassVar[bool] = False

    def __init__(self, cardinalities: Sequence[int], num_dim: int, tasks: Sequence[TaskSpec], config: ModelConfig):
        super().__init__()
        self.cardinalities = list(cardinalities)
        self.num_dim = num_dim
        self.tasks = list(tasks)
        self.config = config
        if config.conditioned:
            # The weighting used when a caller gives none (set by the trainer to the
            # user's weights; saved with the model).
            self.register_buffer("default_pref", torch.full((len(self.tasks),), 1.0 / len(self.tasks)))

    @property
    def cond_dim(self) -> int:
        return len(self.tasks) if self.config.conditioned else 0

    def forward(self, x_cat: torch.Tensor, x_num: torch.Tensor, pref: torch.Tensor | None = None) -> ModelOutput:  # pragma: no cover
        """``pref`` (conditioned models only): task weights, [T] or [B, T]."""
        raise NotImplementedError

    def _pref(self, pref: torch.Tensor | None, batch: int) -> torch.Tensor | None:
        """The preference rows for a batch: None for unconditioned models."""
        if not self.config.conditioned:
            return None
        p = self.default_pref if pref is None else pref.to(self.default_pref)
        return p.expand(batch, -1) if p.dim() == 1 else p

    @staticmethod
    def _squeeze(out: torch.Tensor, spec: TaskSpec) -> torch.Tensor:
        return out.squeeze(-1) if spec.output_dim == 1 else out


    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
