"""Fitted preprocessing (and small fitted values) as JSON + plain arrays, read back without pickle.

A model exported as weights (INN, SMASH, the baselines; README "Safe loading") stores its fitted
:class:`~automl_hyper.data.preprocess.TabularPreprocessor` through :func:`encode`: every attribute
of every fitted scikit-learn object in it (``QuantileTransformer.quantiles_``, ``references_``,
``StandardScaler.mean_``, ``OneHotEncoder.categories_``, the ColumnTransformer's column lists, ...)
becomes a JSON entry, numeric arrays going to an ``.npz`` read with ``allow_pickle=False``.
:func:`decode` rebuilds each object as a fresh instance of an allowed class with those attributes
set, which is what scikit-learn's own unpickling does, so the rebuilt transform is the same
computation. Only the classes in :data:`ALLOWED_CLASSES` and the functions in
:data:`ALLOWED_FUNCTIONS` can be named; anything else is refused on write and on read, so a
config cannot make loading import or run other code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    PowerTransformer,
    QuantileTransformer,
    StandardScaler,
)

from automl_hyper.data import preprocess

# The only classes a config may name, rebuilt by setting their attributes on a fresh instance.
ALLOWED_CLASSES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        preprocess.TabularPreprocessor,
        ColumnTransformer,
        Pipeline,
        SimpleImputer,
        QuantileTransformer,
        PowerTransformer,
        StandardScaler,
        OneHotEncoder,
        OrdinalEncoder,
        FunctionTransformer,
        LogisticRegression,
    )
}
# FunctionTransformer's function in the shared path (categories as text).
ALLOWED_FUNCTIONS: dict[str, Callable] = {
    "automl_hyper.data.preprocess._as_text": preprocess._as_text
}

# A hook for values this module does not know (e.g. SMASH's ArchSpec): value -> JSON, or None.
Extra = Callable[[Any], Any]


class StateError(ValueError):
    """A value cannot be written as JSON + arrays, or a config names something not allowed."""


def encode(value: Any, arrays: dict[str, np.ndarray], key: str, extra: Extra | None = None) -> Any:
    """``value`` as a JSON-able entry; numeric arrays are added to ``arrays`` under ``key...``."""

    def enc(v: Any, k: str) -> Any:
        if v is None or isinstance(v, bool | str) or type(v) in (int, float):
            return v
        if isinstance(v, np.ndarray):
            if v.dtype.kind in "biuf":
                arrays[k] = v
                return {"__array__": k}
            if v.dtype.kind == "O" or v.dtype.kind == "U":
                items = [enc(x, f"{k}.{i}") for i, x in enumerate(v.ravel().tolist())]
                return {"__objects__": items, "shape": list(v.shape), "dtype": v.dtype.str}
        elif isinstance(v, np.generic):
            return {"__np__": v.dtype.str, "value": v.item()}
        elif isinstance(v, np.dtype):
            return {"__dtype__": v.str}
        elif isinstance(v, type) and issubclass(v, np.generic):
            return {"__type__": np.dtype(v).str}
        elif isinstance(v, list):
            return [enc(x, f"{k}.{i}") for i, x in enumerate(v)]
        elif isinstance(v, tuple):
            return {"__tuple__": [enc(x, f"{k}.{i}") for i, x in enumerate(v)]}
        elif isinstance(v, dict):
            pairs = [
                [enc(a, f"{k}.{i}k"), enc(b, f"{k}.{i}")] for i, (a, b) in enumerate(v.items())
            ]
            return {"__dict__": pairs}
        elif isinstance(v, slice):
            return {"__slice__": [v.start, v.stop, v.step]}
        elif isinstance(v, pd.DataFrame):
            columns = {str(c): enc(v[c].to_numpy(), f"{k}.{c}") for c in v.columns}
            return {"__frame__": columns, "index": enc(v.index.to_numpy(), f"{k}.@index")}
        elif callable(v) and f"{v.__module__}.{v.__qualname__}" in ALLOWED_FUNCTIONS:
            return {"__function__": f"{v.__module__}.{v.__qualname__}"}
        elif type(v).__name__ in ALLOWED_CLASSES and type(v) is ALLOWED_CLASSES[type(v).__name__]:
            state = {a: enc(x, f"{k}.{a}") for a, x in vars(v).items()}
            return {"__object__": type(v).__name__, "state": state}
        elif extra is not None and (custom := extra(v)) is not None:
            return {"__extra__": custom}
        raise StateError(f"cannot write {k} ({type(v).__qualname__}) as JSON + arrays")

    return enc(value, key)


def decode(entry: Any, arrays: dict[str, np.ndarray], extra: Extra | None = None) -> Any:
    """The value :func:`encode` wrote; only allowed classes and functions are rebuilt."""

    def dec(e: Any) -> Any:
        if isinstance(e, list):
            return [dec(x) for x in e]
        if not isinstance(e, dict):
            return e
        if "__array__" in e:
            return np.array(arrays[e["__array__"]])
        if "__objects__" in e:
            out = np.empty(len(e["__objects__"]), dtype=object)
            for i, x in enumerate(e["__objects__"]):
                out[i] = dec(x)
            return out.astype(np.dtype(e["dtype"])).reshape(e["shape"])
        if "__np__" in e:
            return np.dtype(e["__np__"]).type(e["value"])
        if "__dtype__" in e:
            return np.dtype(e["__dtype__"])
        if "__type__" in e:
            return np.dtype(e["__type__"]).type
        if "__tuple__" in e:
            return tuple(dec(x) for x in e["__tuple__"])
        if "__dict__" in e:
            return {dec(a): dec(b) for a, b in e["__dict__"]}
        if "__slice__" in e:
            return slice(*e["__slice__"])
        if "__frame__" in e:
            columns = {c: dec(x) for c, x in e["__frame__"].items()}
            return pd.DataFrame(columns, index=dec(e["index"]))
        if "__function__" in e:
            return _allowed(ALLOWED_FUNCTIONS, e["__function__"], "function")
        if "__object__" in e:
            cls = _allowed(ALLOWED_CLASSES, e["__object__"], "class")
            obj = cls.__new__(cls)  # a fresh instance; its attributes set as fit left them
            obj.__dict__.update({a: dec(x) for a, x in e["state"].items()})
            return obj
        if "__extra__" in e:
            if extra is None:
                raise StateError(f"no reader for the custom entry {e['__extra__']!r}")
            return extra(e["__extra__"])
        raise StateError(f"unknown entry {sorted(e)}")

    return dec(entry)


def _allowed(table: dict, name: str, what: str) -> Any:
    if name not in table:
        raise StateError(f"the config names the {what} {name!r}, which is not allowed; refusing it")
    return table[name]


def write_state(folder: str | Path, config: dict, arrays: dict[str, np.ndarray]) -> dict[str, Path]:
    """``config.json`` and ``arrays.npz`` in ``folder`` (created if missing): name -> path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"config": folder / "config.json", "arrays": folder / "arrays.npz"}
    paths["config"].write_text(json.dumps(config, indent=1))
    np.savez(paths["arrays"], **arrays)
    return paths


def read_state(folder: str | Path, loader: str) -> tuple[dict, dict[str, np.ndarray]]:
    """What :func:`write_state` wrote for ``loader``, read with ``json`` and
    ``np.load(allow_pickle=False)``; a config of another format or loader is refused first."""
    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text())
    check_header(config, loader)
    with np.load(folder / "arrays.npz", allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    return config, arrays


def estimator_state(
    est: Any, skip: set[str], arrays: dict[str, np.ndarray], extra: Extra | None = None
) -> dict:
    """A fitted estimator's class name, parameters and fitted attributes (all but ``skip``, the
    ones the caller stores its own way, e.g. torch networks), encoded with :func:`encode`."""
    params = est.get_params(deep=False)
    return {
        "estimator": type(est).__name__,
        "params": {k: encode(v, arrays, f"params.{k}", extra) for k, v in params.items()},
        "fitted": {
            k: encode(v, arrays, f"fitted.{k}", extra)
            for k, v in vars(est).items()
            if k not in params and k not in skip
        },
    }


def rebuild_estimator(
    classes: dict[str, type], state: dict, arrays: dict[str, np.ndarray], extra: Extra | None = None
) -> Any:
    """The estimator :func:`estimator_state` described, of a class in ``classes`` (else refused):
    constructed with its parameters, its fitted attributes set."""
    cls = _allowed(classes, state["estimator"], "estimator")
    est = cls(**{k: decode(v, arrays, extra) for k, v in state["params"].items()})
    est.__dict__.update({k: decode(v, arrays, extra) for k, v in state["fitted"].items()})
    return est


FORMAT, FORMAT_VERSION = "automl-hyper-weights", 1


def header(loader: str) -> dict:
    """The first entries of a weights config: its format and the module that reads it."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "loader": loader}


def check_header(config: dict, loader: str) -> None:
    got = (config.get("format"), config.get("format_version"), config.get("loader"))
    if got != (FORMAT, FORMAT_VERSION, loader):
        raise StateError(
            f"not a {FORMAT} v{FORMAT_VERSION} config for {loader} (format, version, loader: {got})"
        )
