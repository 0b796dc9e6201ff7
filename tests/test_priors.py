"""The synthetic prior: shapes, reproducibility, and the variety pretraining relies on."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from automl_hyper.priors import PriorConfig, sample_batch

CFG = PriorConfig()


@pytest.fixture(scope="module")
def batches():
    return [sample_batch(CFG, 32, seed) for seed in range(4)]


def test_shapes_and_ranges(batches):
    for b in batches:
        B, N, F = b.X.shape
        assert (B, F) == (32, CFG.max_features) and CFG.min_rows <= N <= CFG.max_rows
        assert b.y.shape == (B, N) and b.y.dtype == torch.int64 and b.X.dtype == torch.float32
        assert 2 <= b.split < N
        assert ((b.n_features >= 1) & (b.n_features <= CFG.max_features)).all()
        assert ((b.n_classes >= 2) & (b.n_classes <= CFG.max_classes)).all()
        assert (b.y >= 0).all() and (b.y < b.n_classes[:, None]).all()
        assert torch.isfinite(b.X).all() and b.X.abs().max() <= CFG.clip
        padding = torch.arange(F)[None, None, :] >= b.n_features[:, None, None]
        assert (b.X[padding.expand_as(b.X)] == 0).all()


def test_reproducible_by_seed():
    a, b, c = sample_batch(CFG, 8, 7), sample_batch(CFG, 8, 7), sample_batch(CFG, 8, 8)
    assert torch.equal(a.X, b.X) and torch.equal(a.y, b.y) and a.split == b.split
    assert not torch.equal(a.n_features, c.n_features) or not torch.equal(a.y, c.y)


def test_variety(batches):
    n_classes = torch.cat([b.n_classes for b in batches])
    n_features = torch.cat([b.n_features for b in batches])
    assert 0.3 < (n_classes == 2).float().mean() < 0.7  # about half binary
    assert n_classes.max() == CFG.max_classes
    assert n_features.min() < 10 and n_features.max() > 60
    minority = []
    few_levels = 0
    for b in batches:
        for i in range(b.batch_size):
            counts = torch.bincount(b.y[i], minlength=int(b.n_classes[i]))
            minority.append(float(counts.min()) / b.y.shape[1])
            cols = b.X[i, : b.split, : int(b.n_features[i])]
            few_levels += sum(len(torch.unique(cols[:, j])) <= 8 for j in range(cols.shape[1]))
    assert min(minority) < 0.05 and max(minority) > 0.3  # imbalanced and balanced tasks
    assert few_levels > 0  # discretised (categorical) columns occur


def test_features_standardized_on_training_rows(batches):
    b = batches[0]
    means = []
    for i in range(b.batch_size):
        f = int(b.n_features[i])
        means.append(b.X[i, : b.split, :f].mean(0).abs().median().item())
    # Clipping and missing values move the mean a little, never far.
    assert np.median(means) < 0.1


def test_tasks_are_learnable():
    """Logistic regression beats the majority class on average: features carry the signal."""
    b = sample_batch(CFG, 24, 123, n_rows=256)
    gains = []
    for i in range(b.batch_size):
        X = b.X[i, :, : int(b.n_features[i])].numpy()
        y = b.y[i].numpy()
        tr, te = slice(0, b.split), slice(b.split, None)
        if len(np.unique(y[tr])) < 2:
            continue
        majority = (y[te] == np.bincount(y[tr]).argmax()).mean()
        acc = LogisticRegression(max_iter=200).fit(X[tr], y[tr]).score(X[te], y[te])
        gains.append(acc - majority)
    assert np.mean(gains) > 0.05


def test_config_validation():
    with pytest.raises(ValueError, match="mlp_width"):
        PriorConfig(mlp_width=8)
    with pytest.raises(ValueError, match="train_fraction"):
        PriorConfig(min_train_fraction=0.9, max_train_fraction=0.5)
