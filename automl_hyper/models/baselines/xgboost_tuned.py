"""XGBoost references: library defaults, and tuned by Optuna TPE as in the benchmark protocol.

Tuning follows docs/benchmark_protocol.md: TPE over the usual space, 5-fold stratified CV ROC AUC
inside the training set (one-vs-one macro for multiclass), ``n_estimators`` chosen by early
stopping inside each fold, a trial budget and a time budget, one thread per model. Tuning, refit
and predict times are kept apart (``tuning_time_``, ``refit_time_``; the caller times predict).
"""

from __future__ import annotations

import time
import warnings
from numbers import Integral, Real

import numpy as np
import optuna
from sklearn.model_selection import StratifiedKFold
from sklearn.utils._param_validation import Interval
from xgboost import XGBClassifier

from automl_hyper.metrics import auc_score
from automl_hyper.models.base import TabularClassifierBase
from automl_hyper.models.torch_utils import seed_from
from automl_hyper.warning_types import AutomlHyperWarning


def suggest_xgb_params(trial: optuna.Trial) -> dict:
    """The usual XGBoost search space (learning rate, depth, child weight, sampling, penalties)."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-3, 0.3, log=True),
        "max_depth": trial.suggest_int("max_depth", 2, 10),
        "min_child_weight": trial.suggest_float("min_child_weight", 1e-2, 1e2, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
        "reg_lambda": trial.suggest_float("reg_lambda", 1e-8, 10.0, log=True),
        "reg_alpha": trial.suggest_float("reg_alpha", 1e-8, 10.0, log=True),
    }


def _xgb(n_classes: int, n_jobs: int, seed: int, **params) -> XGBClassifier:
    return XGBClassifier(
        objective="binary:logistic" if n_classes == 2 else "multi:softprob",
        tree_method="hist",
        n_jobs=n_jobs,
        random_state=seed,
        verbosity=0,
        **params,
    )


class DefaultXGBClassifier(TabularClassifierBase):
    """XGBoost with library defaults on the shared preprocessing (reference)."""

    _numeric_transform = "none"  # trees need no scaling; NaN is imputed like every family
    _parameter_constraints = {"n_jobs": [Integral, None], "random_state": ["random_state"]}

    def __init__(self, n_jobs: int = 1, random_state=None):
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _fit_arrays(self, X: np.ndarray, y: np.ndarray, n_classes: int) -> None:
        self.model_ = _xgb(n_classes, self.n_jobs, seed_from(self.random_state)).fit(X, y)

    def _predict_proba_arrays(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(X)


class TunedXGBClassifier(TabularClassifierBase):
    """XGBoost tuned with Optuna TPE on 5-fold CV ROC AUC inside the training data.

    Parameters
    ----------
    n_trials, time_budget : stop tuning after this many trials or seconds, whichever comes first.
        ``time_budget`` is Optuna's ``timeout``: checked before each trial, it never stops a
        trial that has started (a budget spent before the first one, far under a second, falls
        back to XGBoost's defaults with a warning). One trial is ``cv`` fits
        of up to ``max_estimators`` rounds (``n_classes`` trees each for multiclass), so on a
        many-class set it can take far longer than the budget: mfeat-zernike (10 classes, 1,000
        training rows), small budget with ``time_budget=10``: one trial of 246 s on a loaded
        2-core machine, tuning 24.6 times the budget (benchmarks/results/reliability_checks.md).
        Such a fit stops after that one trial, a random TPE start-up draw. ``tuning_time_``
        records the real time; the bound is left to Optuna, as the benchmark protocol has it.
    cv : folds (reduced to the smallest class count when a class is rarer).
    max_estimators, early_stopping_rounds : boosting rounds are chosen by early stopping per fold;
        the refit uses the mean best round count.
    n_jobs : threads per model (1 is fastest on a 2-core machine).
    """

    _numeric_transform = "none"
    _parameter_constraints = {
        "n_trials": [Interval(Integral, 1, None, closed="left"), None],
        "time_budget": [Interval(Real, 0, None, closed="neither"), None],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "max_estimators": [Interval(Integral, 1, None, closed="left")],
        "early_stopping_rounds": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }

    def _check_param_values(self) -> None:
        if self.n_trials is None and self.time_budget is None:
            raise ValueError(
                "set n_trials or time_budget (or both): with neither, tuning never ends"
            )

    def __init__(
        self,
        n_trials: int = 30,
        time_budget: float | None = 120.0,
        cv: int = 5,
        max_estimators: int = 1000,
        early_stopping_rounds: int = 50,
        n_jobs: int = 1,
        random_state=None,
    ):
        self.n_trials = n_trials
        self.time_budget = time_budget
        self.cv = cv
        self.max_estimators = max_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _cv_score(self, params: dict, X, y, n_classes: int, folds) -> tuple[float, int]:
        scores, rounds = [], []
        for train, valid in folds:
            model = _xgb(
                n_classes,
                self.n_jobs,
                self.seed_,
                n_estimators=self.max_estimators,
                early_stopping_rounds=self.early_stopping_rounds,
                **params,
            )
            model.fit(X[train], y[train], eval_set=[(X[valid], y[valid])], verbose=False)
            scores.append(auc_score(y[valid], model.predict_proba(X[valid])))
            rounds.append(model.best_iteration + 1)
        return float(np.mean(scores)), int(np.mean(rounds))

    def _fit_arrays(self, X: np.ndarray, y: np.ndarray, n_classes: int) -> None:
        self.seed_ = seed_from(self.random_state)
        n_folds = min(self.cv, int(np.bincount(y).min()))
        start = time.perf_counter()
        if n_folds >= 2:
            splitter = StratifiedKFold(n_folds, shuffle=True, random_state=self.seed_ % (2**31))
            folds = list(splitter.split(X, y))

            def objective(trial: optuna.Trial) -> float:
                score, rounds = self._cv_score(suggest_xgb_params(trial), X, y, n_classes, folds)
                trial.set_user_attr("n_estimators", rounds)
                return score

            optuna.logging.set_verbosity(optuna.logging.WARNING)
            self.study_ = optuna.create_study(
                direction="maximize", sampler=optuna.samplers.TPESampler(seed=self.seed_ % (2**31))
            )
            self.study_.optimize(objective, n_trials=self.n_trials, timeout=self.time_budget)
        if n_folds >= 2 and self.study_.trials:
            best = self.study_.best_trial
            self.best_params_ = {**best.params, "n_estimators": best.user_attrs["n_estimators"]}
            self.cv_score_ = float(best.value)
        else:
            # Optuna checks the timeout before the first trial too: a tiny budget runs none.
            why = (
                "a class has fewer than 2 training rows: cross-validation is impossible"
                if n_folds < 2
                else f"time_budget={self.time_budget} s ran out before the first trial"
            )
            warnings.warn(
                f"{why}, so TunedXGBClassifier falls back to XGBoost defaults",
                AutomlHyperWarning,
                stacklevel=3,
            )
            self.best_params_, self.cv_score_ = {}, float("nan")
        self.tuning_time_ = time.perf_counter() - start
        start = time.perf_counter()
        self.model_ = _xgb(n_classes, self.n_jobs, self.seed_, **self.best_params_).fit(X, y)
        self.refit_time_ = time.perf_counter() - start

    def _predict_proba_arrays(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(X)
