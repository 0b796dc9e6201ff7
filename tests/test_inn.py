"""INN: estimator contract, exact explanations, regression, partial_fit, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_breast_cancer, make_classification, make_regression
from sklearn.metrics import roc_auc_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from automl_hyper.models.inn import INNClassifier, INNRegressor

# learning_rate 1e-2: the default 3e-3 is chosen for 40+ epochs; 10 reach the checks' bars slower.
FAST = dict(
    hidden_width=16,
    max_epochs=10,
    restart_period=5,
    n_snapshots=2,
    learning_rate=1e-2,
    random_state=0,
)

# No check is skipped or expected to fail (the two SKIPPED rows in the report are sklearn's own
# array-API checks, which need SCIPY_ARRAY_API=1 in the environment).


@parametrize_with_checks([INNClassifier(**FAST), INNRegressor(**FAST)])
def test_sklearn_contract(estimator, check):
    check(estimator)


def test_inn_accuracy_and_explanations_sum_exactly():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    clf = INNClassifier(random_state=0, max_epochs=40).fit(X[:400], y[:400])
    proba = clf.predict_proba(X[400:])
    assert roc_auc_score(y[400:], proba[:, 1]) > 0.97
    expl = clf.explain(X[400:420])
    assert list(expl.index) == list(X.index[400:420])
    assert expl.shape[1] == len(clf.feature_names_out_) + 1
    assert list(expl.columns[:2]) == ["mean radius", "mean texture"]  # the user's names
    np.testing.assert_allclose(expl.sum(axis=1), clf.decision_function(X[400:420]), atol=1e-4)
    assert clf.feature_importances_.shape == (X.shape[1],)
    assert np.isclose(clf.feature_importances_.sum(), 1.0)


def test_multiclass_explanations_per_class():
    X, y = make_classification(300, 6, n_informative=4, n_classes=3, random_state=0)
    clf = INNClassifier(random_state=0, max_epochs=10).fit(X, y)
    expl = clf.explain(X[:10])
    assert set(expl) == {0, 1, 2}
    logits = clf.decision_function(X[:10])
    for c in range(3):
        np.testing.assert_allclose(expl[c].sum(axis=1), logits[:, c], atol=1e-4)


def test_inn_regressor_fits_and_explains():
    X, y = make_regression(400, 5, noise=1.0, random_state=0)
    reg = INNRegressor(random_state=0, max_epochs=30).fit(X[:300], y[:300])
    assert reg.score(X[300:], y[300:]) > 0.8
    expl = reg.explain(X[300:310])
    np.testing.assert_allclose(expl.sum(axis=1), reg.predict(X[300:310]), rtol=1e-4, atol=1e-3)


def test_random_state_makes_fits_identical():
    X, y = make_classification(200, 5, random_state=1)
    a = INNClassifier(**FAST).fit(X, y).predict_proba(X)
    b = INNClassifier(**FAST).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_partial_fit_one_epoch_per_call():
    X, y = make_classification(200, 5, random_state=2)
    clf = INNClassifier(**FAST)
    for epoch in range(1, 4):
        clf.partial_fit(X, y, classes=[0, 1])
        assert clf.n_epochs_ == epoch
    assert clf.predict_proba(X).shape == (200, 2)
    with pytest.raises(ValueError, match="not seen"):
        clf.partial_fit(X, np.full(200, 7))


def test_categorical_frame_and_unseen_category():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"num": rng.normal(size=200), "color": rng.choice(["red", "blue"], 200)})
    y = (df["num"] + (df["color"] == "red")) > 0.5
    clf = INNClassifier(**FAST).fit(df, y)
    test = df.head(3).assign(color=["green", "red", "blue"])
    assert clf.predict_proba(test).shape == (3, 2)  # unseen "green" encodes as all zeros


@pytest.mark.parametrize(
    "X, y, message",
    [
        (np.zeros((0, 3)), np.zeros(0), "0 sample"),
        (np.ones((5, 2)), np.ones(5), "class"),
        (np.ones((6, 2)), np.array([0, 1, np.nan, 0, 1, 0]), "NaN"),
        (np.ones((6, 2)), np.array([0, 1, 0]), "rows"),
    ],
)
def test_bad_input_is_refused_before_training(X, y, message):
    with pytest.raises(ValueError, match=message):
        INNClassifier(**FAST).fit(X, y)


def test_columns_that_differ_at_predict_time():
    df = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3})
    clf = INNClassifier(**FAST).fit(df, np.arange(20) % 2)
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(df.rename(columns={"b": "c"}))
    with pytest.raises(ValueError, match="features"):
        clf.predict(np.ones((2, 3)))


def test_explain_and_importances_speak_in_the_users_features():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {"mean radius": rng.normal(size=200), "colour": rng.choice(["red", "green", "blue"], 200)}
    )
    y = (df["mean radius"] + (df["colour"] == "red")) > 0.5
    clf = INNClassifier(**FAST).fit(df, y)
    levels = ["colour=blue", "colour=green", "colour=red"]
    assert list(clf.explain(df.head(3)).columns) == ["mean radius", *levels, "bias"]
    assert list(clf.feature_names_out_) == ["mean radius", *levels]
    # One importance per input column (sklearn's convention); the levels' detail sums to it.
    assert clf.feature_importances_.shape == (clf.n_features_in_,) == (2,)
    by_level = clf.feature_importances_by_level_
    np.testing.assert_allclose(clf.feature_importances_, [by_level[0], by_level[1:].sum()])
    assert np.isclose(clf.feature_importances_.sum(), 1.0)


def test_bias_penalty_moves_the_logit_out_of_the_unattributed_bias():
    # The weight penalty alone pushes signal into the per-row bias that explain() credits to no
    # feature; bias_penalty charges each row's bias for straying from the batch's mean bias.
    X, y = load_breast_cancer(return_X_y=True)
    spread = {}
    for lam in (0.0, 3.0):
        clf = INNClassifier(**{**FAST, "hidden_width": 32}, bias_penalty=lam).fit(X, y)
        expl = clf.explain(X[:200])
        spread[lam] = expl["bias"].std() / expl.drop(columns="bias").sum(axis=1).std()
        assert roc_auc_score(y, clf.predict_proba(X)[:, 1]) > 0.95
    assert spread[3.0] < 0.5 * spread[0.0]


def test_variation_penalty_pulls_the_rows_linear_models_toward_one():
    # Per-row weights and bias as the network generates them, for every training row.
    X, y = make_classification(300, 6, n_informative=4, random_state=0)
    spread = {}
    for lam in (0.0, 3.0):
        clf = INNClassifier(
            hidden_width=32,
            max_epochs=20,
            learning_rate=1e-2,
            variation_penalty=lam,
            random_state=0,
        ).fit(X, y)
        net = clf.ensemble_[0]
        rows = torch.as_tensor(clf._net_input(clf._transform(X)), dtype=torch.float32)
        with torch.no_grad():
            weights = net(rows)[1][:, 0, :].numpy()  # (rows, features + bias)
        spread[lam] = weights.std(axis=0).mean()
        assert roc_auc_score(y, clf.decision_function(X)) > 0.95
    assert spread[3.0] < 0.25 * spread[0.0]


def _linear_noisy(seed: int, n: int = 150) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 8))
    return X, (X[:, 0] + 0.5 * X[:, 1] + rng.standard_normal(n) > 0).astype(int)


@pytest.mark.parametrize(
    ("data", "chosen"),
    [
        (lambda: _linear_noisy(2), 3.0),  # noisy, linear: the shared linear model wins
        (lambda: make_classification(400, 6, n_informative=4, random_state=0), 0.0),
    ],
)
def test_auto_variation_keeps_the_candidate_with_the_lower_holdout_loss(data, chosen):
    X, y = data()
    params = dict(max_epochs=20, restart_period=5, n_estimators=1, random_state=0)
    auto = INNClassifier(**params, variation_penalty="auto").fit(X, y)
    assert auto.member_variation_penalties_ == [chosen]
    # The kept member is exactly the fit at the chosen value, and its holdout loss is the lower.
    fixed = {v: INNClassifier(**params, variation_penalty=v).fit(X, y) for v in (0.0, 3.0)}
    np.testing.assert_array_equal(auto.predict_proba(X), fixed[chosen].predict_proba(X))
    best = {v: min(est.snapshot_val_losses_) for v, est in fixed.items()}
    assert best[chosen] == min(best.values())


def test_auto_variation_without_a_holdout_is_the_plain_fit():
    X, y = _linear_noisy(2)
    plain = INNClassifier(**FAST, validation_fraction=0).fit(X, y)
    auto = INNClassifier(**FAST, validation_fraction=0, variation_penalty="auto").fit(X, y)
    assert set(auto.member_variation_penalties_) == {0.0}
    np.testing.assert_array_equal(auto.predict_proba(X), plain.predict_proba(X))
    streamed = INNClassifier(**FAST, variation_penalty="auto").partial_fit(X, y, classes=[0, 1])
    assert streamed._variation == 0.0
    with pytest.raises(ValueError, match="variation_penalty"):
        INNClassifier(**FAST, variation_penalty="always").fit(X, y)


def test_auto_variation_chooses_on_a_callers_validation_rows_and_for_regressors():
    X, y = _linear_noisy(2, n=240)
    X_tr, y_tr, X_val, y_val = X[:180], y[:180], X[180:], y[180:]
    params = dict(max_epochs=10, restart_period=5, n_estimators=1, random_state=0)
    auto = INNClassifier(**params, variation_penalty="auto").fit(
        X_tr, y_tr, X_val=X_val, y_val=y_val
    )
    fixed = {
        v: INNClassifier(**params, variation_penalty=v).fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
        for v in (0.0, 3.0)
    }
    best = {v: min(est.snapshot_val_losses_) for v, est in fixed.items()}
    (chosen,) = auto.member_variation_penalties_
    assert best[chosen] == min(best.values())
    np.testing.assert_array_equal(auto.predict_proba(X_val), fixed[chosen].predict_proba(X_val))
    Xr, yr = make_regression(150, 4, noise=5.0, random_state=0)
    reg = INNRegressor(**{**params, "n_estimators": 2}, variation_penalty="auto").fit(Xr, yr)
    assert len(reg.member_variation_penalties_) == 2
    assert set(reg.member_variation_penalties_) <= {0.0, 3.0}
    np.testing.assert_allclose(reg.explain(Xr[:5]).sum(axis=1), reg.predict(Xr[:5]), rtol=1e-8)
