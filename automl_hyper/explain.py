"""Faithfulness of per-row attributions: deletion curves, measured the same way for every explainer.

A deletion curve masks, in every explained row, its ``k`` top-attributed features (by |attribution|,
ties broken by column order) and records the model's ROC AUC on those rows, for k = 0..F. The
steeper it falls, the more the attributions point at what the model uses: its area over
x = k/F in [0, 1] is the score (lower = more faithful).

Everything happens in the model's own input space (after its preprocessing: INN sees power-
transformed, standardised numbers and one-hot levels; XGBoost raw numbers and one-hot levels), and
a masked feature takes its **training-set mean** there. The mean, not the mode, because it is one
rule for numeric and one-hot columns alike, it is what KernelSHAP's background averages out to,
and on INN's standardised numeric columns it is 0, the point from which INN's ``w * x`` measures
a contribution. Every explainer of a model is scored with the same masking.

Which output is explained: the binary logit (positive class), or for multiclass the logit of the
class the model predicts for the unmasked row. |attribution| ranking makes the sign irrelevant.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from automl_hyper.metrics import auc_score
from automl_hyper.models.torch_utils import torch_threads

KERNEL_BACKGROUND = 50  # k-means points summarising the training set for KernelSHAP
KERNEL_NSAMPLES = 500  # model evaluations (coalitions) per explained row


def mask_baseline(X_train: np.ndarray) -> np.ndarray:
    """The value a masked feature takes: its training-set mean in the model's input space."""
    return np.asarray(X_train, dtype=np.float64).mean(axis=0)


def deletion_order(attributions: np.ndarray) -> np.ndarray:
    """Per row, feature indices by |attribution| descending; equal values keep column order."""
    return np.argsort(-np.abs(attributions), axis=1, kind="stable")


def deletion_curve(
    predict_proba: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    attributions: np.ndarray,
    baseline: np.ndarray,
) -> np.ndarray:
    """ROC AUC on the rows ``X`` (labels ``y``: class indices) with each row's top-k attributed
    features set to ``baseline``, for k = 0..F: an array of F + 1 values.

    ``attributions`` has the shape of ``X`` (n, F). All F + 1 masked copies are predicted in one
    call (the models here predict a row the same alone or in a batch).
    """
    X = np.asarray(X, dtype=np.float64)
    n, n_features = X.shape
    if attributions.shape != X.shape:
        raise ValueError(f"attributions {attributions.shape} do not match X {X.shape}")
    rank = np.empty((n, n_features), dtype=np.intp)
    np.put_along_axis(rank, deletion_order(attributions), np.arange(n_features)[None, :], axis=1)
    masked = [np.where(rank < k, baseline[None, :], X) for k in range(n_features + 1)]
    proba = predict_proba(np.concatenate(masked))
    return np.array([auc_score(y, p) for p in np.split(proba, n_features + 1)])


def deletion_area(curve: np.ndarray) -> float:
    """Area under a deletion curve over x = k/F in [0, 1] (trapezoids); lower = more faithful."""
    x = np.linspace(0.0, 1.0, len(curve))
    return float(np.sum((curve[1:] + curve[:-1]) / 2 * np.diff(x)))


def select_output(values: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(n, F) attributions of one output per row: ``values`` is (n, F) for a single output or
    (n, F, C), from which row i keeps output ``target[i]``."""
    if values.ndim == 2:
        return values
    return values[np.arange(len(values)), :, target]


def random_attributions(shape: tuple[int, int], seed: int) -> np.ndarray:
    """A random order per row (the reference every explainer should beat)."""
    return np.random.default_rng(seed).random(shape)


# --- the explainers -----------------------------------------------------------------------------


def inn_logits(inn) -> Callable[[np.ndarray], np.ndarray]:
    """INN's mean snapshot logit on preprocessed rows: (n,) binary, else (n, C): the output its
    ``explain`` decomposes."""

    def logits(Z: np.ndarray) -> np.ndarray:
        out = inn._forward_all(Z)[0].mean(axis=0)
        return out[:, 0] if out.shape[1] == 1 else out

    return logits


def inn_attributions(inn, Z: np.ndarray) -> np.ndarray:
    """INN's own w * x on preprocessed rows: (n, F) binary, else (n, F, C)."""
    contrib, _ = inn._explain_arrays(Z)  # (n, C, F)
    return contrib[:, 0] if contrib.shape[1] == 1 else contrib.transpose(0, 2, 1)


def kernel_shap_attributions(
    model: Callable[[np.ndarray], np.ndarray],
    Z: np.ndarray,
    Z_train: np.ndarray,
    *,
    n_background: int = KERNEL_BACKGROUND,
    nsamples: int = KERNEL_NSAMPLES,
    seed: int = 0,
) -> np.ndarray:
    """``shap.KernelExplainer`` on ``model`` (same input space), background: ``n_background``
    k-means points of the training rows; no L1 feature selection (shap's default keeps only 10
    features, which would tie the rest at zero). (n, F) or (n, F, C)."""
    return np.asarray(
        kernel_explainer(model, Z_train, n_background=n_background, seed=seed).shap_values(
            Z, nsamples=nsamples, l1_reg=False, silent=True
        )
    )


def kernel_explainer(model, Z_train: np.ndarray, *, n_background: int, seed: int):
    """The KernelExplainer of :func:`kernel_shap_attributions` (built once per model)."""
    import shap

    background = shap.kmeans(Z_train, min(n_background, len(Z_train)))
    return shap.KernelExplainer(model, background, seed=seed)


def tree_shap_attributions(booster, Z: np.ndarray) -> np.ndarray:
    """``shap.TreeExplainer`` (path-dependent, margin output) on a fitted XGBoost model."""
    import shap

    return np.asarray(shap.TreeExplainer(booster).shap_values(Z))


# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Faithfulness:
    """One explainer's deletion curve on one model, and what it cost."""

    explainer: str
    model: str
    curve: np.ndarray
    seconds_per_row: float = float("nan")
    extra: dict = field(default_factory=dict)

    @property
    def area(self) -> float:
        return deletion_area(self.curve)


def _timed(fn: Callable[[], np.ndarray], n_rows: int) -> tuple[np.ndarray, float]:
    """``fn()`` and its CPU seconds per row: everything runs on one thread, and CPU time does not
    count the waits of a shared machine, which wall time would."""
    start = time.process_time()
    out = fn()
    return out, (time.process_time() - start) / n_rows


def _bias_spread(inn, Z: np.ndarray, target: np.ndarray) -> dict:
    """How much of the explained logit varies through the features' w * x and how much through
    the generated per-row bias, which no feature is credited with (standard deviations)."""
    contrib, bias = inn._explain_arrays(Z)  # (n, C, F), (n, C)
    rows = np.arange(len(Z))
    column = target if contrib.shape[1] > 1 else np.zeros_like(target)
    return {
        "contrib_sum_std": float(contrib[rows, column].sum(axis=1).std()),
        "bias_std": float(bias[rows, column].std()),
    }


def measure_inn(
    inn,
    X_train,
    X_rows,
    y_rows: np.ndarray,
    *,
    nsamples: int = KERNEL_NSAMPLES,
    n_background: int = KERNEL_BACKGROUND,
    seed: int = 0,
    kernel: bool = True,
) -> list[Faithfulness]:
    """Deletion curves of a fitted INN classifier on ``X_rows`` (labels ``y_rows``, class indices
    of ``inn.classes_``) for its own attributions, KernelSHAP on it, and a random order. CPU
    seconds per row on one thread: INN row by row (``batch_seconds_per_row`` in ``extra``: all
    rows in one call); KernelSHAP over all rows, its explainer (k-means background) built first."""
    with threadpool_limits(1), torch_threads(1):
        Z_train, Z = inn._transform(X_train), inn._transform(X_rows)
        baseline = mask_baseline(Z_train)
        proba = inn._predict_proba_arrays
        target = proba(Z).argmax(axis=1)
        n = len(Z)
        inn_attributions(inn, Z[:1])  # warm-up: the float64 copies of the ensemble are cached
        per_row = [_timed(lambda i=i: inn_attributions(inn, Z[i : i + 1]), 1) for i in range(n)]
        own = np.concatenate([a for a, _ in per_row])
        _, batch_s = _timed(lambda: inn_attributions(inn, Z), n)
        results = [
            Faithfulness(
                "inn",
                "inn",
                deletion_curve(proba, Z, y_rows, select_output(own, target), baseline),
                float(np.sum([s for _, s in per_row]) / n),
                {"batch_seconds_per_row": batch_s, **_bias_spread(inn, Z, target)},
            )
        ]
        if kernel:
            explainer = kernel_explainer(
                inn_logits(inn), Z_train, n_background=n_background, seed=seed
            )
            values, kernel_s = _timed(
                lambda: np.asarray(
                    explainer.shap_values(Z, nsamples=nsamples, l1_reg=False, silent=True)
                ),
                n,
            )
            results.append(
                Faithfulness(
                    "kernelshap",
                    "inn",
                    deletion_curve(proba, Z, y_rows, select_output(values, target), baseline),
                    kernel_s,
                    {"nsamples": nsamples, "background": n_background},
                )
            )
        random = random_attributions(Z.shape, seed)
        results.append(
            Faithfulness("random", "inn", deletion_curve(proba, Z, y_rows, random, baseline))
        )
    return results


def measure_xgb(xgb, X_train, X_rows, y_rows: np.ndarray, *, seed: int = 0) -> list[Faithfulness]:
    """Deletion curves of a fitted (tuned) XGBoost classifier of this package for TreeSHAP on it
    and a random order, in its own input space, on one thread."""
    with threadpool_limits(1):
        Z_train, Z = xgb._transform(X_train), xgb._transform(X_rows)
        baseline = mask_baseline(Z_train)
        proba = xgb.model_.predict_proba
        target = proba(Z).argmax(axis=1)
        import shap

        explainer = shap.TreeExplainer(xgb.model_)
        values, tree_s = _timed(lambda: np.asarray(explainer.shap_values(Z)), len(Z))
        return [
            Faithfulness(
                "treeshap",
                "xgboost-tuned",
                deletion_curve(proba, Z, y_rows, select_output(values, target), baseline),
                tree_s,
            ),
            Faithfulness(
                "random",
                "xgboost-tuned",
                deletion_curve(proba, Z, y_rows, random_attributions(Z.shape, seed), baseline),
            ),
        ]
