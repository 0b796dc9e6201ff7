"""Prior hyperparameters: how varied the synthetic tasks are."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class PriorConfig:
    max_features: int = 100
    max_classes: int = 10
    min_rows: int = 64
    max_rows: int = 512
    # Fraction of rows used for training; the rest are the test rows the loss is measured on.
    min_train_fraction: float = 0.4
    max_train_fraction: float = 0.85
    # Share of tasks drawn from the Gaussian-process prior; the rest come from the MLP/SCM prior.
    gp_fraction: float = 0.3
    mlp_width: int = 64
    mlp_min_layers: int = 1
    mlp_max_layers: int = 3
    binary_fraction: float = 0.5
    # Probability that a task has any categorical (discretised) columns / any missing values.
    categorical_probability: float = 0.4
    missing_probability: float = 0.2
    # Features are z-scored on training rows and clipped, exactly as the estimator does at inference.
    clip: float = 5.0

    def to_dict(self) -> dict:
        return asdict(self)

    def __post_init__(self) -> None:
        if self.mlp_width * (self.mlp_min_layers + 1) < self.max_features + 1:
            raise ValueError(
                "mlp_width * mlp_min_layers must exceed max_features: every feature and the target "
                "are read from distinct hidden nodes"
            )
        if not 0 < self.min_train_fraction <= self.max_train_fraction < 1:
            raise ValueError("need 0 < min_train_fraction <= max_train_fraction < 1")
        if self.min_rows < 8 or self.max_rows < self.min_rows:
            raise ValueError("need 8 <= min_rows <= max_rows")
