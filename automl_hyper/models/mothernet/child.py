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

    # -- inspection and logging ---------------------------------------------------------------
    def weight_arrays(self) -> dict[str, np.ndarray]:
        """Every member's generated weights and input mapping, keyed ``member<i>.<name>``."""
        out: dict[str, np.ndarray] = {"classes": np.asarray(self.classes_)}
        for i, m in enumerate(self.members):
            for name in ("W1", "b1", "W2", "b2", "features", "targets", "mean", "std"):
                out[f"member{i}.{name}"] = np.asarray(getattr(m, name))
        return out

    def summary(self) -> dict[str, float]:
        """Size of the child ensemble: members, MLP parameters, and bytes of those weights."""
        layers = [(m.W1, m.b1, m.W2, m.b2) for m in self.members]
        return {
            "child_members": float(len(self.members)),
            "child_parameters": float(sum(a.size for layer in layers for a in layer)),
            "child_weight_bytes": float(sum(a.nbytes for layer in layers for a in layer)),
            "child_hidden_units": float(self.members[0].W1.shape[1]),
        }

    def member_table(self) -> list[dict]:
        """One row per member: how it was generated and what it sees and predicts."""
        return [
            {
                "member": i,
                "mode": m.mode,
                "transform": type(m.transform).__name__ if m.transform is not None else "none",
                "n_features": int(m.W1.shape[0]),
                "hidden": int(m.W1.shape[1]),
                "n_outputs": int(m.W2.shape[1]),
                "classes": " ".join(map(str, m.targets)),
            }
            for i, m in enumerate(self.members)
        ]

    def save_weights(self, path) -> None:
        """The weights as a compressed ``.npz`` (numpy only to read back)."""
        np.savez_compressed(path, **self.weight_arrays())


class GridPowerTransformer:
    """Yeo-Johnson power transform with lambda picked per column from a grid by likelihood.

    scikit-learn's PowerTransformer optimises lambda with scipy per column, hundreds of
    milliseconds for a table that MotherNet fits in tens; a 9-point grid, vectorised over
    columns, gets nearly the same normalising effect at a fraction of the cost. numpy only.
    """

    GRID = np.linspace(-1.0, 3.0, 9)

    def fit(self, X: np.ndarray) -> GridPowerTransformer:
        X = np.asarray(X, dtype=np.float64)
        n = max(len(X), 1)
        # Log-likelihood of each lambda per column (up to a constant), as scipy's yeojohnson_llf.
        jac = (np.sign(X) * np.log1p(np.abs(X))).sum(0)
        llf = np.stack(
            [
                -0.5 * n * np.log(self._apply(X, np.full(X.shape[1], lam)).var(0) + 1e-12)
                + (lam - 1) * jac
                for lam in self.GRID
            ]
        )
        self.lambdas_ = self.GRID[np.argmax(llf, axis=0)]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return self._apply(np.asarray(X, dtype=np.float64), self.lambdas_)

    @staticmethod
    def _apply(X: np.ndarray, lam: np.ndarray) -> np.ndarray:
        pos = X >= 0
        out = np.empty_like(X)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lp = np.where(np.abs(lam) < 1e-8, 1.0, lam)
            pos_val = np.where(
                np.abs(lam) < 1e-8, np.log1p(np.abs(X)), ((np.abs(X) + 1) ** lp - 1) / lp
            )
            ln = 2 - lam
            lnn = np.where(np.abs(ln) < 1e-8, 1.0, ln)
            neg_val = np.where(
                np.abs(ln) < 1e-8, -np.log1p(np.abs(X)), -(((np.abs(X) + 1) ** lnn) - 1) / lnn
            )
        out[pos] = pos_val[pos]
        out[~pos] = neg_val[~pos]
        return out
