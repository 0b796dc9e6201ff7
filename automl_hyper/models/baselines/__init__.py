"""Reference models used in comparisons: tuned XGBoost, default XGBoost, logistic regression, and
TabResNet (INN's network with a plain head)."""

from automl_hyper.models.baselines.linear import LogisticBaseline
from automl_hyper.models.baselines.tabresnet import TabResNetClassifier
from automl_hyper.models.baselines.xgboost_tuned import (
    DefaultXGBClassifier,
    TunedXGBClassifier,
    auc_score,
    suggest_xgb_params,
)

__all__ = [
    "DefaultXGBClassifier",
    "LogisticBaseline",
    "TabResNetClassifier",
    "TunedXGBClassifier",
    "auc_score",
    "suggest_xgb_params",
]
