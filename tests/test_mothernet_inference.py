"""MotherNet inference options (issue 13.4): many classes, a time budget for members, weights."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits

from automl_hyper.metrics import auc_score
from automl_hyper.models.mothernet import MotherNetClassifier
from automl_hyper.models.mothernet.child import NumpyChild


@pytest.fixture(scope="module")
def twenty_classes():
    X, y = load_digits(return_X_y=True)
    y = y * 2 + (X[:, 20] > 4)  # 20 classes
    idx = np.random.default_rng(0).permutation(len(y))
    tr, te = idx[:500], idx[500:800]
    assert len(np.unique(y[tr])) == len(np.unique(y[te])) == 20
    return X[tr], y[tr], X[te], y[te]


def fit(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MotherNetClassifier(random_state=0, **params).fit(X, y)


def test_defaults_are_the_measured_ones():
    clf = MotherNetClassifier()
    assert (clf.many_classes, clf.member_selection, clf.n_estimators) == ("tree", "train", 4)


@pytest.mark.parametrize("mode", ["codes", "tree", "ovr"])
def test_many_classes_give_per_class_probabilities(twenty_classes, mode):
    Xtr, ytr, Xte, yte = twenty_classes
    clf = fit(Xtr, ytr, many_classes=mode, n_estimators=2)
    assert all(m.n_outputs <= 10 for m in clf.members_)
    modes = {m.mode for m in clf.members_}
    assert modes == {"codes": {"code"}, "tree": {"code", "sub"}, "ovr": {"ovr"}}[mode]
    if mode == "tree":  # every class is scored by exactly one "sub" child per tree (or none)
        tops = [m for m in clf.members_ if m.mode == "code"]
        assert len(tops) == 2 and all(m.log_share is None for m in tops)
        subs = [m for m in clf.members_ if m.mode == "sub"]
        assert sorted(np.concatenate([m.targets for m in subs])) == sorted(list(range(20)) * 2)
    proba = clf.predict_proba(Xte)
    assert proba.shape == (300, 20) and np.allclose(proba.sum(1), 1)
    assert auc_score(np.searchsorted(clf.classes_, yte), proba) > 0.8
    # Batch-independent float64 predictions.
    np.testing.assert_allclose(clf.predict_proba(Xte[:7]), proba[:7], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("mode", ["tree", "codes"])
def test_many_classes_with_row_chunks_that_lack_rare_classes(mode):
    rng = np.random.default_rng(2)
    y = np.repeat(np.arange(30), np.r_[[2] * 10, [30] * 20])  # ten classes of 2 rows
    X = rng.standard_normal((len(y), 5)) + 0.3 * y[:, None]
    clf = fit(X, y, many_classes=mode, n_estimators=2, max_train_rows=120)
    assert any("chunks" in m for m in clf.limits_applied_)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(y), 30) and np.isfinite(proba).all()
    assert np.allclose(proba.sum(1), 1)


def test_output_code_groupings_are_balanced_and_differ(twenty_classes):
    Xtr, ytr, _, _ = twenty_classes
    clf = fit(Xtr, ytr, many_classes="codes", n_estimators=2)
    codes = [m for m in clf.members_ if m.mode == "code"]
    assert len(codes) == 2 * 2  # ceil(20 / 10) children per member
    for m in codes:
        assert np.bincount(m.targets).tolist() == [2] * 10
        # Shares of a super-class's rows sum to one within each super-class.
        shares = np.bincount(m.targets, weights=np.exp(m.log_share))
        np.testing.assert_allclose(shares, 1.0)
    assert len({m.targets.tobytes() for m in codes}) == 4


def test_auto_members_follow_the_time_budget():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 6))
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int)
    small = fit(X, y, n_estimators="auto", time_budget=1e-6)
    assert len(small.members_) == small.n_members_ == 1
    large = fit(X, y, n_estimators="auto", time_budget=60.0)
    assert len(large.members_) == 32  # capped
    # The members of an auto ensemble are those of a fixed one of the same size (up to float32
    # rounding: the first member is generated in a batch of its own).
    fixed = fit(X, y, n_estimators=32)
    np.testing.assert_allclose(large.predict_proba(X), fixed.predict_proba(X), atol=1e-5)


def test_auto_members_cover_every_row_chunk():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 4))
    y = (X[:, 0] > 0).astype(int)
    clf = fit(X, y, n_estimators="auto", time_budget=1e-6, max_train_rows=100)
    assert len(clf.members_) == 4


@pytest.mark.parametrize("selection", ["train", "unf"])
def test_member_selection_weights_members(selection):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 5))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    clf = fit(X, y, n_estimators=4, member_selection=selection)
    weights = np.array([m.weight for m in clf.members_])
    assert np.isclose(weights.sum(), 1.0) and (weights >= 0).all()
    if selection == "train":
        assert len(clf.member_train_loss_) == 4
        assert weights.argmax() == np.argmin(clf.member_train_loss_)
    equal = fit(X, y, n_estimators=4, member_selection=None)
    assert not np.allclose(clf.predict_proba(X), equal.predict_proba(X))


def test_tree_weights_are_shared_within_a_tree(twenty_classes):
    Xtr, ytr, Xte, _ = twenty_classes
    clf = fit(Xtr, ytr, many_classes="tree", n_estimators=2, member_selection="train")
    top = None
    for m in clf.members_:
        top = m.weight if m.mode == "code" else top
        assert m.weight == top
    assert np.allclose(clf.predict_proba(Xte).sum(1), 1)


def test_code_members_and_weights_survive_save_and_load(twenty_classes, tmp_path):
    Xtr, ytr, Xte, _ = twenty_classes
    for mode in ("codes", "tree"):
        clf = fit(Xtr, ytr, many_classes=mode, n_estimators=2, member_selection="train")
        path = tmp_path / f"{mode}.npz"
        clf.export_child().save_weights(path)
        loaded = NumpyChild.load(path)
        np.testing.assert_array_equal(loaded.predict_proba(Xte), clf.predict_proba(Xte))


@pytest.mark.parametrize(
    "params",
    [
        {"n_estimators": "many"},
        {"time_budget": 0},
        {"many_classes": "ecoc"},
        {"member_selection": "best"},
    ],
)
def test_new_parameters_are_validated(params):
    from sklearn.utils._param_validation import InvalidParameterError

    name = next(iter(params))
    with pytest.raises(InvalidParameterError, match=name):
        MotherNetClassifier(**params).fit(
            np.random.default_rng(0).random((10, 2)), np.arange(10) % 2
        )
