"""Tree-based structural causal model: random decision trees as the edge functions.

The graph is laid out like the MLP/SCM prior's (root causes, then layers of ``mlp_width`` nodes),
but each node of a layer is a small ensemble of random axis-aligned decision trees over the
previous layer's active nodes (a sparse random weighted sum of the layer's trees), with
thresholds at observed values and random leaf values. The
resulting features and targets are piecewise constant: discontinuities, thresholds and boolean
interactions of thresholded features (a depth-2 tree on two inputs is an AND/XOR of two cuts), the
structure gradient-boosted trees exploit and a smooth MLP prior rarely produces (as in the later
TabPFN/TabICL priors). All tasks and trees of a batch are evaluated at once (oblivious trees:
one split per level, the leaf index is the bits of the splits).
"""

from __future__ import annotations

import torch

from automl_hyper.priors._random import bernoulli, log_uniform, randint, standardize, uniform
from automl_hyper.priors.config import PriorConfig
from automl_hyper.priors.mlp_scm import finish_layer, read_features_and_target


def random_trees(
    x: torch.Tensor,
    inputs: torch.Tensor,
    n_trees: int,
    depth: int,
    n_train: int,
    gen: torch.Generator,
) -> torch.Tensor:
    """Outputs (B, N, n_trees) of random oblivious decision trees of ``depth`` over ``x`` (B, N, H).

    Oblivious (symmetric, as CatBoost's) trees use one (column, threshold) split per level, so a
    row's leaf is the binary number of its ``depth`` split outcomes: no walk down a heap, a single
    gather per batch. ``inputs`` (B, H) marks the columns a tree may split on (at least one per
    task). Thresholds are the split column's value at a random training row, so no split is empty.
    """
    B, N, H = x.shape
    device = x.device
    M = n_trees * depth
    weights = inputs.float() + 1e-9  # multinomial needs a positive row sum
    feat = torch.multinomial(weights, M, replacement=True, generator=gen)  # (B, M)
    rows = randint((B, M), 0, n_train - 1, gen, device)
    thr = x.reshape(B, N * H).gather(1, rows * H + feat)  # (B, M)
    bits = x.gather(2, feat[:, None, :].expand(B, N, M)) > thr[:, None, :]
    powers = 2 ** torch.arange(depth, device=device)
    leaf = (bits.view(B, N, n_trees, depth).long() * powers).sum(-1)  # (B, N, T)
    leaves = torch.randn(B, n_trees, 2**depth, generator=gen, device=device)
    offset = torch.arange(n_trees, device=device) * 2**depth
    return leaves.view(B, -1).gather(1, (leaf + offset).view(B, -1)).view(B, N, n_trees)


def sample_tree_nodes(
    cfg: PriorConfig, B: int, N: int, n_train: int, gen: torch.Generator, device
) -> tuple[torch.Tensor, torch.Tensor]:
    """All nodes (B, N, (depth+1)*width) of a tree SCM and a mask of the active ones."""
    H = cfg.mlp_width
    n_layers = int(randint((), cfg.mlp_min_layers, cfg.mlp_max_layers, gen, device))
    n_causes = log_uniform((B,), 1.0, H + 0.99, gen, device).floor().long()
    normal = torch.randn(B, N, H, generator=gen, device=device)
    unif = uniform((B, N, H), -1.7, 1.7, gen, device)
    x = torch.where(bernoulli((B, 1, 1), 0.5, gen, device), normal, unif)
    keep = torch.arange(H, device=device)[None, :] < n_causes[:, None]
    x = standardize(x, n_train) * keep[:, None, :]
    noise_std = log_uniform((B, 1, 1), 1e-3, 0.3, gen, device)
    nodes, active = [x], [keep]
    for _ in range(n_layers):
        # One tree depth and ensemble size per layer (shapes must agree across the batch).
        depth = int(randint((), 1, cfg.tree_max_depth, gen, device))
        per_node = int(randint((), 1, cfg.tree_max_ensemble, gen, device))
        trees = random_trees(x, keep, H * per_node, depth, n_train, gen)
        # Each node sums a sparse random subset of the layer's trees with random weights (a
        # random boosted ensemble), so it depends on many parents as the MLP prior's nodes do.
        T = H * per_node
        sparsity = uniform((B, 1, 1), 0.5, 0.95, gen, device)
        W = torch.randn(B, T, H, generator=gen, device=device)
        W = W * (torch.rand(B, T, H, generator=gen, device=device) >= sparsity)
        h, keep = finish_layer(torch.bmm(trees, W), noise_std, n_train, gen)
        nodes.append(h)
        active.append(keep)
        x = h
    return torch.cat(nodes, dim=2), torch.cat(active, dim=1)


def sample_tree_tasks(
    cfg: PriorConfig, B: int, N: int, n_train: int, gen: torch.Generator, device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Features (B, N, max_features) and a continuous target (B, N) from a random tree SCM."""
    nodes, active = sample_tree_nodes(cfg, B, N, n_train, gen, device)
    return read_features_and_target(cfg, nodes, active, gen)
