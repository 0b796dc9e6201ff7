"""Every estimator of the package with a budget small enough for a fit in about a second.

Shared by the determinism and bad-input tests (and ``benchmarks/bad_input_matrix.py``), so that a
new estimator added here is checked by all of them.
"""

from __future__ import annotations

from collections.abc import Callable

from automl_hyper.models.baselines import (
    DefaultXGBClassifier,
    LogisticBaseline,
    TabResNetClassifier,
    TunedXGBClassifier,
)
from automl_hyper.models.inn import INNClassifier, INNRegressor
from automl_hyper.models.mothernet import MotherNetClassifier
from automl_hyper.models.smash import (
    FixedArchitectureClassifier,
    FixedArchitectureRegressor,
    SmashClassifier,
    SmashRegressor,
)

_INN = dict(hidden_width=8, n_blocks=1, max_epochs=2, restart_period=1, random_state=0)
_SMASH = dict(
    n_candidates=4,
    n_mutations=0,
    top_k=1,
    hyper_max_epochs=1,
    hyper_time_budget=None,
    max_epochs=2,
    widths=(8,),
    max_depth=2,
    random_state=0,
)
_FIXED = dict(spec='{"layers": [{"width": 8}]}', max_epochs=2, random_state=0)

CLASSIFIERS: dict[str, Callable[[], object]] = {
    "MotherNet": lambda: MotherNetClassifier(n_estimators=1, random_state=0),
    "INNClassifier": lambda: INNClassifier(**_INN),
    "TabResNet": lambda: TabResNetClassifier(**_INN),
    "SmashClassifier": lambda: SmashClassifier(**_SMASH),
    "FixedArchClassifier": lambda: FixedArchitectureClassifier(**_FIXED),
    "Logistic": lambda: LogisticBaseline(),
    "DefaultXGB": lambda: DefaultXGBClassifier(random_state=0),
    "TunedXGB": lambda: TunedXGBClassifier(n_trials=1, cv=2, max_estimators=5, random_state=0),
}

REGRESSORS: dict[str, Callable[[], object]] = {
    "INNRegressor": lambda: INNRegressor(**_INN),
    "SmashRegressor": lambda: SmashRegressor(**_SMASH),
    "FixedArchRegressor": lambda: FixedArchitectureRegressor(**_FIXED),
}

ESTIMATORS = {**CLASSIFIERS, **REGRESSORS}


def is_classifier(name: str) -> bool:
    return name in CLASSIFIERS
