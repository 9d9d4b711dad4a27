"""Several candidate nets trained as one: the capacity search at the cost of little more than one fit.

A capacity search trains each candidate of :data:`aitrade.models.train.CAPACITIES`
on the same rows. A net this small spends its time in torch's per-operation
overhead, not in arithmetic, so K nets trained one after the other cost K
times one. Here the K nets are one module whose parameters carry a leading
candidate axis: every layer is one batched matrix product, and one Adam step
updates them all. Adam works element by element, and each candidate's loss
and ridge depend only on its own parameters, so this is K independent trainings,
not a compromise between them. A candidate with fewer hidden units than the
widest has the rest masked to zero (they receive no gradient but the ridge's).

Used for the ``mlp`` and ``universal`` kinds (the GRU's search trains its
candidates one by one).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from aitrade.models.nets import N_CLASSES


def _uniform(shape: tuple[int, ...], fan_in: int, gen: torch.Generator) -> nn.Parameter:
    """torch's default ``nn.Linear`` initialisation (uniform within 1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in)
    return nn.Parameter((torch.rand(shape, generator=gen) * 2 - 1) * bound)


class StackedMLP(nn.Module):
    """K MLPs of :class:`aitrade.models.nets.MLP`'s form (a linear path plus one silent-at-start hidden layer)."""

    units: torch.Tensor  # (k, 1, width): 1 for a candidate's own hidden units
    keep: torch.Tensor  # (k, 1, 1): each candidate's dropout keep rate

    def __init__(
        self,
        n_features: int,
        hidden: list[int],
        dropout: list[float],
        gen: torch.Generator,
        *,
        n_assets: int = 0,
        embed_dim: int = 0,
    ) -> None:
        super().__init__()
        k, width = len(hidden), max(hidden)
        self.k = k
        self.embed = nn.Parameter(torch.randn((k, n_assets, embed_dim), generator=gen)) if n_assets else None
        n_in = n_features + (embed_dim if n_assets else 0)
        self.lin_w, self.lin_b = _uniform((k, n_in, N_CLASSES), n_in, gen), _uniform((k, 1, N_CLASSES), n_in, gen)
        self.w1, self.b1 = _uniform((k, n_in, width), n_in, gen), _uniform((k, 1, width), n_in, gen)
        self.w2 = nn.Parameter(torch.zeros((k, width, N_CLASSES)))
        self.b2 = nn.Parameter(torch.zeros((k, 1, N_CLASSES)))
        units = torch.arange(width)[None, :] < torch.tensor(hidden)[:, None]
        self.register_buffer("units", units.float()[:, None, :])  # (k, 1, width)
        self.register_buffer("keep", (1.0 - torch.tensor(dropout, dtype=torch.float32))[:, None, None])

    def forward(self, x: torch.Tensor, asset: torch.Tensor | None = None) -> torch.Tensor:
        """(n, features) -> (k, n, 3) logits, one set per candidate."""
        xk = x.expand(self.k, *x.shape)
        if self.embed is not None:
            assert asset is not None, "a universal stack needs asset ids"
            xk = torch.cat([xk, self.embed[:, asset]], dim=2)
        linear = torch.baddbmm(self.lin_b, xk, self.lin_w)
        h = nn.functional.gelu(torch.baddbmm(self.b1, xk, self.w1)) * self.units
        if self.training:
            keep = self.keep.expand_as(h)
            h = h * (torch.rand_like(h) < keep) / keep
        return linear + torch.baddbmm(self.b2, h, self.w2)

    def ridge(self, weight_decay: float, hidden_decay: torch.Tensor) -> torch.Tensor:
        """The candidates' ridge terms, summed: ``weight_decay`` on the linear paths, each its own on the hidden."""
        hidden = self.w1.pow(2).sum(dim=(1, 2)) + self.w2.pow(2).sum(dim=(1, 2))
        return weight_decay * self.lin_w.pow(2).sum() + (hidden_decay * hidden).sum()


def train_stacked(
    x: torch.Tensor,
    y: torch.Tensor,
    asset: torch.Tensor | None,
    *,
    hidden: list[int],
    dropout: list[float],
    hidden_decay: list[float],
    weight_decay: float,
    lr: float,
    epochs: int,
    gen: torch.Generator,
    n_assets: int = 0,
    embed_dim: int = 0,
    device: torch.device | None = None,
) -> StackedMLP:
    """K candidates trained full-batch on normalised inputs ``x`` (labels ``y``), as :func:`fit_model` trains one."""
    net = StackedMLP(x.shape[1], hidden, dropout, gen, n_assets=n_assets, embed_dim=embed_dim).to(x.device)
    decay = torch.tensor(hidden_decay, dtype=torch.float32, device=x.device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    targets = y.expand(net.k, -1).reshape(-1)
    for _ in range(epochs):
        net.train()
        opt.zero_grad()
        logits = net(x, asset)
        # each candidate's mean cross-entropy, summed over candidates: their gradients stay apart
        loss = nn.functional.cross_entropy(logits.reshape(-1, N_CLASSES), targets) * net.k
        (loss + net.ridge(weight_decay, decay)).backward()
        opt.step()
    net.eval()
    return net


@torch.no_grad()
def stacked_proba(net: StackedMLP, x: torch.Tensor, asset: torch.Tensor | None) -> np.ndarray:
    """(k, n, 3) probabilities of every candidate."""
    net.eval()
    return torch.softmax(net(x, asset), dim=2).double().cpu().numpy()
