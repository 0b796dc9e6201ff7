"""MotherNet: a pretrained transformer that writes a small MLP for a tabular classification task.

The estimator is imported lazily, so that unpickling an exported child (``child.NumpyChild``,
numpy only) never imports torch.
"""

from __future__ import annotations

import importlib

from automl_hyper.models.mothernet.child import NumpyChild

__all__ = ["MotherNetClassifier", "NumpyChild"]


def __getattr__(name: str):
    if name == "MotherNetClassifier":
        return importlib.import_module(
            "automl_hyper.models.mothernet.estimator"
        ).MotherNetClassifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
