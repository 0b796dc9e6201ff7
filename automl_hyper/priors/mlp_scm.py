"""MLP / structural-causal-model prior.

A random MLP maps sampled causes through layers of random depth, width, sparsity, activations and
noise; every hidden unit is a node of the causal graph. Features and the target are read from
randomly chosen nodes, so some features are causes of the target, some effects, some unrelated.
"""

from __future__ import annotations

import torch

from automl_hyper.priors._random import bernoulli, log_uniform, randint, standardize, uniform
from automl_hyper.priors.config import PriorConfig

# Activations a layer may use; each task draws one per layer.
_ACTIVATIONS = (
    torch.tanh,
    torch.relu,
    lambda h: h,
    torch.sin,
    torch.abs,
    lambda h: 2 * torch.sigmoid(h) - 1,
    lambda h: torch.nn.functional.leaky_relu(h, 0.1),
    lambda h: torch.clamp(h, -1, 1) ** 2,
)


def _activate(h: torch.Tensor, which: torch.Tensor) -> torch.Tensor:
    """Apply activation ``which[b]`` to task ``b``'s hidden units."""
    out = torch.zeros_like(h)
    for k, act in enumerate(_ACTIVATIONS):
        chosen = which == k
        if chosen.any():
            out[chosen] = act(h[chosen])
    return out


def finish_layer(
    h: torch.Tensor, noise_std: torch.Tensor, n_train: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """A layer's node values (B, N, H) from its units' outputs ``h``: noise added, a random width
    per task (the mask of kept units, (B, H), is returned too), standardised. Shared by the MLP
    and tree priors, whose layers differ only in how ``h`` is computed."""
    B, N, H = h.shape
    h = h + noise_std * torch.randn(B, N, H, generator=gen, device=h.device)
    # Random width: each task keeps between half and all of the units of this layer.
    width = randint((B,), H // 2, H, gen, h.device)
    keep = torch.arange(H, device=h.device)[None, :] < width[:, None]
    # Normalising each layer keeps deep random nets from exploding or collapsing.
    return standardize(h, n_train) * keep[:, None, :], keep


def sample_mlp_nodes(
    cfg: PriorConfig, B: int, N: int, n_train: int, gen: torch.Generator, device
) -> tuple[torch.Tensor, torch.Tensor]:
    """All hidden nodes (B, N, depth*width) and a mask of the nodes that are active (B, nodes)."""
    H = cfg.mlp_width
    depth = int(randint((), cfg.mlp_min_layers, cfg.mlp_max_layers, gen, device))
    # Causes: normal or uniform per task, only the first n_causes of them non-zero.
    # Few causes are common: the target then depends on few latent factors, as in real tables.
    n_causes = log_uniform((B,), 1.0, H + 0.99, gen, device).floor().long()
    normal = torch.randn(B, N, H, generator=gen, device=device)
    unif = uniform((B, N, H), -1.7, 1.7, gen, device)
    use_normal = bernoulli((B, 1, 1), 0.5, gen, device)
    x = torch.where(use_normal, normal, unif)
    x = x * (torch.arange(H, device=device) < n_causes[:, None])[:, None, :]

    noise_std = log_uniform((B, 1, 1), 1e-4, 0.3, gen, device)
    weight_scale = log_uniform((B, 1, 1), 0.5, 3.0, gen, device)
    sparsity = uniform((B, 1, 1), 0.0, 0.7, gen, device)
    # Root causes are nodes too: features that directly drive the target make tasks learnable.
    nodes, active = (
        [standardize(x, n_train)],
        [torch.arange(H, device=device)[None, :] < n_causes[:, None]],
    )
    for _ in range(depth):
        W = torch.randn(B, H, H, generator=gen, device=device) * weight_scale / H**0.5
        W = W * (torch.rand(B, H, H, generator=gen, device=device) >= sparsity)
        bias = torch.randn(B, 1, H, generator=gen, device=device) * 0.5
        h = torch.bmm(x, W) + bias
        h = _activate(h, randint((B,), 0, len(_ACTIVATIONS) - 1, gen, device))
        h, keep = finish_layer(h, noise_std, n_train, gen)
        nodes.append(h)
        active.append(keep)
        x = h
    return torch.cat(nodes, dim=2), torch.cat(active, dim=1)


def sample_mlp_tasks(
    cfg: PriorConfig, B: int, N: int, n_train: int, gen: torch.Generator, device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Features (B, N, max_features) and a continuous target (B, N) read from random nodes."""
    nodes, active = sample_mlp_nodes(cfg, B, N, n_train, gen, device)
    return read_features_and_target(cfg, nodes, active, gen)


def read_features_and_target(
    cfg: PriorConfig, nodes: torch.Tensor, active: torch.Tensor, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Features (B, N, max_features) and a target (B, N) read from the nodes of a causal graph
    whose last ``mlp_width`` nodes form its last layer (shared by the MLP and tree SCMs)."""
    B, N = nodes.shape[:2]
    device = nodes.device
    H = cfg.mlp_width
    # The target is an active unit of the last layer (downstream of most nodes); features are
    # the other active nodes in random order, so some are its causes, some its effects' siblings.
    last = active[:, -H:]
    pick = torch.rand(last.shape, generator=gen, device=device) + 2.0 * last
    target_node = pick.argmax(1, keepdim=True) + (active.shape[1] - H)
    score = torch.rand(active.shape, generator=gen, device=device) + 2.0 * active
    order = torch.argsort(score, dim=1, descending=True)
    # Features: the first max_features active nodes other than the target.
    keep_order = order[order != target_node.expand_as(order)].view(B, -1)
    feature_nodes = keep_order[:, : cfg.max_features]
    X = nodes.gather(2, feature_nodes[:, None, :].expand(B, N, cfg.max_features))
    y = nodes.gather(2, target_node[:, None, :].expand(B, N, 1))[..., 0]
    return X, y
