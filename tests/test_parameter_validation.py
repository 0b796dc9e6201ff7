"""One validation style: scikit-learn's ``_parameter_constraints``, checked once per fit.

``check_param_validation`` is scikit-learn's own check (not part of ``parametrize_with_checks``):
every constructor parameter has a constraint, and a bad type or value fails ``fit`` with
scikit-learn's ``InvalidParameterError`` before any data work.
"""

from __future__ import annotations

import pytest
from sklearn.datasets import make_classification
from sklearn.utils.estimator_checks import check_param_validation

from automl_hyper.models.baselines import (
    DefaultXGBClassifier,
    LogisticBaseline,
    TabResNetClassifier,
    TunedXGBClassifier,
)
from automl_hyper.models.inn import INNClassifier, INNRegressor
from automl_hyper.models.smash import (
    FixedArchitectureClassifier,
    FixedArchitectureRegressor,
    SmashClassifier,
    SmashRegressor,
)

ESTIMATORS = [
    INNClassifier,
    INNRegressor,
    TabResNetClassifier,
    SmashClassifier,
    SmashRegressor,
    FixedArchitectureClassifier,
    FixedArchitectureRegressor,
    LogisticBaseline,
    DefaultXGBClassifier,
    TunedXGBClassifier,
]

# Budgets small enough that a real fit takes well under a second.
SMALL = {
    INNClassifier: dict(hidden_width=8, max_epochs=2, restart_period=1),
    SmashClassifier: dict(
        n_candidates=4, n_mutations=0, top_k=1, hyper_max_epochs=1, max_epochs=2, widths=(8,)
    ),
    FixedArchitectureClassifier: dict(spec='{"layers": [{"width": 8}]}', max_epochs=2),
    LogisticBaseline: {},
    TunedXGBClassifier: dict(n_trials=1, cv=2, max_estimators=5),
}


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_parameter_has_a_constraint_and_bad_values_fail_fit(cls):
    check_param_validation(cls.__name__, cls())


@pytest.mark.parametrize("cls", list(SMALL), ids=lambda c: c.__name__)
def test_parameters_are_checked_once_per_fit(cls):
    calls = []

    class Counting(cls):
        def _validate_params(self):
            calls.append(type(self).__name__)
            super()._validate_params()

    X, y = make_classification(60, 4, random_state=0)
    Counting(**SMALL[cls]).fit(X, y)
    assert len(calls) == 1


def test_checks_beyond_the_table_run_in_the_same_pass():
    X, y = make_classification(40, 4, random_state=0)
    with pytest.raises(ValueError, match="widths must be positive"):
        SmashClassifier(widths=(0, 8)).fit(X, y)
    with pytest.raises(ValueError, match="not valid JSON"):
        FixedArchitectureClassifier(spec="{not json").fit(X, y)
    with pytest.raises(ValueError, match="n_trials or time_budget"):
        TunedXGBClassifier(n_trials=None, time_budget=None).fit(X, y)
