"""Per-tensor weight statistics, the "StatNN" features, for the UNF predictor's head.

The NFN/UNF literature pairs the equivariant network's invariant features with simple weight
statistics (Unterthiner et al. 2020's mean, variance, quantiles, norms): an equivariant network
that ranks children no better than the statistics may still add to them. Every statistic is
taken over all entries of a tensor, so it is unchanged by any permutation of its axes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

QUANTILES = (0.0, 0.25, 0.5, 0.75, 1.0)
# mean, variance, the quantiles, mean |x|, RMS
STATS_PER_TENSOR = 2 + len(QUANTILES) + 2


def tensor_statistics(x: torch.Tensor) -> torch.Tensor:
    """The ``STATS_PER_TENSOR`` statistics of one tensor (any shape), in its dtype."""
    x = x.reshape(-1)
    q = torch.quantile(x, torch.tensor(QUANTILES, dtype=x.dtype))
    parts = [x.mean()[None], x.var(unbiased=False)[None], q]
    return torch.cat([*parts, x.abs().mean()[None], x.pow(2).mean().sqrt()[None]])


def slot_statistics(arrays: dict, slots: Sequence[str], dtype: torch.dtype) -> torch.Tensor:
    """One child's statistics, ``STATS_PER_TENSOR`` per known tensor slot (zeros where the
    child lacks that tensor; the UNF's pooling already carries a presence flag per slot)."""
    zeros = torch.zeros(STATS_PER_TENSOR, dtype=dtype)
    return torch.cat(
        [tensor_statistics(arrays[n].to(dtype)) if n in arrays else zeros for n in slots]
    )
