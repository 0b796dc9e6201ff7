"""MLflow for the zoo's families: pyfunc models, registry aliases, importances, comparisons, serving.

``mlflow.sklearn`` serializes with skops in MLflow 3, which rejects custom classes, so a family's
model is logged as a pyfunc: the artifact is the estimator's serving object
(``estimator.to_serving()`` when defined, e.g. MotherNet's torch-free numpy child; otherwise the
fitted estimator) written with cloudpickle, the automl-hyper source ships with it (``code_paths``,
the package is not on PyPI), and the pip requirements pin exactly the installed distributions that
the pickled object references. Predictions are a DataFrame: ``label`` and one ``proba_<class>``
column per class for classifiers, ``prediction`` for regressors.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import os
import pickletools
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.models.model import ModelInfo
from mlflow.pyfunc import PythonModel

import automl_hyper

__all__ = [
    "DEFAULT_TRACKING_URI",
    "FamilyPyfuncModel",
    "as_request_frame",
    "configure_tracking",
    "free_port",
    "invoke",
    "load_family_model",
    "load_serving_object",
    "log_comparison",
    "log_family_model",
    "log_feature_importances",
    "pinned_requirements",
    "predict_frame",
    "serve_model",
    "serving_object",
]

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
_ARTIFACT = "serving_object"
# Always needed to load the wrapper, whatever the serving object references.
_BASE_DISTRIBUTIONS = ("mlflow", "cloudpickle", "numpy", "pandas")


def configure_tracking(uri: str | None = None, experiment: str | None = None) -> str:
    """Point MLflow at ``uri`` (else ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db``)."""
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    mlflow.set_tracking_uri(uri)
    if experiment is not None:
        mlflow.set_experiment(experiment)
    return uri


class FamilyPyfuncModel(PythonModel):
    """Serves a pickled serving object; one code path answers ``predict`` and HTTP requests."""

    def load_context(self, context) -> None:
        with open(context.artifacts[_ARTIFACT], "rb") as f:
            self.serving = cloudpickle.load(f)

    # The DataFrame hint tells MLflow to keep the logged signature (inputs arrive as a frame).
    def predict(
        self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        return predict_frame(self.serving, model_input)


def _as_input(obj: Any, X: Any) -> Any:
    if not isinstance(X, pd.DataFrame):
        X = pd.DataFrame(np.asarray(X))
    names = getattr(obj, "feature_names_in_", None)
    if names is None:
        # No declared names: a frame with positional column labels (0..n-1, as a signature built
        # from an array has) goes as an array; a named frame goes as it is.
        positional = [str(c) for c in X.columns] == [str(i) for i in range(X.shape[1])]
        return X.to_numpy() if positional else X
    missing = [c for c in names if c not in X.columns]
    if missing:
        raise ValueError(f"input lacks the columns the model was fitted on: {missing}")
    return X[list(names)]


def predict_frame(obj: Any, X: Any) -> pd.DataFrame:
    """``label`` + ``proba_<class>`` columns for a classifier, ``prediction`` for a regressor."""
    data = _as_input(obj, X)
    index = X.index if isinstance(X, pd.DataFrame) else None
    if hasattr(obj, "predict_proba") and hasattr(obj, "classes_"):
        proba = np.asarray(obj.predict_proba(data), dtype=np.float64)
        classes = np.asarray(obj.classes_)
        out = pd.DataFrame({"label": classes[np.argmax(proba, axis=1)]}, index=index)
        for j, cls in enumerate(classes):
            out[f"proba_{cls}"] = proba[:, j]
        return out
    return pd.DataFrame(
        {"prediction": np.asarray(obj.predict(data), dtype=np.float64)}, index=index
    )


def serving_object(estimator: Any) -> Any:
    """What a served model needs: ``estimator.to_serving()`` when defined, else the estimator."""
    to_serving = getattr(estimator, "to_serving", None)
    return to_serving() if callable(to_serving) else estimator


def _referenced_modules(payload: bytes) -> set[str]:
    """Top-level packages a pickle needs: its GLOBAL / STACK_GLOBAL modules, plus whatever the
    automl_hyper modules among them import at module level (they are imported to unpickle)."""
    modules: set[str] = set()
    # STACK_GLOBAL takes module and name from the stack, where repeated strings arrive through
    # the memo: follow memo writes and reads to know which strings were pushed last.
    memo: dict[int, Any] = {}
    pushed: list[Any] = []
    for op, arg, _ in pickletools.genops(payload):
        name = op.name
        if name in ("FRAME", "PROTO"):
            continue  # framing only, no value
        if name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE"):
            pushed.append(arg)
        elif name == "MEMOIZE":
            memo[len(memo)] = pushed[-1] if pushed else None
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[arg] = pushed[-1] if pushed else None
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            pushed.append(memo.get(arg))
        elif name == "GLOBAL":
            modules.add(str(arg).split(" ")[0])
        elif name == "STACK_GLOBAL" and len(pushed) >= 2 and isinstance(pushed[-2], str):
            modules.add(pushed[-2])
        else:
            pushed.append(None)  # any other value: not a string we could need
    seen: set[str] = set()
    for module in [m for m in modules if m.split(".")[0] == "automl_hyper"]:
        _own_module_imports(module, seen, modules)
    return {m.split(".")[0] for m in modules}


def _own_module_imports(module: str, seen: set[str], found: set[str]) -> None:
    """Add the module-level imports of an automl_hyper module (and its parents), recursively."""
    import ast
    import importlib.util

    parts = module.split(".")
    for i in range(1, len(parts) + 1):
        name = ".".join(parts[:i])
        if name in seen:
            continue
        seen.add(name)
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        tree = ast.parse(Path(spec.origin).read_text())
        # Module level only: imports inside functions are lazy and stay out of the pin list.
        for node in ast.walk(
            ast.Module(
                body=[
                    n
                    for n in tree.body
                    if not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                ],
                type_ignores=[],
            )
        ):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module]
            else:
                continue
            for target in targets:
                found.add(target)
                if target.split(".")[0] == "automl_hyper":
                    _own_module_imports(target, seen, found)


@functools.lru_cache(maxsize=1)
def _packages_distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()  # scans every installed distribution


def pinned_requirements(modules: set[str]) -> list[str]:
    """``dist==version`` for the installed distributions providing ``modules`` (+ the base set)."""
    providers = _packages_distributions()
    dists = set(_BASE_DISTRIBUTIONS)
    for module in modules:
        if module in ("automl_hyper", "builtins", "copyreg", "collections", "__main__"):
            continue  # automl-hyper ships as code_paths; the rest is the standard library
        dists.update(providers.get(module, []))
    reqs = []
    for dist in sorted(dists, key=str.lower):
        try:
            # Drop a local label (torch 2.13.0+cpu): PyPI has no such file, and ==2.13.0 still
            # matches the installed 2.13.0+cpu.
            version = importlib.metadata.version(dist).split("+")[0]
            reqs.append(f"{dist}=={version}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return reqs


def _package_source(into: Path) -> Path:
    """A copy of the automl_hyper package (with its integrations) to ship as ``code_paths``."""
    import automl_hyper.integrations as integrations

    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pt", "*.safetensors")
    target = into / "automl_hyper"
    shutil.copytree(Path(automl_hyper.__file__).parent, target, ignore=skip)
    integ = Path(integrations.__file__).parent
    if not (target / "integrations").exists():  # editable install: integrations/ lives apart
        shutil.copytree(integ, target / "integrations", ignore=skip)
    return target


def _flat_params(estimator: Any) -> dict[str, Any]:
    get_params = getattr(estimator, "get_params", None)
    if not callable(get_params):
        return {}
    return {
        k: v
        for k, v in get_params(deep=False).items()
        if v is None or isinstance(v, bool | int | float | str)
    }


def _feature_names(estimator: Any, n: int) -> list[str]:
    for attr in ("feature_names_out_", "feature_names_in_"):
        names = getattr(estimator, attr, None)
        if names is not None and len(names) == n:
            return [str(x) for x in names]
    return [f"x{i}" for i in range(n)]


def log_feature_importances(estimator: Any, prefix: str = "", top: int = 20) -> pd.DataFrame | None:
    """If the estimator has ``feature_importances_``: a table and a bar plot in the active run."""
    values = getattr(estimator, "feature_importances_", None)
    if values is None:
        return None
    from matplotlib.figure import Figure  # no pyplot: no global backend state

    values = np.asarray(values, dtype=np.float64).ravel()
    table = pd.DataFrame({"feature": _feature_names(estimator, len(values)), "importance": values})
    table = table.sort_values("importance", ascending=False, ignore_index=True)
    mlflow.log_table(table, artifact_file=f"{prefix}feature_importances.json")
    shown = table.head(top).iloc[::-1]
    fig = Figure(figsize=(6, 0.3 * len(shown) + 1.2), layout="constrained")
    ax = fig.subplots()
    ax.barh(shown["feature"], shown["importance"])
    ax.set_xlabel("importance")
    ax.set_title(f"{type(estimator).__name__}: top {len(shown)} features")
    mlflow.log_figure(fig, f"{prefix}feature_importances.png")
    return table


def as_request_frame(example: Any) -> pd.DataFrame:
    """The example as requests will carry it, so that the inferred signature accepts them.

    MLflow cannot enforce pandas ``category`` columns (JSON brings strings): they become text.
    Integer columns become float, because JSON rows with a missing value arrive as floats and an
    integer schema would reject them; the estimators cast numbers to float anyway.
    """
    frame = (
        example.copy() if isinstance(example, pd.DataFrame) else pd.DataFrame(np.asarray(example))
    )
    for column in frame.columns:
        dtype = frame[column].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
            frame[column] = frame[column].map(lambda v: v if v is None else str(v))
        elif pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            frame[column] = frame[column].astype(np.float64)
    return frame


def log_family_model(
    estimator: Any,
    name: str,
    registered_model_name: str | None = None,
    alias: str | None = None,
    input_example: Any = None,
    X_sample: Any = None,
    *,
    family: str | None = None,
    extra_pip_requirements: list[str] | None = None,
) -> ModelInfo:
    """Log a fitted family estimator as an MLflow pyfunc model (and optionally register it).

    Uses the active run, or starts (and ends) one named ``name``. ``input_example`` (or the first
    5 rows of ``X_sample``) gives the signature together with the model's own output on it.
    With ``registered_model_name`` the model is registered; ``alias`` (e.g. ``"champion"``) then
    points at the new version, so ``models:/<registered_model_name>@<alias>`` loads or serves it.
    Importances (table + bar plot) are logged when the estimator has ``feature_importances_``.
    """
    if alias is not None and registered_model_name is None:
        raise ValueError("alias needs registered_model_name: only registered models have aliases")
    if input_example is None and X_sample is not None:
        input_example = X_sample.head(5) if hasattr(X_sample, "head") else np.asarray(X_sample)[:5]
    obj = serving_object(estimator)
    payload = cloudpickle.dumps(obj)
    signature: ModelSignature | None = None
    if input_example is not None:
        input_example = as_request_frame(input_example)
        signature = infer_signature(input_example, predict_frame(obj, input_example))

    requirements = pinned_requirements(_referenced_modules(payload))
    requirements += list(extra_pip_requirements or [])

    own_run = mlflow.active_run() is None
    if own_run:
        mlflow.start_run(run_name=name)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{_ARTIFACT}.pkl"
            path.write_bytes(payload)
            code = _package_source(Path(tmp) / "code")
            mlflow.set_tags(
                {
                    "automl_hyper.family": family or "",
                    "automl_hyper.estimator": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
                    "automl_hyper.serving_object": type(obj).__qualname__,
                }
            )
            mlflow.log_params({f"{name}.{k}": v for k, v in _flat_params(estimator).items()})
            info = mlflow.pyfunc.log_model(
                name=name,
                python_model=FamilyPyfuncModel(),
                artifacts={_ARTIFACT: str(path)},
                code_paths=[str(code)],
                pip_requirements=requirements,
                signature=signature,
                input_example=input_example,
                registered_model_name=registered_model_name,
            )
        log_feature_importances(estimator, prefix=f"{name}/")
        if alias is not None:
            version = info.registered_model_version
            mlflow.MlflowClient().set_registered_model_alias(registered_model_name, alias, version)
    finally:
        if own_run:
            mlflow.end_run()
    return info


def load_family_model(uri: str) -> mlflow.pyfunc.PyFuncModel:
    """Load a logged family model (``runs:/``, ``models:/<name>@<alias>``, ``models:/<id>``).

    Its ``predict`` enforces the logged signature, which has no pandas ``category`` type: pass
    ``as_request_frame(X)`` when X has category columns (``load_dataset`` makes them).
    """
    return mlflow.pyfunc.load_model(uri)


def load_serving_object(uri: str) -> Any:
    """The unpickled serving object itself (e.g. a fitted estimator, or MotherNet's numpy child)."""
    return load_family_model(uri).unwrap_python_model().serving


def log_comparison(
    leaderboard: pd.DataFrame,
    *,
    dataset: str,
    family_column: str = "family",
    run_name: str | None = None,
    params: dict[str, Any] | None = None,
) -> str:
    """Log a comparison leaderboard (one row per family) in the active run or a new one.

    The table goes to ``leaderboard.json`` (browsable in the UI) and ``leaderboard.csv``; every
    numeric column becomes a metric ``<family>.<column>``. Returns the run id.
    """
    if family_column not in leaderboard.columns:
        raise ValueError(
            f"leaderboard has no {family_column!r} column: {list(leaderboard.columns)}"
        )
    own_run = mlflow.active_run() is None
    run = (
        mlflow.start_run(run_name=run_name or f"compare-{dataset}")
        if own_run
        else mlflow.active_run()
    )
    try:
        mlflow.set_tag("automl_hyper.dataset", dataset)
        if params:
            mlflow.log_params(params)
        mlflow.log_table(leaderboard, artifact_file="leaderboard.json")
        with tempfile.TemporaryDirectory() as tmp:
            csv = Path(tmp) / "leaderboard.csv"
            leaderboard.to_csv(csv, index=False)
            mlflow.log_artifact(str(csv))
        metrics = {}
        for _, row in leaderboard.iterrows():
            for col in leaderboard.columns:
                value = row[col]
                if col != family_column and isinstance(value, int | float | np.number):
                    if np.isfinite(value):
                        metrics[f"{row[family_column]}.{col}"] = float(value)
        mlflow.log_metrics(metrics)
        return run.info.run_id
    finally:
        if own_run:
            mlflow.end_run()


# --- serving ---------------------------------------------------------------------------------


def free_port() -> int:
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
) -> Iterator[str]:
    """Run ``mlflow models serve --env-manager local`` and yield its base URL once /ping answers.

    The server runs in its own process group, stopped (SIGTERM, then SIGKILL) on exit.
    """
    port = port or free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri or mlflow.get_tracking_uri()}
    cmd = [
        sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri,
        "--env-manager", "local", "-h", host, "-p", str(port),
    ]  # fmt: skip
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://{host}:{port}"
    try:
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
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"model server did not answer {url}/ping within {timeout} s")
            time.sleep(0.5)
        yield url
    finally:
        _stop(proc)
        log.close()


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
    import json

    body = json.dumps({"dataframe_split": json.loads(X.to_json(orient="split", index=False))})
    req = urllib.request.Request(
        f"{url}/invocations", data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as r:
        answer = json.loads(r.read())
    return pd.DataFrame(answer["predictions"])
