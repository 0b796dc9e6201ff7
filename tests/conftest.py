"""Shared fixtures: real datasets from ``../shared/datasets`` and an OpenML-layout cache built
from them in a temporary folder (never the user's cache: openml may delete a cache folder after a
failed call, so tests that expect failures build their own)."""

from __future__ import annotations

import importlib.util
import json
import socket
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

# tests/pg.py: the session-scoped `postgres` fixture (a throwaway PostgreSQL server).
pytest_plugins = ["pg"]

SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

# A SMASH search small enough for a unit test (seconds), shared by the SMASH test modules.
SMASH_TINY = {
    "n_candidates": 20,
    "n_mutations": 6,
    "top_k": 3,
    "hyper_max_epochs": 5,
    "max_epochs": 10,
    "widths": (8, 16, 32),
    "max_depth": 3,
    "random_state": 0,
}


def load_benchmark(script: str, module_name: str | None = None) -> ModuleType:
    """Import ``benchmarks/<script>.py`` (a script folder, not a package) as a module."""
    spec = importlib.util.spec_from_file_location(
        module_name or script, BENCHMARKS / f"{script}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# A handful covering numeric-only, categorical, missing values and multiclass targets.
CACHED_DATASETS = {
    "credit-g": 31,
    "diabetes": 37,
    "cmc": 23,
    "eucalyptus": 188,
    "car": 40975,
    "kc2": 1063,
}


def _require_shared() -> Path:
    if not (SHARED_DATASETS / "MANIFEST.tsv").is_file():
        pytest.skip(f"shared datasets not found at {SHARED_DATASETS}")
    return SHARED_DATASETS


@cache
def _categorical_lists() -> dict[str, list[str]]:
    return json.loads((SHARED_DATASETS / "CATEGORICAL.json").read_text())


@lru_cache(maxsize=32)
def _read_shared(name: str) -> pd.DataFrame:
    path = SHARED_DATASETS / f"{name}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"no shared dataset {name!r} at {path}")
    return pd.read_csv(path)


def load_shared(name: str) -> tuple[pd.DataFrame, pd.Series]:
    """(X, y) of ``../shared/datasets/<name>.csv``; CATEGORICAL.json columns typed ``category``."""
    _require_shared()
    frame = _read_shared(name).copy()
    y = frame.pop("target")
    for col in _categorical_lists().get(name, []):
        frame[col] = frame[col].astype("category")
    return frame, y


@pytest.fixture(scope="session", autouse=True)
def _default_openml_cache_in_tmp(tmp_path_factory):
    """Loads that name no cache folder go to a temporary one, never to the user's cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTOML_HYPER_OPENML_CACHE", str(tmp_path_factory.mktemp("default_openml")))
        yield


# A fast single-member INN for the ensemble and refit tests (the estimator's default is 5
# members); a test that wants an ensemble merges {"n_estimators": k} into it.
INN_ONE_MEMBER = dict(
    hidden_width=16,
    max_epochs=8,
    restart_period=2,
    learning_rate=1e-2,
    n_estimators=1,
    random_state=0,
)

# A SMASH search small enough for about a second per fit, with 3 trained finalists (as
# tests/test_smash.py's TINY), for the refit and ensemble tests.
SMASH_THREE_FINALISTS = {
    "n_candidates": 20,
    "n_mutations": 6,
    "top_k": 3,
    "ensemble_top_k": 3,
    "hyper_max_epochs": 5,
    "hyper_time_budget": 2.0,
    "max_epochs": 10,
    "widths": (8, 16, 32),
    "max_depth": 3,
    "random_state": 0,
}


@pytest.fixture(scope="module")
def binary_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A small synthetic binary task as (X, y, X_test, y_test): 180 training rows, 60 held out."""
    X, y = make_classification(240, 6, n_informative=4, random_state=0)
    return X[:180], y[:180], X[180:], y[180:]


@pytest.fixture(scope="session")
def shared_datasets_dir() -> Path:
    """The ``../shared/datasets`` folder (the test is skipped where it is missing)."""
    return _require_shared()


@pytest.fixture(scope="session")
def shared_dataset() -> Callable[[str], tuple[pd.DataFrame, pd.Series]]:
    """``shared_dataset(name) -> (X, y)`` from ``../shared/datasets``, categoricals typed."""
    _require_shared()
    return load_shared


@pytest.fixture(scope="session")
def openml_cache(tmp_path_factory) -> Path:
    """Root of a fresh OpenML-layout cache holding ``CACHED_DATASETS`` under their OpenML ids.

    Pass it as ``cache_dir=`` to ``load_dataset`` (or to ``openml_cache()`` for openml-python).
    Shared by the session: read from it, do not write to it or make calls expected to fail.
    """
    from automl_hyper.data.openml_cache import build_cache

    root = tmp_path_factory.mktemp("openml_cache")
    written = build_cache(_require_shared(), root, names=list(CACHED_DATASETS))
    assert written == CACHED_DATASETS
    return root


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails at once (a guard, not a fake server)."""

    def refuse(self, address):
        raise OSError(f"network access attempted in a no-network test: {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


def pytest_configure(config: pytest.Config) -> None:
    # The families train small networks, for which one intra-op thread is fastest on this
    # 2-core machine (two threads under load were 3x slower for INN); tests never need more.
    import torch

    torch.set_num_threads(1)
