"""The exported child: a torch-free ensemble of small MLPs that predicts from raw tables.

``NumpyChild`` holds, for every ensemble member, the feature subset/order, the fitted transform,
the z-score statistics, the class mapping and the child weights as numpy arrays. Only numpy and
scikit-learn (for the shared preprocessing and quantile/power transforms) are needed to predict,
so it pickles small and serves without torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Member:
    features: np.ndarray  # column indices of the preprocessed matrix, in the order the child sees
    transform: object | None  # fitted sklearn transformer or None
    mean: np.ndarray
    std: np.ndarray
    W1: np.ndarray  # (n_features_used, H)
    b1: np.ndarray
    W2: np.ndarray  # (H, K)
    b2: np.ndarray
    # Member output k is global class targets[k]; "ovr" members score one class (output 1).
    targets: np.ndarray
    mode: str = "shift"

    def inputs(self, X: np.ndarray, clip: float) -> np.ndarray:
        Z = X[:, self.features]
        if self.transform is not None:
            Z = self.transform.transform(Z)
        Z = (Z - self.mean) / self.std
        return np.clip(np.nan_to_num(Z), -clip, clip).astype(np.float32)

    def logits(self, Z: np.ndarray) -> np.ndarray:
        hidden = np.maximum(Z @ self.W1 + self.b1, 0.0)
        return hidden @ self.W2 + self.b2


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def combine(member_probas: list[np.ndarray], members: list[Member], n_classes: int) -> np.ndarray:
    """Average members' probabilities in global class order (one-vs-rest scores renormalised)."""
    n = member_probas[0].shape[0]
    total = np.zeros((n, n_classes))
    for proba, m in zip(member_probas, members):
        if m.mode == "ovr":
            total[:, m.targets[0]] += proba[:, 1]
        else:
            total[:, m.targets] += proba
    total = np.maximum(total, 1e-12)
    return total / total.sum(axis=1, keepdims=True)


class NumpyChild:
    """Predicts like the fitted MotherNetClassifier, with numpy only."""

    def __init__(
        self,
        preprocessor,
        members: list[Member],
        classes: np.ndarray,
        temperature: float,
        clip: float,
    ):
        self.preprocessor = preprocessor
        self.members = members
        self.classes_ = classes
        self.temperature = temperature
        self.clip = clip

    def predict_proba_arrays(self, X: np.ndarray) -> np.ndarray:
        probas = [
            softmax(m.logits(m.inputs(X, self.clip)).astype(np.float64) / self.temperature)
            for m in self.members
        ]
        return combine(probas, self.members, len(self.classes_))

    def predict_proba(self, X) -> np.ndarray:
        return self.predict_proba_arrays(self.preprocessor.transform(X))

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
