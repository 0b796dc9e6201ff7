"""INN: Interpretable Mesomorphic Networks (Kadra et al., arXiv 2305.13072)."""

from automl_hyper.models.inn.estimator import INNClassifier, INNRegressor

__all__ = ["INNClassifier", "INNRegressor"]
