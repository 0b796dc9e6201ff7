"""What turns raw prior outputs into realistic tables: labels, warping, categories, missing values."""

from __future__ import annotations

import torch

from automl_hyper.priors._random import (
    bernoulli,
    log_uniform,
    randint,
    uniform,
)
from automl_hyper.priors.config import PriorConfig


def sample_class_counts(cfg: PriorConfig, B: int, gen: torch.Generator, device) -> torch.Tensor:
    multi = randint((B,), 3, cfg.max_classes, gen, device)
    binary = bernoulli((B,), cfg.binary_fraction, gen, device)
    return torch.where(binary, torch.full_like(multi, 2), multi)


def target_to_classes(
    target: torch.Tensor, n_classes: torch.Tensor, max_classes: int, gen: torch.Generator
) -> torch.Tensor:
    """Cut a continuous target (B, N) into classes at random quantiles, then shuffle class ids.

    Class proportions are softmax(sigma * noise) with a random sigma per task, from near-balanced
    to strongly imbalanced (minority classes of a few percent).
    """
    B, N = target.shape
    device = target.device
    C = max_classes
    cls = torch.arange(C, device=device)[None, :]
    sigma = log_uniform((B, 1), 0.05, 2.0, gen, device)
    logits = sigma * torch.randn(B, C, generator=gen, device=device)
    props = torch.softmax(logits.masked_fill(cls >= n_classes[:, None], -torch.inf), dim=1)
    props = props.clamp(min=2.0 / N) * (cls < n_classes[:, None])
    props = props / props.sum(1, keepdim=True)
    cum = torch.cumsum(props, dim=1)[:, :-1]  # (B, C-1) boundaries
    idx = (cum * N).long().clamp(0, N - 1)
    thresholds = torch.sort(target, dim=1)[0].gather(1, idx)
    thresholds = thresholds.masked_fill(cls[:, :-1] >= n_classes[:, None] - 1, torch.inf)
    y = (target[:, :, None] > thresholds[:, None, :]).sum(-1)
    # Random relabelling so that class 0 is not always the lowest target values.
    # Indices of the real classes sort first, in random order: a permutation of 0..C_b-1.
    noise = torch.rand(B, C, generator=gen, device=device)
    perm = torch.argsort(noise + 2.0 * (cls >= n_classes[:, None]), dim=1)
    return perm.gather(1, y)


def warp_features(X: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Per-feature monotone warps (power, exponential skew, squashing) of standardized inputs."""
    B, N, F = X.shape
    device = X.device
    kind = randint((B, 1, F), 0, 3, gen, device)
    power = log_uniform((B, 1, F), 0.4, 2.5, gen, device)
    skew = uniform((B, 1, F), 0.3, 1.5, gen, device)
    warped = torch.where(kind == 1, torch.sign(X) * X.abs() ** power, X)
    warped = torch.where(kind == 2, torch.exp(skew * X.clamp(max=8.0)), warped)
    warped = torch.where(kind == 3, torch.tanh(skew * X), warped)
    return warped


def discretize_some(X: torch.Tensor, gen: torch.Generator, probability: float) -> torch.Tensor:
    """Turn a random subset of columns into categorical codes (shuffled, so not ordinal)."""
    B, N, F = X.shape
    device = X.device
    share = uniform((B, 1), 0.0, 0.6, gen, device) * bernoulli((B, 1), probability, gen, device)
    is_cat = bernoulli((B, F), share, gen, device)
    n_levels = randint((B, F), 2, 8, gen, device)
    k = n_levels[:, None, :].float()
    codes = torch.floor(torch.sigmoid(1.7 * X) * k).clamp(max=k - 1).long()
    K = 8
    noise = torch.rand(B, F, K, generator=gen, device=device)
    beyond = torch.arange(K, device=device) >= n_levels[..., None]
    perm = torch.argsort(noise + 2.0 * beyond, dim=2)  # a permutation of 0..n_levels-1 first
    shuffled = perm[:, None, :, :].expand(B, N, F, K).gather(3, codes[..., None])[..., 0]
    return torch.where(is_cat[:, None, :], shuffled.float(), X)


def missing_mask(shape, gen: torch.Generator, probability: float, device) -> torch.Tensor:
    B = shape[0]
    rate = uniform((B, 1, 1), 0.0, 0.3, gen, device) * bernoulli(
        (B, 1, 1), probability, gen, device
    )
    return torch.rand(shape, generator=gen, device=device) < rate
