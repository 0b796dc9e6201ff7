"""Low-dimensional non-linear prior: few informative features, curved class boundaries.

One to four informative features and a few irrelevant ones (tables like haberman or phoneme). The
target is one of: the distance to a random centre under a random metric (circles, ellipses and,
cut into several classes, rings), a wavy boundary ``x0 - a sin(w x1 + p)``, a product of sines
(checkerboards), a random quadratic form (hyperbolas, parabolas), a max over signed features
(L-shaped boundaries) or a spiral. Informative columns sit at random positions among the used ones.
"""

from __future__ import annotations

import math

import torch

from automl_hyper.priors._random import bernoulli, log_uniform, randint, uniform

MAX_INFORMATIVE = 4
N_KINDS = 6


def sample_lowdim_tasks(
    cfg, B: int, N: int, n_train: int, n_features: torch.Tensor, gen: torch.Generator, device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Features (B, N, max_features), a target (B, N) and the tasks' feature counts (B,)."""
    F, D = cfg.max_features, MAX_INFORMATIVE
    k = randint((B, 1), 1, D, gen, device)  # informative features
    mask = (torch.arange(D, device=device) < k).float()  # (B, D)
    normal = torch.randn(B, N, F, generator=gen, device=device)
    unif = uniform((B, N, F), -1.7, 1.7, gen, device)
    X = torch.where(bernoulli((B, 1, 1), 0.5, gen, device), normal, unif)
    z = X[..., :D] * mask[:, None, :]  # informative part (B, N, D)

    scale = log_uniform((B, 1, D), 0.5, 2.0, gen, device)
    centre = uniform((B, 1, D), -1.0, 1.0, gen, device) * mask[:, None, :]
    radial = (((z - centre) * scale) ** 2 * mask[:, None, :]).sum(-1).sqrt()
    freq = log_uniform((B, 1, D), 0.5, 3.0, gen, device)
    phase = uniform((B, 1, D), 0.0, 2 * math.pi, gen, device)
    amp = uniform((B, 1), 0.3, 1.5, gen, device)
    second = torch.where(k > 1, z[..., 1], torch.zeros_like(z[..., 1]))
    wavy = torch.where(k > 1, z[..., 0], torch.zeros_like(z[..., 0])) - amp * torch.sin(
        freq[..., 0] * torch.where(k > 1, second, z[..., 0]) + phase[..., 0]
    )
    sines = torch.sin(freq * z + phase)
    checker = torch.where(mask[:, None, :] > 0, sines, torch.ones_like(sines)).prod(-1)
    Q = torch.randn(B, D, D, generator=gen, device=device)
    Q = (Q + Q.transpose(1, 2)) / 2
    lin = torch.randn(B, D, 1, generator=gen, device=device)
    quad = (torch.bmm(z, Q) * z).sum(-1) + torch.bmm(z, lin)[..., 0]
    signs = torch.where(bernoulli((B, 1, D), 0.5, gen, device), 1.0, -1.0)
    corner = (z * signs - centre).masked_fill(mask[:, None, :] == 0, -torch.inf).amax(-1)
    r2 = (z[..., :2] ** 2).sum(-1).sqrt()
    angle = torch.atan2(second, z[..., 0])
    spiral = torch.sin(angle + freq[..., 0] * 2 * r2 + phase[..., 0])

    kind = randint((B, 1), 0, N_KINDS - 1, gen, device)
    target = radial
    for i, t in enumerate((wavy, checker, quad, corner, spiral), start=1):
        target = torch.where(kind == i, t, target)
    spread = target.std(1, keepdim=True) + 1e-3
    noise = log_uniform((B, 1), 1e-3, 0.2, gen, device) * spread
    target = target + noise * torch.randn(B, N, generator=gen, device=device)

    # A few irrelevant columns besides the informative ones, then a random column order.
    extra = (log_uniform((B, 1), 1.0, 12.0, gen, device).floor().long() - 1).clamp(min=0)
    n_used = torch.minimum(k + extra, n_features[:, None].clamp(min=1)).clamp(min=k)
    n_used = n_used.clamp(max=F)[:, 0]
    used = torch.arange(F, device=device)[None, :] < n_used[:, None]
    order = torch.argsort(torch.rand(B, F, generator=gen, device=device) + 2.0 * ~used, dim=1)
    X = X.gather(2, order[:, None, :].expand(B, N, F))
    return X, target, n_used
