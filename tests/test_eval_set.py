"""``fit(X, y, X_val=..., y_val=...)``: the caller's validation rows (AutoGluon's holdout) replace
each family's internal split. Each test shows the given rows, not an internal split, decided."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import r2_score, roc_auc_score

from automl_hyper.models.inn import INNClassifier, INNRegressor
from automl_hyper.models.mothernet import MotherNetClassifier
from automl_hyper.models.smash import (
    ArchSpec,
    FixedArchitectureClassifier,
    FixedArchitectureRegressor,
)

FAST_INN = {"max_epochs": 4, "restart_period": 1, "hidden_width": 32, "n_blocks": 1}


@pytest.fixture(scope="module")
def binary(shared_dataset):
    X, y = shared_dataset("diabetes")
    X, y = X.iloc[:300], y.iloc[:300]
    return X.iloc[:200], y.iloc[:200], X.iloc[200:], y.iloc[200:]


def test_mothernet_finetuning_stops_on_the_given_rows(binary):
    X, y, Xv, yv = binary
    # On its own training rows the loss falls at every step: the last step is the best. lr 1e-3
    # (not the default 3e-3, which is near its minimum by step ~28, under the 1e-4 stopping margin).
    true = MotherNetClassifier(finetune_steps=30, finetune_lr=1e-3, random_state=0).fit(
        X, y, X_val=X, y_val=y
    )
    assert true.finetune_best_steps_ == [30] * true.n_members_
    # Validation labels flipped: steps that fit the training rows move away from them, so early
    # stopping on these rows keeps (nearly) the generated children.
    flipped = yv.map(dict(zip(sorted(yv.unique()), sorted(yv.unique())[::-1])))
    adverse = MotherNetClassifier(finetune_steps=30, random_state=0).fit(
        X, y, X_val=Xv, y_val=flipped
    )
    assert len(adverse.finetune_best_steps_) == adverse.n_members_
    assert max(adverse.finetune_best_steps_) <= 5
    assert not hasattr(true, "_val_input")  # fit parameters, not estimator state


def test_inn_ranks_snapshots_on_the_given_rows(binary):
    X, y, Xv, yv = binary
    est = INNClassifier(**FAST_INN, n_snapshots=1, random_state=0).fit(X, y, X_val=Xv, y_val=yv)
    net = est.ensemble_[0]
    with torch.no_grad():
        logit = net(torch.as_tensor(est._transform(Xv)))[0][:, 0]
    target = torch.as_tensor(np.searchsorted(est.classes_, yv.to_numpy()), dtype=torch.float32)
    loss = float(torch.nn.functional.binary_cross_entropy_with_logits(logit, target))
    assert est.snapshot_val_losses_[0] == pytest.approx(loss, rel=1e-4)


def test_regressors_score_the_given_rows(shared_dataset):
    X, y = shared_dataset("diabetes")
    X = X.iloc[:240].drop(columns=["plas"])
    y = X.pop("mass").astype(float)  # a regression target from the data itself
    X, Xv, y, yv = X.iloc[:160], X.iloc[160:], y.iloc[:160], y.iloc[160:]
    fixed = FixedArchitectureRegressor(spec=ArchSpec.plain((16,)), max_epochs=5, random_state=0)
    fixed.fit(X, y, X_val=Xv, y_val=yv)
    # validation_score_ is R^2 (scale-free) of the trained network on the given rows.
    assert fixed.validation_score_ == pytest.approx(r2_score(yv, fixed.predict(Xv)), abs=1e-4)
    inn = INNRegressor(**FAST_INN, random_state=0).fit(X, y, X_val=Xv, y_val=yv)
    assert np.isfinite(inn.predict(Xv)).all()


def test_smash_scores_the_given_rows_and_refuses_half_a_pair(binary):
    X, y, Xv, yv = binary
    est = FixedArchitectureClassifier(spec=ArchSpec.plain((16,)), max_epochs=5, random_state=0)
    est.fit(X, y, X_val=Xv, y_val=yv)
    assert est.validation_score_ == pytest.approx(
        roc_auc_score(yv, est.predict_proba(Xv)[:, 1]), abs=1e-4
    )
    with pytest.raises(ValueError, match="together"):
        est.fit(X, y, X_val=Xv)


@pytest.mark.parametrize("many_classes", ["tree", "codes", "ovr"])
def test_mothernet_many_classes_finetune_on_given_rows(many_classes):
    # 12 classes (over MotherNet's 10): each child sees its own labels of the given rows
    # (a group, a class within a group, one class against the rest). One class is absent from fit.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((240, 5))
    y = np.repeat(np.arange(12), 20)
    X[np.arange(240), y % 5] += 3.0
    Xv = rng.standard_normal((60, 5))
    yv = np.arange(60) % 13  # class 12 was never seen in fit: its rows are dropped
    est = MotherNetClassifier(
        finetune_steps=3, n_estimators=2, many_classes=many_classes, random_state=0
    )
    with pytest.warns(UserWarning, match="classes exceed"):
        est.fit(X, y, X_val=Xv, y_val=yv)
    assert len(est.finetune_best_steps_) > est.n_members_  # several children per member
    assert all(0 <= s <= 3 for s in est.finetune_best_steps_)
    proba = est.predict_proba(Xv)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-6)
