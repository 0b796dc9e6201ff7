"""INN seed ensembles (``n_estimators``): the ensemble is exactly the equal-weight mean of single
fits at the members' seeds, so its explanations stay exact; partial_fit, X_val and export agree."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import INN_ONE_MEMBER
from sklearn.datasets import make_classification, make_regression

from automl_hyper.models.inn import INNClassifier, INNRegressor
from automl_hyper.models.inn.export import export_weights, from_weights

FAST = INN_ONE_MEMBER
# Early stopping after one cycle without gain and one snapshot per epoch: members stop at
# different epochs, so they keep different numbers of snapshots (the weighting must not care).
UNEVEN = dict(FAST, restart_period=1, patience=1, n_snapshots=10, random_state=2)


@pytest.fixture(scope="module")
def binary():
    return make_classification(200, 6, n_informative=4, random_state=0)


@pytest.fixture(scope="module")
def uneven(binary):
    X, y = binary
    ens = INNClassifier(**{**UNEVEN, "n_estimators": 3}).fit(X, y)
    singles = [INNClassifier(**{**UNEVEN, "random_state": s}).fit(X, y) for s in ens.member_seeds_]
    return ens, singles


def test_members_are_single_fits_at_their_seeds_and_weigh_equally(binary, uneven):
    X, _ = binary
    ens, singles = uneven
    assert ens.member_seeds_[0] == 2  # member 0 is the single fit itself
    assert len(set(ens.member_sizes_)) > 1  # uneven snapshot counts: the weighting is exercised
    assert ens.member_sizes_ == [len(s.ensemble_) for s in singles]
    assert ens.n_epochs_ == max(ens.member_epochs_)
    expected = np.mean([s.decision_function(X) for s in singles], axis=0)
    np.testing.assert_allclose(ens.decision_function(X), expected, rtol=0, atol=1e-12)


def test_ensemble_attribution_is_the_mean_of_members_and_sums_to_its_logit(binary, uneven):
    X, _ = binary
    ens, singles = uneven
    expl = ens.explain(X[:50])
    members = np.mean([s.explain(X[:50]).to_numpy() for s in singles], axis=0)
    np.testing.assert_allclose(expl.to_numpy(), members, rtol=0, atol=1e-12)
    np.testing.assert_allclose(expl.sum(axis=1), ens.decision_function(X[:50]), atol=1e-12)
    # predict_proba is the sigmoid of that same logit
    p1 = 1 / (1 + np.exp(-ens.decision_function(X[:50])))
    np.testing.assert_allclose(ens.predict_proba(X[:50])[:, 1], p1, atol=1e-12)


def test_multiclass_and_regressor_ensembles_sum_exactly():
    X, y = make_classification(150, 5, n_informative=4, n_redundant=0, n_classes=3, random_state=1)
    clf = INNClassifier(**{**FAST, "n_estimators": 2}).fit(X, y)
    logits = clf.decision_function(X[:20])
    for c, frame in clf.explain(X[:20]).items():
        np.testing.assert_allclose(frame.sum(axis=1), logits[:, c], atol=1e-12)
    Xr, yr = make_regression(150, 4, noise=1.0, random_state=0)
    reg = INNRegressor(**{**FAST, "n_estimators": 2}).fit(Xr, yr)
    single = [INNRegressor(**{**FAST, "random_state": s}).fit(Xr, yr) for s in reg.member_seeds_]
    expected = np.mean([s.predict(Xr) for s in single], axis=0)
    np.testing.assert_allclose(reg.predict(Xr), expected, atol=1e-9)
    np.testing.assert_allclose(reg.explain(Xr[:10]).sum(axis=1), reg.predict(Xr[:10]), atol=1e-9)


def test_caller_validation_rows_serve_every_member(binary):
    X, y = binary
    Xv, yv = make_classification(60, 6, n_informative=4, random_state=5)
    ens = INNClassifier(**{**FAST, "n_estimators": 2}).fit(X, y, X_val=Xv, y_val=yv)
    s1 = INNClassifier(**{**FAST, "random_state": ens.member_seeds_[1]})
    s1.fit(X, y, X_val=Xv, y_val=yv)
    s0 = INNClassifier(**FAST).fit(X, y, X_val=Xv, y_val=yv)
    expected = (s0.decision_function(X) + s1.decision_function(X)) / 2
    np.testing.assert_allclose(ens.decision_function(X), expected, atol=1e-12)


def test_partial_fit_trains_every_member(binary):
    X, y = binary
    ens = INNClassifier(**{**FAST, "n_estimators": 2})
    for _ in range(3):
        ens.partial_fit(X, y, classes=[0, 1])
    singles = [INNClassifier(**{**FAST, "random_state": s}) for s in ens.member_seeds_]
    for single in singles:
        for _ in range(3):
            single.partial_fit(X, y, classes=[0, 1])
    expected = np.mean([s.decision_function(X) for s in singles], axis=0)
    np.testing.assert_allclose(ens.decision_function(X), expected, atol=1e-12)
    # after fit, partial_fit continues every member, not only the last one trained
    fitted = INNClassifier(**{**FAST, "n_estimators": 2}).fit(X, y)
    fitted.partial_fit(X, y)
    assert len(fitted.member_sizes_) == 2
    assert [s["n_epochs_"] for s in fitted._member_states] == [e + 1 for e in fitted.member_epochs_]


def test_time_limit_is_shared_by_the_members(binary):
    X, y = binary
    # A limit every epoch crosses: each member still trains its first epoch and counts.
    ens = INNClassifier(**{**FAST, "n_estimators": 3}, time_limit=1e-9).fit(X, y)
    assert ens.member_epochs_ == [1, 1, 1]
    assert ens.member_sizes_ == [1, 1, 1]


def test_export_carries_every_member(binary, uneven, tmp_path):
    X, _ = binary
    ens, _ = uneven
    export_weights(ens, tmp_path)
    back = from_weights(tmp_path)
    assert len(back.ensemble_) == sum(ens.member_sizes_)
    assert back.member_sizes_ == ens.member_sizes_
    np.testing.assert_array_equal(back.predict_proba(X), ens.predict_proba(X))
    np.testing.assert_array_equal(back.explain(X[:10]).to_numpy(), ens.explain(X[:10]).to_numpy())
