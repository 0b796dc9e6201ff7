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
    target: torch.Tensor,
    n_classes: torch.Tensor,
    max_classes: int,
    gen: torch.Generator,
    max_imbalance: float = 2.0,
) -> torch.Tensor:
    """Cut a continuous target (B, N) into classes at random quantiles, then shuffle class ids.

    Class proportions are softmax(sigma * noise) with a random sigma per task, from near-balanced
    to strongly imbalanced (minority classes of a few percent).
    """
    B, N = target.shape
    device = target.device
    C = max_classes
    cls = torch.arange(C, device=device)[None, :]
    sigma = log_uniform((B, 1), 0.05, max_imbalance, gen, device)
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


def onehot_some(
    X: torch.Tensor, n_features: torch.Tensor, gen: torch.Generator, probability: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """On some tasks, bin a random share of the columns into 2-8 levels of skewed frequencies
    (rare levels included) and write them one-hot, as the estimator encodes categoricals; later
    columns shift right (those pushed past ``max_features`` are dropped). Returns the new X and
    feature counts. Only the chosen tasks are computed."""
    from automl_hyper.priors.boolean import expand_columns

    B, N, F = X.shape
    device = X.device
    idx = bernoulli((B,), probability, gen, device).nonzero()[:, 0]
    b = len(idx)
    if b == 0:
        return X, n_features
    Xs = X[idx]
    chosen = bernoulli((b, F), uniform((b, 1), 0.1, 0.6, gen, device), gen, device)
    n_levels = randint((b, F), 2, 8, gen, device)
    # Bin edges at quantiles, at softmax(skew * noise) shares per level.
    K = 8
    skew = log_uniform((b, 1, 1), 0.3, 3.0, gen, device)
    logits = skew * torch.randn(b, F, K, generator=gen, device=device)
    logits = logits.masked_fill(torch.arange(K, device=device) >= n_levels[..., None], -torch.inf)
    cum = torch.cumsum(torch.softmax(logits, dim=-1), dim=-1)[..., :-1]  # (b, F, K-1)
    ranks = torch.argsort(torch.argsort(Xs, dim=1), dim=1).float() / N  # (b, N, F) in [0, 1)
    codes = (ranks[..., None] >= cum[:, None]).sum(-1).clamp(max=n_levels[:, None, :] - 1)
    # Two-level columns stay one 0/1 column (the rarer level may be very rare).
    widths = torch.where(chosen & (n_levels > 2), n_levels, 1)
    values = torch.where(chosen[:, None, :], codes.float(), Xs)
    out, _ = expand_columns(values, codes, widths, F)
    ends = torch.cumsum(widths, dim=1)
    n_out = ends.gather(1, (n_features[idx] - 1).clamp(min=0)[:, None])[:, 0].clamp(max=F)
    X, n_features = X.clone(), n_features.clone()
    X[idx], n_features[idx] = out, n_out
    return X, n_features
