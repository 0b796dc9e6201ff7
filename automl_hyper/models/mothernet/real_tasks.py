"""Pretraining tasks cut from real datasets, for continued pretraining (issue 13).

Synthetic priors teach a hypernetwork what tabular tasks may look like; tasks cut from real tables
show it what they do look like (the argument of Real-TabPFN, Garg et al. 2025, which continued
TabPFN v2's pretraining on real datasets). A folder in the layout ``evaluate.load_eval_dataset``
reads (``<name>.csv`` with a ``target`` column, ``CATEGORICAL.json``) gives the tables; the datasets
to draw from are named, so that a run can keep apart the ones its checkpoint is chosen and
reported on (and their near-copies: the same rows under other features).

Each task goes through what inference does to a member's input: the estimator's shared
preprocessing (one-hot categoricals, imputation, z-score, clip), with ``encoding="mixed"`` a
member's encoding of the categoricals (one-hot, or each one-hot block contracted to one ordinal
column, as inference alternates them over members), then a member's transform (none, quantile or
power), z-scored on the task's training rows and clipped. What is drawn per task: a dataset, up to
``max_classes`` of its classes (relabelled in a random order), the encoding, the rows, up to
``max_features`` columns in a random order, and the transform. Tasks of one batch share their row
count and split, as the synthetic prior's do.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.preprocessing import QuantileTransformer

from automl_hyper.data.preprocess import TabularPreprocessor
from automl_hyper.models.mothernet.child import NumpyQuantileTransformer, contract
from automl_hyper.models.mothernet.configs import REAL_ENCODINGS
from automl_hyper.models.mothernet.estimator import MotherNetClassifier, categorical_projection
from automl_hyper.models.mothernet.evaluate import load_eval_dataset
from automl_hyper.priors import PriorConfig, TaskBatch

# Fewer rows than this give no task of the prior's smallest sizes.
_MIN_DATASET_ROWS = 64


@dataclass
class _Table:
    name: str
    X: np.ndarray  # (n, F) float32, preprocessed as the estimator does
    y: np.ndarray  # (n,) int64 class codes
    capacity: int = 0  # the most rows a task can have: those of its max_classes largest classes
    X_ordinal: np.ndarray | None = None  # categoricals as ordinal codes; None without any


class RealTaskSource:
    """Batches of tasks cut from the named datasets in ``folder`` (loaded once). ``encoding``:
    "onehot" (every task sees categoricals one-hot) or "mixed" (each task draws one-hot or ordinal,
    as inference's default ``categorical_encoding="mixed"`` gives half the members each)."""

    def __init__(
        self,
        folder: str | Path,
        names: tuple[str, ...] | list[str],
        prior: PriorConfig,
        encoding: str = "onehot",
    ):
        if not names:
            raise ValueError("real-data pretraining needs at least one dataset name")
        if encoding not in REAL_ENCODINGS:
            raise ValueError(
                f"real-task encoding must be one of {REAL_ENCODINGS}, got {encoding!r}"
            )
        self.prior = prior
        self.encoding = encoding
        self.tables: list[_Table] = []
        for name in names:
            data = load_eval_dataset(folder, name)
            if data.task != "classification":
                raise ValueError(f"{name}: a {data.task} dataset; pretraining tasks are classes")
            pre = TabularPreprocessor(  # as MotherNetClassifier._fit_preprocessor makes it
                numeric_transform=MotherNetClassifier._numeric_transform,
                categorical_encoding=MotherNetClassifier._categorical_encoding,
                categorical=data.categorical,
                clip=MotherNetClassifier._clip,
                random_state=0,
                categorical_missing=MotherNetClassifier._categorical_missing,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # constant columns etc.: the estimator warns users
                X = np.asarray(pre.fit_transform(data.X), dtype=np.float32)
            _, y = np.unique(data.y.astype(str).to_numpy(), return_inverse=True)
            if len(y) < _MIN_DATASET_ROWS:
                raise ValueError(
                    f"{name}: {len(y)} rows; a task needs at least {_MIN_DATASET_ROWS}"
                )
            counts = np.sort(np.bincount(y))[::-1]
            capacity = int(counts[: prior.max_classes].sum())
            project = categorical_projection(pre, "ordinal", X, y)
            ordinal = None if project is None else contract(X, *project).astype(np.float32)
            self.tables.append(_Table(name, X, y.astype(np.int64), capacity, ordinal))

    def sample(self, batch_size: int, seed: int) -> TaskBatch:
        """``batch_size`` tasks, reproducible from ``seed``."""
        rng = np.random.RandomState(seed % 2**32)
        cfg = self.prior
        # The row count first, as the prior draws it; then datasets that have that many rows
        # (a task never repeats a row: a repeated row in both parts would be memorised).
        largest = max(t.capacity for t in self.tables)
        N = int(rng.randint(cfg.min_rows, min(cfg.max_rows, largest) + 1))
        eligible = [i for i, t in enumerate(self.tables) if t.capacity >= N]
        picks = rng.choice(eligible, size=batch_size)
        frac = rng.uniform(cfg.min_train_fraction, cfg.max_train_fraction)
        split = min(max(int(N * frac), 2), N - 1)
        X = np.zeros((batch_size, N, cfg.max_features), dtype=np.float32)
        y = np.zeros((batch_size, N), dtype=np.int64)
        n_features = np.zeros(batch_size, dtype=np.int64)
        n_classes = np.zeros(batch_size, dtype=np.int64)
        for b, i in enumerate(picks):
            Xb, yb, k = self._task(self.tables[i], N, split, rng)
            X[b, :, : Xb.shape[1]] = Xb
            y[b], n_features[b], n_classes[b] = yb, Xb.shape[1], k
        return TaskBatch(
            X=torch.from_numpy(X),
            y=torch.from_numpy(y),
            n_features=torch.from_numpy(n_features),
            n_classes=torch.from_numpy(n_classes),
            split=split,
        )

    def _task(self, table: _Table, N: int, split: int, rng) -> tuple[np.ndarray, np.ndarray, int]:
        cfg = self.prior
        classes = np.unique(table.y)
        if len(classes) > cfg.max_classes:
            # 2 to max_classes of them with at least N rows; else the largest max_classes
            # (``capacity`` >= N, the batch's eligibility).
            for _ in range(20):
                chosen = rng.choice(classes, rng.randint(2, cfg.max_classes + 1), replace=False)
                if np.isin(table.y, chosen).sum() >= N:
                    break
            else:
                chosen = np.argsort(-np.bincount(table.y), kind="stable")[: cfg.max_classes]
            pool = np.flatnonzero(np.isin(table.y, chosen))
        else:
            chosen, pool = classes, np.arange(len(table.y))
        # Drawn only in "mixed", so "onehot" runs keep the random stream they were trained with.
        ordinal = self.encoding == "mixed" and rng.randint(2) == 1
        source = table.X_ordinal if ordinal and table.X_ordinal is not None else table.X
        rows = rng.choice(pool, N, replace=False)
        relabel = np.full(int(table.y.max()) + 1, -1, dtype=np.int64)
        relabel[chosen] = rng.permutation(len(chosen))
        F = source.shape[1]
        columns = rng.permutation(F)[: min(F, cfg.max_features)]
        Z = source[np.ix_(rows, columns)]
        Z = _member_transform(Z, split, ("none", "quantile", "power")[rng.randint(3)])
        return Z, relabel[table.y[rows]], len(chosen)


def _member_transform(Z: np.ndarray, split: int, kind: str) -> np.ndarray:
    """A member's transform fitted on the training rows (the estimator's own), then z-score on
    them and clip, as ``child.Member.standardise``."""
    transform, train = MotherNetClassifier._fit_transform(kind, Z[:split])
    if transform is not None:
        if isinstance(transform, QuantileTransformer):  # its numpy twin: bitwise the same, faster
            transform = NumpyQuantileTransformer.from_sklearn(transform)
        Z = np.concatenate([train, transform.transform(Z[split:])])  # both row by row
    mean, std = Z[:split].mean(0), Z[:split].std(0)
    std = np.where(std > 1e-8, std, 1.0)
    clip = MotherNetClassifier._clip
    return np.clip(np.nan_to_num((Z - mean) / std), -clip, clip).astype(np.float32)
