"""Optuna integration with the real Optuna (and MLflow for the callback): spaces, objectives,
per-epoch pruning, SQLite and journal storage shared by two worker processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import FixedTrial, TrialState
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import StratifiedKFold, cross_val_score

from automl_hyper import zoo
from automl_hyper.integrations import optuna as opt
from automl_hyper.space import Categorical, Float, Int

REPO = Path(__file__).resolve().parents[1]
# Tiny and fast: a narrow network for few epochs; the search still varies the learning rate.
# variation_penalty fixed (not searched): its "auto" trains each fit twice, and these tests' trial
# sequences (the pruning test's included) were written for the space without it.
FAST_INN = {
    "hidden_width": 32,
    "n_blocks": 1,
    "batch_size": 32,
    "variation_penalty": 0.0,
    "random_state": 0,
}
INN_FIXED = {
    "learning_rate": 3e-3,
    "weight_decay": 1e-2,
    "weight_penalty": 0.1,
    "dropout": 0.1,
    "numeric_transform": "power",
    "trunk_encoding": None,
}


@pytest.fixture(scope="module")
def data():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    idx = np.random.default_rng(0).permutation(len(X))[:150]
    return X.iloc[idx].reset_index(drop=True), y.iloc[idx].reset_index(drop=True)


def test_suggest_params_follows_the_neutral_space():
    family = zoo.Family(
        name="space-check",
        classifier="automl_hyper.models.baselines:LogisticBaseline",
        space={
            "C": Float(1e-3, 1e2, default=1.0, log=True),
            "max_iter": Int(10, 1000, default=100, log=True),
            "solver_choice": Categorical(("a", "b"), default="a"),
        },
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        trial = study.ask()
        params = opt.suggest_params(family, trial)
        assert 1e-3 <= params["C"] <= 1e2
        assert isinstance(params["max_iter"], int) and 10 <= params["max_iter"] <= 1000
        assert params["solver_choice"] in ("a", "b")
        study.tell(trial, 0.0)
    dists = opt.param_distributions(family)
    assert dists["C"].log and dists["max_iter"].log
    assert list(dists["solver_choice"].choices) == ["a", "b"]


def test_a_family_suggest_override_wins():
    def suggest(trial):
        depth = trial.suggest_int("depth", 1, 3)
        return {
            "depth": depth,
            **{f"w{i}": trial.suggest_int(f"w{i}", 8, 16) for i in range(depth)},
        }

    family = zoo.Family(name="conditional", classifier="x:y", suggest=suggest)
    params = opt.suggest_params(family, FixedTrial({"depth": 2, "w0": 8, "w1": 16}))
    assert params == {"depth": 2, "w0": 8, "w1": 16}
    with pytest.raises(ValueError, match="conditional"):
        opt.param_distributions(family)


def test_non_iterative_objective_is_the_cross_validated_score(data):
    X, y = data
    objective = opt.make_objective("logreg", X, y, cv=3, scoring="roc_auc")
    value = objective(FixedTrial({"C": 0.5}))
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    expected = cross_val_score(zoo.get("logreg").make(C=0.5), X, y, cv=cv, scoring="roc_auc")
    assert value == pytest.approx(expected.mean())


def test_objective_rejects_bad_settings(data):
    X, y = data
    with pytest.raises(ValueError, match="max_epochs"):
        opt.make_objective("inn", X, y, max_epochs=0)
    with pytest.raises(ValueError, match="task must be"):
        opt.make_objective("inn", X, y, task="ranking")


def test_regression_targets_tune_regressors_with_negative_rmse():
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    # Integer-valued, but with 214 distinct values: the package's rule says regression.
    objective = opt.make_objective("inn", X, y, cv=2, max_epochs=2, fixed_params=FAST_INN)
    trial = FixedTrial({**INN_FIXED, "n_blocks": 1})
    value = objective(trial)
    assert -float(y.std()) * 3 < value < 0  # a negative RMSE on the target's scale
    with pytest.raises(ValueError, match="has no regressor"):
        opt.make_objective("logreg", X, y)


def test_optuna_search_cv_accepts_param_distributions(data):
    from optuna_integration import OptunaSearchCV

    X, y = data
    search = OptunaSearchCV(
        zoo.get("logreg").make(),
        opt.param_distributions("logreg"),
        n_trials=3,
        cv=3,
        scoring="roc_auc",
        random_state=0,
    ).fit(X, y)
    assert 1e-3 <= search.best_params_["C"] <= 1e2
    assert 0.5 < search.best_score_ <= 1.0


def test_storage_urls(tmp_path):
    assert isinstance(
        opt.create_storage(f"sqlite:///{tmp_path / 'a.db'}"), optuna.storages.RDBStorage
    )
    journal = opt.create_storage(f"journal:{tmp_path / 'a.log'}")
    assert isinstance(journal, optuna.storages.JournalStorage)
    assert isinstance(opt.create_storage(str(tmp_path / "b.log")), optuna.storages.JournalStorage)
    with pytest.raises(ValueError, match="neither a database URL"):
        opt.create_storage(str(tmp_path / "plain.db"))


def test_iterative_objective_prunes_per_epoch_and_logs_to_mlflow(data, tmp_path, monkeypatch):
    import mlflow
    from mlflow import MlflowClient

    monkeypatch.chdir(tmp_path)
    X, y = data
    study = opt.create_study(
        "inn-prune",
        storage=f"sqlite:///{tmp_path / 'optuna.db'}",
        seed=0,
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0),
    )
    objective = opt.make_objective("inn", X, y, cv=2, max_epochs=4, fixed_params=FAST_INN)
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    callback = opt.MLflowCallback(tracking_uri=tracking, experiment_name="prune")
    study.optimize(objective, n_trials=6, callbacks=[callback])

    states = [t.state for t in study.trials]
    assert TrialState.PRUNED in states, states
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert complete and all(sorted(t.intermediate_values) == [0, 1, 2, 3] for t in complete)
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert all(len(t.intermediate_values) < 4 for t in pruned)
    assert all(1 <= t.user_attrs["best_epoch"] <= 4 for t in complete)

    client = MlflowClient(tracking_uri=tracking)
    experiment = client.get_experiment_by_name("prune")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 6
    parent = parents[0]
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parent.info.run_id}
    # The metric is named after the objective's scoring; the parent is closed when trials end.
    assert study.metric_names == ["roc_auc"]
    assert parent.data.metrics["best_roc_auc"] == pytest.approx(study.best_value)
    assert parent.info.status == "FINISHED"
    last_end = max(t.datetime_complete for t in study.trials).timestamp() * 1000
    assert parent.info.end_time == pytest.approx(last_end, abs=1)
    by_number = {int(r.data.tags["optuna.trial_number"]): r for r in children}
    for trial in study.trials:
        run = by_number[trial.number]
        assert run.data.tags["optuna.state"] == run.data.tags["state"] == trial.state.name
        history = client.get_metric_history(run.info.run_id, "intermediate_value")
        assert sorted(m.step for m in history) == sorted(trial.intermediate_values)
        assert set(run.data.params) == set(trial.params)
        # Optuna gives a pruned trial the value it last reported.
        assert run.data.metrics["roc_auc"] == pytest.approx(trial.value)
        # A pruned trial stopped early on purpose: FINISHED, told apart by its state tag.
        assert run.info.status == "FINISHED"
        # The run lasts as long as the trial did.
        assert run.info.start_time == int(trial.datetime_start.timestamp() * 1000)
        assert run.info.end_time == int(trial.datetime_complete.timestamp() * 1000)
    pruned = client.search_runs([experiment.experiment_id], filter_string="tags.state = 'PRUNED'")
    assert len(pruned) == sum(t.state == TrialState.PRUNED for t in study.trials) > 0
    mlflow.end_run()


def test_the_callback_names_its_experiment_after_the_study(data, tmp_path):
    """No experiment name given: the study's; a relative SQLite path is made absolute."""
    from mlflow import MlflowClient

    X, y = data
    study = opt.create_study("logreg-names", storage=f"sqlite:///{tmp_path / 'optuna.db'}", seed=0)
    objective = opt.make_objective("logreg", X, y, cv=2, scoring="accuracy")
    callback = opt.MLflowCallback(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    study.optimize(objective, n_trials=2, callbacks=[callback])
    client = MlflowClient(tracking_uri=callback.tracking_uri)
    experiment = client.get_experiment_by_name("logreg-names")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 3
    trial_runs = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert all("accuracy" in r.data.metrics for r in trial_runs)


def test_best_estimator_refits_the_best_trial_for_its_best_epoch(data, tmp_path):
    """From a study to a fitted model: the fixed parameters recorded by the objective, the best
    trial's parameters, and its best epoch as max_epochs (early stopping off)."""
    X, y = data
    study = opt.create_study("inn-best", storage=f"sqlite:///{tmp_path / 'optuna.db'}", seed=0)
    fixed = {**INN_FIXED, **FAST_INN}
    fixed.pop("learning_rate")  # searched
    objective = opt.make_objective("inn", X, y, cv=2, max_epochs=3, fixed_params=fixed)
    study.optimize(objective, n_trials=2)
    model = opt.best_estimator(study, "inn", X, y)
    best = study.best_trial
    assert model.max_epochs == best.user_attrs["best_epoch"]
    assert model.validation_fraction == 0.0
    assert model.learning_rate == best.params["learning_rate"]
    assert model.hidden_width == FAST_INN["hidden_width"] and model.n_blocks == 1
    assert model.predict_proba(X).shape == (len(X), 2)
    # non-iterative families: the best parameters, nothing else changed
    study = opt.create_study("logreg-best", storage=f"sqlite:///{tmp_path / 'optuna.db'}", seed=0)
    study.optimize(opt.make_objective("logreg", X, y, cv=2), n_trials=2)
    model = opt.best_estimator(study, "logreg", X, y)
    assert model.C == study.best_params["C"]


WORKER = """
import os, sys
import numpy as np, optuna
from sklearn.datasets import load_breast_cancer
from automl_hyper.integrations import optuna as opt
optuna.logging.set_verbosity(optuna.logging.WARNING)
X, y = load_breast_cancer(return_X_y=True, as_frame=True)
idx = np.random.default_rng(0).permutation(len(X))[:120]
X, y = X.iloc[idx].reset_index(drop=True), y.iloc[idx].reset_index(drop=True)
study = opt.create_study("shared", storage=sys.argv[1],
    pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0))
objective = opt.make_objective("inn", X, y, cv=2, max_epochs=2, fixed_params={fixed!r})
def tagged(trial):
    trial.set_user_attr("worker", os.getpid())
    return objective(trial)
callbacks = [opt.MLflowCallback(sys.argv[2], "workers")] if len(sys.argv) > 2 else []
study.optimize(tagged, n_trials=3, callbacks=callbacks)
"""


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_two_worker_processes_share_one_study(kind, tmp_path):
    url = (
        f"sqlite:///{tmp_path / 'optuna.db'}"
        if kind == "sqlite"
        else f"journal:{tmp_path / 'optuna.log'}"
    )
    study = opt.create_study("shared", storage=url)  # create once, so the workers only join
    args = [url]
    if kind == "sqlite":  # and both log to one MLflow parent run, created up front
        tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
        parent = opt.MLflowCallback(tracking, "workers").parent_run_id(study)
        args.append(tracking)
    code = textwrap.dedent(WORKER.format(fixed=FAST_INN))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, *args], cwd=tmp_path, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
    study = optuna.load_study(study_name="shared", storage=opt.create_storage(url))
    assert len(study.trials) == 6
    assert len({t.user_attrs["worker"] for t in study.trials}) == 2
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in study.trials)
    assert any(t.state == TrialState.COMPLETE for t in study.trials)
    if kind == "sqlite":
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=tracking)
        runs = client.search_runs([client.get_experiment_by_name("workers").experiment_id])
        children = [r for r in runs if r.info.run_id != parent]
        assert len(runs) == 7 and len(children) == 6
        assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parent}
