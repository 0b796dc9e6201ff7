"""``automl-hyper compare`` under faults, from the CLI as a user runs it; prints what it saw.

    python benchmarks/compare_faults.py ctrl-c            # SIGINT once a run finished
    python benchmarks/compare_faults.py server-kill       # SIGKILL the mlflow server mid-run
    python benchmarks/compare_faults.py server-kill --retries 0   # MLflow's HTTP retries off

Each scenario runs in a fresh temporary folder on iris (logreg, then tuned XGBoost), waits until
``logreg-split0`` is FINISHED in the store (polled with MlflowClient), then strikes, and prints the
command's stdout/stderr, its exit code, the time from the strike to the exit, and every run's
status in the store. Results: benchmarks/results/compare_faults.md.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlflow import MlflowClient

from automl_hyper.integrations.mlflow.tracking import runs_by_name

CLI = [sys.executable, "-m", "automl_hyper.cli", "compare", "--dataset", "iris", "--quiet"]


def _runs(uri: str) -> dict:
    """Run name -> run, of the compare-iris experiment in the store at ``uri``."""
    return runs_by_name(uri, "compare-iris")


def _wait(predicate, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception:  # noqa: BLE001 - the store may not exist yet
            pass
        time.sleep(0.2)
    raise TimeoutError("the compare run did not get there")


def _env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, **extra}


def _show(proc: subprocess.Popen, struck: float, store: str) -> None:
    out, err = proc.communicate(timeout=900)
    print(f"exit code {proc.returncode}, {time.monotonic() - struck:.1f} s after the strike")
    print("--- stdout\n" + out.rstrip())
    print("--- stderr (the terminal; library messages are in the log file)\n" + err.rstrip())
    for line in out.splitlines():
        if line.startswith("models saved locally: "):
            folder = Path(line.split(": ", 1)[1])
            print(f"--- {folder.name}/: " + ", ".join(sorted(p.name for p in folder.iterdir())))
    print("--- runs in the store")
    for name, run in sorted(_runs(store).items()):
        auc = run.data.metrics.get("auc")
        print(f"{name:28s} {run.info.status:9s}" + (f" auc {auc:.4f}" if auc is not None else ""))


def ctrl_c(tmp: Path) -> None:
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    args = ["--families", "logreg,xgboost-tuned", "--splits", "2", "--tracking-uri", uri,
            "--set", "xgboost-tuned.n_trials=100000", "--set", "xgboost-tuned.time_budget=600"]  # fmt: skip
    print("$ automl-hyper compare --dataset iris --quiet " + " ".join(args) + "   # then Ctrl-C")
    proc = subprocess.Popen(
        CLI + args, cwd=tmp, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    _wait(lambda: _runs(uri)["xgboost-tuned-split0"].info.status == "RUNNING")
    proc.send_signal(signal.SIGINT)
    _show(proc, time.monotonic(), uri)


def server_kill(tmp: Path, retries: int | None) -> None:
    from automl_hyper.integrations.mlflow import free_port

    backend, port = f"sqlite:///{tmp / 'server.db'}", free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend,
         "--artifacts-destination", str(tmp / "artifacts"), "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1"],
        cwd=tmp, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    http = f"http://127.0.0.1:{port}"
    _wait(lambda: MlflowClient(http).search_experiments() is not None)
    extra = {} if retries is None else {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(retries)}
    args = ["--families", "logreg,xgboost-tuned", "--splits", "2", "--tracking-uri", http,
            "--set", "xgboost-tuned.n_trials=4"]  # fmt: skip
    print(
        " ".join(f"{k}={v}" for k, v in extra.items())
        + " $ automl-hyper compare --dataset iris --quiet "
        + " ".join(args)
        + "   # then SIGKILL the server"
    )
    proc = subprocess.Popen(
        CLI + args, cwd=tmp, env=_env(**extra), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _wait(lambda: _runs(backend)["logreg-split0"].info.status == "FINISHED")
    os.killpg(server.pid, signal.SIGKILL)
    server.wait()
    _show(proc, time.monotonic(), backend)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", choices=("ctrl-c", "server-kill"))
    parser.add_argument("--retries", type=int, default=None, help="MLflow HTTP retries")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.scenario == "ctrl-c":
            ctrl_c(Path(tmp))
        else:
            server_kill(Path(tmp), args.retries)


if __name__ == "__main__":
    main()
