"""Building blocks shared by every architecture: the input layer and MLPs."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


class InputLayer(nn.Module):
    """Embeds every categorical column and concatenates the numeric columns.

    All embedding tables live in one ``nn.Embedding`` with per-column offsets: one
    lookup per batch instead of one per column, noticeably faster on CPU. Code 0 of
    each column is its out-of-vocabulary / missing embedding.

    With ``cond_dim > 0`` the layer is *preference-conditioned*: the task-weight vector
    ``pref`` modulates the input features (FiLM, as in YOTO: ``x * (1 + gamma(pref)) +
    beta(pref)``) and is appended to them (as in COSMOS), so one network can represent
    the models trained for every weighting of the tasks.
    """

    def __init__(self, cardinalities: Sequence[int], num_dim: int, emb_dim: int, cond_dim: int = 0):
        super().__init__()
        self.cond_dim = cond_dim
        self.n_cat = len(cardinalities)
        self.num_dim = num_dim
        self.emb_dim = emb_dim
        offsets = torch.tensor([0, *list(cardinalities)[:-1]], dtype=torch.long).cumsum(0) if cardinalities else torch.zeros(0, dtype=torch.long)
        self.register_buffer("offsets", offsets, persistent=False)
        self.embedding = nn.Embedding(max(1, int(sum(cardinalities))), emb_dim)
        nn.init.normal_(self.embedding.weight, std=0.05)
        self.film = None
        if cond_dim:
            d = self.n_cat * emb_dim + num_dim
            self.film = nn.Sequential(nn.Linear(cond_dim, 64), nn.ReLU(), nn.Linear(64, 2 * d))
            nn.init.zeros_(self.film[-1].weight)  # start as the unconditioned layer
            nn.init.zeros_(self.film[-1].bias)

    @property
    def out_dim(self) -> int:
        return self.n_cat * self.emb_dim + self.num_dim + self.cond_dim

    def forward(self, x_cat: torch.Tensor, x_num: torch.Tensor, pref: torch.Tensor | None = None) -> torch.Tensor:
        parts = []
        if self.n_cat:
            parts.append(self.embedding(x_cat + self.offsets).flatten(1))
        if self.num_dim:
            parts.append(x_num)
        x = torch.cat(parts, dim=1)
        if self.film is None:
            return x
        # One weighting for the whole batch (an expanded vector, the usual case): run
        # the FiLM network once and broadcast, instead of once per row.
        shared_pref = pref.dim() == 2 and pref.stride(0) == 0
        gamma, beta = self.film(pref[:1] if shared_pref else pref).chunk(2, dim=-1)
        return torch.cat([x * (1 + gamma) + beta, pref], dim=1)


def mlp(in_dim: int, hidden: Sequence[int], dropout: float = 0.0, out_dim: int | None = None) -> nn.Sequential:
    """Linear -> ReLU -> Dropout blocks, with an optional final linear layer."""
    layers: list[nn.Module] = []
    d = in_dim
    for h in hidden:
        layers += [nn.Linear(d, h), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        d = h
    if out_dim is not None:
        layers.append(nn.Linear(d, out_dim))
    return nn.Sequential(*layers)


def mlp_out_dim(in_dim: int, hidden: Sequence[int]) -> int:
    return hidden[-1] if hidden else in_dim
