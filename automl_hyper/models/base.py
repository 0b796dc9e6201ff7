"""What every family's estimator shares: input validation in one place and the preprocessing path.

A family subclasses :class:`TabularClassifierBase` (or :class:`TabularRegressorBase`) and writes
only the science, on float32 matrices that have already been validated and preprocessed:

* classifiers: ``_fit_arrays(X, y, n_classes)`` with ``y`` encoded 0..C-1, and
  ``_predict_proba_arrays(X) -> (n, C)``;
* regressors: ``_fit_arrays(X, y)`` and ``_predict_arrays(X) -> (n,)``.

Every check happens before any compute, with a message that names the problem. Hyperparameters are
validated in one style for every family, scikit-learn's: a ``_parameter_constraints`` table
(plus the :meth:`_TabularBase._check_param_values` hook for what a table cannot express), checked
once per ``fit`` by :meth:`_TabularBase._check_fit_input`. Families do not override ``fit`` to check.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from automl_hyper.data.preprocess import (
    TabularPreprocessor,
    _warn,
    check_no_infinity,
    check_same_columns,
    check_unique_columns,
)

# Sparse X is densified (with a warning) up to this many cells (80 MB of float64), refused beyond.
MAX_DENSE_CELLS = 10_000_000


class _TabularBase(BaseEstimator):
    # Families override to change how numbers and categories reach the network.
    _numeric_transform = "quantile"
    _categorical_encoding = "onehot"
    # How categorical columns' missing cells reach the network (TabularPreprocessor).
    _categorical_missing = "most_frequent"
    _clip: float | None = None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN in X is imputed by the preprocessing path
        tags.input_tags.sparse = True  # densified with a warning, up to MAX_DENSE_CELLS
        return tags

    # -- validation ---------------------------------------------------------------------------
    def _check_params(self) -> None:
        """Hyperparameters, checked once per fit before any data work.

        Types and ranges are declared in ``_parameter_constraints`` and checked by scikit-learn's
        own validator; what that language cannot say (a spec that must parse, relations between
        parameters) goes in :meth:`_check_param_values`, which runs right after.
        """
        if hasattr(self, "_parameter_constraints"):
            self._validate_params()
        self._check_param_values()

    def _check_param_values(self) -> None:
        """Hook: checks beyond ``_parameter_constraints``. It may keep what it parsed as fitted
        attributes (e.g. an architecture spec), so that fit does not parse or check it again."""

    def _check_X(self, X, *, reset: bool):
        """Validate X, record or compare its shape and feature names, return a frame or array.

        The data checks of the README's "Bad input" table start here (sparse input, duplicated
        names, infinity, the shape and names seen in fit) and continue in
        :class:`~automl_hyper.data.preprocess.TabularPreprocessor` (missing, text and huge values).
        """
        if sp.issparse(X):
            X = self._densify(X)
        if isinstance(X, pd.DataFrame):
            check_unique_columns(X.columns)
            if not reset and hasattr(self, "feature_names_in_"):
                check_same_columns(self.feature_names_in_, X.columns)
            if X.shape[0] == 0:
                raise ValueError(
                    f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required."
                )
            if X.shape[1] == 0:
                raise ValueError("Found array with 0 feature(s) while a minimum of 1 is required.")
            validate_data(self, X, reset=reset, skip_check_array=True)
            check_no_infinity(X)
            return X
        X = validate_data(self, X, reset=reset, dtype=np.float64, ensure_all_finite="allow-nan")
        return X

    @staticmethod
    def _densify(X) -> np.ndarray:
        n_cells = X.shape[0] * X.shape[1]
        if n_cells > MAX_DENSE_CELLS:
            raise ValueError(
                f"sparse X of shape {X.shape} ({n_cells:,} cells) is too large to densify "
                f"(limit {MAX_DENSE_CELLS:,} cells): these families need dense input; "
                "select features or pass fewer rows per call"
            )
        _warn(f"sparse X of shape {X.shape} densified (these families need dense input)")
        return X.toarray()

    def _check_fit_input(self, X, y):
        self._check_params()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        X = self._check_X(X, reset=True)
        if X.shape[0] < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 training rows; got 1 sample.")
        y = column_or_1d(np.asarray(y) if not isinstance(y, pd.Series) else y.to_numpy(), warn=True)
        if len(y) != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {len(y)}: they must match.")
        missing = pd.isna(y)
        if missing.any():
            raise ValueError(
                f"y contains NaN or missing labels in {int(missing.sum())} of {len(y)} rows; drop or fill them first."
            )
        if y.dtype.kind in "fc" and not np.isfinite(y).all():
            raise ValueError("y contains infinity.")
        return X, y

    def _fit_preprocessor(self, X) -> np.ndarray:
        self.preprocessor_ = TabularPreprocessor(
            numeric_transform=getattr(self, "numeric_transform", self._numeric_transform),
            categorical_encoding=self._categorical_encoding,
            categorical_missing=self._categorical_missing,
            # A family's parameter where it has one (MotherNet), else no pooling by count.
            min_frequency=getattr(self, "category_min_frequency", None),
            clip=self._clip,
            random_state=0,
        )
        return self.preprocessor_.fit_transform(X)

    def _transform(self, X) -> np.ndarray:
        check_is_fitted(self, "preprocessor_")
        return self.preprocessor_.transform(self._check_X(X, reset=False))


class TabularClassifierBase(ClassifierMixin, _TabularBase):
    def fit(self, X, y):
        X, y = self._check_fit_input(X, y)
        check_classification_targets(y)
        classes, y_enc = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes in y; got only one class: {classes[0]!r}."
            )
        self._check_n_classes(len(classes))
        Xt = self._fit_preprocessor(X)
        self.classes_ = classes
        self._fit_arrays(Xt, y_enc.astype(np.int64), len(classes))
        return self

    def _check_n_classes(self, n_classes: int) -> None:
        """Hook: refuse class counts the family cannot handle (before any compute)."""

    def predict_proba(self, X) -> np.ndarray:
        return self._predict_proba_arrays(self._transform(X))

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)  # checks fitted state before classes_ is touched
        return self.classes_[np.argmax(proba, axis=1)]

    def _fit_arrays(self, X: np.ndarray, y: np.ndarray, n_classes: int) -> None:
        raise NotImplementedError

    def _predict_proba_arrays(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class TabularRegressorBase(RegressorMixin, _TabularBase):
    def fit(self, X, y):
        X, y = self._check_fit_input(X, y)
        try:
            y = y.astype(np.float64)
        except ValueError as err:
            raise ValueError(f"{type(self).__name__} needs a numeric target: {err}") from None
        Xt = self._fit_preprocessor(X)
        self._fit_arrays(Xt, y)
        return self

    def predict(self, X) -> np.ndarray:
        return self._predict_arrays(self._transform(X))

    def _fit_arrays(self, X: np.ndarray, y: np.ndarray) -> None:
        raise NotImplementedError

    def _predict_arrays(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError
