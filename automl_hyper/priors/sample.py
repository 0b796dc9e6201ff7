"""One batch of synthetic classification tasks."""

from __future__ import annotations

import torch

from automl_hyper.priors._random import bernoulli, log_uniform, randint, standardize, uniform
from automl_hyper.priors.batch import TaskBatch
from automl_hyper.priors.config import PriorConfig
from automl_hyper.priors.gp import sample_gp_tasks
from automl_hyper.priors.mlp_scm import sample_mlp_tasks
from automl_hyper.priors.transforms import (
    discretize_some,
    missing_mask,
    sample_class_counts,
    target_to_classes,
    warp_features,
)


def _feature_counts(cfg: PriorConfig, B: int, gen: torch.Generator, device) -> torch.Tensor:
    # Half log-uniform (real tables are mostly narrow), half uniform up to the maximum.
    log_u = log_uniform((B,), 1.0, cfg.max_features + 0.99, gen, device).floor().long()
    unif = randint((B,), 1, cfg.max_features, gen, device)
    return torch.where(bernoulli((B,), 0.5, gen, device), log_u, unif).clamp(1, cfg.max_features)


@torch.no_grad()
def sample_batch(
    cfg: PriorConfig,
    batch_size: int,
    seed: int,
    device: str | torch.device = "cpu",
    n_rows: int | None = None,
) -> TaskBatch:
    """``batch_size`` tasks, reproducible from ``seed`` (rows per task drawn unless ``n_rows``)."""
    device = torch.device(device)
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    B, F = batch_size, cfg.max_features
    N = n_rows or int(randint((), cfg.min_rows, cfg.max_rows, gen, device))
    frac = float(uniform((), cfg.min_train_fraction, cfg.max_train_fraction, gen, device))
    split = min(max(int(N * frac), 2), N - 1)

    n_features = _feature_counts(cfg, B, gen, device)
    n_classes = sample_class_counts(cfg, B, gen, device)
    X_mlp, t_mlp = sample_mlp_tasks(cfg, B, N, split, gen, device)
    X_gp, t_gp = sample_gp_tasks(cfg, B, N, n_features, gen, device)
    use_gp = bernoulli((B,), cfg.gp_fraction, gen, device)
    X = torch.where(use_gp[:, None, None], X_gp, X_mlp)
    target = torch.where(use_gp[:, None], t_gp, t_mlp)
    y = target_to_classes(target, n_classes, cfg.max_classes, gen)

    X = warp_features(standardize(X, split), gen)
    X = discretize_some(standardize(X, split), gen, cfg.categorical_probability)
    # The estimator's inference path: z-score on training rows, NaN -> 0, clip.
    X = standardize(X, split).clamp(-cfg.clip, cfg.clip)
    X = X.masked_fill(missing_mask(X.shape, gen, cfg.missing_probability, device), 0.0)
    used = torch.arange(F, device=device) < n_features[:, None]
    X = X * used[:, None, :]
    return TaskBatch(X=X.float(), y=y, n_features=n_features, n_classes=n_classes, split=split)
