"""OpenML datasets that ship inside scikit-learn, written into the OpenML cache on demand.

So that ``load_dataset("wdbc")`` works on a fresh machine with no network and no cache: the
bundled copy is written as OpenML's own representation (same id, name, column names, target name
and label coding), then loaded through openml-python like any other cached dataset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class BundledDataset:
    openml_id: int
    name: str
    aliases: tuple[str, ...]
    target: str
    frame: Callable[[], pd.DataFrame]
    licence: str
    note: str


def _wdbc() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    frame = pd.DataFrame(data.data, columns=[f"V{i}" for i in range(1, 31)])
    # OpenML codes benign as 1 and malignant as 2; scikit-learn has malignant 0, benign 1.
    frame["Class"] = np.where(data.target == 0, 2, 1)
    return frame


def _iris() -> pd.DataFrame:
    from sklearn.datasets import load_iris

    data = load_iris()
    values = data.data.copy()
    # scikit-learn corrected two rows of the UCI file; OpenML 61 keeps the original values.
    values[34] = [4.9, 3.1, 1.5, 0.1]
    values[37] = [4.9, 3.1, 1.5, 0.1]
    frame = pd.DataFrame(values, columns=["sepallength", "sepalwidth", "petallength", "petalwidth"])
    frame["class"] = np.array(["Iris-setosa", "Iris-versicolor", "Iris-virginica"])[data.target]
    return frame


def _wine() -> pd.DataFrame:
    from sklearn.datasets import load_wine

    data = load_wine()
    names = [
        "Alcohol",
        "Malic_acid",
        "Ash",
        "Alcalinity_of_ash",
        "Magnesium",
        "Total_phenols",
        "Flavanoids",
        "Nonflavanoid_phenols",
        "Proanthocyanins",
        "Color_intensity",
        "Hue",
        "OD280%2FOD315_of_diluted_wines",
        "Proline",
    ]
    # OpenML 187 puts the class (1, 2, 3) first, as the UCI file does.
    frame = pd.DataFrame({"class": data.target + 1})
    return pd.concat([frame, pd.DataFrame(data.data, columns=names)], axis=1)


BUNDLED: dict[int, BundledDataset] = {
    d.openml_id: d
    for d in (
        BundledDataset(
            1510,
            "wdbc",
            ("breast_cancer",),
            "Class",
            _wdbc,
            "Public",
            "Breast Cancer Wisconsin (Diagnostic), from scikit-learn's bundled copy.",
        ),
        BundledDataset(
            61,
            "iris",
            (),
            "class",
            _iris,
            "Public",
            "Iris, from scikit-learn's bundled copy (UCI values restored in rows 35 and 38).",
        ),
        BundledDataset(
            187,
            "wine",
            (),
            "class",
            _wine,
            "Public",
            "Wine recognition, from scikit-learn's bundled copy.",
        ),
    )
}


def bundled_id(name: str) -> int | None:
    """OpenML id of a bundled dataset by OpenML name or scikit-learn alias (case-insensitive)."""
    key = name.casefold()
    for dataset in BUNDLED.values():
        if key in {dataset.name.casefold(), *(a.casefold() for a in dataset.aliases)}:
            return dataset.openml_id
    return None


def write_bundled(server_dir: Path, dataset_id: int) -> None:
    """Write bundled dataset ``dataset_id`` into the cache and record its names in the index."""
    from automl_hyper.data.openml_cache import update_index, write_dataset

    dataset = BUNDLED[dataset_id]
    write_dataset(
        server_dir,
        dataset.openml_id,
        dataset.name,
        dataset.frame(),
        dataset.target,
        [],
        classification=True,
        description=dataset.note,
        licence=dataset.licence,
    )
    update_index(server_dir, {n: dataset.openml_id for n in (dataset.name, *dataset.aliases)})
