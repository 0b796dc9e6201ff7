"""Benchmark splits of the MotherNet/TabPFN protocol (docs/benchmark_protocol.md).

Each split draws train = min(1000, n/2) rows and a disjoint test set of the same size, stratified
by class, with every class present on both sides. Allocation per class is proportional (largest
remainder), after reserving one row per class on each side, so rare classes are never lost.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_TRAIN_ROWS = 1000


def _allocate(counts: np.ndarray, total: int, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Integers ``low <= x <= high`` summing to ``total``, as close to proportional as possible."""
    if low.sum() > total or high.sum() < total:
        raise ValueError(f"cannot allocate {total} rows within bounds {low.sum()}..{high.sum()}")
    ideal = counts / counts.sum() * total
    x = np.clip(np.floor(ideal).astype(int), low, high)
    while x.sum() < total:  # give a row to the class furthest below its share that can take one
        gap = np.where(x < high, ideal - x, -np.inf)
        x[np.argmax(gap)] += 1
    while x.sum() > total:  # take a row from the class furthest above its share that can give one
        excess = np.where(x > low, x - ideal, -np.inf)
        x[np.argmax(excess)] -= 1
    return x


def paper_splits(
    y,
    n_splits: int = 5,
    seed: int = 0,
    *,
    stratify: bool = True,
    drop_singletons: bool = False,
    max_train: int = MAX_TRAIN_ROWS,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n_splits`` (train_idx, test_idx) pairs of positional indices into ``y``.

    train = min(max_train, n // 2) rows, test the same size, disjoint. With ``stratify`` (for
    classification) each class gets its proportional share and at least one row on each side.
    A class with a single row cannot be on both sides: that raises, unless ``drop_singletons``
    leaves its rows out of every split. Missing labels raise. Split ``i`` uses seed ``(seed, i)``.
    """
    if not isinstance(y, pd.Series):
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-d, got shape {y.shape}")
    labels = pd.Series(y).reset_index(drop=True)
    if len(labels) == 0:
        raise ValueError("y is empty")
    if labels.isna().any():
        raise ValueError(f"y has {int(labels.isna().sum())} missing labels; drop those rows first")
    if n_splits < 1:
        raise ValueError(f"n_splits must be >= 1, got {n_splits}")
    codes, classes = pd.factorize(labels, sort=True)
    keep = np.arange(len(codes))
    if stratify:
        counts = np.bincount(codes, minlength=len(classes))
        singletons = [c.item() if hasattr(c, "item") else c for c in classes[counts == 1]]
        if singletons and not drop_singletons:
            raise ValueError(
                f"classes with a single row cannot appear in both train and test: {singletons}; "
                "drop those rows or pass drop_singletons=True"
            )
        keep = np.flatnonzero(counts[codes] >= 2)
        codes = codes[keep]
        codes = np.unique(codes, return_inverse=True)[1]
    n = len(keep)
    size = min(max_train, n // 2)
    n_classes = int(codes.max()) + 1 if stratify else 1
    if size < (n_classes if stratify else 1):
        raise ValueError(
            f"{n} usable rows give train/test of {size} rows, fewer than the {n_classes} classes"
        )
    splits = []
    for i in range(n_splits):
        rng = np.random.default_rng([seed, i])
        if not stratify:
            order = rng.permutation(n)
            splits.append((keep[order[:size]], keep[order[size : 2 * size]]))
            continue
        members = [rng.permutation(np.flatnonzero(codes == c)) for c in range(n_classes)]
        counts = np.array([len(m) for m in members])
        ones = np.ones(n_classes, dtype=int)
        n_train = _allocate(counts, size, ones, counts - 1)
        n_test = _allocate(counts, size, ones, counts - n_train)
        train = np.concatenate([m[:k] for m, k in zip(members, n_train)])
        test = np.concatenate([m[k : k + t] for m, k, t in zip(members, n_train, n_test)])
        splits.append((np.sort(keep[train]), np.sort(keep[test])))
    return splits
