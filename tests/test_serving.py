"""Serving works when the interpreter's virtualenv is not activated (issue 11.5).

``mlflow models serve`` starts ``uvicorn`` by name from PATH; these tests strip from PATH every
folder that holds ``uvicorn`` (the interpreter's ``bin`` and, with pyenv, its shims), then serve a
real model on 127.0.0.1 and send it real requests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

from automl_hyper import zoo
from automl_hyper.integrations import mlflow as ml
from automl_hyper.integrations.mlflow.serving import interpreter_bin, server_env

RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def stripped_path() -> str:
    """PATH without any folder from which ``uvicorn`` or ``mlflow`` could be started."""
    keep = [
        p
        for p in os.environ.get("PATH", "").split(os.pathsep)
        if p
        and not shutil.which("uvicorn", path=p)
        and not shutil.which("mlflow", path=p)
        and os.path.abspath(p) != interpreter_bin()
    ]
    path = os.pathsep.join(keep or ["/usr/bin", "/bin"])
    assert shutil.which("uvicorn", path=path) is None
    return path


def test_server_env_puts_the_interpreter_bin_first():
    env = server_env("sqlite:///x.db", base={"PATH": stripped_path(), "HOME": "/tmp"})
    assert env["PATH"].split(os.pathsep)[0] == interpreter_bin()
    assert shutil.which("uvicorn", path=env["PATH"]) is not None
    assert env["MLFLOW_TRACKING_URI"] == "sqlite:///x.db" and env["HOME"] == "/tmp"
    assert ml.serving.serve_command("models:/m@champion").startswith(f"PATH={interpreter_bin()}:")


@pytest.fixture(scope="module")
def tracking(tmp_path_factory):
    root = tmp_path_factory.mktemp("serving")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        yield ml.configure_tracking(f"sqlite:///{root / 'mlflow.db'}", experiment="serving")
        mlflow.end_run()


def test_serves_with_the_virtualenv_not_activated(tracking):
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X, y = X.iloc[:200], y.iloc[:200]
    clf = zoo.get("logreg").make().fit(X, y)
    ml.log_family_model(
        clf, name="logreg", registered_model_name="bc", alias="champion", X_sample=X, quiet=True
    )
    env = {**os.environ, "PATH": stripped_path()}
    with ml.serve_model("models:/bc@champion", tracking_uri=tracking, env=env) as url:
        answer = ml.invoke(url, X.head(5))
        bad = json.dumps({"dataframe_split": {"columns": ["nope"], "data": [[1.0]]}}).encode()
        request = urllib.request.Request(
            f"{url}/invocations", data=bad, headers={"Content-Type": "application/json"}
        )
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, timeout=30)
    assert err.value.code == 400
    np.testing.assert_allclose(
        answer.filter(like="proba_").to_numpy(), clf.predict_proba(X.head(5)), atol=1e-9
    )


@pytest.mark.slow
def test_serve_recipe_without_an_activated_virtualenv(tmp_path):
    env = {**os.environ, "PATH": stripped_path()}
    proc = subprocess.run(
        [sys.executable, str(RECIPES / "mlflow_serve.py"), "--quick"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert len([line for line in proc.stdout.splitlines() if "'label'" in line]) == 3


@pytest.mark.slow
def test_served_model_answers_every_bad_request_with_a_4xx_or_a_warned_fallback(tracking, tmp_path):
    """Issue 11.2, served part: one MotherNet model (categoricals, NaN) behind
    ``mlflow models serve``, every case of tests/served_bad_input_cases.py: no 5xx, errors name
    the problem, fallbacks are warned in the server's log, untouched rows answer as before."""
    from conftest import load_shared
    from served_bad_input_cases import CASES, run_cases

    X, y = load_shared("credit-approval")
    X, y = X.iloc[:200], y.iloc[:200]
    clf = zoo.get("mothernet").make(random_state=0).fit(X, y)
    ml.log_family_model(clf, name="mn", registered_model_name="ca", alias="champion", X_sample=X, quiet=True)  # fmt: skip
    rows = ml.as_request_frame(X.iloc[:5])
    split = json.loads(rows.to_json(orient="split", index=False))
    log = tmp_path / "server.log"
    with ml.serve_model("models:/ca@champion", tracking_uri=tracking, log_path=log) as url:
        results = run_cases(url, split, "A2", "A4", log.read_text)
        answer = ml.invoke(url, rows)
    failed = [r for r in results if not r["passed"]]
    assert not failed, failed
    assert len(results) == len(CASES) and not any(r["status"] >= 500 for r in results)
    np.testing.assert_allclose(
        answer.filter(like="proba_").to_numpy(), clf.predict_proba(X.iloc[:5]), rtol=0, atol=1e-9
    )
