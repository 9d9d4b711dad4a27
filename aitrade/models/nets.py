"""torch networks: an MLP (default), a GRU over a window of bars, and a shared net with an asset embedding."""

from __future__ import annotations

import torch
from torch import nn

N_CLASSES = 3


class MLP(nn.Module):
    """Feature vector -> 3 logits (flat, long, short): a linear path plus a nonlinear one.

    The linear path makes the MLP nest a multinomial logistic regression: where
    the hidden layers find nothing more (small windows, weak signals), weight
    decay shrinks them and the net is no worse than the linear baseline.
    """

    def __init__(self, n_features: int, hidden: tuple[int, ...] = (64, 32), dropout: float = 0.1) -> None:
        super().__init__()
        self.linear = nn.Linear(n_features, N_CLASSES)
        layers: list[nn.Module] = []
        width = n_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.GELU(), nn.Dropout(dropout)]
            width = h
        head = nn.Linear(width, N_CLASSES)
        nn.init.zeros_(head.weight)  # the nonlinear path starts silent: it must earn its place in training
        nn.init.zeros_(head.bias)
        layers.append(head)
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, asset: torch.Tensor | None = None) -> torch.Tensor:
        return self.linear(x) + self.net(x)


class GRUNet(nn.Module):
    """A window of ``seq_len`` feature vectors -> 3 logits: a linear path on the last bar plus the GRU's state.

    Like :class:`MLP`, it nests the linear model (on the newest bar) and the
    recurrent path starts silent, so it must earn its place.
    """

    def __init__(self, n_features: int, hidden: tuple[int, ...] = (64, 32), dropout: float = 0.1) -> None:
        super().__init__()
        self.linear = nn.Linear(n_features, N_CLASSES)
        self.gru = nn.GRU(n_features, hidden[0], batch_first=True)
        last = nn.Linear(hidden[0], N_CLASSES)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.head = nn.Sequential(nn.Dropout(dropout), last)

    def forward(self, x: torch.Tensor, asset: torch.Tensor | None = None) -> torch.Tensor:
        out, _ = self.gru(x)
        return self.linear(x[:, -1, :]) + self.head(out[:, -1, :])


class UniversalNet(nn.Module):
    """One net for many assets: features plus a learned asset embedding."""

    def __init__(
        self,
        n_features: int,
        n_assets: int,
        hidden: tuple[int, ...] = (64, 32),
        dropout: float = 0.1,
        embed_dim: int = 4,
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(n_assets, embed_dim)
        self.body = MLP(n_features + embed_dim, hidden, dropout)

    def forward(self, x: torch.Tensor, asset: torch.Tensor | None = None) -> torch.Tensor:
        assert asset is not None, "UniversalNet needs asset ids"
        return self.body(torch.cat([x, self.embed(asset)], dim=1))


def build_net(
    kind: str,
    n_features: int,
    *,
    n_assets: int = 1,
    hidden: tuple[int, ...] = (64, 32),
    dropout: float = 0.1,
    embed_dim: int = 4,
) -> nn.Module:
    """The network of a model kind: ``mlp``, ``gru`` or ``universal``."""
    if kind == "mlp":
        return MLP(n_features, hidden, dropout)
    if kind == "gru":
        return GRUNet(n_features, hidden, dropout)
    if kind == "universal":
        return UniversalNet(n_features, n_assets, hidden, dropout, embed_dim)
    raise ValueError(f"unknown model kind {kind!r}; allowed: mlp, gru, universal")
