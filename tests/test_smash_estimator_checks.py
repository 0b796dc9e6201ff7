"""scikit-learn's estimator contract for the SMASH estimators, with tiny budgets.

No check is skipped or marked as an expected failure here. The only skips pytest reports are the
array-API checks, which scikit-learn skips itself unless SCIPY_ARRAY_API is set (and these
estimators do not claim array-API support).
"""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from automl_hyper.models.smash import (
    FixedArchitectureClassifier,
    FixedArchitectureRegressor,
    SmashClassifier,
)

# Tiny space and budgets: each fit takes a fraction of a second, the checks fit many times.
SEARCH = {
    "n_candidates": 8,
    "n_mutations": 2,
    "top_k": 1,
    "hyper_max_epochs": 2,
    "max_epochs": 30,
    "learning_rate": 1e-2,  # few epochs: a larger step reaches the checks' accuracy bars
    "widths": (8, 16),
    "max_depth": 2,
    "random_state": 0,
}
FIXED = {
    "spec": '{"layers": [{"width": 16}]}',
    "max_epochs": 30,
    "learning_rate": 1e-2,
    "random_state": 0,
}


@parametrize_with_checks(
    [
        SmashClassifier(**SEARCH),
        FixedArchitectureClassifier(**FIXED),
        FixedArchitectureRegressor(**{**FIXED, "max_epochs": 60}),
    ]
)
def test_sklearn_contract(estimator, check):
    check(estimator)
