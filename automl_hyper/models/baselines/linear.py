"""Logistic regression on the shared preprocessing (reference)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import Interval

from automl_hyper.models.base import TabularClassifierBase


class LogisticBaseline(TabularClassifierBase):
    """L2 logistic regression (lbfgs) on quantile-transformed, one-hot encoded features."""

    _parameter_constraints = {
        "C": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, C: float = 1.0, max_iter: int = 1000, random_state=None):
        self.C = C
        self.max_iter = max_iter
        self.random_state = random_state

    def _fit_arrays(self, X: np.ndarray, y: np.ndarray, n_classes: int) -> None:
        # float64: on float32 input scikit-learn keeps float32 coefficients, and a row's float32
        # probability then changed in the 7th digit with the rows predicted alongside it.
        self.model_ = LogisticRegression(
            C=self.C, max_iter=self.max_iter, random_state=self.random_state
        ).fit(X.astype(np.float64), y)

    def _predict_proba_arrays(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(X.astype(np.float64))
