"""TunedXGBClassifier's time budget is Optuna's timeout, checked before each trial only."""

from __future__ import annotations

import pytest
from sklearn.datasets import make_classification

from automl_hyper.models.baselines.xgboost_tuned import TunedXGBClassifier


def test_a_budget_spent_before_the_first_trial_falls_back_to_defaults():
    """Optuna checks the timeout before the first trial too, so a budget of 1 microsecond runs
    no trial: the fit falls back to XGBoost's defaults with a warning (it raised "No trials are
    completed yet" before)."""
    X, y = make_classification(n_samples=120, n_features=5, random_state=0)
    model = TunedXGBClassifier(n_trials=5, time_budget=1e-6, cv=2, random_state=0)
    with pytest.warns(UserWarning, match=r"ran out before the first trial.*XGBoost defaults"):
        model.fit(X, y)
    assert len(model.study_.trials) == 0 and model.best_params_ == {}
    assert model.predict_proba(X).shape == (120, 2)
