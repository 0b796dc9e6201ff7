"""Local OpenML tasks: a cached dataset plus fixed splits, readable by ``openml.tasks.get_task``.

openml-python (0.15) reads a task offline from ``tasks/<id>/task.xml`` and ``datasplits.arff``
(rows: TRAIN/TEST, row id, repeat, fold). Local tasks get ids ``LOCAL_TASK_BASE + dataset id``
unless given one, far above OpenML's own task ids, so they cannot be mistaken for real tasks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape

import numpy as np

LOCAL_TASK_BASE = 900_000_000


def make_local_task(
    dataset: int | str,
    splits: Literal["paper", "cv"] = "paper",
    *,
    n_splits: int = 5,
    seed: int = 0,
    task_id: int | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> int:
    """Write a supervised classification task on ``dataset`` into the cache; returns its id.

    ``splits="paper"``: ``n_splits`` repeats of the benchmark holdout (``paper_splits``: train =
    min(1000, n/2) rows, test the same size, every class on both sides). ``"cv"``: one repeat of
    stratified ``n_splits``-fold cross-validation.
    """
    from sklearn.model_selection import StratifiedKFold

    from automl_hyper.data.loading import fetch_openml
    from automl_hyper.data.openml_cache import openml_cache
    from automl_hyper.data.splits import paper_splits

    ds = fetch_openml(dataset, cache_dir=cache_dir, offline=True)
    target = ds.default_target_attribute
    _, y, _, _ = ds.get_data(target=target)
    if splits == "paper":
        pairs = paper_splits(y, n_splits=n_splits, seed=seed)
        rows = [(r, 0, tr, te) for r, (tr, te) in enumerate(pairs)]
        procedure = ("holdout", {"number_repeats": n_splits, "number_folds": 1})
    elif splits == "cv":
        folds = StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(
            np.zeros(len(y)), y
        )
        rows = [(0, f, tr, te) for f, (tr, te) in enumerate(folds)]
        procedure = ("crossvalidation", {"number_repeats": 1, "number_folds": n_splits})
    else:
        raise ValueError(f"splits must be 'paper' or 'cv', got {splits!r}")
    task_id = int(task_id) if task_id is not None else LOCAL_TASK_BASE + int(ds.dataset_id)
    with openml_cache(cache_dir) as server_dir:
        folder = server_dir / "tasks" / str(task_id)
        folder.mkdir(parents=True, exist_ok=True)
        _write_splits(folder, task_id, rows)
        _write_task_xml(folder, task_id, int(ds.dataset_id), target, procedure)
    return task_id


def _write_splits(folder: Path, task_id: int, rows: list) -> None:
    lines = [
        f"@RELATION local_task_{task_id}_splits",
        "@ATTRIBUTE type {TRAIN,TEST}",
        "@ATTRIBUTE rowid INTEGER",
        "@ATTRIBUTE repeat INTEGER",
        "@ATTRIBUTE fold INTEGER",
        "@DATA",
    ]
    for repeat, fold, train, test in rows:
        lines += [f"TRAIN,{i},{repeat},{fold}" for i in train]
        lines += [f"TEST,{i},{repeat},{fold}" for i in test]
    (folder / "datasplits.arff").write_text("\n".join(lines) + "\n", encoding="utf8")
    for stale in folder.glob("datasplits.pkl.py3"):  # openml's parsed copy of older splits
        stale.unlink()


def _write_task_xml(
    folder: Path, task_id: int, dataset_id: int, target: str, procedure: tuple
) -> None:
    kind, params = procedure
    parameters = "".join(
        f'      <oml:parameter name="{k}">{v}</oml:parameter>\n' for k, v in params.items()
    )
    (folder / "task.xml").write_text(
        '<oml:task xmlns:oml="http://openml.org/openml">\n'
        f"  <oml:task_id>{task_id}</oml:task_id>\n"
        "  <oml:task_type_id>1</oml:task_type_id>\n"
        "  <oml:task_type>Supervised Classification</oml:task_type>\n"
        '  <oml:input name="source_data">\n'
        "    <oml:data_set>\n"
        f"      <oml:data_set_id>{dataset_id}</oml:data_set_id>\n"
        f"      <oml:target_feature>{escape(target)}</oml:target_feature>\n"
        "    </oml:data_set>\n"
        "  </oml:input>\n"
        '  <oml:input name="estimation_procedure">\n'
        "    <oml:estimation_procedure>\n"
        f"      <oml:type>{kind}</oml:type>\n"
        # Never fetched: the split file is already in the cache.
        f"      <oml:data_splits_url>local://{task_id}/datasplits.arff</oml:data_splits_url>\n"
        + parameters
        + "    </oml:estimation_procedure>\n"
        "  </oml:input>\n"
        '  <oml:input name="evaluation_measures">\n'
        "    <oml:evaluation_measures>\n"
        "      <oml:evaluation_measure>area_under_roc_curve</oml:evaluation_measure>\n"
        "    </oml:evaluation_measures>\n"
        "  </oml:input>\n"
        "</oml:task>\n",
        encoding="utf8",
    )
