"""TabResNet hypernetwork that emits one linear model per row (Kadra et al., arXiv 2305.13072)."""

from __future__ import annotations

import torch
from torch import nn


class ResidualBlock(nn.Module):
    """BatchNorm -> Linear -> GELU -> Dropout -> Linear, added to the input."""

    def __init__(self, width: int, dropout: float):
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm1d(width),
            nn.Linear(width, width),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(width, width),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class TabResNet(nn.Module):
    """Input projection, residual blocks, a final norm and activation: the shared trunk."""

    def __init__(self, n_features: int, width: int, n_blocks: int, dropout: float):
        super().__init__()
        self.stem = nn.Linear(n_features, width)
        self.blocks = nn.Sequential(*[ResidualBlock(width, dropout) for _ in range(n_blocks)])
        self.out = nn.Sequential(nn.BatchNorm1d(width), nn.GELU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.blocks(self.stem(x)))


class MesomorphicNet(nn.Module):
    """A hypernetwork whose output is a linear model (weights and bias per output) for each row.

    ``forward`` returns ``(outputs, weights)``: ``weights`` has shape (n, n_outputs, n_features + 1),
    the last entry being the bias, and ``outputs[i, c] = weights[i, c, :F] @ x[i] + weights[i, c, F]``
    exactly, which is what makes the per-row attributions exact.
    With ``mesomorphic=False`` the same trunk gets an ordinary linear head (the overhead reference).

    ``trunk_features`` (None: the trunk reads ``x`` itself): the input then has ``n_features +
    trunk_features`` columns, the linear model reads the first ``n_features`` and the trunk the
    rest (an encoding of the row, e.g. its spline expansion), so the attributions stay over the
    original columns.
    """

    def __init__(
        self,
        n_features: int,
        n_outputs: int,
        width: int = 128,
        n_blocks: int = 2,
        dropout: float = 0.25,
        mesomorphic: bool = True,
        trunk_features: int | None = None,
    ):
        super().__init__()
        self.n_features = n_features
        self.n_outputs = n_outputs
        self.mesomorphic = mesomorphic
        self.trunk_features = trunk_features
        n_trunk = n_features if trunk_features is None else trunk_features
        self.trunk = TabResNet(n_trunk, width, n_blocks, dropout)
        n_head = n_outputs * (n_features + 1) if mesomorphic else n_outputs
        self.head = nn.Linear(width, n_head)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.trunk_features is not None:
            x, z = x[:, : self.n_features], x[:, self.n_features :]
            h = self.head(self.trunk(z))
        else:
            h = self.head(self.trunk(x))
        if not self.mesomorphic:
            return h, None
        weights = h.view(-1, self.n_outputs, self.n_features + 1)
        # bias + W x as one batched matmul: measured faster than einsum for these small shapes.
        outputs = torch.baddbmm(weights[..., -1:], weights[..., :-1], x.unsqueeze(-1))
        return outputs.squeeze(-1), weights
