"""One entry point for data in: ``load_dataset`` takes a DataFrame, a CSV/Parquet/ARFF path, an
OpenML id or an OpenML name and returns a :class:`Dataset` (categorical columns as ``category``).

OpenML loads go through openml-python and its local cache (see ``openml_cache``); names resolve
offline first (our index, then openml's cached descriptions, then the datasets bundled with
scikit-learn) and only then through the server.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from automl_hyper.data.preprocess import categorical_columns

Task = Literal["classification", "regression"]
OFFLINE_ENV_VAR = "AUTOML_HYPER_OFFLINE"
# An integer-valued numeric target with more distinct values than this is taken as regression.
MAX_INTEGER_CLASSES = 100
_CSV_SUFFIXES = (".csv", ".tsv", ".csv.gz", ".tsv.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_ARFF_SUFFIXES = (".arff",)


@dataclass
class Dataset:
    """Features ``X`` (categorical columns as ``category`` dtype), target ``y`` and metadata."""

    name: str
    X: pd.DataFrame
    y: pd.Series
    categorical: list[str] = field(default_factory=list)
    openml_id: int | None = None
    task: Task = "classification"

    def __post_init__(self) -> None:
        if len(self.X) != len(self.y):
            raise ValueError(f"{self.name}: X has {len(self.X)} rows but y has {len(self.y)}")
        if self.task not in ("classification", "regression"):
            raise ValueError(f"task must be classification or regression, got {self.task!r}")

    @property
    def numeric(self) -> list[str]:
        return [c for c in self.X.columns if c not in self.categorical]

    def __repr__(self) -> str:
        where = f", openml_id={self.openml_id}" if self.openml_id is not None else ""
        return (
            f"Dataset({self.name!r}{where}, {self.task}, {self.X.shape[0]} rows, "
            f"{self.X.shape[1]} features, {len(self.categorical)} categorical)"
        )


def load_dataset(
    source: pd.DataFrame | str | os.PathLike | int,
    target: str | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    categorical: list[str] | None = None,
    task: Task | None = None,
    name: str | None = None,
    offline: bool | None = None,
) -> Dataset:
    """Load a dataset from a DataFrame, a CSV/Parquet/ARFF file, an OpenML id or an OpenML name.

    ``target``: the target column; default ``target`` if present else the last column (CSV,
    Parquet, frames), the last attribute (ARFF), or the dataset's default target (OpenML).
    ``categorical``: the categorical feature columns of a file or frame; default: object, string,
    category and bool columns (ARFF and OpenML use their nominal types). ``task``: default
    inferred (OpenML and ARFF: a nominal target is classification, a numeric one regression;
    CSV, Parquet and frames: a non-numeric target, or an integer-valued one with at most 100
    values, is classification).
    ``name``: the dataset's name (default: file stem, or "dataframe"). ``cache_dir``: openml's
    root cache folder (default $AUTOML_HYPER_OPENML_CACHE, then openml's own). ``offline``
    (default $AUTOML_HYPER_OFFLINE): never call the OpenML server.
    """
    if isinstance(source, pd.DataFrame):
        return _from_frame(source, target, name or "dataframe", categorical, task)
    if isinstance(source, (bool, np.bool_)):
        raise TypeError("source must be a DataFrame, a path, an OpenML id or an OpenML name")
    if isinstance(source, (int, np.integer)):
        return load_openml(int(source), target, cache_dir=cache_dir, task=task, offline=offline)
    if isinstance(source, os.PathLike) or _looks_like_path(str(source)):
        return _from_file(Path(source), target, name, categorical, task)
    if isinstance(source, str):
        text = source.strip()
        if not text:
            raise ValueError("empty dataset name")
        if text.isdigit():
            return load_openml(int(text), target, cache_dir=cache_dir, task=task, offline=offline)
        return load_openml(text, target, cache_dir=cache_dir, task=task, offline=offline)
    raise TypeError(
        f"source must be a DataFrame, a path, an OpenML id or an OpenML name, "
        f"not {type(source).__name__}"
    )


def _looks_like_path(text: str) -> bool:
    lower = text.lower()
    suffixes = _CSV_SUFFIXES + _PARQUET_SUFFIXES + _ARFF_SUFFIXES
    return lower.endswith(suffixes) or Path(text).is_file()


def _from_file(
    path: Path,
    target: str | None,
    name: str | None,
    categorical: list[str] | None,
    task: Task | None,
) -> Dataset:
    if not path.is_file():
        raise FileNotFoundError(f"data file not found: {path}")
    lower = path.name.lower()
    if not lower.endswith(_PARQUET_SUFFIXES + _CSV_SUFFIXES + _ARFF_SUFFIXES):
        raise ValueError(f"{path}: unknown file type; use .csv, .tsv, .parquet, .pq or .arff")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty")
    if lower.endswith(_PARQUET_SUFFIXES):
        frame = _read(path, "Parquet", pd.read_parquet, path)
    elif lower.endswith(_CSV_SUFFIXES):
        sep = "\t" if ".tsv" in lower else ","
        frame = _read(path, "CSV", pd.read_csv, path, sep=sep)
    elif lower.endswith(_ARFF_SUFFIXES):
        frame, nominal = _read(path, "ARFF", _read_arff, path)
        if categorical is None:  # the ARFF types say which columns are categorical
            categorical = [c for c in nominal if c != (target or frame.columns[-1])]
        target = target or str(frame.columns[-1])  # ARFF convention: the class comes last
        if task is None:  # typed like OpenML: a nominal target is classification
            task = "classification" if target in nominal else "regression"
    else:
        raise ValueError(f"{path}: unknown file type; use .csv, .tsv, .parquet, .pq or .arff")
    if frame.shape[0] == 0:
        raise ValueError(f"{path}: no data rows (columns {list(frame.columns)})")
    stem = path.name.split(".")[0]
    return _from_frame(frame, target, name or stem, categorical, task)


def _read(path: Path, kind: str, reader, *args, **kwargs):
    """``reader(*args, **kwargs)``; a file it cannot parse (binary junk, a broken or empty
    table) becomes one ValueError naming the file and the format expected."""
    try:
        return reader(*args, **kwargs)
    except (OSError, MemoryError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise ValueError(f"{path}: could not read it as {kind}: {_reason(err)}") from err
    except Exception as err:  # noqa: BLE001 - parsers raise many types; one message for the user
        raise ValueError(f"{path}: could not read it as {kind}: {_reason(err)}") from err


def _reason(err: Exception) -> str:
    if isinstance(err, UnicodeDecodeError):
        return f"not text in UTF-8 (byte {err.object[err.start]:#04x} at position {err.start})"
    if isinstance(err, pd.errors.EmptyDataError):
        return "no columns in it"
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"


def _read_arff(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """A dense ARFF file as a frame (nominal columns as ``category``) and its nominal columns."""
    import arff  # liac-arff, installed with openml

    with path.open(encoding="utf8") as fh:
        decoded = arff.load(fh)
    names = [name for name, _ in decoded["attributes"]]
    frame = pd.DataFrame(decoded["data"], columns=names)
    nominal = []
    for name, kind in decoded["attributes"]:
        if isinstance(kind, list):
            frame[name] = pd.Categorical(frame[name], categories=kind)
            nominal.append(name)
        elif kind.upper() in ("REAL", "NUMERIC", "INTEGER"):
            frame[name] = pd.to_numeric(frame[name])
    return frame, nominal


def _from_frame(
    frame: pd.DataFrame,
    target: str | None,
    name: str,
    categorical: list[str] | None,
    task: Task | None,
) -> Dataset:
    if frame.shape[1] < 2:
        raise ValueError(f"{name}: need at least one feature and a target, got {frame.shape[1]}")
    if frame.columns.duplicated().any():
        dup = list(frame.columns[frame.columns.duplicated()])
        raise ValueError(f"{name}: duplicated column names {dup}")
    if target is None:
        target = "target" if "target" in frame.columns else frame.columns[-1]
    if target not in frame.columns:
        raise ValueError(f"{name}: target column {target!r} not in {list(frame.columns)}")
    X = frame.drop(columns=[target])
    y = frame[target]
    if categorical is None:
        categorical = categorical_columns(X)
    else:
        missing = [c for c in categorical if c not in X.columns]
        if missing:
            raise ValueError(f"{name}: categorical columns not among the features: {missing}")
    other = [c for c in X.columns if c not in categorical]
    not_numeric = [
        c
        for c in other
        if not pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c])
    ]
    if not_numeric:
        raise ValueError(
            f"{name}: columns {not_numeric} are neither numeric nor listed as categorical"
        )
    X = _as_categories(X, categorical)
    task = task or infer_task(y)
    return _finish(name, X, y, list(categorical), None, task)


def _as_categories(X: pd.DataFrame, categorical: list) -> pd.DataFrame:
    X = X.copy()
    for col in categorical:
        if not isinstance(X[col].dtype, pd.CategoricalDtype):
            X[col] = X[col].astype("category")
    return X


def infer_task(y: pd.Series) -> Task:
    """Classification for non-numeric or integer-valued targets with few values, else regression."""
    if isinstance(y.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(y):
        return "classification"
    if pd.api.types.is_bool_dtype(y):
        return "classification"
    values = y.dropna().to_numpy(dtype=float)
    if np.all(np.mod(values, 1) == 0) and len(np.unique(values)) <= MAX_INTEGER_CLASSES:
        return "classification"
    return "regression"


def _finish(
    name: str,
    X: pd.DataFrame,
    y: pd.Series,
    categorical: list,
    openml_id: int | None,
    task: Task,
) -> Dataset:
    if task not in ("classification", "regression"):
        raise ValueError(f"task must be classification or regression, got {task!r}")
    n_missing = int(y.isna().sum())
    if n_missing:
        raise ValueError(
            f"{name}: the target {y.name!r} has {n_missing} missing values; drop those rows first"
        )
    if task == "classification":
        if isinstance(y.dtype, pd.CategoricalDtype):
            y = y.cat.remove_unused_categories()
        if y.nunique() < 2:
            raise ValueError(f"{name}: classification needs at least 2 classes in {y.name!r}")
    elif not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        raise ValueError(f"{name}: regression needs a numeric target, {y.name!r} is {y.dtype}")
    X = X.reset_index(drop=True)
    y = y.reset_index(drop=True)
    return Dataset(name, X, y, categorical, openml_id, task)


# ---------------------------------------------------------------- OpenML


class DatasetNotFoundError(LookupError):
    """An OpenML dataset could not be found in the cache, among bundled ones, or on the server."""


def _offline(offline: bool | None) -> bool:
    if offline is not None:
        return offline
    return os.environ.get(OFFLINE_ENV_VAR, "").strip().lower() in {"1", "true", "yes", "on"}


def resolve_openml_id(
    name: str,
    *,
    cache_dir: str | os.PathLike | None = None,
    offline: bool | None = None,
) -> int:
    """OpenML id of ``name``: our index, openml's cached descriptions, bundled sets, the server."""
    from automl_hyper.data.bundled import bundled_id
    from automl_hyper.data.openml_cache import find_cached_id, openml_cache

    with openml_cache(cache_dir) as server_dir:
        found = find_cached_id(server_dir, name)
        if found is None:
            found = bundled_id(name)
        if found is not None:
            return found
        close = _close_names(name, server_dir)
        if _offline(offline):
            raise DatasetNotFoundError(
                f"no dataset named {name!r}{close} in the OpenML cache at {server_dir} (offline "
                "mode). Build one with `automl-hyper datasets cache --from DIR`, or see "
                "`automl-hyper datasets list`."
            )
        try:
            return _name_from_server(name, server_dir)
        except DatasetNotFoundError as err:
            if not close:
                raise
            raise DatasetNotFoundError(f"no dataset named {name!r}{close}. {err}") from None


def _close_names(name: str, server_dir: Path) -> str:
    """`` (did you mean credit-g?)`` from the cached and bundled names, or ``""``."""
    from automl_hyper.data.bundled import BUNDLED
    from automl_hyper.data.openml_cache import cached_descriptions, read_index
    from automl_hyper.spelling import did_you_mean

    known = set(read_index(server_dir)) | {row["name"] for row in cached_descriptions(server_dir)}
    for dataset in BUNDLED.values():
        known |= {dataset.name, *dataset.aliases}
    return did_you_mean(name, sorted(known))


def _server_reachable(timeout: float = 3.0) -> bool:
    """A quick TCP check, so an offline machine fails at once instead of after openml's retries."""
    import socket
    from urllib.parse import urlparse

    import openml

    url = urlparse(openml.config.server)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def _unreachable(what: str, server_dir: Path) -> DatasetNotFoundError:
    return DatasetNotFoundError(
        f"{what} is not in the OpenML cache at {server_dir} and the OpenML server could not be "
        "reached. Build a local cache with `automl-hyper datasets cache --from DIR`, use a "
        "dataset bundled with scikit-learn (wdbc/breast_cancer, iris, wine), or connect to the "
        "network."
    )


def _name_from_server(name: str, server_dir: Path) -> int:
    import openml
    import requests

    if not _server_reachable():
        raise _unreachable(f"dataset {name!r}", server_dir)
    try:
        return int(openml.datasets.functions._name_to_id(name))  # the lookup openml uses itself
    except RuntimeError as e:  # openml's "No active datasets exist with name ..."
        raise DatasetNotFoundError(f"no OpenML dataset named {name!r}: {e}") from None
    except (requests.exceptions.RequestException, OSError):
        raise _unreachable(f"dataset {name!r}", server_dir) from None


def fetch_openml(
    dataset: int | str,
    *,
    cache_dir: str | os.PathLike | None = None,
    offline: bool | None = None,
):
    """openml-python's ``OpenMLDataset`` (data file in the cache) for an id or a name.

    Uses the cache when it holds the dataset, writes a scikit-learn-bundled one into it when that
    is the one asked for, and only otherwise downloads (unless ``offline``).
    """
    import openml
    import requests
    from openml.exceptions import OpenMLServerException

    from automl_hyper.data.bundled import BUNDLED, write_bundled
    from automl_hyper.data.openml_cache import dataset_dir, is_cached, openml_cache

    if isinstance(dataset, str):
        dataset_id = resolve_openml_id(dataset, cache_dir=cache_dir, offline=offline)
    else:
        dataset_id = int(dataset)
    if dataset_id <= 0:
        raise ValueError(f"OpenML ids are positive integers, got {dataset_id}")
    with openml_cache(cache_dir) as server_dir:
        if not is_cached(server_dir, dataset_id):
            if dataset_id in BUNDLED:
                write_bundled(server_dir, dataset_id)
            elif _offline(offline):
                raise DatasetNotFoundError(
                    f"OpenML dataset {dataset_id} is not in the cache at {server_dir} "
                    "(offline mode). Build one with `automl-hyper datasets cache --from DIR`."
                )
            elif not _server_reachable():
                raise _unreachable(f"OpenML dataset {dataset_id}", server_dir)
        # Features metadata is read now when cached (never downloaded for it), so that
        # ``ds.features`` does not look in another cache once the setting is restored.
        features_cached = (dataset_dir(server_dir, dataset_id) / "features.xml").is_file()
        try:
            return openml.datasets.get_dataset(
                dataset_id,
                download_data=True,
                download_qualities=False,
                download_features_meta_data=features_cached,
            )
        except OpenMLServerException as e:
            raise DatasetNotFoundError(f"OpenML dataset {dataset_id}: {e}") from None
        except (requests.exceptions.RequestException, OSError):
            raise _unreachable(f"OpenML dataset {dataset_id}", server_dir) from None


def load_openml(
    dataset: int | str,
    target: str | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    task: Task | None = None,
    offline: bool | None = None,
) -> Dataset:
    """Load an OpenML dataset by id or name through openml-python and the local cache."""
    ds = fetch_openml(dataset, cache_dir=cache_dir, offline=offline)
    target = target or ds.default_target_attribute
    if not target:
        raise ValueError(f"OpenML dataset {ds.dataset_id} has no default target; pass target=")
    columns = [feature.name for feature in ds.features.values()]
    if target not in columns:  # openml itself fails with an IndexError
        raise ValueError(f"{ds.name}: target column {target!r} not in {columns}")
    X, y, categorical_indicator, names = ds.get_data(target=target)
    categorical = [n for n, is_cat in zip(names, categorical_indicator) if is_cat]
    X = _as_categories(X, categorical)
    if task is None:  # OpenML types the target: nominal is classification, numeric regression
        nominal = isinstance(y.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(y)
        task = "classification" if nominal else "regression"
    return _finish(ds.name, X, y, categorical, int(ds.dataset_id), task)
