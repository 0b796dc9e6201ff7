"""Every model ``compare`` trains, on local disk before any MLflow call for it.

A tracking store can go away mid-run (a server stopped, a SQLite file or folder removed or made
unwritable). So the ``compare`` tracker first writes each fitted model to a folder of its own,
``<root>/<dataset>-<UTC time>/split<k>-<family>/`` (the refitted champion in
``champion-<family>/``), with the writers the MLflow pyfunc uses (:func:`write_serving_artifacts`:
MotherNet's child and the weights formats without pickle) and a ``model.json`` (format, files and
their sha256, family, split, parameters, metrics). A model folder appears complete or not at all
(written under a temporary name, then renamed). At the end the comparison's ``runs.csv`` and
``leaderboard.md`` go next to them.

:func:`load_saved_model` reads one back through the pyfunc's own ``load_context`` (so the same
sha256 check and the same readers), and :func:`predict_frame` predicts with it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.pyfunc import PythonModelContext

from automl_hyper.checkpoints import sha256_of
from automl_hyper.integrations.mlflow.models import (
    FamilyPyfuncModel,
    serving_object,
    write_serving_artifacts,
)

DEFAULT_ROOT = "compare_models"
_META = "model.json"


class LocalModels:
    """The folder of one comparison's models: ``<root>/<dataset>-<UTC time>`` (made absolute now,
    created at the first save; a suffix keeps two comparisons started in the same second apart)."""

    def __init__(self, dataset: str, root: str | Path = DEFAULT_ROOT) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        base = Path(root).resolve() / f"{_safe(dataset)}-{stamp}"
        folder, n = base, 1
        while folder.exists():
            n += 1
            folder = base.with_name(f"{base.name}-{n}")
        self.folder = folder

    def save(
        self, name: str, estimator: Any, example: Any = None, info: dict[str, Any] | None = None
    ) -> Path:
        """Write ``estimator``'s serving object as ``<folder>/<name>/``, checked against
        ``example`` where the writer checks; ``info`` (family, split, metrics, ...) goes into its
        ``model.json``. Returns the model's folder."""
        final = self.folder / name
        partial = self.folder / f".{name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        obj = serving_object(estimator)
        fmt, files = write_serving_artifacts(obj, partial, example)
        meta = {
            "format": fmt,
            "artifacts": {key: str(Path(p).relative_to(partial)) for key, p in files.items()},
            "sha256": {key: sha256_of(p) for key, p in files.items()},
            "estimator": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
            "serving_object": type(obj).__qualname__,
            **(info or {}),
        }
        (partial / _META).write_text(json.dumps(meta, indent=1, default=repr), encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        os.replace(partial, final)
        return final

    def write_results(self, runs: pd.DataFrame, leaderboard_md: str) -> None:
        """The comparison's runs (one row per family and split) and its leaderboard report."""
        self.folder.mkdir(parents=True, exist_ok=True)
        runs.to_csv(self.folder / "runs.csv", index=False)
        (self.folder / "leaderboard.md").write_text(leaderboard_md, encoding="utf-8")


def load_saved_model(folder: str | Path) -> Any:
    """The serving object saved in ``folder`` by :meth:`LocalModels.save` (a fitted estimator or
    MotherNet's numpy child), read by the pyfunc's ``load_context``: each file is checked against
    its recorded sha256 before it is read."""
    folder = Path(folder)
    meta = json.loads((folder / _META).read_text(encoding="utf-8"))
    artifacts = {key: str(folder / rel) for key, rel in meta["artifacts"].items()}
    model = FamilyPyfuncModel()
    config = {"format": meta["format"], "sha256": meta["sha256"]}
    model.load_context(PythonModelContext(artifacts=artifacts, model_config=config))
    return model.serving


def saved_model_info(folder: str | Path) -> dict[str, Any]:
    """The ``model.json`` of a saved model (family, split, metrics, format, files)."""
    return json.loads((Path(folder) / _META).read_text(encoding="utf-8"))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "dataset"
