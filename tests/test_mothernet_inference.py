"""MotherNet inference options (issue 13.4): many classes, a time budget for members, weights."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits

from automl_hyper.metrics import auc_score
from automl_hyper.models.mothernet import MotherNetClassifier
from automl_hyper.models.mothernet.child import NumpyChild, contract


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
    assert clf.categorical_encoding == "mixed"


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
        {"categorical_encoding": "label"},
    ],
)
def test_new_parameters_are_validated(params):
    from sklearn.utils._param_validation import InvalidParameterError

    name = next(iter(params))
    with pytest.raises(InvalidParameterError, match=name):
        MotherNetClassifier(**params).fit(
            np.random.default_rng(0).random((10, 2)), np.arange(10) % 2
        )


@pytest.fixture(scope="module")
def categorical_frame():
    import pandas as pd

    rng = np.random.default_rng(3)
    n = 240
    colour = rng.choice(["red", "green", "blue", "grey"], n)
    size = rng.choice(["s", "m", "l"], n)
    x = rng.standard_normal(n)
    y = ((colour == "red") ^ (size == "l") ^ (x > 0.5)).astype(int)
    return pd.DataFrame({"x": x, "colour": colour, "size": size}), y


def test_mixed_encoding_alternates_one_hot_and_ordinal_members(categorical_frame, tmp_path):
    X, y = categorical_frame
    clf = fit(X.iloc[:160], y[:160], categorical_encoding="mixed", n_estimators=4)
    one_hot = 1 + 4 + 3  # x, colour's four levels, size's three
    assert [m.W1.shape[0] for m in clf.members_] == [one_hot, 3, one_hot, 3]
    assert [m.project_to is not None for m in clf.members_] == [False, True, False, True]
    # An ordinal member's inputs: x itself, and each column's level code 1..k.
    m = clf.members_[1]
    Xp = clf.preprocessor_.transform(X.iloc[:5])
    contracted = contract(Xp, m.project_to, m.project_value)
    assert contracted.shape == (5, 3)
    np.testing.assert_array_equal(contracted[:, 0], Xp[:, 0])
    assert set(np.unique(contracted[:, 1:])) <= {1.0, 2.0, 3.0, 4.0}
    proba = clf.predict_proba(X.iloc[160:])
    assert auc_score(y[160:], proba) > 0.6
    path = tmp_path / "mixed.npz"
    clf.export_child().save_weights(path)
    np.testing.assert_array_equal(NumpyChild.load(path).predict_proba(X.iloc[160:]), proba)
    # A level unseen in fit still gives probabilities (the one-hot block's all-zero row: code 0).
    unseen = X.iloc[160:170].assign(colour="purple")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isfinite(clf.predict_proba(unseen)).all()


def test_mixed_encoding_without_categories_is_one_hot(twenty_classes):
    Xtr, ytr, Xte, _ = twenty_classes
    Xtr, ytr = Xtr[ytr < 4], ytr[ytr < 4]
    base = fit(Xtr, ytr, n_estimators=2, categorical_encoding="onehot")
    mixed = fit(Xtr, ytr, n_estimators=2, categorical_encoding="mixed")
    np.testing.assert_array_equal(base.predict_proba(Xte), mixed.predict_proba(Xte))


def test_ordinal_encoding_gives_one_column_per_category(categorical_frame):
    X, y = categorical_frame
    clf = fit(X, y, categorical_encoding="ordinal", n_estimators=2)
    assert all(m.W1.shape[0] == 3 for m in clf.members_)


def test_binary_encoding_contracts_only_two_level_columns():
    import pandas as pd

    rng = np.random.default_rng(4)
    X = pd.DataFrame(
        {
            "a": rng.choice(["y", "n"], 100),
            "b": rng.choice(["p", "q", "r"], 100),
            "c": rng.random(100),
        }
    )
    y = (X["a"] == "y").to_numpy().astype(int)
    clf = fit(X, y, categorical_encoding="binary", n_estimators=1)
    assert clf.members_[0].W1.shape[0] == 1 + 3 + 1  # c, b's three levels, a as one column
