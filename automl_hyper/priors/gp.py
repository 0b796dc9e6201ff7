"""Gaussian-process prior, approximated with random Fourier features of an RBF kernel.

Smooth targets of the inputs with a random length scale per task and per feature; some features
get an infinite length scale (irrelevant to the target).
"""

from __future__ import annotations

import math

import torch

from automl_hyper.priors._random import bernoulli, log_uniform, uniform
from automl_hyper.priors.config import PriorConfig

N_FOURIER = 64


def sample_gp_tasks(
    cfg: PriorConfig, B: int, N: int, n_features: torch.Tensor, gen: torch.Generator, device
) -> tuple[torch.Tensor, torch.Tensor]:
    F = cfg.max_features
    normal = torch.randn(B, N, F, generator=gen, device=device)
    unif = uniform((B, N, F), -1.7, 1.7, gen, device)
    X = torch.where(bernoulli((B, 1, 1), 0.5, gen, device), normal, unif)
    used = torch.arange(F, device=device)[None, :] < n_features[:, None]
    relevant = bernoulli((B, F), uniform((B, 1), 0.3, 1.0, gen, device), gen, device) & used
    # Length scales grow with the number of relevant features so targets are not pure noise.
    n_rel = relevant.sum(1, keepdim=True).clamp(min=1)
    scale = log_uniform((B, 1), 0.3, 3.0, gen, device) * n_rel.sqrt()
    ls = scale * log_uniform((B, F), 0.5, 2.0, gen, device)
    W = torch.randn(B, F, N_FOURIER, generator=gen, device=device) * (relevant / ls)[:, :, None]
    phase = uniform((B, 1, N_FOURIER), 0, 2 * math.pi, gen, device)
    amp = torch.randn(B, N_FOURIER, 1, generator=gen, device=device)
    f = torch.bmm(torch.cos(torch.bmm(X, W) + phase), amp)[..., 0] * math.sqrt(2 / N_FOURIER)
    noise = log_uniform((B, 1), 1e-3, 0.3, gen, device)
    y = f + noise * torch.randn(B, N, generator=gen, device=device)
    return X, y
