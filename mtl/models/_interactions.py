"""Feature-interaction blocks and numeric-feature embeddings for the input layer.

An MLP over concatenated embeddings learns a product of two embeddings (the user's
taste times the item's position, the core of collaborative filtering) poorly (Rendle
et al., "Neural Collaborative Filtering vs. Matrix Factorization Revisited", RecSys
2020). These blocks hand the network such products explicitly. They sit inside
:class:`mtl.models.layers.InputLayer`, below everything an architecture shares, so
every architecture gets them through :attr:`ModelConfig.interaction` and
:attr:`ModelConfig.num_embedding` without code of its own, and the shared
representation an architecture exposes still forms a cut of the graph.

* ``fm``: factorization-machine interactions (Rendle, ICDM 2010): the dot product of
  every pair of field embeddings (user x item included), each kept as its own input
  feature as in DLRM (Naumov et al., 2019), plus their sum, the FM second-order term.
* ``dcn``: the DCN-v2 cross network (Wang et al., WWW 2021), stacked before the
  network: ``x_{l+1} = x_0 * (W_l x_l + b_l) + x_l``, explicit bounded-degree crosses
  of every input value.
* ``periodic`` numeric embeddings (Gorishniy et al., "On Embeddings for Numerical
  Features in Tabular Deep Learning", NeurIPS 2022, PLR): each numeric column becomes
  ``ReLU(Linear([sin(2 pi c x), cos(2 pi c x)]))`` with trainable frequencies ``c``,
  an ``emb_dim`` vector like a categorical column's (so it joins the FM pairs too).

Registries: a block is a class with a ``name`` and a one-line ``description``; the
app and CLI list them from :func:`available_interactions` and
:func:`available_num_embeddings`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from ..errors import ConfigError

#: Bounds that keep a block's size reasonable on wide data: FM's input grows with the
#: square of the fields, a full-rank cross layer with the square of the input width.
MAX_FM_FIELDS = 100
MAX_CROSS_WIDTH = 4096


class Interaction(nn.Module):
    """Reads the input representation ``x`` ``[B, d]`` and the field embeddings
    ``[B, F, k]``; returns the new representation, ``extra_dim`` values wider."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def __init__(self, in_dim: int, n_fields: int, config):
        super().__init__()
        self.extra_dim = 0


class FMInteraction(Interaction):
    name = "fm"
    description = ("Factorization machine: the dot product of every pair of embeddings (user x item included) "
                   "and their sum are added to the network's input.")

    def __init__(self, in_dim: int, n_fields: int, config):
        super().__init__(in_dim, n_fields, config)
        if n_fields > MAX_FM_FIELDS:
            raise ConfigError(f"The fm interaction pairs every two of the model's {n_fields:,} input fields, over "
                              f"{MAX_FM_FIELDS}; use dcn or none on data this wide, or leave columns out")
        rows, cols = torch.triu_indices(n_fields, n_fields, offset=1)
        self.register_buffer("pair_index", rows * n_fields + cols, persistent=False)
        self.extra_dim = 1 + len(rows)

    @staticmethod
    def fm_term(fields: torch.Tensor) -> torch.Tensor:
        """``sum_{i<j} <v_i, v_j>`` per row in O(F k): ``((sum v)^2 - sum v^2) / 2``."""
        total = fields.sum(dim=1)
        return 0.5 * (total.pow(2) - fields.pow(2).sum(dim=1)).sum(dim=1, keepdim=True)

    def pairwise(self, fields: torch.Tensor) -> torch.Tensor:
        """``<v_i, v_j>`` for every ``i < j``, ``[B, F (F - 1) / 2]``."""
        gram = torch.bmm(fields, fields.transpose(1, 2)).flatten(1)
        return gram.index_select(1, self.pair_index)

    def forward(self, x: torch.Tensor, fields: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.fm_term(fields), self.pairwise(fields)], dim=1)


class CrossNetwork(Interaction):
    name = "dcn"
    description = ("DCN-v2 cross network: layers of explicit feature crosses x0 * (W x + b) + x "
                   "before the network.")

    def __init__(self, in_dim: int, n_fields: int, config):
        super().__init__(in_dim, n_fields, config)
        if in_dim > MAX_CROSS_WIDTH:
            raise ConfigError(f"The dcn cross network's input is {in_dim:,} values wide, over {MAX_CROSS_WIDTH:,} "
                              "(each layer is that width squared); use a smaller embedding size, fm or none")
        self.layers = nn.ModuleList(nn.Linear(in_dim, in_dim) for _ in range(config.cross_layers))
        for layer in self.layers:
            # Start each layer near the identity map (the cross term small), so the
            # network first sees its plain input and learns the crosses it needs.
            nn.init.normal_(layer.weight, std=0.01 / math.sqrt(in_dim))
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, fields: torch.Tensor) -> torch.Tensor:
        x0 = x
        for layer in self.layers:
            x = x0 * layer(x) + x
        return x


class PeriodicEmbedding(nn.Module):
    """One ``emb_dim`` vector per numeric column (PLR, Gorishniy et al. 2022)."""

    name: ClassVar[str] = "periodic"
    description: ClassVar[str] = ("Periodic embeddings: each numeric column becomes a learned vector from "
                                  "sines and cosines of it (Gorishniy et al. 2022), not one raw number.")
    #: Frequencies per column, and the spread they start from (inputs are
    #: standardized, so 0.1 starts smooth: under a period across +-3 sd).
    n_frequencies = 16
    sigma = 0.1

    def __init__(self, num_dim: int, emb_dim: int):
        super().__init__()
        self.frequencies = nn.Parameter(torch.randn(num_dim, self.n_frequencies) * self.sigma)
        bound = 1 / math.sqrt(2 * self.n_frequencies)
        self.weight = nn.Parameter(torch.empty(num_dim, 2 * self.n_frequencies, emb_dim).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(num_dim, emb_dim).uniform_(-bound, bound))

    def forward(self, x_num: torch.Tensor) -> torch.Tensor:
        """``[B, N]`` -> ``[B, N, emb_dim]``."""
        angle = 2 * math.pi * self.frequencies * x_num.unsqueeze(-1)  # [B, N, m]
        periodic = torch.cat([torch.sin(angle), torch.cos(angle)], dim=-1)  # [B, N, 2m]
        return torch.relu(torch.einsum("bnm,nmk->bnk", periodic, self.weight) + self.bias)


#: Name -> class; "none" is the plain input layer.
INTERACTIONS: dict[str, type[Interaction] | None] = {"none": None, "fm": FMInteraction, "dcn": CrossNetwork}
NUM_EMBEDDINGS: dict[str, type[PeriodicEmbedding] | None] = {"none": None, "periodic": PeriodicEmbedding}

_NONE_INTERACTION = "None: the network sees the concatenated embeddings and numbers only."
_NONE_NUMERIC = "None: each numeric column is one standardized input value."


def available_interactions() -> dict[str, str]:
    """Interaction blocks: name -> one-line description."""
    return {name: cls.description if cls else _NONE_INTERACTION for name, cls in INTERACTIONS.items()}


def available_num_embeddings() -> dict[str, str]:
    """Numeric-feature embeddings: name -> one-line description."""
    return {name: cls.description if cls else _NONE_NUMERIC for name, cls in NUM_EMBEDDINGS.items()}


class InputExtras(nn.Module):
    """What :class:`~mtl.models.layers.InputLayer` adds to its plain representation.

    ``groups``: ``(columns, size)`` of the layer's embedding groups, in the order their
    flattened embeddings open its output. Embeddings narrower than ``emb_dim``
    (``emb_sizing="cardinality"``) are zero-padded for the interactions: their dot
    products use the dimensions they have.
    """

    def __init__(self, groups: Sequence[tuple[int, int]], num_dim: int, emb_dim: int, config):
        super().__init__()
        self.groups, self.emb_dim = [tuple(g) for g in groups], emb_dim
        self.numeric = None
        numeric_cls = NUM_EMBEDDINGS[config.num_embedding]
        if numeric_cls is not None and num_dim:
            self.numeric = numeric_cls(num_dim, emb_dim)
        n_fields = sum(n for n, _ in self.groups) + (num_dim if self.numeric is not None else 0)
        base = sum(n * d for n, d in self.groups) + num_dim + (num_dim * emb_dim if self.numeric is not None else 0)
        interaction_cls = INTERACTIONS[config.interaction]
        # FM needs two fields to pair; with fewer there is nothing to interact.
        usable = interaction_cls is not None and (interaction_cls is not FMInteraction or n_fields >= 2)
        self.interaction = interaction_cls(base, n_fields, config) if usable else None
        self.extra_dim = base - sum(n * d for n, d in self.groups) - num_dim + (
            self.interaction.extra_dim if self.interaction is not None else 0)

    def fields(self, x: torch.Tensor, numeric: torch.Tensor | None) -> torch.Tensor:
        """Every field's embedding, ``[B, F, emb_dim]``."""
        out, at = [], 0
        for n, d in self.groups:
            e = x[:, at:at + n * d].view(len(x), n, d)
            out.append(e if d == self.emb_dim else nn.functional.pad(e, (0, self.emb_dim - d)))
            at += n * d
        if numeric is not None:
            out.append(numeric)
        return torch.cat(out, dim=1) if len(out) > 1 else out[0]

    def forward(self, x: torch.Tensor, x_num: torch.Tensor) -> torch.Tensor:
        numeric = None
        if self.numeric is not None:
            numeric = self.numeric(x_num)
            x = torch.cat([x, numeric.flatten(1)], dim=1)
        if self.interaction is None:
            return x
        fields = self.fields(x, numeric) if isinstance(self.interaction, FMInteraction) else None
        return self.interaction(x, fields)


def input_extras(groups: Sequence[tuple[int, int]], num_dim: int, emb_dim: int, config) -> InputExtras | None:
    """The extras ``config`` asks for, or None for the plain input layer."""
    if config is None or (config.interaction == "none" and config.num_embedding == "none"):
        return None
    extras = InputExtras(groups, num_dim, emb_dim, config)
    return extras if extras.numeric is not None or extras.interaction is not None else None
