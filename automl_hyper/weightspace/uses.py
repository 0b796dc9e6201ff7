"""What the product asks of a trained predictor, as plain functions over duck-typed objects.

The estimators own their parameters (SMASH ``ranker=``, MotherNet ``member_selection=``); these
functions are what such a parameter calls, so the families need no UNF code of their own:

* :func:`score_architectures`: predicted held-out score of each SMASH candidate from its
  *generated* weights (to re-rank the sampled architectures before any real training);
* :func:`score_members`: predicted held-out score of each member of a MotherNet child, and
  :func:`member_weights` to weight or drop members by it;
* :func:`child_quality`: the predicted score of every child a fitted estimator generated, as the
  metrics ``compare`` and ``log_family_model`` log to MLflow next to the measured AUC.

Shipped predictors load by name: ``unf-smash`` and ``unf-mothernet``
(``automl_hyper/weights/MANIFEST.json``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from automl_hyper.warning_types import AutomlHyperWarning
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


# The protocol's training size (min(1000, n/2)): the row count assumed when a caller does not know
# it. It barely matters: a wdbc child's members are predicted 0.8074 at 50 rows, 0.8054 at 5000.
NOMINAL_TRAIN_ROWS = 1000


def child_quality(estimator, n_train: int | None = None) -> dict[str, float]:
    """The UNF-predicted held-out AUC of every child ``estimator`` generated, as metrics.

    MotherNet (an ``export_child()`` whose members have weights): ``predicted_auc_member_<i>`` per
    ensemble member and ``predicted_auc`` their mean. SMASH: the finalists trained for real whose
    generated weights the predictor scored during the search (``ranker="unf"`` or ``"both"``):
    ``predicted_auc_finalist_<i>`` next to ``validation_auc_finalist_<i>`` (best real score first)
    and ``predicted_auc`` their mean. ``{}`` for families without generated children, or when
    nothing was scored. Predictions are clipped to [0, 1]. Never raises: a failure warns and
    returns ``{}`` (the run it is logged in must not fail for it). ``n_train``: the rows the
    estimator was fitted on (a meta-feature of the predictor; default :data:`NOMINAL_TRAIN_ROWS`).
    """
    try:
        if callable(getattr(estimator, "export_child", None)) and hasattr(estimator, "members_"):
            scores = score_members(estimator.export_child(), n_train or NOMINAL_TRAIN_ROWS)
            return _as_metrics(scores, "member")
        table = getattr(estimator, "search_results_", None)
        if table is not None and {"unf_score", "real_score"} <= set(table.columns):
            done = table[np.isfinite(table.real_score) & np.isfinite(table.unf_score)]
            done = done.sort_values("real_score", ascending=False, kind="stable")
            out = _as_metrics(done.unf_score.to_numpy(), "finalist")
            for i, real in enumerate(done.real_score.to_numpy()):
                out[f"validation_auc_finalist_{i}"] = float(real)
            return out
    except Exception as err:  # noqa: BLE001 - a diagnostic must never fail the run it describes
        warnings.warn(
            f"predicted_auc not logged: the UNF predictor failed on {type(estimator).__name__} "
            f"({type(err).__name__}: {err})",
            AutomlHyperWarning,
            stacklevel=2,
        )
    return {}


def _as_metrics(scores, kind: str) -> dict[str, float]:
    scores = np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0)
    if not len(scores):
        return {}
    out = {"predicted_auc": float(scores.mean())}
    out.update({f"predicted_auc_{kind}_{i}": float(s) for i, s in enumerate(scores)})
    return out
