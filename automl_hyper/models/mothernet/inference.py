"""From a preprocessed training set to a generated child: the one path used by the estimator,
the pretraining evaluation and the benchmarks."""

from __future__ import annotations

import numpy as np
import torch

from automl_hyper.models.mothernet.model import ChildWeights, MotherNet, child_logits


def pad_features(X: np.ndarray, max_features: int) -> np.ndarray:
    if X.shape[1] > max_features:
        raise ValueError(f"{X.shape[1]} features exceed the model's {max_features}")
    out = np.zeros((X.shape[0], max_features), dtype=np.float32)
    out[:, : X.shape[1]] = X
    return out


@torch.no_grad()
def generate_child(model: MotherNet, X: np.ndarray, y: np.ndarray) -> ChildWeights:
    """One forward pass: child weights for one training set (X already z-scored and clipped)."""
    c = model.config
    device = next(model.parameters()).device
    Xp = torch.from_numpy(pad_features(X, c.max_features))[None].to(device)
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))[None].to(device)
    n_features = torch.tensor([X.shape[1]], device=device)
    return model.generate(Xp, yt, n_features).select(0)


@torch.no_grad()
def child_proba(
    weights: ChildWeights, X: np.ndarray, n_classes: int, temperature: float = 1.0
) -> np.ndarray:
    device = weights.W1.device
    Xp = torch.from_numpy(pad_features(X, weights.W1.shape[1]))[None].to(device)
    logits = child_logits(weights, Xp)[0, :, :n_classes] / temperature
    return torch.softmax(logits.float(), dim=1).cpu().numpy()
