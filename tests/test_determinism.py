"""A row's prediction does not depend on the rows predicted alongside it.

float32 matmul rounding depends on the batch shape (BLAS picks kernels and blockings by shape), so
families predict in float64 (INN's per-row linear models and snapshot average, SMASH and fixed
architectures, MotherNet's numpy child). Checked for every estimator: each row alone, the batch,
and the batch reversed give the same numbers to 1e-12.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from roster import ESTIMATORS, is_classifier


def _data(classification: bool):
    rng = np.random.default_rng(0)
    n = 90
    X = pd.DataFrame(rng.normal(size=(n, 5)), columns=[f"f{i}" for i in range(5)])
    X["f4"] = X["f4"] * 1e3 + 50  # a column on another scale
    X["colour"] = rng.choice(["red", "green", "blue"], size=n)
    signal = 2 * X["f0"] - X["f1"] + (X["colour"] == "red")
    y = (signal > 0).map({True: "yes", False: "no"}) if classification else signal
    return X.iloc[:60], y.iloc[:60], X.iloc[60:].reset_index(drop=True)


def _predict(est, X, classification: bool) -> np.ndarray:
    out = est.predict_proba(X) if classification else est.predict(X)
    return np.asarray(out, dtype=np.float64)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_a_row_predicts_the_same_alone_as_in_any_batch(name):
    classification = is_classifier(name)
    X, y, X_new = _data(classification)
    est = ESTIMATORS[name]().fit(X, y)
    batch = _predict(est, X_new, classification)
    alone = np.concatenate(
        [_predict(est, X_new.iloc[[i]], classification) for i in range(len(X_new))]
    )
    reversed_ = _predict(est, X_new.iloc[::-1], classification)[::-1]
    assert np.isfinite(batch).all()
    np.testing.assert_allclose(alone, batch, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(reversed_, batch, rtol=1e-12, atol=1e-12)
    # The training rows, predicted in batches of two sizes, agree too.
    whole = _predict(est, X, classification)
    halves = np.concatenate(
        [_predict(est, X.iloc[:7], classification), _predict(est, X.iloc[7:], classification)]
    )
    np.testing.assert_allclose(halves, whole, rtol=1e-12, atol=1e-12)
