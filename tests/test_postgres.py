"""Scale-out on a real PostgreSQL server (started by tests/pg.py, nothing by hand).

* four worker processes optimise one Optuna study (``create_study`` + ``make_objective``);
* ``automl-hyper compare --tracking-uri postgresql+psycopg://...``: MLflow's backend store on
  PostgreSQL, artifacts in the working folder's ``mlruns``; runs, metrics and the registered
  champion read back with ``MlflowClient``;
* ``mlflow server --backend-store-uri postgresql+psycopg://...`` on 127.0.0.1 and ``compare``
  logging to it over HTTP, as README's scale-out section says.

A worker is this file run as a script: ``python tests/test_postgres.py URL STUDY N READY GO``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from pg import free_port

# The console script next to this interpreter (works without an activated virtualenv).
_SCRIPT = Path(sys.executable).with_name("automl-hyper")
AUTOML_HYPER = str(_SCRIPT) if _SCRIPT.exists() else "automl-hyper"
WORKERS = 4
TRIALS_PER_WORKER = 3


def _env() -> dict[str, str]:
    # mlflow server starts uvicorn by name: this interpreter's scripts come first on PATH.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def test_the_server_is_private_and_answers_sql(postgres):
    import psycopg

    url = postgres.create_database("smoke")
    assert url == f"postgresql+psycopg://postgres@127.0.0.1:{postgres.port}/smoke"
    with psycopg.connect(postgres.url("smoke", driver="")) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
        assert conn.execute("SELECT current_database()").fetchone()[0] == "smoke"
    if os.geteuid() == 0:  # PostgreSQL refuses root: the cluster belongs to another user
        assert postgres.user is not None
        assert postgres.data_dir.stat().st_uid != 0


def worker_main(url: str, study_name: str, n_trials: int, ready: str, go: str) -> None:
    import optuna
    from sklearn.datasets import load_breast_cancer

    from automl_hyper.integrations.optuna import create_study, make_objective

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = load_breast_cancer(return_X_y=True)
    Path(ready).touch()  # imported; all workers then join the study at the same moment
    deadline = time.monotonic() + 600
    while not Path(go).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    study = create_study(study_name, storage=url)

    def report(study, trial) -> None:
        print(json.dumps({"number": trial.number, "value": trial.value, "pid": os.getpid()}))

    study.optimize(
        make_objective("logreg", X[:200], y[:200], cv=3), n_trials=n_trials, callbacks=[report]
    )


def test_four_worker_processes_optimise_one_optuna_study_on_postgres(postgres, tmp_path):
    import optuna

    # A fresh database, and the workers start together: they race to create the tables (which
    # crashed three of four workers before create_storage retried) and the study.
    url = postgres.create_database("optuna_workers")
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{i}" for i in range(WORKERS)]
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, url, "workers", str(TRIALS_PER_WORKER), str(r), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for r in ready
    ]
    reported = []
    try:
        deadline = time.monotonic() + 600
        while not all(r.exists() for r in ready):
            assert all(p.poll() is None for p in procs), "a worker died while importing"
            assert time.monotonic() < deadline, "workers not ready after 600 s"
            time.sleep(0.05)
        go.touch()
        for p in procs:
            out, err = p.communicate(timeout=600)
            assert p.returncode == 0, err[-3000:]
            reported.extend(json.loads(line) for line in out.splitlines() if line.startswith("{"))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    study = optuna.load_study(study_name="workers", storage=url)
    trials = study.get_trials(deepcopy=False)
    # Every trial recorded once: as many as the workers ran, numbered 0..n-1, each reported once.
    assert len(trials) == WORKERS * TRIALS_PER_WORKER
    assert sorted(t.number for t in trials) == list(range(WORKERS * TRIALS_PER_WORKER))
    assert sorted(r["number"] for r in reported) == sorted(t.number for t in trials)
    assert len({r["pid"] for r in reported}) == WORKERS
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    by_number = {t.number: t for t in trials}
    for r in reported:
        assert by_number[r["number"]].value == r["value"]
    # The best is the best of the recorded trials.
    assert study.best_value == max(t.value for t in trials)
    assert by_number[study.best_trial.number].params == study.best_params
    assert 0.9 < study.best_value <= 1.0


def _compare(tracking_uri: str, cwd: Path, *extra: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [
            AUTOML_HYPER,
            "compare",
            "--dataset",
            "wdbc",
            "--families",
            "logreg",
            "--splits",
            "1",
            "--quiet",
            "--tracking-uri",
            tracking_uri,
            *extra,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env=_env(),
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


def _check_compare_runs(tracking_uri: str, artifact_root: Path) -> None:
    import mlflow
    import pandas as pd
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("compare-wdbc")
    assert experiment is not None
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    # The parent run and one run per family and split (compare may add e.g. the champion's refit).
    assert {"compare-wdbc", "logreg-split0"} <= set(runs)
    assert all(r.info.status == "FINISHED" for r in runs.values())
    metrics = runs["logreg-split0"].data.metrics
    assert {"auc", "accuracy", "log_loss", "fit_s", "predict_s"} <= set(metrics)
    assert 0.9 < metrics["auc"] <= 1.0
    assert runs["compare-wdbc"].data.metrics["logreg.auc_mean"] == pytest.approx(metrics["auc"])
    # The champion is registered, and its model loads from the artifact folder.
    version = client.get_model_version_by_alias("wdbc", "champion")
    assert version.run_id in {r.info.run_id for r in runs.values()}
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri

    with _use_tracking_uri(tracking_uri):  # and back to the session's URI afterwards
        model = mlflow.pyfunc.load_model("models:/wdbc@champion")
    names = model.metadata.get_input_schema().input_names()
    from sklearn.datasets import load_breast_cancer

    X = pd.DataFrame(load_breast_cancer().data[:5], columns=names)
    out = model.predict(X)
    assert len(out) == 5 and "label" in out.columns
    assert any(artifact_root.rglob("MLmodel")), f"no model files under {artifact_root}"


def test_compare_logs_to_an_mlflow_store_on_postgres(postgres, tmp_path):
    url = postgres.create_database("mlflow_direct")
    _compare(url, tmp_path)
    # With a database URI, MLflow puts artifacts under ./mlruns of the working folder.
    _check_compare_runs(url, tmp_path / "mlruns")


@pytest.mark.slow
def test_compare_logs_through_an_mlflow_server_backed_by_postgres(postgres, tmp_path):
    url = postgres.create_database("mlflow_server")
    artifacts = tmp_path / "artifacts"
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            url,
            "--artifacts-destination",
            str(artifacts),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
        env=_env(),
        start_new_session=True,  # its own process group: the uvicorn child stops with it
    )
    http = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{http}/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "mlflow server did not answer /health in 300 s"
            time.sleep(0.5)
        client_dir = tmp_path / "client"
        client_dir.mkdir()
        _compare(http, client_dir)
        _check_compare_runs(http, artifacts)
        assert not (client_dir / "mlruns").exists()  # artifacts went through the server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


if __name__ == "__main__":
    worker_main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
