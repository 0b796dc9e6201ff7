"""Discovered architectures as zoo families ("winners as candidates").

A registered spec family trains that one architecture with FixedArchitecture*; its search space
is what SMASH deliberately left out (learning rate, dropout, weight decay), so Optuna tunes those
over the winner.
"""

from __future__ import annotations

import re

from automl_hyper.models.smash.architecture import ArchSpec, as_spec
from automl_hyper.space import Dimension, Float
from automl_hyper.zoo import Family, register


def tuning_space() -> dict[str, Dimension]:
    """The training hyperparameters tuned after the search (defaults match the estimators)."""
    return {
        "learning_rate": Float(1e-4, 1e-2, default=1e-3, log=True),
        "dropout": Float(0.0, 0.5, default=0.0),
        "weight_decay": Float(1e-7, 1e-2, default=1e-5, log=True),
    }


def register_spec_family(
    spec: ArchSpec | str | dict, name: str, *, autogluon: bool = True
) -> Family:
    """Register ``spec`` as a fixed-architecture family called ``name`` and return it.

    Idempotent for the same spec and name; a different spec under a taken name raises. With
    ``autogluon`` the family gets the AutoGluon key ``SMASH_<NAME>`` (upper case, ``-`` to ``_``).
    """
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
        raise ValueError(f"family name must be lower-case letters, digits, '-' or '_': {name!r}")
    spec = as_spec(spec)
    key = "SMASH_" + name.upper().replace("-", "_")
    return register(
        Family(
            name=name,
            classifier="automl_hyper.models.smash:FixedArchitectureClassifier",
            regressor="automl_hyper.models.smash:FixedArchitectureRegressor",
            space=tuning_space(),
            defaults={"spec": spec.to_json()},
            description=f"architecture found by SMASH: {spec.describe()}",
            ag_key=key if autogluon else None,
            ag_name=key if autogluon else None,
            ag_priority=30,
        )
    )
