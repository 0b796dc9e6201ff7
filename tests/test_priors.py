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


# -- prior v2 (issue 13) ---------------------------------------------------------------------------
V2 = PriorConfig(
    gp_fraction=0.2,
    tree_fraction=0.3,
    boolean_fraction=0.12,
    lowdim_fraction=0.08,
    onehot_probability=0.3,
    binary_fraction=0.4,
    max_imbalance=3.0,
)


@pytest.fixture(scope="module")
def v2_batches():
    return [sample_batch(V2, 32, seed, n_rows=256) for seed in range(3)]


def test_default_config_is_v1_and_v2_is_not():
    assert CFG.is_v1 and not V2.is_v1
    from automl_hyper.models.mothernet.configs import get_config

    assert get_config("small-v2").prior == V2 and get_config("small-cont").prior.is_v1


def test_v2_shapes_ranges_and_padding(v2_batches):
    for b in v2_batches:
        B, N, F = b.X.shape
        assert (B, N, F) == (32, 256, V2.max_features) and b.y.dtype == torch.int64
        assert ((b.n_features >= 1) & (b.n_features <= F)).all()
        assert ((b.n_classes >= 2) & (b.n_classes <= V2.max_classes)).all()
        assert (b.y >= 0).all() and (b.y < b.n_classes[:, None]).all()
        assert torch.isfinite(b.X).all() and b.X.abs().max() <= V2.clip
        padding = torch.arange(F)[None, None, :] >= b.n_features[:, None, None]
        assert (b.X[padding.expand_as(b.X)] == 0).all()


def test_v2_reproducible_by_seed():
    a, b, c = sample_batch(V2, 8, 3), sample_batch(V2, 8, 3), sample_batch(V2, 8, 4)
    assert (
        torch.equal(a.X, b.X) and torch.equal(a.y, b.y) and torch.equal(a.n_features, b.n_features)
    )
    assert not torch.equal(a.y, c.y) or not torch.equal(a.n_features, c.n_features)


def test_v2_more_multiclass_and_imbalanced(v2_batches):
    n_classes = torch.cat([b.n_classes for b in v2_batches])
    assert (n_classes == 2).float().mean() < 0.5 and n_classes.max() == V2.max_classes
    minority = [
        float(torch.bincount(b.y[i], minlength=int(b.n_classes[i])).min()) / b.y.shape[1]
        for b in v2_batches
        for i in range(b.batch_size)
    ]
    assert min(minority) < 0.03 and max(minority) > 0.3


def test_v2_has_sparse_binary_columns_with_rare_levels(v2_batches):
    """One-hot-like columns: two values only, the rarer under 5% of the rows."""
    rare_binary = 0
    for b in v2_batches:
        for i in range(b.batch_size):
            cols = b.X[i, :, : int(b.n_features[i])]
            for j in range(cols.shape[1]):
                values, counts = torch.unique(cols[:, j], return_counts=True)
                rare_binary += len(values) == 2 and counts.min() < 0.05 * len(cols)
    assert rare_binary > 20


def _best_forest_gain(cfg: PriorConfig, seed: int = 11) -> float:
    """Largest test-accuracy gain of a random forest over logistic regression among 16 tasks."""
    from sklearn.ensemble import RandomForestClassifier

    gains = []
    b = sample_batch(cfg, 16, seed, n_rows=300)
    for i in range(b.batch_size):
        X, y = b.X[i, :, : int(b.n_features[i])].numpy(), b.y[i].numpy()
        tr, te = slice(0, b.split), slice(b.split, None)
        if len(np.unique(y[tr])) < 2:
            continue
        forest = RandomForestClassifier(20, max_depth=8, random_state=0, n_jobs=1).fit(X[tr], y[tr])
        linear = LogisticRegression(max_iter=200).fit(X[tr], y[tr])
        gains.append(forest.score(X[te], y[te]) - linear.score(X[te], y[te]))
    return float(np.max(gains))


def test_tree_boolean_and_lowdim_tasks_have_non_linear_structure():
    """Discontinuous, boolean (XOR-like) and curved tasks occur: on some tree-SCM, boolean and
    low-dimensional tasks a random forest beats logistic regression by more than it does on any
    task of the (smooth) MLP/SCM prior."""
    smooth = _best_forest_gain(PriorConfig(gp_fraction=0.0))
    for share, least in (
        ("tree_fraction", 0.1),
        ("boolean_fraction", 0.1),
        ("lowdim_fraction", 0.2),
    ):
        gain = _best_forest_gain(PriorConfig(gp_fraction=0.0, **{share: 1.0}))
        assert gain > max(least, smooth), (share, gain, smooth)


def test_boolean_columns_are_binary_or_one_hot():
    from automl_hyper.priors.boolean import sample_boolean_tasks

    gen = torch.Generator().manual_seed(1)
    X, target = sample_boolean_tasks(V2, 16, 200, 120, torch.full((16,), 30), gen, "cpu")
    assert X.shape == (16, 200, 100) and torch.isfinite(target).all()
    binary = ((X == 0) | (X == 1)).all(1)  # (B, F): 0/1 columns (the rest are continuous)
    assert binary.float().mean() > 0.7
    assert (target.std(1) > 0).float().mean() > 0.9  # targets vary


def test_random_trees_are_piecewise_constant():
    from automl_hyper.priors.tree_scm import random_trees

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 300, 5, generator=gen)
    out = random_trees(
        x, torch.ones(2, 5, dtype=torch.bool), n_trees=7, depth=3, n_train=200, gen=gen
    )
    assert out.shape == (2, 300, 7)
    for b in range(2):
        for t in range(7):
            assert (
                2 <= len(torch.unique(out[b, :, t])) <= 8
            )  # at most 2**depth leaves, no empty split


def test_lowdim_tasks_use_few_features():
    from automl_hyper.priors.lowdim import sample_lowdim_tasks

    gen = torch.Generator().manual_seed(0)
    n_features = torch.full((64,), 100)
    X, target, n_used = sample_lowdim_tasks(V2, 64, 128, 80, n_features, gen, "cpu")
    assert X.shape == (64, 128, 100) and target.shape == (64, 128)
    assert torch.isfinite(X).all() and torch.isfinite(target).all()
    assert (n_used >= 1).all() and n_used.float().median() <= 6


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")
def test_v2_on_cuda_reproducible():
    a, b = sample_batch(V2, 8, 5, device="cuda"), sample_batch(V2, 8, 5, device="cuda")
    assert a.X.is_cuda and torch.equal(a.X, b.X) and torch.equal(a.y, b.y)
