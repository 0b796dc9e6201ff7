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
    # Prior v2 (all off by default: the v1 prior, with the same random stream). Shares of tasks
    # drawn from the tree SCM, the boolean/discrete prior and the low-dimensional prior; the
    # MLP/SCM prior takes what the GP and these leave.
    tree_fraction: float = 0.0
    boolean_fraction: float = 0.0
    lowdim_fraction: float = 0.0
    tree_max_depth: int = 4
    tree_max_ensemble: int = 2
    # Probability that a task writes some of its columns one-hot (binned, rare levels included),
    # as the estimator encodes categoricals.
    onehot_probability: float = 0.0
    # Upper end of the class-imbalance spread (class shares are softmax(sigma * noise)).
    max_imbalance: float = 2.0

    @property
    def is_v1(self) -> bool:
        return (
            self.tree_fraction == self.boolean_fraction == self.lowdim_fraction == 0
            and self.onehot_probability == 0
        )

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
        shares = (self.gp_fraction, self.tree_fraction, self.boolean_fraction, self.lowdim_fraction)
        if min(shares) < 0 or sum(shares) > 1:
            raise ValueError("prior fractions must be >= 0 and sum to at most 1")
        if self.tree_max_depth < 1 or self.tree_max_ensemble < 1:
            raise ValueError("need tree_max_depth >= 1 and tree_max_ensemble >= 1")
