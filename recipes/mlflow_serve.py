"""Log a zoo family's model to MLflow, register it as @champion, serve it, and query it over HTTP.

    python recipes/mlflow_serve.py [--family inn] [--quick]

Tracking goes to ./mlflow.db. The server is `mlflow models serve --env-manager local` (the default
environment manager would build a virtualenv from the network); this script stops it at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from automl_hyper import zoo
from automl_hyper.integrations.mlflow import configure_tracking, log_family_model

MODEL_NAME = "breast-cancer"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_ping(url: str, server: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the model server exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"no answer from {url}/ping after {timeout} s")


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

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{MODEL_NAME}@champion",
         "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
        env={**os.environ, "MLFLOW_TRACKING_URI": tracking_uri},
        start_new_session=True,  # its own process group: the server and its workers stop together
    )  # fmt: skip
    try:
        wait_for_ping(url, server)
        rows = X_test.head(3)
        body = {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
        request = urllib.request.Request(
            f"{url}/invocations",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            predictions = json.loads(answer.read())["predictions"]
        print(f"POST {url}/invocations ->")
        for row in predictions:
            print(" ", row)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
