"""A neutral search-space description.

Each zoo family declares its hyperparameters once with these three types; the integrations
translate them to Optuna (``trial.suggest_*`` and ``optuna.distributions``) and to AutoGluon
(``autogluon.common.space``). Keeping the declaration library-free keeps ``import automl_hyper``
fast and means a family is described in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Float:
    low: float
    high: float
    default: float
    log: bool = False


@dataclass(frozen=True)
class Int:
    low: int
    high: int
    default: int
    log: bool = False


@dataclass(frozen=True)
class Categorical:
    choices: tuple
    default: Any


Dimension = Float | Int | Categorical


def defaults_of(space: dict[str, Dimension]) -> dict[str, Any]:
    """The default value of every dimension."""
    return {name: dim.default for name, dim in space.items()}
