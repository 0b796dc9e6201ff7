"""The one child: a torch-free ensemble of small MLPs that predicts from raw tables.

``NumpyChild`` holds, for every ensemble member, the feature subset/order, the fitted transform,
the z-score statistics, the class mapping and the child weights as numpy arrays. Only numpy and
scikit-learn (for the shared preprocessing and quantile/power transforms) are needed to predict,
so it pickles small and serves without torch. ``MotherNetClassifier.predict_proba`` predicts
with it, so the estimator, its exported child and a served model compute the same thing.

The child's forward pass is :meth:`Member.logits`. Its only other copy is the torch twin
``model.child_logits``, used where gradients are needed (the pretraining loss and fine-tuning);
a test holds the two equal.
"""

from __future__ import annotations

import functools
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


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
    # "shift": member output k is global class targets[k]; "ovr": the member scores class
    # targets[0] (output 1); "code": global class c is the member's super-class targets[c], and
    # log_share[c] is the log of c's share of that super-class's training rows (None in a tree,
    # whose "sub" members then give p(class | super-class) for the classes targets[k]).
    targets: np.ndarray
    mode: str = "shift"
    log_share: np.ndarray | None = None
    weight: float = 1.0  # in the ensemble average (member_selection)

    @property
    def n_outputs(self) -> int:
        if self.mode in ("shift", "sub"):
            return len(self.targets)
        return 2 if self.mode == "ovr" else int(np.max(self.targets)) + 1

    def inputs(self, X: np.ndarray, clip: float) -> np.ndarray:
        Z = X[:, self.features]
        if self.transform is not None:
            Z = self.transform.transform(Z)
        Z = (Z - self.mean) / self.std
        return np.clip(np.nan_to_num(Z), -clip, clip).astype(np.float32)

    def logits(self, Z: np.ndarray) -> np.ndarray:
        """relu(Z W1 + b1) W2 + b2, in float64: float32 matmuls round differently with the
        batch size, so a row's probability would depend on which other rows came with it."""
        hidden = np.asarray(Z, dtype=np.float64) @ self.W1.astype(np.float64)
        hidden += self.b1  # in place: a fresh (rows x 512) array per step cost more than the matmul
        np.maximum(hidden, 0.0, out=hidden)
        return hidden @ self.W2.astype(np.float64) + self.b2


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def combine(member_probas: list[np.ndarray], members: list[Member], n_classes: int) -> np.ndarray:
    """Members' probabilities in global class order, weighted by ``Member.weight``: averaged
    (one-vs-rest scores renormalised), or for output-code members a weighted geometric mean of
    each class's estimate p(its super-class) * (its share of the super-class)."""
    n = member_probas[0].shape[0]
    total = np.zeros((n, n_classes))
    if any(m.mode == "code" for m in members):
        weight = 0.0
        for proba, m in zip(member_probas, members):
            log_p = np.log(np.maximum(proba, 1e-12))
            if m.mode == "sub":  # a tree's child for the classes of one group
                total[:, m.targets] += m.weight * log_p
                continue
            total += m.weight * log_p[:, m.targets]
            if m.log_share is not None:
                total += m.weight * m.log_share
            weight += m.weight
        return softmax(total / weight)
    for proba, m in zip(member_probas, members):
        if m.mode == "ovr":
            total[:, m.targets[0]] += m.weight * proba[:, 1]
        else:
            total[:, m.targets] += m.weight * proba
    total = np.maximum(total, 1e-12)
    return total / total.sum(axis=1, keepdims=True)


class NumpyChild:
    """The fitted MotherNetClassifier's predictor (its ``predict_proba`` runs this), numpy only.

    ``predict_proba``/``predict`` take the table the estimator was fitted on: a DataFrame with
    the same columns, or a plain array with the same number of columns in the same order.
    """

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

    @property
    def feature_names_in_(self) -> list:
        """The columns of the table the child was fitted on."""
        return list(self.preprocessor.columns_)

    @property
    def n_features_in_(self) -> int:
        return len(self.preprocessor.columns_)

    def predict_proba_arrays(self, X: np.ndarray) -> np.ndarray:
        """Probabilities from the preprocessed matrix (the output of ``preprocessor.transform``)."""
        # One BLAS thread: the child's matmuls are small, and on a busy 2-core machine two
        # threads made them 3-10x slower (as torch_threads says for the torch families).
        with _blas_controller().limit(limits=1, user_api="blas"):
            probas = [
                softmax(m.logits(m.inputs(X, self.clip)) / self.temperature) for m in self.members
            ]
        return combine(probas, self.members, len(self.classes_))

    def predict_proba(self, X) -> np.ndarray:
        return self.predict_proba_arrays(self.preprocessor.transform(self._as_frame(X)))

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def _as_frame(self, X) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            return X
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has shape {X.shape}, but this child was fitted on {self.n_features_in_} "
                f"columns: {_shorten(self.feature_names_in_)}"
            )
        return pd.DataFrame(X, columns=self.feature_names_in_)

    def __repr__(self) -> str:
        def sizes(values) -> str:  # members over 100 columns or 10 classes differ in shape
            return "/".join(map(str, sorted(set(values))))

        mlp = " -> ".join(
            sizes(int(getattr(m, w).shape[axis]) for m in self.members)
            for w, axis in (("W1", 0), ("W1", 1), ("W2", 1))
        )
        return (
            f"NumpyChild(members={len(self.members)}, "
            f"hidden_units={sizes(int(m.W1.shape[1]) for m in self.members)}, "
            f"classes={_shorten(list(self.classes_))}, "
            f"features={self.n_features_in_} {_shorten(self.feature_names_in_)}, mlp={mlp})"
        )

    # -- inspection and logging ---------------------------------------------------------------
    def weight_arrays(self) -> dict[str, np.ndarray]:
        """Every member's generated weights and input mapping, keyed ``member<i>.<name>``."""
        classes = np.asarray(self.classes_)
        # Object arrays would need pickle to read back; the exact labels travel in save_weights'
        # "preprocessing" entry.
        out: dict[str, np.ndarray] = {
            "classes": classes.astype(str) if classes.dtype == object else classes
        }
        for i, m in enumerate(self.members):
            for name in _MEMBER_ARRAYS:
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
                "weight": float(m.weight),
            }
            for i, m in enumerate(self.members)
        ]

    def save_weights(self, path: str | Path) -> None:
        """The child as a compressed ``.npz``; :meth:`load` reads it back.

        The weights, input mappings and settings are plain arrays (``np.load`` reads them with
        numpy only); the fitted scikit-learn preprocessing (the shared preprocessor, each
        member's quantile/power transform) and the exact class labels are pickled into the
        ``preprocessing`` entry, as bytes.
        """
        fitted = {
            "preprocessor": self.preprocessor,
            "transforms": [m.transform for m in self.members],
            "classes": self.classes_,
        }
        optional = {
            f"member{i}.log_share": m.log_share
            for i, m in enumerate(self.members)
            if m.log_share is not None
        }
        np.savez_compressed(
            path,
            **self.weight_arrays(),
            **optional,
            **{f"member{i}.mode": np.asarray(m.mode) for i, m in enumerate(self.members)},
            **{f"member{i}.weight": np.asarray(m.weight) for i, m in enumerate(self.members)},
            temperature=np.asarray(self.temperature),
            clip=np.asarray(self.clip),
            preprocessing=np.frombuffer(pickle.dumps(fitted), dtype=np.uint8),
        )

    @classmethod
    def load(cls, path: str | Path) -> NumpyChild:
        """The child written by :meth:`save_weights`. Unpickles the fitted preprocessing: load
        only files you trust, as with any pickle."""
        with np.load(path, allow_pickle=False) as f:
            fitted = pickle.loads(f["preprocessing"].tobytes())
            members = []
            for i, transform in enumerate(fitted["transforms"]):
                arrays = {name: f[f"member{i}.{name}"] for name in _MEMBER_ARRAYS}
                members.append(
                    Member(
                        transform=transform,
                        mode=str(f[f"member{i}.mode"]),
                        log_share=f[f"member{i}.log_share"]
                        if f"member{i}.log_share" in f
                        else None,
                        weight=float(f[f"member{i}.weight"]) if f"member{i}.weight" in f else 1.0,
                        **arrays,
                    )
                )
            return cls(
                fitted["preprocessor"],
                members,
                fitted["classes"],
                float(f["temperature"]),
                float(f["clip"]),
            )


@functools.cache
def _blas_controller():
    """threadpoolctl's view of the loaded BLAS libraries, built once (~0.5 ms); a limit on it
    then costs microseconds."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


_MEMBER_ARRAYS = ("W1", "b1", "W2", "b2", "features", "targets", "mean", "std")


def _shorten(items: list, limit: int = 6) -> str:
    """A list for a one-line message: the first few items, then how many more."""
    shown = ", ".join(repr(x.item() if isinstance(x, np.generic) else x) for x in items[:limit])
    more = f", ... ({len(items) - limit} more)" if len(items) > limit else ""
    return f"[{shown}{more}]"


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
