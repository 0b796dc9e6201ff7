"""MotherNet beyond its pretrained limits: members, tree groups and feature subsets (issue 13)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from automl_hyper.models.mothernet import MotherNetClassifier, estimator


@pytest.fixture(scope="module")
def twelve_classes():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(12), 15)
    X = rng.standard_normal((len(y), 6)) + 0.8 * np.eye(12)[y][:, :6] - 0.5 * (y[:, None] % 3)
    return X, y


def fit(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MotherNetClassifier(random_state=0, **params).fit(X, y)


def test_many_classes_get_at_least_the_minimum_members(twelve_classes, monkeypatch):
    X, y = twelve_classes
    assert estimator._MANY_CLASSES_MIN_MEMBERS == 1  # default: n_estimators as given
    monkeypatch.setattr(estimator, "_MANY_CLASSES_MIN_MEMBERS", 3)
    clf = fit(X, y, n_estimators=1)
    assert clf.n_members_ == 3
    tops = [m for m in clf.members_ if m.mode == "code"]
    assert len(tops) == clf.n_members_
    # Ten classes or fewer: n_estimators is what the caller asked for.
    small = fit(X[y < 3], y[y < 3], n_estimators=1)
    assert small.n_members_ == len(small.members_) == 1


@pytest.mark.parametrize("exponent", [0.0, None])
def test_tree_groups_stay_within_the_top_childs_classes(twelve_classes, monkeypatch, exponent):
    if exponent is not None:
        monkeypatch.setattr(estimator, "_TREE_GROUP_EXPONENT", exponent)
    X, y = twelve_classes
    clf = fit(X, y, n_estimators=1)
    tops = [m for m in clf.members_ if m.mode == "code"]
    groups = {len(np.unique(m.targets)) for m in tops}
    # 12 classes: the fewest groups is 2 (ceil(12 / 10)); the default is the top child's 10.
    assert groups == {2 if exponent == 0.0 else 10}
    assert all(m.n_outputs <= 10 for m in clf.members_)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(y), 12) and np.allclose(proba.sum(1), 1)


@pytest.mark.parametrize("share", [0.5, 0.75, 1.0])
def test_member_features_keep_the_top_share_by_f_score(monkeypatch, share):
    monkeypatch.setattr(estimator, "_TOP_FEATURE_SHARE", share)
    ranked = np.random.default_rng(1).permutation(300)
    rng = np.random.RandomState(0)
    for i in range(4):
        cols = MotherNetClassifier._member_features(i, 4, 300, 100, ranked, rng)
        assert len(cols) == len(np.unique(cols)) == 100
        assert set(ranked[: round(100 * share)]) <= set(cols.tolist())
