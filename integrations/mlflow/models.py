"""A zoo family's fitted model as an MLflow pyfunc: log, register under an alias, load.

``mlflow.sklearn`` serializes with skops in MLflow 3, which rejects custom classes, so a family's
model is logged as a pyfunc: the artifact is the estimator's serving object
(``estimator.to_serving()`` when defined, e.g. MotherNet's torch-free numpy child; otherwise the
fitted estimator) written with cloudpickle, the automl-hyper source ships with it (``code_paths``,
the package is not on PyPI), and the pip requirements pin exactly the installed distributions that
the pickled object references (see :mod:`.requirements`). Predictions are a DataFrame: ``label``
and one ``proba_<class>`` column per class for classifiers, ``prediction`` for regressors.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import cloudpickle
import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.models.model import ModelInfo
from mlflow.pyfunc import PythonModel

from automl_hyper.integrations.mlflow.requirements import (
    package_source,
    pinned_requirements,
    referenced_modules,
)

_ARTIFACT = "serving_object"


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
    quiet: bool = False,
) -> LoggedFamilyModel:
    """Log a fitted family estimator as an MLflow pyfunc model (and optionally register it).

    Uses the active run, or starts (and ends) one named ``name``. ``input_example`` (or the first
    5 rows of ``X_sample``) gives the signature together with the model's own output on it.
    With ``registered_model_name`` the model is registered; ``alias`` (e.g. ``"champion"``) then
    points at the new version, so ``models:/<registered_model_name>@<alias>`` loads or serves it.
    Importances (table + bar plot) are logged when the estimator has ``feature_importances_``.

    Returns MLflow's ``ModelInfo`` with two more attributes: ``uri``, the URI to load or serve
    (``models:/<name>@<alias>``, ``models:/<name>/<version>``, or the logged model's URI), and
    ``serve_command``, the shell command serving it with the absolute tracking URI; both are
    printed unless ``quiet``.
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

    requirements = pinned_requirements(referenced_modules(payload))
    requirements += list(extra_pip_requirements or [])

    own_run = mlflow.active_run() is None
    if own_run:
        mlflow.start_run(run_name=name)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{_ARTIFACT}.pkl"
            path.write_bytes(payload)
            code = package_source(Path(tmp) / "code")
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
    logged = LoggedFamilyModel(info, registered_model_name, alias)
    if not quiet:
        print(f"logged model: {logged.uri}\nserve it: {logged.serve_command}")
    return logged


class LoggedFamilyModel(ModelInfo):
    """MLflow's ``ModelInfo`` of a logged family model, plus where to load and how to serve it."""

    def __init__(self, info: ModelInfo, registered_name: str | None, alias: str | None) -> None:
        self.__dict__.update(info.__dict__)  # every ModelInfo attribute, as MLflow set them
        if registered_name and alias:
            self.uri = f"models:/{registered_name}@{alias}"
        elif registered_name and info.registered_model_version is not None:
            self.uri = f"models:/{registered_name}/{info.registered_model_version}"
        else:
            self.uri = info.model_uri
        from automl_hyper.integrations.mlflow.serving import serve_command

        self.serve_command = serve_command(self.uri)


def load_family_model(uri: str) -> mlflow.pyfunc.PyFuncModel:
    """Load a logged family model (``runs:/``, ``models:/<name>@<alias>``, ``models:/<id>``).

    Its ``predict`` enforces the logged signature, which has no pandas ``category`` type: pass
    ``as_request_frame(X)`` when X has category columns (``load_dataset`` makes them).
    """
    return mlflow.pyfunc.load_model(uri)


def load_serving_object(uri: str) -> Any:
    """The unpickled serving object itself (e.g. a fitted estimator, or MotherNet's numpy child)."""
    return load_family_model(uri).unwrap_python_model().serving
