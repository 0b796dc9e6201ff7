"""Optuna for the zoo's families: search spaces, cross-validated objectives with pruning, storage.

* :func:`suggest_params` / :func:`param_distributions` translate a family's neutral search space
  (define-by-run for ``study.optimize``; fixed distributions for ``OptunaSearchCV``).
* :func:`make_objective` cross-validates a family. Iterative families (``partial_fit``, one epoch
  per call) report the mean CV score after every epoch, so a pruner can stop bad trials early;
  the others report once.
* ``MLflowCallback`` logs a study to MLflow: one parent run per study, one nested run per
  trial. It lives with every other MLflow call in :mod:`automl_hyper.integrations.mlflow` and is
  re-exported here, loaded on first use so that this module does not import MLflow.
* :func:`best_estimator`: a study's best configuration refitted (for the best epoch): the model.
* :func:`create_storage` / :func:`create_study`: SQLite by default; an RDB URL (PostgreSQL, MySQL)
  for many machines; a journal file for several local worker processes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from sklearn.base import clone
from sklearn.metrics import get_scorer
from sklearn.model_selection import KFold, StratifiedKFold, check_cv
from sklearn.utils import _safe_indexing
from sklearn.utils.multiclass import type_of_target

from automl_hyper import zoo
from automl_hyper.data.loading import infer_task
from automl_hyper.space import Categorical, Float, Int

__all__ = [
    "best_estimator",
    "create_storage",
    "create_study",
    "make_objective",
    "param_distributions",
    "suggest_params",
]

DEFAULT_STORAGE = "sqlite:///optuna.db"


def _family(family: str | zoo.Family) -> zoo.Family:
    return family if isinstance(family, zoo.Family) else zoo.get(family)


def suggest_params(
    family: str | zoo.Family,
    trial: optuna.trial.BaseTrial,
    *,
    fixed: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Sample one configuration: the family's ``suggest`` override, else its neutral space.

    Dimensions named in ``fixed`` are not searched; their fixed values are in the result.
    """
    fam = _family(family)
    fixed = dict(fixed or {})
    if fam.suggest is not None:
        return {**dict(fam.suggest(trial)), **fixed}
    params: dict[str, Any] = dict(fixed)
    for name, dim in fam.space.items():
        if name in fixed:
            continue
        if isinstance(dim, Float):
            params[name] = trial.suggest_float(name, dim.low, dim.high, log=dim.log)
        elif isinstance(dim, Int):
            params[name] = trial.suggest_int(name, dim.low, dim.high, log=dim.log)
        elif isinstance(dim, Categorical):
            params[name] = trial.suggest_categorical(name, list(dim.choices))
        else:
            raise TypeError(f"unknown search dimension for {name!r}: {dim!r}")
    return params


def param_distributions(family: str | zoo.Family) -> dict[str, BaseDistribution]:
    """The family's space as ``optuna.distributions`` (for ``optuna_integration.OptunaSearchCV``)."""
    fam = _family(family)
    if fam.suggest is not None and not fam.space:
        raise ValueError(
            f"family {fam.name!r} has a conditional (define-by-run) space that fixed distributions "
            "cannot express; use suggest_params with study.optimize instead"
        )
    out: dict[str, BaseDistribution] = {}
    for name, dim in fam.space.items():
        if isinstance(dim, Float):
            out[name] = FloatDistribution(dim.low, dim.high, log=dim.log)
        elif isinstance(dim, Int):
            out[name] = IntDistribution(dim.low, dim.high, log=dim.log)
        elif isinstance(dim, Categorical):
            out[name] = CategoricalDistribution(list(dim.choices))
        else:
            raise TypeError(f"unknown search dimension for {name!r}: {dim!r}")
    return out


def _infer_task(fam: zoo.Family, y: Any, task: str | None) -> str:
    if task is not None:
        if task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
        return task
    # The package's rule (integer-valued targets with many values are regression), as in
    # load_dataset, so that a tuned family sees the same task as everywhere else.
    inferred = infer_task(pd.Series(np.asarray(y).ravel()))
    if inferred == "regression" and fam.regressor is None:
        raise ValueError(
            f"the target looks continuous but family {fam.name!r} has no regressor; "
            "pass task='classification' if it is a class label"
        )
    return inferred


def _default_scoring(task: str, y: Any) -> str:
    if task == "regression":
        return "neg_root_mean_squared_error"
    # One-vs-one macro AUC for multiclass, as in the benchmark protocol.
    return "roc_auc" if type_of_target(y) == "binary" else "roc_auc_ovo"


def make_objective(
    family: str | zoo.Family,
    X: Any,
    y: Any,
    *,
    cv: int | Any = 5,
    scoring: str | Callable | None = None,
    max_epochs: int = 20,
    fixed_params: dict[str, Any] | None = None,
    task: str | None = None,
    random_state: int = 0,
) -> Callable[[optuna.trial.Trial], float]:
    """An objective returning the mean cross-validated score of one sampled configuration.

    ``scoring`` is an sklearn scorer name or callable (greater is better, so the study direction
    is ``maximize``); default ROC AUC for classification (one-vs-one macro for multiclass) and
    negative RMSE for regression. Iterative families train ``max_epochs`` epochs with
    ``partial_fit`` on every fold, reporting the mean score at ``step=epoch`` and raising
    ``optuna.TrialPruned`` when the study's pruner says so; the trial records the epoch with the
    best mean score as user attribute ``best_epoch``. ``fixed_params`` are passed to every
    estimator and are not searched; each trial keeps them as user attribute ``fixed_params``
    (:func:`best_estimator` reads them back). The study's metric name is set to the scoring's
    name (``roc_auc``...), which :class:`MLflowCallback` uses for its metric.
    """
    fam = _family(family)
    task = _infer_task(fam, y, task)
    if max_epochs < 1:
        raise ValueError(f"max_epochs must be >= 1, got {max_epochs}")
    scoring = scoring if scoring is not None else _default_scoring(task, y)
    scorer = get_scorer(scoring)
    metric = scoring if isinstance(scoring, str) else getattr(scoring, "__name__", "score")
    if isinstance(cv, int):
        cv = (StratifiedKFold if task == "classification" else KFold)(
            n_splits=cv, shuffle=True, random_state=random_state
        )
    splitter = check_cv(cv, y, classifier=task == "classification")
    folds = [
        (
            _safe_indexing(X, tr),
            _safe_indexing(y, tr),
            _safe_indexing(X, te),
            _safe_indexing(y, te),
        )
        for tr, te in splitter.split(X, y)
    ]
    classes = np.unique(np.asarray(y)) if task == "classification" else None
    fixed = dict(fixed_params or {})

    def objective(trial: optuna.trial.Trial) -> float:
        _record_objective(trial, metric, fixed)
        params = suggest_params(fam, trial, fixed=fixed)
        template = fam.make(task, **params)
        if fam.iterative:
            return _iterative_cv(trial, template, folds, scorer, max_epochs, classes)
        scores = [scorer(clone(template).fit(Xtr, ytr), Xte, yte) for Xtr, ytr, Xte, yte in folds]
        value = float(np.mean(scores))
        trial.report(value, step=0)
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned after cross-validation (score {value:.4f})")
        return value

    return objective


def _record_objective(trial: optuna.trial.BaseTrial, metric: str, fixed: dict[str, Any]) -> None:
    """What a study needs to explain itself later: its metric's name, the fixed parameters."""
    import json
    import warnings

    study = getattr(trial, "study", None)  # a FixedTrial has none
    if study is not None and study.metric_names is None:
        with warnings.catch_warnings():  # experimental since Optuna 3.2, still in 5
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([metric])
    try:
        json.dumps(fixed)
    except TypeError:  # storages keep JSON only; best_estimator then needs fixed_params=
        return
    trial.set_user_attr("fixed_params", fixed)


def best_estimator(
    study: optuna.Study,
    family: str | zoo.Family,
    X: Any,
    y: Any,
    *,
    fixed_params: dict[str, Any] | None = None,
    task: str | None = None,
    random_state: int | None = 0,
) -> Any:
    """The study's best configuration, fitted on ``X, y``: from a study to a model.

    Parameters: the fixed ones the objective used (recorded by :func:`make_objective` on each
    trial; ``fixed_params`` overrides them), then the best trial's. For an iterative family the
    best trial's best epoch (user attribute ``best_epoch``) becomes ``max_epochs``, with early
    stopping off (``validation_fraction=0``): the epoch count is already known, and every row
    trains.
    """
    fam = _family(family)
    task = _infer_task(fam, y, task)
    best = study.best_trial
    recorded = best.user_attrs.get("fixed_params") or {}
    params = {**recorded, **dict(fixed_params or {}), **best.params}
    accepted = fam.make(task).get_params()
    if "best_epoch" in best.user_attrs and "max_epochs" in accepted:
        params["max_epochs"] = int(best.user_attrs["best_epoch"])
        if "validation_fraction" in accepted:
            params["validation_fraction"] = 0.0
    if "random_state" in accepted and random_state is not None:
        params.setdefault("random_state", random_state)
    return fam.make(task, **params).fit(X, y)


def _iterative_cv(trial, template, folds, scorer, max_epochs, classes) -> float:
    models = [clone(template) for _ in folds]
    fit_kwargs = {} if classes is None else {"classes": classes}
    best, value = -math.inf, -math.inf
    for epoch in range(max_epochs):
        scores = []
        for model, (Xtr, ytr, Xte, yte) in zip(models, folds):
            model.partial_fit(Xtr, ytr, **fit_kwargs)
            scores.append(scorer(model, Xte, yte))
        value = float(np.mean(scores))
        if value > best:
            best = value
            trial.set_user_attr("best_epoch", epoch + 1)
        trial.report(value, step=epoch)
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {epoch + 1} (mean CV score {value:.4f})")
    return value


# --- storage and studies -------------------------------------------------------------------


def create_storage(
    url: str | None = None,
    *,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    max_retry: int | None = 0,
) -> optuna.storages.BaseStorage:
    """A study storage.

    * ``None``: ``sqlite:///optuna.db`` (one file; fine for a few local worker processes).
    * an SQLAlchemy URL (``sqlite:///x.db``, ``postgresql://...``, ``mysql+pymysql://...``):
      an RDB storage; a database server is the way to share a study across machines.
    * ``journal:<path>`` or a path ending in ``.log``/``.journal``: an append-only journal file
      with file locking, robust for several local processes and on network file systems.

    Worker processes that die (killed, preempted, out of memory) leave their trial RUNNING. With
    ``heartbeat_interval`` (seconds; database URLs only) every running trial records a heartbeat;
    a trial silent for ``grace_period`` seconds (default twice the interval) is marked FAIL by the
    next worker that starts a trial, and re-queued with the same parameters up to ``max_retry``
    times (``None``: without limit; 0: not re-run). The re-run records the original trial number
    in its system attribute ``failed_trial``.
    """
    url = DEFAULT_STORAGE if url is None else str(url)
    if heartbeat_interval is None and (grace_period is not None or max_retry != 0):
        raise ValueError("grace_period and max_retry need heartbeat_interval (seconds)")
    if url.startswith("journal:") or url.endswith((".log", ".journal")):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        path = url.removeprefix("journal:")
        if not path:
            raise ValueError("journal storage needs a file path, e.g. 'journal:optuna.log'")
        if heartbeat_interval is not None:
            raise ValueError("heartbeats need a database storage URL, not a journal file")
        return JournalStorage(JournalFileBackend(path))
    if "://" not in url:
        raise ValueError(
            f"storage {url!r} is neither a database URL (e.g. 'sqlite:///optuna.db') nor a "
            "journal file ('journal:<path>' or a path ending in .log)"
        )
    engine_kwargs = None
    if url.startswith("sqlite"):
        # Several processes write the same file: wait for the lock instead of failing at once.
        engine_kwargs = {"connect_args": {"timeout": 60}}
    import time
    import warnings

    import sqlalchemy.exc

    # Workers started together on a fresh PostgreSQL database all try to create the tables;
    # the losers fail on a duplicate type or table (seen with 4 workers) and, retried, find them.
    for attempt in range(5):
        try:
            with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna since 2.8
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    url,
                    engine_kwargs=engine_kwargs,
                    **_heartbeat_kwargs(heartbeat_interval, grace_period, max_retry),
                )
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))


def _heartbeat_kwargs(
    interval: int | None, grace_period: int | None, max_retry: int | None
) -> dict[str, Any]:
    if interval is None:
        return {}
    try:
        from optuna.storages import RetryHeartbeatStaleTrialCallback as Retry

        callback_key = "heartbeat_stale_trial_callback"
    except ImportError:  # Optuna < 4.9
        from optuna.storages import RetryFailedTrialCallback as Retry

        callback_key = "failed_trial_callback"
    kwargs: dict[str, Any] = {"heartbeat_interval": interval, "grace_period": grace_period}
    if max_retry != 0:
        kwargs[callback_key] = Retry(max_retry=max_retry)
    return kwargs


def create_study(
    study_name: str | None = None,
    *,
    storage: str | optuna.storages.BaseStorage | None = None,
    direction: str = "maximize",
    sampler: optuna.samplers.BaseSampler | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
    seed: int | None = None,
    load_if_exists: bool = True,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    max_retry: int | None = 0,
) -> optuna.Study:
    """A study on persistent storage (SQLite by default), joined by name when it already exists.

    Defaults: TPE (seeded by ``seed``) and a median pruner that compares trials from the third
    epoch on, once three trials have finished. ``heartbeat_interval``, ``grace_period`` and
    ``max_retry`` (see :func:`create_storage`) make trials of dead workers fail and re-run.
    """
    if not isinstance(storage, optuna.storages.BaseStorage):
        storage = create_storage(
            storage,
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            max_retry=max_retry,
        )
    elif heartbeat_interval is not None or grace_period is not None or max_retry != 0:
        raise ValueError("heartbeat options apply to a storage URL, not to a storage object")
    return optuna.create_study(
        study_name=study_name,
        storage=storage,
        direction=direction,
        sampler=sampler or optuna.samplers.TPESampler(seed=seed),
        pruner=pruner or optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2),
        load_if_exists=load_if_exists,
    )


def __getattr__(name: str):
    # ``from automl_hyper.integrations.optuna import MLflowCallback`` keeps working without making
    # every Optuna user pay MLflow's import (about a second).
    if name == "MLflowCallback":
        from automl_hyper.integrations.mlflow.optuna_callback import MLflowCallback

        return MLflowCallback
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
