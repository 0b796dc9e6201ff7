"""openml-python over automl-hyper's local OpenML cache (no logic of its own lives here).

``get_dataset`` and ``get_task`` return openml-python's own objects, read from the cache folder
chosen as in ``automl_hyper.data.load_dataset`` (argument, $AUTOML_HYPER_OPENML_CACHE, openml's
default). ``build_cache`` fills that cache from a folder of ARFF/CSV files under the real ids;
``make_local_task`` adds a task with the benchmark's (or k-fold) splits that ``get_task`` reads.
"""

from __future__ import annotations

import os

import openml

from automl_hyper.data.loading import (
    Dataset,
    fetch_openml,
    load_dataset,
    load_openml,
    resolve_openml_id,
)
from automl_hyper.data.openml_cache import build_cache, openml_cache, resolve_cache_root
from automl_hyper.data.openml_tasks import make_local_task

__all__ = [
    "Dataset",
    "build_cache",
    "fetch_openml",
    "configure_cache",
    "get_dataset",
    "get_task",
    "load_dataset",
    "load_openml",
    "make_local_task",
    "openml_cache",
    "resolve_openml_id",
]


def configure_cache(cache_dir: str | os.PathLike | None = None) -> str:
    """Point openml-python at the cache for the rest of the process; returns the server folder."""
    openml.config.set_root_cache_directory(resolve_cache_root(cache_dir))
    return openml.config.get_cache_directory()


def get_dataset(
    dataset: int | str,
    *,
    cache_dir: str | os.PathLike | None = None,
    offline: bool | None = None,
) -> openml.datasets.OpenMLDataset:
    """openml's dataset object by id or name, resolved and loaded from the cache when possible."""
    return fetch_openml(dataset, cache_dir=cache_dir, offline=offline)


def get_task(
    task_id: int, *, cache_dir: str | os.PathLike | None = None
) -> openml.tasks.OpenMLTask:
    """openml's task object, splits loaded; offline it needs ``tasks/<id>/task.xml`` and
    ``datasplits.arff`` (see ``make_local_task``). openml's cache setting is global: call task
    methods that read data (``get_X_and_y``) inside ``openml_cache(cache_dir)``."""
    with openml_cache(cache_dir):
        task = openml.tasks.get_task(
            int(task_id),
            download_splits=True,
            download_data=True,
            download_qualities=False,
            download_features_meta_data=False,
        )
        # get_task reads the splits but does not keep them; keep them while the cache is set.
        task.split = task.download_split()
    return task
