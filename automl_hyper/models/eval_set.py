"""``fit(X, y, X_val=None, y_val=None)``: a validation set chosen by the caller.

AutoGluon hands every model its holdout rows (or a bagged fold's out-of-fold rows) as
``X_val``/``y_val``. A family that early-stops or ranks on held-out rows then uses those and trains
on all of ``X``, instead of cutting its own split out of an already reduced fold. These are fit
parameters, not constructor state (scikit-learn's contract, as ``eval_set`` in XGBoost): the rows
live on the estimator only while ``fit`` runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import is_classifier


class ValidationSetMixin:
    """Put first in the bases of a ``TabularClassifierBase``/``TabularRegressorBase`` family."""

    def fit(self, X, y, X_val=None, y_val=None):
        """Fit on X, y; where given, X_val/y_val replace the family's internal validation split
        (early stopping, fine-tuning step count, architecture ranking)."""
        if (X_val is None) != (y_val is None):
            raise ValueError("pass X_val and y_val together (or neither)")
        self._val_input = None if X_val is None else (X_val, y_val)
        try:
            return super().fit(X, y)
        finally:
            self.__dict__.pop("_val_input", None)

    def _validation_arrays(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The caller's validation rows through the fitted preprocessing, or None.

        Classifiers get labels encoded like ``classes_`` (rows of classes unseen in fit are
        dropped: a bagged fold can miss a rare class); regressors get float64 targets. Called from
        ``_fit_arrays``, after the preprocessing and ``classes_`` were fitted.
        """
        given = self.__dict__.get("_val_input")
        if given is None:
            return None
        X_val, y_val = given
        Xv = self._transform(X_val)
        yv = np.asarray(y_val.to_numpy() if isinstance(y_val, pd.Series) else y_val).ravel()
        if len(yv) != len(Xv):
            raise ValueError(f"X_val has {len(Xv)} rows but y_val has {len(yv)}: they must match.")
        if is_classifier(self):
            known = np.isin(yv, self.classes_)
            Xv, yv = Xv[known], np.searchsorted(self.classes_, yv[known]).astype(np.int64)
            if len(yv) == 0:
                return None
        else:
            yv = yv.astype(np.float64)
            if not np.isfinite(yv).all():
                raise ValueError("y_val contains NaN or infinity.")
        return Xv, yv
