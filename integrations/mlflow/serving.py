"""Serve a logged model with ``mlflow models serve --env-manager local`` and query it over HTTP.

``--env-manager local`` because the default builds a virtualenv from the network.

``mlflow models serve`` starts its server (``uvicorn``) by name from ``PATH``: with a virtualenv
that is not activated (``/path/venv/bin/python script.py``) it is not found and the command exits
127. :func:`serve_model` therefore puts the running interpreter's ``bin`` folder, then a ``uvicorn``
shim that runs this interpreter's module, first on the server's ``PATH`` (:func:`server_env`), and
:func:`serve_command` prints the ``bin`` prefix.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator

import mlflow
import pandas as pd


def serve_command(model_uri: str, tracking_uri: str | None = None, port: int = 5001) -> str:
    """The shell command that serves ``model_uri``, with the tracking URI made absolute and set
    in the command, so that it works from any folder (``sqlite:///mlflow.db`` is relative to the
    working folder: elsewhere it is another, empty, store)."""
    from automl_hyper.integrations.mlflow.tracking import absolute_tracking_uri

    uri = absolute_tracking_uri(tracking_uri or mlflow.get_tracking_uri())
    return (
        f'PATH={shlex.quote(interpreter_bin())}:"$PATH" MLFLOW_TRACKING_URI={shlex.quote(uri)} '
        f"mlflow models serve -m {shlex.quote(model_uri)} --env-manager local -p {port}"
    )


def interpreter_bin() -> str:
    """The folder of the running interpreter's scripts (a virtualenv's ``bin``), where
    ``mlflow`` and ``uvicorn`` were installed next to ``python``. Not resolved through symlinks:
    a virtualenv's ``python`` links to the base interpreter, whose folder lacks them."""
    return os.path.dirname(os.path.abspath(sys.executable))


def server_env(tracking_uri: str | None = None, base: dict | None = None) -> dict[str, str]:
    """The model server's environment: ``base`` (default ``os.environ``) with the interpreter's
    ``bin`` folder first on ``PATH`` (MLflow starts ``uvicorn`` by name) and the tracking URI."""
    env = dict(os.environ if base is None else base)
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p]
    first = [interpreter_bin(), uvicorn_shim_dir()]
    env["PATH"] = os.pathsep.join([*first, *[p for p in path if p not in first]])
    env["MLFLOW_TRACKING_URI"] = tracking_uri or mlflow.get_tracking_uri()
    return env


def ui_command(tracking_uri: str | None = None) -> str:
    """``mlflow ui --backend-store-uri <absolute URI>``: browse the runs from any folder."""
    from automl_hyper.integrations.mlflow.tracking import absolute_tracking_uri

    uri = absolute_tracking_uri(tracking_uri or mlflow.get_tracking_uri())
    return f"mlflow ui --backend-store-uri {shlex.quote(uri)}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_model(
    model_uri: str,
    *,
    port: int | None = None,
    host: str = "127.0.0.1",
    tracking_uri: str | None = None,
    timeout: float = 120.0,
    workers: int | None = None,
    env: dict | None = None,
    log_path: str | os.PathLike | None = None,
) -> Iterator[str]:
    """Run ``mlflow models serve --env-manager local`` and yield its base URL once /ping answers.

    Works without an activated virtualenv (see :func:`server_env`; ``env`` replaces
    ``os.environ`` as the base). ``workers``: server processes (MLflow's ``-w``; default 1).
    ``log_path``: a file receiving the server's output (its warnings, e.g. the
    ``BadInputWarning`` of a repaired request); by default a temporary file, shown if it fails.
    The server runs in its own process group, stopped (SIGTERM, then SIGKILL) on exit.
    """
    port = port or free_port()
    env = server_env(tracking_uri, env)
    cmd = [
        sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri,
        "--env-manager", "local", "-h", host, "-p", str(port),
    ]  # fmt: skip
    if workers is not None:
        cmd += ["-w", str(workers)]
    log = open(log_path, "w+b") if log_path is not None else tempfile.TemporaryFile()
    proc = subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://{host}:{port}"
    try:
        _wait_for_ping(url, proc, log, timeout)
        yield url
    finally:
        _stop(proc)
        log.close()


def uvicorn_shim_dir() -> str:
    """A folder holding a ``uvicorn`` command that runs this interpreter's uvicorn module: the
    interpreter's ``bin`` is not always where uvicorn's script is (a ``--system-site-packages``
    virtualenv keeps it in the base interpreter's ``bin``). One folder per interpreter, written
    atomically, so concurrent servers share it."""
    import hashlib

    key = hashlib.sha256(sys.executable.encode()).hexdigest()[:12]
    folder = os.path.join(tempfile.gettempdir(), f"automl-hyper-shims-{key}")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "uvicorn")
    script = f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m uvicorn "$@"\n'
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(script)
        os.chmod(tmp, 0o755)
        os.replace(tmp, path)
    return folder


def _wait_for_ping(url: str, proc: subprocess.Popen, log, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(
                f"mlflow models serve exited with {proc.returncode}:\n{log.read().decode()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"model server did not answer {url}/ping within {timeout} s")
        time.sleep(0.5)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)  # the server's own group: it and its workers
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def invoke(url: str, X: pd.DataFrame, timeout: float = 30.0) -> pd.DataFrame:
    """POST rows to a served model's /invocations (``dataframe_split``) and return its answer."""
    body = json.dumps({"dataframe_split": json.loads(X.to_json(orient="split", index=False))})
    req = urllib.request.Request(
        f"{url}/invocations", data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as r:
        answer = json.loads(r.read())
    return pd.DataFrame(answer["predictions"])
