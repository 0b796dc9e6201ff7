"""paper_splits: sizes, disjointness, stratification and every class on both sides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl_hyper.data.splits import paper_splits


def _check(y: pd.Series, splits, size: int) -> None:
    classes = set(y)
    for train, test in splits:
        assert len(train) == len(test) == size
        assert len(np.intersect1d(train, test)) == 0
        assert len(np.unique(train)) == size and len(np.unique(test)) == size
        assert set(y.iloc[train]) == classes == set(y.iloc[test])
        # Proportional: each class within one row (plus the reserved one) of its share.
        share = y.value_counts() / len(y) * size
        for part in (train, test):
            counts = y.iloc[part].value_counts()
            assert (abs(counts - share) <= 2).all(), (counts, share)


@pytest.mark.parametrize("name", ["credit-g", "eucalyptus", "analcatdata_dmft", "mfeat-fourier"])
def test_sizes_stratification_and_classes(shared_dataset, name):
    _, y = shared_dataset(name)
    splits = paper_splits(y, n_splits=5, seed=0)
    assert len(splits) == 5
    _check(y, splits, min(1000, len(y) // 2))


def test_large_data_caps_train_at_1000_rows(shared_dataset):
    _, y = shared_dataset("kr-vs-kp")  # 3196 rows
    splits = paper_splits(y, n_splits=2)
    _check(y, splits, 1000)


def test_rare_class_is_kept_on_both_sides():
    y = pd.Series(["a"] * 200 + ["b"] * 2 + ["c"] * 3)
    for train, test in paper_splits(y, n_splits=10, seed=3):
        assert set(y.iloc[train]) == set(y.iloc[test]) == {"a", "b", "c"}
        assert len(train) == len(test) == len(y) // 2


def test_deterministic_per_seed_and_different_per_split(shared_dataset):
    _, y = shared_dataset("diabetes")
    a, b = paper_splits(y, seed=7), paper_splits(y, seed=7)
    for (tr1, te1), (tr2, te2) in zip(a, b):
        np.testing.assert_array_equal(tr1, tr2)
        np.testing.assert_array_equal(te1, te2)
    assert not np.array_equal(a[0][0], a[1][0])
    assert not np.array_equal(a[0][0], paper_splits(y, seed=8)[0][0])


def test_singleton_classes_raise_or_are_dropped():
    y = np.array([0] * 20 + [1] * 20 + [2])
    with pytest.raises(ValueError, match=r"single row.*\[2\].*drop_singletons"):
        paper_splits(y)
    for train, test in paper_splits(y, drop_singletons=True):
        assert 40 not in train and 40 not in test
        assert len(train) == len(test) == 20
        assert set(y[train]) == set(y[test]) == {0, 1}


def test_unstratified_for_regression():
    y = np.linspace(0, 1, 101)
    for train, test in paper_splits(y, n_splits=3, stratify=False):
        assert len(train) == len(test) == 50
        assert len(np.intersect1d(train, test)) == 0


def test_bad_inputs():
    with pytest.raises(ValueError, match="missing labels"):
        paper_splits(pd.Series(["a", None, "b", "a", "b"]))
    with pytest.raises(ValueError, match="1-d"):
        paper_splits(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="fewer than the 3 classes"):
        paper_splits(np.array([0, 0, 1, 1, 2, 2]), max_train=2)
    with pytest.raises(ValueError, match="n_splits"):
        paper_splits(np.array([0, 0, 1, 1]), n_splits=0)
