"""Tune a zoo family with Optuna: cross-validated AUC, per-epoch pruning, every trial in MLflow.

    python recipes/optuna_study.py [--family inn] [--trials 12] [--storage sqlite:///optuna.db] [--quick]

The study lives in ./optuna.db (SQLite): run this script in several terminals at once and the
workers share it. Trials are logged to ./mlflow.db, experiment `<family>-breast-cancer` (the
study's name): one parent run with a nested run per trial; the script prints the `mlflow ui`
command with the absolute path of the store.
"""

from __future__ import annotations

import argparse
from collections import Counter

import optuna
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from automl_hyper.integrations.mlflow.serving import ui_command
from automl_hyper.integrations.optuna import (
    MLflowCallback,
    best_estimator,
    create_study,
    make_objective,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--family", default="inn")
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--storage", default="sqlite:///optuna.db")
    parser.add_argument("--quick", action="store_true", help="tiny budget (used by the tests)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    trials, epochs = (5, 3) if args.quick else (args.trials, 10)
    fixed = {"hidden_width": 32, "n_blocks": 1} if args.quick and args.family == "inn" else {}

    study = create_study(f"{args.family}-breast-cancer", storage=args.storage, seed=0)
    objective = make_objective(
        args.family, X_train, y_train, cv=3, max_epochs=epochs, fixed_params=fixed
    )
    callback = MLflowCallback(tracking_uri="sqlite:///mlflow.db")  # experiment: the study's name
    study.optimize(objective, n_trials=trials, callbacks=[callback])

    print("trial states:", dict(Counter(t.state.name for t in study.trials)))
    print(f"best CV ROC AUC {study.best_value:.4f} with {study.best_params}")

    # The best configuration refitted on the whole training set, for the epochs that scored best.
    model = best_estimator(study, args.family, X_train, y_train)
    auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
    print(f"browse: {ui_command(callback.tracking_uri)}")
    print(f"test ROC AUC of the refitted best configuration: {auc:.4f}")


if __name__ == "__main__":
    main()
