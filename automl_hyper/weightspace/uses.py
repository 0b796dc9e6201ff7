"""What the product asks of a trained predictor, as plain functions over duck-typed objects.

The estimators own their parameters (SMASH ``ranker=``, MotherNet ``member_selection=``); these
functions are what such a parameter calls, so the families need no UNF code of their own:

* :func:`score_architectures`: predicted held-out score of each SMASH candidate from its
  *generated* weights (to re-rank the sampled architectures before any real training);
* :func:`score_members`: predicted held-out score of each member of a MotherNet child, and
  :func:`member_weights` to weight or drop members by it.

Shipped predictors load by name: ``unf-smash`` and ``unf-mothernet``
(``automl_hyper/weights/MANIFEST.json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from automl_hyper.weightspace.specs import arch_arrays, arch_space, child_members

SHIPPED = {"smash": "unf-smash", "mothernet": "unf-mothernet"}


@lru_cache(maxsize=4)
def shipped_predictor(family: str):
    """The verified shipped predictor for ``family`` ("smash" or "mothernet"), cached."""
    from automl_hyper.weightspace.predictor import ChildQualityPredictor

    if family not in SHIPPED:
        raise ValueError(f"no shipped predictor for {family!r}; known: {sorted(SHIPPED)}")
    return ChildQualityPredictor.load(SHIPPED[family])


def _meta(predictor, n: int, n_train: int, n_features: int, n_classes: int):
    return [(n_train, n_features, n_classes)] * n if predictor.config.meta_features else None


def score_architectures(
    specs: Sequence,
    params: Sequence,
    n_features: int,
    n_outputs: int,
    n_train: int,
    predictor=None,
) -> np.ndarray:
    """Predicted held-out score of each architecture from its generated weights (``params``:
    one SMASH ``Params`` list per spec, as ``WeightGenerator`` returns)."""
    predictor = predictor or shipped_predictor("smash")
    children = [
        (arch_space(s, n_features, n_outputs, permute_io=True), arch_arrays(s, p, n_features))
        for s, p in zip(specs, params)
    ]
    meta = _meta(predictor, len(children), n_train, n_features, n_outputs)
    return predictor.predict(children, meta)


def score_members(child, n_train: int, predictor=None) -> np.ndarray:
    """Predicted held-out score of every member of a MotherNet child (``NumpyChild``)."""
    predictor = predictor or shipped_predictor("mothernet")
    members = child_members(child, permute_io=True)
    n_features = int(np.shape(child.members[0].W1)[0])
    meta = _meta(predictor, len(members), n_train, n_features, len(child.classes_))
    return predictor.predict(members, meta)


def member_weights(scores: np.ndarray, mode: str = "drop", keep: float = 0.5) -> np.ndarray:
    """Ensemble weights from predicted member scores: ``"drop"`` keeps the best ``keep`` share
    (at least one) with equal weights; ``"weight"`` is proportional to the predicted score's
    margin over the worst member (all equal when the predictions do not differ)."""
    scores = np.asarray(scores, dtype=np.float64)
    if mode == "drop":
        n_keep = max(1, int(round(keep * len(scores))))
        w = np.zeros(len(scores))
        w[np.argsort(-scores, kind="stable")[:n_keep]] = 1.0
    elif mode == "weight":
        margin = scores - scores.min()
        w = margin if margin.sum() > 0 else np.ones(len(scores))
    else:
        raise ValueError(f"mode must be 'drop' or 'weight', got {mode!r}")
    return w / w.sum()
