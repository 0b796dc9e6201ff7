"""Log a zoo family's model to MLflow, register it as @champion, serve it, and query it over HTTP.

    python recipes/mlflow_serve.py [--family inn] [--quick]

Tracking goes to ./mlflow.db. The server is `mlflow models serve --env-manager local` (the default
environment manager would build a virtualenv from the network), started and stopped by
`automl_hyper.integrations.mlflow.serve_model`, which puts this interpreter's bin folder first on
the server's PATH: the recipe works with a virtualenv that is not activated
(`/path/to/venv/bin/python recipes/mlflow_serve.py`), where MLflow would not find `uvicorn`.
"""

from __future__ import annotations

import argparse

from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from automl_hyper import zoo
from automl_hyper.integrations.mlflow import (
    configure_tracking,
    invoke,
    log_family_model,
    serve_model,
)

MODEL_NAME = "breast-cancer"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--family", default="inn")
    parser.add_argument("--quick", action="store_true", help="tiny budget (used by the tests)")
    args = parser.parse_args()

    tracking_uri = configure_tracking("sqlite:///mlflow.db", experiment="serve-recipe")
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    y = y.map({0: "malignant", 1: "benign"})
    X_train, X_test, y_train, _ = train_test_split(X, y, stratify=y, random_state=0)
    params = {"max_epochs": 3, "hidden_width": 32} if args.quick and args.family == "inn" else {}
    model = zoo.get(args.family).make(**params, random_state=0).fit(X_train, y_train)

    info = log_family_model(
        model,
        name=args.family,
        registered_model_name=MODEL_NAME,
        alias="champion",
        X_sample=X_train,
        family=args.family,
    )
    print(f"registered {MODEL_NAME} version {info.registered_model_version} as @champion")

    # `mlflow models serve --env-manager local` on a free port, stopped when the block ends.
    with serve_model(f"models:/{MODEL_NAME}@champion", tracking_uri=tracking_uri) as url:
        predictions = invoke(url, X_test.head(3))
    print(f"POST {url}/invocations ->")
    for row in predictions.to_dict("records"):
        print(" ", row)


if __name__ == "__main__":
    main()
