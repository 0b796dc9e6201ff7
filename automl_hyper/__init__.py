"""automl-hyper: hypernetwork model families for scikit-learn, AutoGluon, Optuna and MLflow.

Importing the package is cheap: estimators load on first use, and the families are registered with
AutoGluon when (and only when) ``autogluon.tabular`` is imported, before or after this package, so
``import automl_hyper`` is all an AutoGluon user needs while non-AutoGluon users never pay for it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"

_LAZY = {
    "INNClassifier": "automl_hyper.models.inn",
    "INNRegressor": "automl_hyper.models.inn",
    "MotherNetClassifier": "automl_hyper.models.mothernet",
    "SmashClassifier": "automl_hyper.models.smash",
    "SmashRegressor": "automl_hyper.models.smash",
    "TunedXGBClassifier": "automl_hyper.models.baselines",
    "TabularPreprocessor": "automl_hyper.data.preprocess",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'automl_hyper' has no attribute {name!r}")


def _register_with_autogluon() -> None:
    from automl_hyper.integrations.autogluon import register_families

    register_families()


class _AutoGluonHook(importlib.abc.MetaPathFinder):
    """Registers the zoo with AutoGluon right after ``autogluon.tabular`` finishes importing."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "autogluon.tabular":
            return None
        sys.meta_path.remove(self)  # one-shot: let the normal finders locate the real module
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            _register_with_autogluon()

        spec.loader.exec_module = exec_then_register
        return spec


if "autogluon.tabular" in sys.modules:
    _register_with_autogluon()
elif importlib.util.find_spec("autogluon") is not None:
    sys.meta_path.insert(0, _AutoGluonHook())
