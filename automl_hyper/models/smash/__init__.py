"""SMASH (arXiv 1708.05344) for tabular MLPs: architecture space, hypernetwork, one-shot search.

``SmashClassifier``/``SmashRegressor`` search; ``FixedArchitectureClassifier``/``Regressor`` train
one given (e.g. discovered) architecture; :func:`register_spec_family` puts a discovered
architecture into the zoo so that AutoGluon, Optuna, MLflow and the CLI see it as a family.
"""

from automl_hyper.models.smash.architecture import ArchSpec, LayerSpec, SearchSpace, as_spec
from automl_hyper.models.smash.estimators import (
    FixedArchitectureClassifier,
    FixedArchitectureRegressor,
    SmashClassifier,
    SmashRegressor,
)
from automl_hyper.models.smash.zoo_entry import register_spec_family, tuning_space

__all__ = [
    "ArchSpec",
    "FixedArchitectureClassifier",
    "FixedArchitectureRegressor",
    "LayerSpec",
    "SearchSpace",
    "SmashClassifier",
    "SmashRegressor",
    "as_spec",
    "register_spec_family",
    "tuning_space",
]
