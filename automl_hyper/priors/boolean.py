"""Discrete prior: categorical and binary columns (one-hot, with rare levels), boolean targets.

Each task draws variables: binary ones (one 0/1 column), categorical ones with 3-6 levels written
one-hot (as the estimator's preprocessing encodes categoricals, so several sparse 0/1 columns, some
levels rare), and optionally continuous ones. The target is a weighted sum of a few boolean terms
over *literals* (a column above a threshold, possibly negated): AND (a tic-tac-toe line: three
cells holding the same mark), OR, XOR/parity and majority; the weighted sum cut into classes is an
OR of ANDs, a parity, a threshold function, or a mixture, plus a linear part on some tasks.
"""

from __future__ import annotations

import torch

from automl_hyper.priors._random import bernoulli, log_uniform, randint, uniform

MAX_LEVELS = 6
MAX_TERMS = 4
MAX_LITERALS = 4


def level_codes(
    B: int, N: int, V: int, n_levels: torch.Tensor, skew: torch.Tensor, gen, device
) -> torch.Tensor:
    """Codes (B, N, V) in 0..n_levels-1 with level probabilities softmax(skew * noise): a large
    ``skew`` (B, 1, 1) makes some levels rare."""
    K = MAX_LEVELS
    logits = skew * torch.randn(B, V, K, generator=gen, device=device)
    logits = logits.masked_fill(torch.arange(K, device=device) >= n_levels[..., None], -torch.inf)
    cum = torch.cumsum(torch.softmax(logits, dim=-1), dim=-1)[..., :-1]  # (B, V, K-1)
    u = torch.rand(B, N, V, generator=gen, device=device)
    return (u[..., None] > cum[:, None]).sum(-1).clamp(max=n_levels[:, None, :] - 1)


def expand_columns(
    values: torch.Tensor, codes: torch.Tensor, widths: torch.Tensor, F: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Lay variables out as columns: variable v takes ``widths[b, v]`` columns; a variable of
    width > 1 is written one-hot from ``codes``, one of width 1 as ``values``. Returns (B, N, F)
    and each output column's source variable (B, F); columns past the last variable repeat it."""
    B, N, V = values.shape
    device = values.device
    ends = torch.cumsum(widths, dim=1)  # (B, V)
    k = torch.arange(F, device=device).expand(B, F).contiguous()
    src = torch.searchsorted(ends, k, right=True).clamp(max=V - 1)
    level = k - (ends - widths).gather(1, src)
    idx = src[:, None, :].expand(B, N, F)
    one_hot = (codes.gather(2, idx) == level[:, None, :]).float()
    wide = (widths.gather(1, src) > 1)[:, None, :]
    return torch.where(wide, one_hot, values.gather(2, idx)), src


def sample_boolean_tasks(
    cfg, B: int, N: int, n_train: int, n_features: torch.Tensor, gen: torch.Generator, device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Features (B, N, max_features) and a target (B, N) from boolean terms over discrete columns."""
    F = cfg.max_features
    V = F
    # Variables: binary (half), categorical with 3..6 levels, or continuous (on some tasks).
    n_levels = torch.where(
        bernoulli((B, V), 0.5, gen, device), 2, randint((B, V), 3, MAX_LEVELS, gen, device)
    )
    skew = log_uniform((B, 1, 1), 0.1, 3.0, gen, device)
    codes = level_codes(B, N, V, n_levels, skew, gen, device)
    cont_share = uniform((B, 1), 0.0, 0.5, gen, device) * bernoulli((B, 1), 0.4, gen, device)
    continuous = bernoulli((B, V), cont_share, gen, device)
    gauss = torch.randn(B, N, V, generator=gen, device=device)
    values = torch.where(continuous[:, None, :], gauss, codes.float())
    widths = torch.where(continuous | (n_levels == 2), 1, n_levels)
    X, src = expand_columns(values, codes, widths, F)
    is_cont = continuous.gather(1, src)  # (B, F)

    # Literals: a used column above a threshold (0.5 for 0/1 columns, an observed value for
    # continuous ones), negated at random.
    T, K = MAX_TERMS, MAX_LITERALS
    used = torch.arange(F, device=device)[None, :] < n_features[:, None]
    score = torch.rand(B, T, F, generator=gen, device=device) + 2.0 * used[:, None, :]
    cols = torch.topk(score, K, dim=2).indices  # (B, T, K), used columns first
    rows = randint((B, T * K), 0, n_train - 1, gen, device)
    flat_cols = cols.view(B, T * K)
    observed = X.reshape(B, N * F).gather(1, rows * F + flat_cols)
    thr = torch.where(is_cont.gather(1, flat_cols), observed, torch.full_like(observed, 0.5))
    lit = X.gather(2, flat_cols[:, None, :].expand(B, N, T * K)) > thr[:, None, :]
    lit = lit ^ bernoulli((B, 1, T * K), 0.5, gen, device)
    n_lit = randint((B, T, 1), 1, K, gen, device)
    in_term = (torch.arange(K, device=device) < n_lit).view(B, 1, T * K)
    s = (lit & in_term).view(B, N, T, K).sum(-1)  # true literals per term (B, N, T)
    k = n_lit.view(B, 1, T)
    kind = randint((B, 1, T), 0, 3, gen, device)
    term = torch.where(kind == 0, s == k, s > 0)  # AND, OR
    term = torch.where(kind == 2, s % 2 == 1, term)  # XOR / parity
    term = torch.where(kind == 3, 2 * s > k, term)  # majority
    n_terms = randint((B, 1, 1), 1, T, gen, device)
    weight = torch.randn(B, 1, T, generator=gen, device=device)
    weight = weight * (torch.arange(T, device=device) < n_terms)
    target = (term.float() * weight).sum(-1)
    # A linear part on some tasks: boolean structure on top of additive effects.
    lin_w = torch.randn(B, F, 1, generator=gen, device=device) * used[..., None] / F**0.5
    lin_on = uniform((B, 1), 0.0, 1.0, gen, device) * bernoulli((B, 1), 0.3, gen, device)
    target = target + lin_on * torch.bmm(X, lin_w)[..., 0]
    spread = target.std(1, keepdim=True) + 1e-3
    target = target + log_uniform((B, 1), 1e-3, 0.3, gen, device) * spread * torch.randn(
        B, N, generator=gen, device=device
    )
    return X, target
