"""The baselines as weights: no pickle to write or read them.

Logistic regression: ``config.json`` + ``arrays.npz`` (``coef_``, ``intercept_``, ``classes_`` and
the fitted preprocessing, see :mod:`automl_hyper.data.preprocess_state`). XGBoost (tuned and
default): the same, plus ``xgboost.json``, the booster in XGBoost's own JSON model format
(``save_model``). The tuned model's Optuna study is not kept (``best_params_``, ``cv_score_`` and
the timings are); TabResNet is exported by :mod:`automl_hyper.models.inn.export`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automl_hyper.data.preprocess_state import (
    estimator_state,
    header,
    read_state,
    rebuild_estimator,
    write_state,
)
from automl_hyper.models.baselines.linear import LogisticBaseline
from automl_hyper.models.baselines.xgboost_tuned import DefaultXGBClassifier, TunedXGBClassifier

LOADER = __name__
CLASSES = {c.__name__: c for c in (LogisticBaseline, DefaultXGBClassifier, TunedXGBClassifier)}
_XGBOOST = (DefaultXGBClassifier, TunedXGBClassifier)


def can_export(est: Any) -> bool:
    return type(est) in CLASSES.values() and hasattr(est, "model_")


def export_weights(est: Any, folder: str | Path) -> dict[str, Path]:
    """Write a fitted baseline to ``folder``; returns name -> file."""
    if not can_export(est):
        raise TypeError(f"not a fitted baseline with a weights format: {type(est).__qualname__}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays: dict = {}
    if isinstance(est, _XGBOOST):
        config = {**header(LOADER), **estimator_state(est, {"model_", "study_"}, arrays)}
        booster = folder / "xgboost.json"
        est.model_.save_model(booster)
        return {**write_state(folder, config, arrays), "xgboost": booster}
    config = {**header(LOADER), **estimator_state(est, set(), arrays)}
    return write_state(folder, config, arrays)


def from_weights(folder: str | Path) -> Any:
    """The estimator :func:`export_weights` wrote, ready to predict."""
    folder = Path(folder)
    config, arrays = read_state(folder, LOADER)
    est = rebuild_estimator(CLASSES, config, arrays)
    if isinstance(est, _XGBOOST):
        from xgboost import XGBClassifier

        est.model_ = XGBClassifier()
        est.model_.load_model(folder / "xgboost.json")
        est.model_.set_params(n_jobs=est.n_jobs)  # threads are not part of the model file
    return est
