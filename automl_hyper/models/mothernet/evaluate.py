"""Evaluation during pretraining: held-out synthetic tasks, and real datasets through the estimator.

Real-data AUCs are those of :class:`MotherNetClassifier` given the checkpoint (a path, a shipped
name, or the model being trained, in memory), on tables read by the package's loader: the
pretraining curve, ``ship --if-better`` and a user measure the same pipeline.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch

from automl_hyper.models.mothernet.model import MotherNet, class_mask_logits
from automl_hyper.priors import PriorConfig, sample_batch

# Seeds far from any training batch's seed, so these tasks are never trained on.
HELD_OUT_SEED = 10**15
DEFAULT_REAL = ("breast-w", "diabetes", "credit-g", "blood-transfusion-service-center", "kc2")


@torch.no_grad()
def synthetic_eval(
    model: MotherNet, prior: PriorConfig, n_batches: int = 4, batch_size: int = 16, device="cpu"
) -> dict[str, float]:
    """Mean test loss and accuracy of generated children on fixed held-out synthetic tasks."""
    model.eval()
    ce = torch.nn.functional.cross_entropy
    losses, accs, baseline = [], [], []
    for i in range(n_batches):
        b = sample_batch(prior, batch_size, HELD_OUT_SEED + i, device=device, n_rows=256)
        logits = class_mask_logits(model(b.X, b.y, b.split, b.n_features), b.n_classes)
        target = b.y[:, b.split :]
        losses.append(ce(logits.flatten(0, 1), target.flatten()).item())
        accs.append((logits.argmax(-1) == target).float().mean().item())
        # Reference: each task's training class frequencies, i.e. what ignoring X achieves.
        freq = torch.nn.functional.one_hot(b.y[:, : b.split], logits.shape[-1]).float().mean(1)
        log_freq = torch.log(freq.clamp(min=1e-3))[:, None, :].expand_as(logits)
        baseline.append(ce(log_freq.flatten(0, 1), target.flatten()).item())
    model.train()
    return {
        "synthetic_loss": float(np.mean(losses)),
        "synthetic_acc": float(np.mean(accs)),
        "synthetic_class_prior_loss": float(np.mean(baseline)),
    }


def load_eval_dataset(data_dir: str | Path, name: str):
    """``<data_dir>/<name>.csv`` (target column ``target``) through the package's loader, with
    the categorical columns listed in ``<data_dir>/CATEGORICAL.json`` (the ../shared layout)."""
    from automl_hyper.data.loading import load_dataset

    cats_file = Path(data_dir) / "CATEGORICAL.json"
    cats = json.loads(cats_file.read_text()).get(name, []) if cats_file.exists() else None
    return load_dataset(Path(data_dir) / f"{name}.csv", "target", categorical=cats, name=name)


def estimator_auc(
    checkpoint: MotherNet | str | Path | None,
    data_dir: str | Path,
    names,
    splits: int = 2,
    max_train: int = 1000,
    **params,
) -> dict[str, float]:
    """ROC AUC of ``MotherNetClassifier(checkpoint=checkpoint, random_state=0, **params)`` on
    the paper's splits (train = min(max_train, n/2) rows, as many test rows) of each dataset of
    ``names`` found in ``data_dir``: ``auc_<name>`` per dataset (mean over splits)."""
    from automl_hyper.data.splits import paper_splits
    from automl_hyper.metrics import auc_score
    from automl_hyper.models.mothernet.estimator import MotherNetClassifier

    out = {}
    for name in names:
        if not (Path(data_dir) / f"{name}.csv").exists():
            continue
        data = load_eval_dataset(data_dir, name)
        scores = []
        for tr, te in paper_splits(data.y, n_splits=splits, seed=0, max_train=max_train):
            clf = MotherNetClassifier(checkpoint=checkpoint, random_state=0, **params)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the limits' warnings (over 100 features, ...)
                proba = clf.fit(data.X.iloc[tr], data.y.iloc[tr]).predict_proba(data.X.iloc[te])
            scores.append(auc_score(np.searchsorted(clf.classes_, data.y.iloc[te]), proba))
        out[f"auc_{name}"] = float(np.mean(scores))
    return out


def real_eval(
    checkpoint: MotherNet | str | Path | None,
    data_dir: str | Path,
    names=DEFAULT_REAL,
    splits: int = 2,
) -> dict[str, float]:
    """The pretraining curve's real-data AUC: the raw hypernetwork, i.e. the estimator with one
    member and no input transform, generation only, on 500-row training sets (cheap enough to
    run every few minutes). Keys ``auc_<name>`` and ``auc_real_mean``."""
    training = isinstance(checkpoint, MotherNet) and checkpoint.training
    if training:
        checkpoint.eval()
    try:
        out = estimator_auc(
            checkpoint, data_dir, names, splits, max_train=500, n_estimators=1,
            input_transform="none",
        )  # fmt: skip
    finally:
        if training:
            checkpoint.train()
    if out:
        out["auc_real_mean"] = float(np.mean(list(out.values())))
    return out


# Wider and closer to the product: the estimator with its default ensemble, paper splits.
WIDE_REAL = (
    "diabetes", "credit-g", "breast-w", "banknote-authentication",
    "blood-transfusion-service-center", "ilpd", "kc2", "pc1", "climate-model-simulation-crashes",
    "balance-scale", "cmc", "qsar-biodeg", "wdbc", "credit-approval", "vehicle",
)  # fmt: skip


def estimator_eval(
    checkpoint: MotherNet | str | Path | None,
    data_dir: str | Path,
    names=WIDE_REAL,
    splits: int = 2,
) -> dict[str, float]:
    """ROC AUC of ``MotherNetClassifier(checkpoint=...)`` with its defaults (generation only) on
    the paper's splits of several real datasets; the criterion ``ship --if-better`` uses. Keys
    ``auc_<name>`` and ``auc_mean``."""
    out = estimator_auc(checkpoint, data_dir, names, splits)
    if out:
        out["auc_mean"] = float(np.mean(list(out.values())))
    return out
