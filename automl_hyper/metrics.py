"""Metrics shared by the comparison, the baselines' tuning and the benchmarks."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score


def auc_score(y_true: np.ndarray, proba: np.ndarray) -> float:
    """ROC AUC as the MotherNet paper computes it: binary, or one-vs-one macro for multiclass.

    ``y_true`` holds class indices 0..C-1 matching the columns of ``proba``.
    """
    if proba.shape[1] == 2:
        return float(roc_auc_score(y_true, proba[:, 1]))
    return float(roc_auc_score(y_true, proba, multi_class="ovo", labels=np.arange(proba.shape[1])))
