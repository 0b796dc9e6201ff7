"""A zoo family's fitted model as an MLflow pyfunc: log, register under an alias, load.

``mlflow.sklearn`` serializes with skops in MLflow 3, which rejects custom classes, so a family's
model is logged as a pyfunc whose artifact is the estimator's serving object
(``estimator.to_serving()`` when defined, e.g. MotherNet's torch-free numpy child; otherwise the
fitted estimator). The automl-hyper source ships with it (``code_paths``, the package is not on
PyPI), and the pip requirements pin exactly the installed distributions that the object
references (see :mod:`.requirements`). Predictions are a DataFrame: ``label`` and one
``proba_<class>`` column per class for classifiers, ``prediction`` for regressors.

Safe loading (README "Safe loading"):

* the pyfunc wrapper is logged as code (MLflow's models-from-code, ``pyfunc_model.py``), not as
  MLflow's pickled ``python_model.pkl``;
* MotherNet's child is written without pickle: every array (weights, member transforms' tables,
  the fitted preprocessing's arrays) in one ``.npz`` read with ``np.load(allow_pickle=False)``,
  and a JSON config (settings, exact class labels, the preprocessing's structure: only allowed
  scikit-learn classes are rebuilt, see :mod:`automl_hyper.data.preprocess_state`);
* INN, SMASH and the baselines are written as weights (format ``weights``): ``config.json``
  (parameters, labels, the fitted preprocessing as JSON + arrays) and ``arrays.npz`` (networks'
  tensors; ``np.load(allow_pickle=False)``), plus XGBoost's own JSON model; the family module that
  wrote them (one of :data:`_WEIGHT_EXPORTS`) rebuilds the estimator (``from_weights``);
* anything else, or a model whose weights do not read back identically, is written with
  cloudpickle (with a warning in the second case);
* every artifact's sha256 is recorded at log time (in the model's ``model_config`` inside
  ``MLmodel``, and as tags ``automl_hyper.sha256.<artifact>`` of the run) and checked in
  ``load_context`` before the file is read: a modified artifact is refused with
  :class:`automl_hyper.checkpoints.ChecksumError`, before any unpickling.
"""

from __future__ import annotations

import importlib
import json
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import cloudpickle
import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, infer_signature
from mlflow.models.model import ModelInfo
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc import PythonModel

from automl_hyper.checkpoints import ChecksumError, sha256_of
from automl_hyper.data.preprocess import BadInputWarning
from automl_hyper.integrations.mlflow.requirements import (
    package_source,
    pinned_requirements,
    referenced_modules,
)
from automl_hyper.warning_types import AutomlHyperWarning

_ARTIFACT = "serving_object"  # the cloudpickled serving object (families without a safe format)
# MotherNet's numpy child, no pickle: arrays (npz) + JSON config (NumpyChild.to_state).
_CHILD_WEIGHTS, _CHILD_CONFIG = "child_weights", "child_config"
# INN, SMASH and the baselines as weights (no pickle): the modules that write and read them, the
# only ones a logged config may name.
_WEIGHT_EXPORTS = (
    "automl_hyper.models.inn.export",
    "automl_hyper.models.smash.export",
    "automl_hyper.models.baselines.export",
)
_WEIGHTS = "weights_"  # artifact name prefix: weights_config, weights_arrays, weights_xgboost
_MODEL_CODE = """\"\"\"automl-hyper's pyfunc wrapper, logged as code (MLflow models-from-code): no pickle.\"\"\"
import mlflow

from automl_hyper.integrations.mlflow.models import FamilyPyfuncModel

mlflow.models.set_model(FamilyPyfuncModel())
"""


class FamilyPyfuncModel(PythonModel):
    """Serves a family's serving object; one code path answers ``predict`` and HTTP requests.

    ``load_context`` checks every artifact against the sha256 recorded at log time, then rebuilds
    the object from its format (``numpy-child``: npz + JSON; ``weights``: JSON + npz
    (+ XGBoost's JSON model); ``cloudpickle``).
    """

    def load_context(self, context) -> None:
        config = dict(context.model_config or {})
        paths = verify_artifacts(context.artifacts, config.get("sha256"))
        if config.get("format") == "numpy-child":
            self.serving = read_numpy_child(paths[_CHILD_WEIGHTS], paths[_CHILD_CONFIG])
        elif config.get("format") == "weights":
            self.serving = read_weights(paths)
        else:
            with open(paths[_ARTIFACT], "rb") as f:
                self.serving = cloudpickle.load(f)  # verified against its logged sha256 above

    # The DataFrame hint tells MLflow to keep the logged signature (inputs arrive as a frame).
    def predict(
        self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        try:
            return predict_frame(self.serving, model_input)
        except ValueError as err:
            # Our checks name the problem (infinity in a column, ...): an MlflowException keeps
            # that message in the server's 400 answer, which otherwise says only "unexpected error".
            raise MlflowException(str(err), error_code=INVALID_PARAMETER_VALUE) from err


def verify_artifacts(artifacts: dict[str, str], expected: dict[str, str] | None) -> dict:
    """Every artifact's sha256 against the one recorded at log time; refuse any mismatch, and
    any artifact without a recorded hash."""
    if not expected:
        raise ChecksumError(
            "this model records no sha256 for its artifacts (logged by an older automl-hyper?): "
            "refusing to load it; log it again"
        )
    for name, path in artifacts.items():
        if name not in expected:
            raise ChecksumError(f"artifact {name!r} ({path}) has no recorded sha256: refusing it")
        actual = sha256_of(path)
        if actual != expected[name]:
            raise ChecksumError(
                f"model artifact {name!r} ({path}) has sha256 {actual}, but {expected[name]} was "
                "recorded when the model was logged: the file was modified or corrupted; "
                "refusing to load it"
            )
    return artifacts


def _is_numpy_child(obj: Any) -> bool:
    from automl_hyper.models.mothernet.child import NumpyChild

    return type(obj) is NumpyChild


def write_numpy_child(child: Any, folder: Path) -> dict[str, Path]:
    """A MotherNet ``NumpyChild`` as two files, neither a pickle: ``child_weights.npz`` (every
    array: weights, input mappings, member transforms' tables, the fitted preprocessing's
    arrays) and ``child_config.json`` (``NumpyChild.to_state``'s config).
    :func:`read_numpy_child` reads them back."""
    config, arrays = child.to_state()
    paths = {
        _CHILD_WEIGHTS: folder / "child_weights.npz",
        _CHILD_CONFIG: folder / "child_config.json",
    }
    np.savez_compressed(paths[_CHILD_WEIGHTS], **arrays)
    paths[_CHILD_CONFIG].write_text(json.dumps(config, indent=1))
    return paths


def read_numpy_child(weights: str | Path, config: str | Path) -> Any:
    """The ``NumpyChild`` written by :func:`write_numpy_child`, without unpickling anything:
    ``np.load(allow_pickle=False)`` and JSON naming only allowed scikit-learn classes."""
    from automl_hyper.models.mothernet.child import NumpyChild

    settings = json.loads(Path(config).read_text())
    if "format_version" in settings:  # format 2 kept the preprocessing in a skops file
        raise ChecksumError(
            "this MotherNet model was logged by an older automl-hyper, which stored the child's "
            "preprocessing with skops; it is no longer read: log the model again"
        )
    with np.load(weights, allow_pickle=False) as f:
        return NumpyChild.from_state(settings, f)


def _weights_exporter(obj: Any) -> Any:
    """The module of :data:`_WEIGHT_EXPORTS` that can write ``obj`` as weights, else None."""
    for name in _WEIGHT_EXPORTS:
        module = importlib.import_module(name)
        if module.can_export(obj):
            return module
    return None


def write_weights(obj: Any, folder: Path, example: Any = None) -> dict[str, Path]:
    """INN, SMASH or a baseline as weights in ``folder`` (artifact name -> file), checked by
    reading them back and predicting ``example`` (when given) as the original, to 1e-9."""
    module = _weights_exporter(obj)
    if module is None:
        raise TypeError(f"no weights format for {type(obj).__qualname__}")
    files = module.export_weights(obj, folder)
    if example is not None:
        again = module.from_weights(folder)
        pd.testing.assert_frame_equal(
            predict_frame(again, example), predict_frame(obj, example), rtol=0, atol=1e-9
        )
    return {_WEIGHTS + name: path for name, path in files.items()}


def read_weights(paths: dict[str, str]) -> Any:
    """The estimator written by :func:`write_weights` (files already checked against their
    sha256), read by the module its ``config.json`` names, which must be one of ours."""
    files = {k[len(_WEIGHTS) :]: Path(p) for k, p in paths.items() if k.startswith(_WEIGHTS)}
    loader = json.loads(files["config"].read_text()).get("loader")
    if loader not in _WEIGHT_EXPORTS:
        raise ChecksumError(f"the weights config names the reader {loader!r}: refusing it")
    folder = files["config"].parent
    if any(p != folder / p.name for p in files.values()):  # MLflow put them apart: gather them
        folder = Path(tempfile.mkdtemp(prefix="automl_hyper_weights_"))
        for path in files.values():
            shutil.copy(path, folder / path.name)
    return importlib.import_module(loader).from_weights(folder)


def write_serving_artifacts(
    obj: Any, folder: Path, example: Any = None
) -> tuple[str, dict[str, Path]]:
    """(format, artifact name -> file) for a serving object: ``numpy-child`` (no pickle) for
    MotherNet's child, checked by reading it back and predicting ``example`` (when given) exactly
    as the original; ``weights`` (no pickle) for INN, SMASH and the baselines, checked likewise
    (:func:`write_weights`); else, or if that fails (with a warning), ``cloudpickle``."""
    if _is_numpy_child(obj):
        try:
            paths = write_numpy_child(obj, folder)
            if example is not None:
                again = read_numpy_child(paths[_CHILD_WEIGHTS], paths[_CHILD_CONFIG])
                data = _as_input(obj, example)
                if not np.array_equal(again.predict_proba(data), obj.predict_proba(data)):
                    raise RuntimeError("the child read back predicts differently")
            return "numpy-child", paths
        except Exception as err:  # noqa: BLE001 - any failure: the pickled format still serves
            warnings.warn(
                f"MotherNet's child could not be written without pickle ({err}); logging it "
                "with cloudpickle instead (verified by sha256 at load)",
                AutomlHyperWarning,
                stacklevel=3,
            )
            for path in folder.glob("child_*"):
                path.unlink()
    elif _weights_exporter(obj) is not None:
        try:
            return "weights", write_weights(obj, folder / "weights", example)
        except Exception as err:  # noqa: BLE001 - any failure: the pickled format still serves
            warnings.warn(
                f"{type(obj).__name__} could not be written as weights without pickle ({err}); "
                "logging it with cloudpickle instead (verified by sha256 at load)",
                AutomlHyperWarning,
                stacklevel=3,
            )
            shutil.rmtree(folder / "weights", ignore_errors=True)
    path = folder / f"{_ARTIFACT}.pkl"
    path.write_bytes(cloudpickle.dumps(obj))
    return "cloudpickle", {_ARTIFACT: path}


def _as_input(obj: Any, X: Any) -> Any:
    if not isinstance(X, pd.DataFrame):
        X = pd.DataFrame(np.asarray(X))
    names = getattr(obj, "feature_names_in_", None)
    if names is None:
        # No declared names: a frame with positional column labels (0..n-1, as a signature built
        # from an array has) goes as an array; a named frame goes as it is.
        positional = [str(c) for c in X.columns] == [str(i) for i in range(X.shape[1])]
        return X.to_numpy() if positional else X
    if list(X.columns) == list(names):
        return X  # already in order (every request through the signature): no copy
    missing = [c for c in names if c not in X.columns]
    if missing:
        raise ValueError(f"input lacks the columns the model was fitted on: {missing}")
    known = set(names)
    extra = [c for c in X.columns if c not in known]
    if extra:
        # MLflow's signature check drops extra columns with a logged warning before they reach
        # us; a model logged without a signature gets them here: the same answer, and a warning.
        warnings.warn(
            f"input has columns the model was not fitted on, ignored: {extra}",
            BadInputWarning,
            stacklevel=3,
        )
    return X[list(names)]


def predict_frame(obj: Any, X: Any) -> pd.DataFrame:
    """``label`` + ``proba_<class>`` columns for a classifier, ``prediction`` for a regressor."""
    data = _as_input(obj, X)
    index = X.index if isinstance(X, pd.DataFrame) else None
    if hasattr(obj, "predict_proba") and hasattr(obj, "classes_"):
        proba = np.asarray(obj.predict_proba(data), dtype=np.float64)
        classes = np.asarray(obj.classes_)
        # One constructor call: adding the columns one by one cost 0.4 ms per served request.
        columns = {"label": classes[np.argmax(proba, axis=1)]}
        columns.update({f"proba_{cls}": proba[:, j] for j, cls in enumerate(classes)})
        return pd.DataFrame(columns, index=index)
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
    n_train: int | None = None,
) -> LoggedFamilyModel:
    """Log a fitted family estimator as an MLflow pyfunc model (and optionally register it).

    Uses the active run, or starts (and ends) one named ``name``. ``input_example`` (or the first
    5 rows of ``X_sample``) gives the signature together with the model's own output on it.
    With ``registered_model_name`` the model is registered; ``alias`` (e.g. ``"champion"``) then
    points at the new version, so ``models:/<registered_model_name>@<alias>`` loads or serves it.
    Importances (table + bar plot) are logged when the estimator has ``feature_importances_``,
    and the UNF-predicted AUC of each generated child (``predicted_auc``: MotherNet's members,
    SMASH's UNF-ranked finalists; ``n_train``: the training rows, see ``child_quality``).

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

    # Which distributions the object needs, read from its pickle (scanned, never stored).
    modules = referenced_modules(payload)
    requirements = pinned_requirements(modules)
    requirements += list(extra_pip_requirements or [])

    own_run = mlflow.active_run() is None
    if own_run:
        mlflow.start_run(run_name=name)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            fmt, files = write_serving_artifacts(obj, Path(tmp), input_example)
            hashes = {key: sha256_of(path) for key, path in files.items()}
            code = package_source(Path(tmp) / "code")
            wrapper = Path(tmp) / "pyfunc_model.py"
            wrapper.write_text(_MODEL_CODE)
            mlflow.set_tags(
                {
                    "automl_hyper.family": family or "",
                    "automl_hyper.estimator": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
                    "automl_hyper.serving_object": type(obj).__qualname__,
                    "automl_hyper.serving_format": fmt,
                    **{f"automl_hyper.sha256.{key}": value for key, value in hashes.items()},
                }
            )
            mlflow.log_params({f"{name}.{k}": v for k, v in _flat_params(estimator).items()})
            info = mlflow.pyfunc.log_model(
                name=name,
                python_model=str(wrapper),
                artifacts={key: str(path) for key, path in files.items()},
                model_config={"format": fmt, "sha256": hashes},
                code_paths=[str(code)],
                pip_requirements=requirements,
                signature=signature,
                input_example=input_example,
                registered_model_name=registered_model_name,
            )
        log_feature_importances(estimator, prefix=f"{name}/")
        from automl_hyper.weightspace.uses import child_quality  # torch: only when used

        quality = child_quality(estimator, n_train)  # {} without generated children
        if quality:
            mlflow.log_metrics(quality)
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
    """The serving object itself (e.g. a fitted estimator, or MotherNet's numpy child)."""
    return load_family_model(uri).unwrap_python_model().serving
