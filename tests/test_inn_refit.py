"""INN ``refit``: each member retrained from scratch on every training row, snapshotting at the
epochs of the snapshots its holdout kept (``_refit_member``); never on a caller's validation rows."""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import INN_ONE_MEMBER
from sklearn.datasets import make_classification, make_regression

from automl_hyper.models.inn import INNClassifier, INNRegressor
from automl_hyper.models.inn.estimator import _INNMixin

# 4 cycle ends (epochs 2, 4, 6, 8), all kept, no early stop before epoch 8.
FAST = INN_ONE_MEMBER


def test_refit_retrains_every_member_on_the_snapshots_the_holdout_chose(binary_split):
    X, y, X_test, _ = binary_split
    plain = INNClassifier(**{**FAST, "n_estimators": 2}).fit(X, y)
    refit = INNClassifier(**{**FAST, "n_estimators": 2}, refit=True).fit(X, y)
    assert plain.refitted_members_ == 0
    assert refit.refitted_members_ == 2
    # The same holdout runs chose the same snapshots; the refitted members keep their losses.
    assert refit.snapshot_val_losses_ == plain.snapshot_val_losses_
    assert refit.member_sizes_ == plain.member_sizes_
    assert not np.allclose(plain.predict_proba(X_test), refit.predict_proba(X_test))
    again = INNClassifier(**{**FAST, "n_estimators": 2}, refit=True).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X_test), refit.predict_proba(X_test))


def test_refitted_member_is_the_fit_on_all_rows_at_the_same_seed(binary_split):
    """With every cycle-end snapshot kept, the refit is exactly the fit without a holdout: same
    initialisation, batch order and epochs, on all of X (the rows the split withheld included)."""
    X, y, X_test, _ = binary_split
    refit = INNClassifier(**FAST, refit=True, patience=10).fit(X, y)
    no_split = INNClassifier(**FAST, validation_fraction=0.0, patience=10).fit(X, y)
    assert refit.n_epochs_ == no_split.n_epochs_ == 8
    assert len(refit.ensemble_) == len(no_split.ensemble_) == 4
    np.testing.assert_allclose(
        refit.decision_function(X_test), no_split.decision_function(X_test), rtol=0, atol=1e-10
    )


def test_refit_keeps_only_the_kept_snapshots_and_stops_at_the_last(binary_split):
    X, y, _, _ = binary_split
    params = dict(FAST, restart_period=1, n_snapshots=2, patience=2, random_state=3)
    plain = INNClassifier(**params).fit(X, y)
    refit = INNClassifier(**params, refit=True).fit(X, y)
    assert refit.refitted_members_ == 1
    assert len(refit.ensemble_) == 2 == len(plain.ensemble_)
    # The refit trains up to the last kept snapshot's epoch, no further: at most the holdout run.
    assert refit.n_epochs_ <= plain.n_epochs_
    assert len(refit.loss_curve_) == refit.n_epochs_


def test_refit_never_trains_on_a_callers_validation_rows(binary_split):
    X, y, X_val, y_val = binary_split
    plain = INNClassifier(**FAST).fit(X, y, X_val=X_val, y_val=y_val)
    refit = INNClassifier(**FAST, refit=True).fit(X, y, X_val=X_val, y_val=y_val)
    assert refit.refitted_members_ == 0
    np.testing.assert_array_equal(plain.predict_proba(X_val), refit.predict_proba(X_val))


def test_no_refit_without_a_holdout_or_after_the_time_limit(binary_split):
    X, y, _, _ = binary_split
    assert INNClassifier(**FAST, refit=True, validation_fraction=0).fit(X, y).refitted_members_ == 0
    small = make_classification(16, 4, random_state=0)  # under 20 rows: no internal split
    assert INNClassifier(**FAST, refit=True).fit(*small).refitted_members_ == 0
    spent = INNClassifier(**FAST, refit=True, time_limit=1e-6).fit(X, y)
    assert spent.refitted_members_ == 0 and spent.n_epochs_ == 1


def test_a_refit_the_deadline_interrupts_is_discarded(binary_split, monkeypatch):
    X, y, X_test, _ = binary_split
    original = _INNMixin._refit_member

    def hurried(self, X, y, seed, snapshot_epochs, deadline):
        return original(self, X, y, seed, snapshot_epochs, time.monotonic() - 1.0)

    monkeypatch.setattr(_INNMixin, "_refit_member", hurried)
    interrupted = INNClassifier(**FAST, refit=True).fit(X, y)
    monkeypatch.undo()
    plain = INNClassifier(**FAST).fit(X, y)
    assert interrupted.refitted_members_ == 0
    assert interrupted.n_epochs_ == plain.n_epochs_
    np.testing.assert_array_equal(interrupted.predict_proba(X_test), plain.predict_proba(X_test))


def test_regressor_refits_too():
    X, y = make_regression(150, 4, noise=0.1, random_state=0)
    reg = INNRegressor(**FAST, refit=True).fit(X, y)
    assert reg.refitted_members_ == 1
    assert np.isfinite(reg.predict(X)).all()
    # Explanations stay exact after a refit: contributions plus bias sum to the prediction.
    frame = reg.explain(X[:5])
    np.testing.assert_allclose(frame.sum(axis=1), reg.predict(X[:5]), rtol=1e-8)


def test_refit_is_a_checked_parameter_and_old_pickles_read_false():
    with pytest.raises(ValueError, match="refit"):
        INNClassifier(**FAST, refit="yes").fit(*make_classification(40, 4, random_state=0))
    old = INNClassifier(**FAST)
    del old.__dict__["refit"]  # as unpickled from before the parameter existed
    assert old.get_params()["refit"] is False
