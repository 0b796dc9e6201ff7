"""scikit-learn's estimator contract for MotherNetClassifier, with the shipped checkpoint.

No check is skipped or marked as an expected failure. The only skips pytest may report are the
array-API checks, which scikit-learn skips itself unless SCIPY_ARRAY_API is set (this estimator
does not claim array-API support).
"""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from automl_hyper.models.mothernet import MotherNetClassifier


@parametrize_with_checks([MotherNetClassifier(n_estimators=2, random_state=0)])
def test_sklearn_contract(estimator, check):
    check(estimator)
