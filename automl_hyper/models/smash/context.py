"""The settings of a SMASH search and the context that one fit's search runs in.

:class:`SearchConfig` is a plain record of settings; :data:`CONFIG_CONSTRAINTS` states their valid
values in scikit-learn's constraint language, and the SMASH estimators declare their
``_parameter_constraints`` from it, so each setting has one rule, checked once per fit.
:class:`SearchContext` bundles what every step of the search reads (data, task, settings,
randomness, deadline), so that the steps take one argument instead of a dozen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions, validate_parameter_constraints

from automl_hyper.models.smash.budget import Budget
from automl_hyper.models.smash.training import METRICS

SAMPLERS = ("random", "optuna")
# How the finalists are chosen from the scored pool: the hypernetwork proxy (validation score under
# generated weights), the UNF predictor's predicted held-out score of those generated weights, or
# the average of the two ranks.
RANKERS = ("proxy", "unf", "both")

# How a refit may average its weights over epochs (SearchConfig.refit_average): each option's
# refit length, in kept epochs; the average always starts at half the kept count.
REFIT_AVERAGES: dict[str, float] = {"last_half": 1.0, "centered": 1.5, "long": 2.0}
_AT_LEAST_ONE = Interval(Integral, 1, None, closed="left")
_NON_NEGATIVE_INT = Interval(Integral, 0, None, closed="left")
_POSITIVE = Interval(Real, 0, None, closed="neither")

# The valid values of every SearchConfig field, in scikit-learn's constraint language: the SMASH
# estimators declare their ``_parameter_constraints`` from this table, so a setting has one rule.
CONFIG_CONSTRAINTS: dict[str, list] = {
    "n_candidates": [_AT_LEAST_ONE],
    "n_mutations": [_NON_NEGATIVE_INT],
    "n_parents": [_AT_LEAST_ONE],
    "top_k": [_AT_LEAST_ONE],
    "sampler": [StrOptions(set(SAMPLERS))],
    "proxy_metric": [StrOptions(set(METRICS))],
    "real_metric": [StrOptions(set(METRICS))],
    "max_params": [_AT_LEAST_ONE, None],
    "hyper_time_budget": [_POSITIVE, None],
    "hyper_max_epochs": [_AT_LEAST_ONE],
    "hyper_hidden": [_AT_LEAST_ONE],
    "hyper_rank": [_AT_LEAST_ONE],
    "hyper_learning_rate": [_POSITIVE],
    "hyper_archs_per_step": [_AT_LEAST_ONE],
    "learning_rate": [_POSITIVE],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "max_epochs": [_AT_LEAST_ONE],
    "batch_size": [_AT_LEAST_ONE],
    "patience": [_NON_NEGATIVE_INT],
    "init_from_hypernet": ["boolean"],
    "ranker": [StrOptions(set(RANKERS))],
    "unf_predictor": [str, None],
    "ensemble_top_k": [_AT_LEAST_ONE],
    "ensemble_min_epoch_share": [Interval(Real, 0, 1, closed="both")],
    "tune_trials": [_NON_NEGATIVE_INT],
    "tune_ensemble": ["boolean"],
    "refit": ["boolean"],
    "refit_seeds": [_AT_LEAST_ONE],
    "refit_average": [StrOptions(set(REFIT_AVERAGES)), None],
}


@dataclass
class SearchConfig:
    """Settings of one search. A plain record: the estimators build it from parameters that
    ``CONFIG_CONSTRAINTS`` has already checked; a hand-built config can call :meth:`check`."""

    n_candidates: int = 500
    n_mutations: int = 100
    n_parents: int = 5
    # 10 finalists (trained while time_limit allows), all averaged, at learning rate 3e-3: under
    # the CPU-time budget +0.0027 mean test AUC (SE 0.0019) over 5 on the selection set, at +20%
    # CPU (benchmarks/results/smash_cpu_budget_selection.md; 5 beat 3 finalists / best 2 at 1e-3
    # there by +0.0052, as in smash_defaults_selection.md).
    # The estimators default to 16 (smash_topk16_selection.md); a hand-built config keeps 10.
    top_k: int = 10
    sampler: str = "random"
    proxy_metric: str = "neg_log_loss"
    real_metric: str = "auc"
    max_params: int | None = None
    # hypernetwork
    hyper_time_budget: float | None = 60.0
    hyper_max_epochs: int = 60  # the best-measured setting (benchmarks/smash_correlation.py)
    hyper_hidden: int = 128
    hyper_rank: int = 4
    # Higher than a plain MLP's: the base blocks are scaled by 1/sqrt(fan_in) on their way to
    # the weights, so the same step moves the generated weights about ten times less.
    hyper_learning_rate: float = 1e-2
    hyper_archs_per_step: int = 1
    # real training of the finalists (not searched: tuned afterwards with Optuna)
    learning_rate: float = 3e-3
    weight_decay: float = 1e-5
    dropout: float = 0.0
    max_epochs: int = 100
    batch_size: int = 128
    patience: int = 10
    init_from_hypernet: bool = False
    # finalist choice and what is done with the trained finalists
    ranker: str = "proxy"
    unf_predictor: str | None = None  # a predictor file or shipped name; None: "unf-smash"
    # Average the predictions of the best k trained finalists (all top_k of them by default).
    ensemble_top_k: int = 10
    # A finalist the time budget stopped joins the average only if it trained at least this share
    # of the winner's epochs (one stopped by patience or max_epochs always may): under-trained
    # members would dilute the ensemble. 0: every trained finalist may join.
    ensemble_min_epoch_share: float = 0.0
    # Optuna trials over the winner's learning rate, dropout and weight decay. 0: inside an average
    # of 10 finalists, 4 or 8 trials moved test AUC by <= +0.0001 on the selection set at 1.5-1.8x
    # the CPU time (benchmarks/results/smash_tune_selection.md).
    tune_trials: int = 0
    # False: the best of the winner's trainings (untuned or a trial) takes the winner's place in
    # the average. True: every one of them joins it (trained anyway; the average gains members).
    tune_ensemble: bool = False
    # After the search, retrain each averaged finalist on the fit and validation rows together
    # for the epoch count early stopping chose (only where the validation rows are the search's
    # own split, never a caller's X_val). False: the finalists keep their weights trained on the
    # fit rows alone. The estimators default to True (smash_refit_selection.md); a hand-built
    # config keeps the old behaviour.
    refit: bool = False
    # With refit: each averaged finalist is refitted this many times (seeds of its own), and
    # every refit joins the average (the later ones only while the time limit allows).
    refit_seeds: int = 1
    # With refit: average each refit's weights over its later epochs (stochastic weight
    # averaging, torch.optim.swa_utils) instead of keeping the last epoch's. "last_half": the
    # epochs from half of the kept count to the kept count (no extra training); "centered": the
    # same start, trained on to 1.5x the kept count, so the average is centred on early
    # stopping's choice; "long": the same start, trained on to 2x the kept count. None: the last
    # epoch's weights.
    # The estimators default to "long" (smash_swa_selection.md, smash_swa_long_selection.md); a
    # hand-built config keeps None.
    refit_average: str | None = None

    def check(self) -> None:
        """Raise ``InvalidParameterError`` (a ValueError) naming the first field out of range."""
        validate_parameter_constraints(CONFIG_CONSTRAINTS, asdict(self), caller_name="SearchConfig")


@dataclass
class SearchContext:
    """What one search, or one finalist's training, works on: the data, the task, the settings,
    the randomness and the clock. Built once per fit; every step of the search reads it."""

    X_fit: torch.Tensor
    y_fit: torch.Tensor
    X_val: torch.Tensor
    y_val: torch.Tensor
    task: str  # "classification" or "regression"
    n_outputs: int
    config: SearchConfig
    seed: int
    deadline: Budget | None = None  # the fit's time budget (CPU and/or wall seconds)
    clock: Callable[[], float] = time.thread_time  # the CPU clock budgets of this fit count on
    # Every training row (fit and validation together) where the validation rows were split off
    # them, for ``config.refit``; None where the caller gave the validation rows.
    refit_rows: tuple[torch.Tensor, torch.Tensor] | None = None
    rng: np.random.Generator = field(init=False, repr=False)
    y_val_np: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.y_val_np = self.y_val.numpy()

    @property
    def n_features(self) -> int:
        return self.X_fit.shape[1]
