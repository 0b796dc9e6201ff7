"""Evaluation during pretraining: held-out synthetic tasks and a few small real datasets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from automl_hyper.models.mothernet.inference import child_proba, generate_child
from automl_hyper.models.mothernet.model import MotherNet, class_mask_logits
from automl_hyper.priors import PriorConfig, sample_batch

# Seeds far from any training batch's seed, so these tasks are never trained on.
HELD_OUT_SEED = 10**15
DEFAULT_REAL = ("breast-w", "diabetes", "credit-g", "blood-transfusion-service-center", "kc2")


def auc(y: np.ndarray, proba: np.ndarray) -> float:
    if proba.shape[1] == 2:
        return float(roc_auc_score(y, proba[:, 1]))
    return float(roc_auc_score(y, proba, multi_class="ovo", labels=np.arange(proba.shape[1])))


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


def load_real(data_dir: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A CSV from a directory laid out like ../shared/datasets, preprocessed as the estimator does."""
    import pandas as pd

    df = pd.read_csv(data_dir / f"{name}.csv")
    cats_file = data_dir / "CATEGORICAL.json"
    cats = json.loads(cats_file.read_text()).get(name, []) if cats_file.exists() else []
    y = df.pop("target").astype(str).to_numpy()
    for c in cats:
        df[c] = df[c].astype(str)
    _, y_enc = np.unique(y, return_inverse=True)
    return df, y_enc


def real_eval(
    model: MotherNet, data_dir: str | Path, names=DEFAULT_REAL, splits: int = 2, clip: float = 5.0
) -> dict[str, float]:
    """Generation-only ROC AUC on small real datasets (train = min(500, n/2), stratified)."""
    from automl_hyper.data.preprocess import TabularPreprocessor

    model.eval()
    out = {}
    for name in names:
        path = Path(data_dir) / f"{name}.csv"
        if not path.exists():
            continue
        df, y = load_real(Path(data_dir), name)
        scores = []
        for seed in range(splits):
            n_train = min(500, len(y) // 2)
            tr, te = train_test_split(
                np.arange(len(y)), train_size=n_train, stratify=y, random_state=seed
            )
            pre = TabularPreprocessor("standard", "onehot", clip=clip).fit(df.iloc[tr])
            Xtr, Xte = pre.transform(df.iloc[tr]), pre.transform(df.iloc[te])
            if Xtr.shape[1] > model.config.max_features:
                break
            child = generate_child(model, np.nan_to_num(Xtr), y[tr])
            proba = child_proba(child, np.nan_to_num(Xte), int(y.max()) + 1)
            scores.append(auc(y[te], proba))
        if scores:
            out[f"auc_{name}"] = float(np.mean(scores))
    if out:
        out["auc_real_mean"] = float(np.mean(list(out.values())))
    model.train()
    return out


# Wider and closer to the product: the estimator with its default ensemble, paper splits.
WIDE_REAL = (
    "diabetes", "credit-g", "breast-w", "banknote-authentication",
    "blood-transfusion-service-center", "ilpd", "kc2", "pc1", "climate-model-simulation-crashes",
    "balance-scale", "cmc", "qsar-biodeg", "wdbc", "credit-approval", "vehicle",
)  # fmt: skip


def estimator_eval(
    checkpoint: str | Path, data_dir: str | Path, names=WIDE_REAL, splits: int = 2
) -> dict[str, float]:
    """ROC AUC of ``MotherNetClassifier(checkpoint=...)`` (defaults, generation only) on the
    paper's splits of several real datasets; the criterion ``ship --if-better`` uses."""
    import warnings

    from automl_hyper.data.splits import paper_splits
    from automl_hyper.metrics import auc_score
    from automl_hyper.models.mothernet.estimator import MotherNetClassifier

    out = {}
    for name in names:
        if not (Path(data_dir) / f"{name}.csv").exists():
            continue
        df, y = load_real(Path(data_dir), name)
        scores = []
        for tr, te in paper_splits(y, n_splits=splits, seed=0):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                clf = MotherNetClassifier(checkpoint=checkpoint, random_state=0)
                proba = clf.fit(df.iloc[tr], y[tr]).predict_proba(df.iloc[te])
            scores.append(auc_score(np.searchsorted(clf.classes_, y[te]), proba))
        out[f"auc_{name}"] = float(np.mean(scores))
    if out:
        out["auc_mean"] = float(np.mean(list(out.values())))
    return out
