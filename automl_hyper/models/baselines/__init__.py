"""Reference models used in every comparison: tuned XGBoost, default XGBoost, logistic regression."""

from automl_hyper.models.baselines.linear import LogisticBaseline
from automl_hyper.models.baselines.xgboost_tuned import (
    DefaultXGBClassifier,
    TunedXGBClassifier,
    auc_score,
    suggest_xgb_params,
)
from automl_hyper.models.inn.estimator import TabResNetClassifier

__all__ = [
    "DefaultXGBClassifier",
    "LogisticBaseline",
    "TabResNetClassifier",
    "TunedXGBClassifier",
    "auc_score",
    "suggest_xgb_params",
]
