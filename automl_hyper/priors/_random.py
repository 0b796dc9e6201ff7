"""Generator-driven random helpers (torch.distributions cannot take a torch.Generator)."""

from __future__ import annotations

import math

import torch


def uniform(shape, low, high, gen: torch.Generator, device) -> torch.Tensor:
    return low + (high - low) * torch.rand(shape, generator=gen, device=device)


def log_uniform(shape, low: float, high: float, gen: torch.Generator, device) -> torch.Tensor:
    return torch.exp(uniform(shape, math.log(low), math.log(high), gen, device))


def bernoulli(shape, p, gen: torch.Generator, device) -> torch.Tensor:
    return torch.rand(shape, generator=gen, device=device) < p


def randint(shape, low: int, high_inclusive, gen: torch.Generator, device) -> torch.Tensor:
    """Integers in [low, high_inclusive]; ``high_inclusive`` may be a tensor (per-row upper bound)."""
    u = torch.rand(shape, generator=gen, device=device)
    span = torch.as_tensor(high_inclusive, device=device) - low + 1
    return (low + torch.floor(u * span)).long()


def random_permutations(n_rows: int, size: int, gen: torch.Generator, device) -> torch.Tensor:
    """``n_rows`` independent permutations of ``range(size)``."""
    return torch.argsort(torch.rand(n_rows, size, generator=gen, device=device), dim=1)


def standardize(x: torch.Tensor, n_train: int, dim: int = 1) -> torch.Tensor:
    """Z-score along ``dim`` with statistics from the first ``n_train`` entries (training rows)."""
    ref = x.narrow(dim, 0, n_train)
    var, mean = torch.var_mean(ref, dim, keepdim=True, correction=0)
    return (x - mean) / (var.sqrt() + 1e-6)
