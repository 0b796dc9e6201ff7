"""One batch of synthetic classification tasks."""

from __future__ import annotations

import torch

from automl_hyper.priors._random import bernoulli, log_uniform, randint, standardize, uniform
from automl_hyper.priors.batch import TaskBatch
from automl_hyper.priors.boolean import sample_boolean_tasks
from automl_hyper.priors.config import PriorConfig
from automl_hyper.priors.gp import sample_gp_tasks
from automl_hyper.priors.lowdim import sample_lowdim_tasks
from automl_hyper.priors.mlp_scm import sample_mlp_tasks
from automl_hyper.priors.transforms import (
    discretize_some,
    missing_mask,
    onehot_some,
    sample_class_counts,
    target_to_classes,
    warp_features,
)
from automl_hyper.priors.tree_scm import sample_tree_tasks


def _feature_counts(cfg: PriorConfig, B: int, gen: torch.Generator, device) -> torch.Tensor:
    # Half log-uniform (real tables are mostly narrow), half uniform up to the maximum.
    log_u = log_uniform((B,), 1.0, cfg.max_features + 0.99, gen, device).floor().long()
    unif = randint((B,), 1, cfg.max_features, gen, device)
    return torch.where(bernoulli((B,), 0.5, gen, device), log_u, unif).clamp(1, cfg.max_features)


KINDS = ("mlp", "gp", "tree", "boolean", "lowdim")


def _mixed_tasks(cfg: PriorConfig, B: int, N: int, split: int, n_features, gen, device):
    """Prior v2: each task drawn from one of ``KINDS`` at the config's shares; each prior runs
    only on its own tasks. Returns X, the continuous target, feature counts and kinds (B,)."""
    F = cfg.max_features
    shares = torch.tensor(
        [cfg.gp_fraction, cfg.tree_fraction, cfg.boolean_fraction, cfg.lowdim_fraction],
        device=device,
    )
    shares = torch.cat([(1 - shares.sum()).clamp(min=0)[None], shares])
    kind = torch.multinomial(shares.expand(B, -1), 1, replacement=True, generator=gen)[:, 0]
    X = torch.zeros(B, N, F, device=device)
    target = torch.zeros(B, N, device=device)
    n_features = n_features.clone()
    for k, name in enumerate(KINDS):
        idx = (kind == k).nonzero()[:, 0]
        b = len(idx)
        if b == 0:
            continue
        if name == "mlp":
            Xk, tk = sample_mlp_tasks(cfg, b, N, split, gen, device)
        elif name == "gp":
            Xk, tk = sample_gp_tasks(cfg, b, N, n_features[idx], gen, device)
        elif name == "tree":
            Xk, tk = sample_tree_tasks(cfg, b, N, split, gen, device)
        elif name == "boolean":
            Xk, tk = sample_boolean_tasks(cfg, b, N, split, n_features[idx], gen, device)
        else:
            Xk, tk, n_features[idx] = sample_lowdim_tasks(
                cfg, b, N, split, n_features[idx], gen, device
            )
        X[idx], target[idx] = Xk, tk
    return X, target, n_features, kind


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
    if cfg.is_v1:
        X_mlp, t_mlp = sample_mlp_tasks(cfg, B, N, split, gen, device)
        X_gp, t_gp = sample_gp_tasks(cfg, B, N, n_features, gen, device)
        use_gp = bernoulli((B,), cfg.gp_fraction, gen, device)
        X = torch.where(use_gp[:, None, None], X_gp, X_mlp)
        target = torch.where(use_gp[:, None], t_gp, t_mlp)
        y = target_to_classes(target, n_classes, cfg.max_classes, gen)
    else:
        X, target, n_features, kind = _mixed_tasks(cfg, B, N, split, n_features, gen, device)
        y = target_to_classes(target, n_classes, cfg.max_classes, gen, cfg.max_imbalance)

    X = warp_features(standardize(X, split), gen)
    if not cfg.is_v1:
        # Discrete-prior tasks are one-hot already; the others may get one-hot blocks.
        X_oh, n_oh = onehot_some(standardize(X, split), n_features, gen, cfg.onehot_probability)
        discrete = kind == KINDS.index("boolean")
        X = torch.where(discrete[:, None, None], X, X_oh)
        n_features = torch.where(discrete, n_features, n_oh)
    X = discretize_some(standardize(X, split), gen, cfg.categorical_probability)
    # The estimator's inference path: z-score on training rows, NaN -> 0, clip.
    X = standardize(X, split).clamp(-cfg.clip, cfg.clip)
    X = X.masked_fill(missing_mask(X.shape, gen, cfg.missing_probability, device), 0.0)
    used = torch.arange(F, device=device) < n_features[:, None]
    X = X * used[:, None, :]
    return TaskBatch(X=X.float(), y=y, n_features=n_features, n_classes=n_classes, split=split)
