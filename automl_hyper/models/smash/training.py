"""Ordinary training of one architecture, the validation split and the scores SMASH ranks by."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from automl_hyper.models.smash.budget import Budget, passed
from automl_hyper.models.smash.hypernet import task_loss

MIN_ROWS_FOR_SPLIT = 20
# Epochs a finalist always gets, deadline or not: on a loaded machine the search could leave the
# finalists past the deadline, and a one-epoch network is worse than none (qsar-biodeg split 4 of
# the full cc18-30 run: test AUC 0.57 at log loss 0.79, while the other splits reached 0.90-0.93).
MIN_EPOCHS = 10
# What score_outputs can compute (higher is better for each).
CLASSIFICATION_METRICS = ("auc", "neg_log_loss", "accuracy")
REGRESSION_METRICS = ("neg_mse", "r2")
METRICS = CLASSIFICATION_METRICS + REGRESSION_METRICS


def holdout_split(
    y: np.ndarray, task: str, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (fit, validation). Stratified for classes; tiny data validates on the fit rows.

    Below ``MIN_ROWS_FOR_SPLIT`` rows (or when a class has a single row) a holdout would leave
    classes unseen, so the fit rows double as validation rows: the ranking is then optimistic,
    but nothing breaks on the toy inputs that contract checks and smoke tests use.
    """
    n = len(y)
    everything = np.arange(n)
    if n < MIN_ROWS_FOR_SPLIT or not 0.0 < fraction < 1.0:
        return everything, everything
    stratify = None
    if task == "classification":
        _, counts = np.unique(y, return_counts=True)
        if counts.min() < 2:
            return everything, everything
        n_val = max(int(round(fraction * n)), len(counts))
        if n - n_val < len(counts):
            return everything, everything
        stratify = y
    else:
        n_val = max(1, int(round(fraction * n)))
    fit_idx, val_idx = train_test_split(
        everything, test_size=n_val, stratify=stratify, random_state=seed
    )
    return np.sort(fit_idx), np.sort(val_idx)


def outputs_to_proba(out: torch.Tensor) -> np.ndarray:
    return torch.softmax(out.double(), dim=1).numpy()


def score_outputs(out: torch.Tensor, y: np.ndarray, task: str, metric: str) -> float:
    """Higher is better. Classification: auc, neg_log_loss, accuracy; regression: neg_mse, r2."""
    if task == "classification":
        if metric == "neg_log_loss":
            return -float(F.cross_entropy(out.double(), torch.as_tensor(y)))
        proba = outputs_to_proba(out)
        if metric == "accuracy":
            return float(np.mean(proba.argmax(1) == y))
        if metric != "auc":
            raise ValueError(f"unknown classification metric {metric!r}")
        return _auc(proba, y, out, task)
    pred = out.squeeze(1).double().numpy()
    mse = float(np.mean((pred - y) ** 2))
    if metric == "neg_mse":
        return -mse
    if metric == "r2":
        var = float(np.var(y))
        return 1.0 - mse / var if var > 0 else -mse
    raise ValueError(f"unknown regression metric {metric!r}")


def _auc(proba: np.ndarray, y: np.ndarray, out: torch.Tensor, task: str) -> float:
    present = np.unique(y)
    if len(present) < 2:  # AUC undefined: fall back to a proper score
        return score_outputs(out, y, task, "neg_log_loss")
    p = proba[:, present]
    p = p / np.clip(p.sum(1, keepdims=True), 1e-12, None)
    if len(present) == 2:
        return float(roc_auc_score(y == present[1], p[:, 1]))
    return float(roc_auc_score(y, p, multi_class="ovo", labels=present))


@dataclass
class TrainResult:
    best_val_loss: float
    epochs: int
    seconds: float
    stopped_by: str  # "patience", "max_epochs" or "time"
    best_epoch: int = 0  # the epoch whose weights were restored (0: the initial ones)


def train_network(
    net: torch.nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    X_val: torch.Tensor,
    y_val: torch.Tensor,
    task: str,
    *,
    rng: np.random.Generator,
    learning_rate: float = 1e-3,
    weight_decay: float = 1e-5,
    max_epochs: int = 100,
    batch_size: int = 128,
    patience: int = 10,
    deadline: Budget | float | None = None,
    min_epochs: int = 1,
) -> TrainResult:
    """AdamW with early stopping on validation loss; the best epoch's weights are restored.

    ``deadline`` (a :class:`Budget`, or a ``time.perf_counter()`` value) stops training only
    after ``min_epochs``."""
    start = time.perf_counter()
    opt = torch.optim.AdamW(net.parameters(), lr=learning_rate, weight_decay=weight_decay)
    n = len(X)
    batch_size = max(1, min(batch_size, n))
    best_loss, best_state, best_epoch = math.inf, copy.deepcopy(net.state_dict()), 0
    stopped_by, epoch = "max_epochs", 0
    for epoch in range(1, max_epochs + 1):
        _train_epoch(net, opt, X, y, task, rng, batch_size)
        net.eval()
        with torch.no_grad():
            val_loss = float(task_loss(net(X_val), y_val, task))
        if math.isfinite(val_loss) and val_loss < best_loss - 1e-6:
            best_loss, best_epoch = val_loss, epoch
            best_state = copy.deepcopy(net.state_dict())
        elif epoch - best_epoch >= patience:
            stopped_by = "patience"
            break
        if epoch >= min_epochs and passed(deadline):
            stopped_by = "time"
            break
    net.load_state_dict(best_state)
    net.eval()
    return TrainResult(best_loss, epoch, time.perf_counter() - start, stopped_by, best_epoch)


def train_for_epochs(
    net: torch.nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    task: str,
    *,
    rng: np.random.Generator,
    epochs: int,
    learning_rate: float = 1e-3,
    weight_decay: float = 1e-5,
    batch_size: int = 128,
    deadline: Budget | float | None = None,
    average_from: int | None = None,
) -> bool:
    """AdamW for exactly ``epochs`` epochs, no validation: a refit on all rows for the epoch
    count that early stopping chose on a holdout. False if ``deadline`` passed first (checked
    after each epoch; the net is then part-trained and should not be used).

    ``average_from``: the net ends with the mean of its weights after each epoch from this one
    to the last (stochastic weight averaging) instead of the last epoch's weights."""
    opt = torch.optim.AdamW(net.parameters(), lr=learning_rate, weight_decay=weight_decay)
    batch_size = max(1, min(batch_size, len(X)))
    averaged = None
    for epoch in range(1, epochs + 1):
        _train_epoch(net, opt, X, y, task, rng, batch_size)
        if average_from is not None and epoch >= average_from:
            if averaged is None:  # holds a copy, but averages only what it is given
                averaged = torch.optim.swa_utils.AveragedModel(net)
            averaged.update_parameters(net)
        if epoch < epochs and passed(deadline):
            net.eval()
            return False
    if averaged is not None:
        # No batch norm in these nets (architecture.py), so the averaged weights need no
        # recalibration pass.
        net.load_state_dict(averaged.module.state_dict())
    net.eval()
    return True


def _train_epoch(net, opt, X, y, task: str, rng: np.random.Generator, batch_size: int) -> None:
    """One pass over the rows in a random order, in mini-batches."""
    net.train()
    order = torch.from_numpy(rng.permutation(len(X)))
    for i in range(0, len(X), batch_size):
        idx = order[i : i + batch_size]
        loss = task_loss(net(X[idx]), y[idx], task)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
