"""MotherNet: a pretrained transformer that writes a small MLP for a tabular classification task."""

from automl_hyper.models.mothernet.estimator import MotherNetClassifier

__all__ = ["MotherNetClassifier"]
