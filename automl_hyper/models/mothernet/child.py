"""The one child: a torch-free ensemble of small MLPs that predicts from raw tables.

``NumpyChild`` holds, for every ensemble member, the feature subset/order, the fitted transform,
the z-score statistics, the class mapping and the child weights as numpy arrays.
``MotherNetClassifier.predict_proba`` predicts with it, so the estimator, its exported child and a
served model compute the same thing.

Serving cost: scikit-learn's transformers validate their input on every call, which for a
20-row request cost ten times the arithmetic. So the exported child turns the fitted
preprocessing into plain arrays: :class:`NumpyPreprocessor` keeps every check of the shared
``TabularPreprocessor.transform`` (inherited) and replaces only its ColumnTransformer step
(median imputation, z-score, most-frequent imputation, one-hot with the infrequent level), and
:class:`NumpyQuantileTransformer` replaces each member's scikit-learn ``QuantileTransformer``;
both compute exactly what scikit-learn does (tests hold them equal to 1e-9).

Storage (:meth:`NumpyChild.save_weights`, MLflow): arrays in ``.npz`` plus a JSON config, read
with ``allow_pickle=False``; the fitted ``TabularPreprocessor`` goes through
:mod:`automl_hyper.data.preprocess_state` (allowed scikit-learn classes only).

The child's forward pass is :meth:`Member.logits`. Its only other copy is the torch twin
``model.child_logits``, used where gradients are needed (the pretraining loss and fine-tuning);
a test holds the two equal.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from automl_hyper.data.preprocess import TabularPreprocessor, check_no_infinity


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
    # Ordinal members of categorical_encoding="mixed": the preprocessed (one-hot) matrix is first
    # contracted to one column per input column, preprocessed column j adding
    # project_value[j] * x_j to column project_to[j] (a one-hot level adds its code 1..k, a numeric
    # column itself); ``features`` then index the contracted columns. None: no contraction.
    project_to: np.ndarray | None = None
    project_value: np.ndarray | None = None

    @property
    def n_outputs(self) -> int:
        if self.mode in ("shift", "sub"):
            return len(self.targets)
        return 2 if self.mode == "ovr" else int(np.max(self.targets)) + 1

    def inputs(self, X: np.ndarray, clip: float) -> np.ndarray:
        if self.project_to is not None:
            X = contract(X, self.project_to, self.project_value)
        Z = X[:, self.features]
        if self.transform is not None:
            Z = self.transform.transform(Z)
        return self.standardise(Z, clip)

    def standardise(self, Z: np.ndarray, clip: float) -> np.ndarray:
        """The last step of :meth:`inputs`: transformed columns to the child's float32 inputs."""
        Z = (Z - self.mean) / self.std
        return np.clip(np.nan_to_num(Z), -clip, clip).astype(np.float32)

    def logits(self, Z: np.ndarray) -> np.ndarray:
        """relu(Z W1 + b1) W2 + b2, in float64: float32 matmuls round differently with the
        batch size, so a row's probability would depend on which other rows came with it."""
        hidden = np.asarray(Z, dtype=np.float64) @ self.W1.astype(np.float64)
        hidden += self.b1  # in place: a fresh (rows x 512) array per step cost more than the matmul
        np.maximum(hidden, 0.0, out=hidden)
        return hidden @ self.W2.astype(np.float64) + self.b2


def contract(X: np.ndarray, to: np.ndarray, value: np.ndarray) -> np.ndarray:
    """``X @ P`` with ``P[j, to[j]] = value[j]``: one-hot blocks to ordinal codes (Member)."""
    P = np.zeros((len(to), int(to.max()) + 1))
    P[np.arange(len(to)), to] = value
    return np.asarray(X, dtype=np.float64) @ P


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# How "shift"/"ovr" members' probabilities are combined: "arithmetic" (weighted mean) or
# "geometric" (weighted mean of log-probabilities, renormalised). Benchmark-only knob (issue 13);
# output-code members always use the geometric mean.
_AVERAGE = "arithmetic"


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
    if _AVERAGE == "geometric" and not any(m.mode == "ovr" for m in members):
        weight = sum(m.weight for m in members)
        for proba, m in zip(member_probas, members):
            total[:, m.targets] += m.weight * np.log(np.maximum(proba, 1e-12))
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
    The fitted preprocessing is converted to plain arrays here (:class:`NumpyPreprocessor`,
    :class:`NumpyQuantileTransformer`); the estimator's own objects are not changed.
    """

    def __init__(
        self,
        preprocessor: TabularPreprocessor | None,
        members: list[Member],
        classes: np.ndarray,
        temperature: float,
        clip: float,
    ):
        if preprocessor is not None and not isinstance(preprocessor, NumpyPreprocessor):
            preprocessor = NumpyPreprocessor.from_fitted(preprocessor)
        self.preprocessor = preprocessor
        self.members = [_numpy_member(m) for m in members]
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
        X = self._as_frame(X)
        check_no_infinity(X)  # refused, as the estimator refuses it (models/base.py)
        return self.predict_proba_arrays(self.preprocessor.transform(X))

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
        # Object arrays would need pickle to read back; the exact labels travel in the JSON
        # config of save_weights.
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

    # -- storage: arrays + JSON, no pickle ------------------------------------------------------
    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON config, arrays): everything the child predicts with; :meth:`from_state` reads it.

        The fitted ``TabularPreprocessor`` goes through :mod:`automl_hyper.data.preprocess_state`;
        member transforms as their tables (quantiles, references, lambdas).
        """
        from automl_hyper.data import preprocess_state

        arrays = self.weight_arrays()
        members = []
        for i, m in enumerate(self.members):
            entry: dict[str, Any] = {"mode": m.mode, "weight": float(m.weight)}
            for name in _OPTIONAL_ARRAYS:
                if getattr(m, name) is not None:
                    arrays[f"member{i}.{name}"] = np.asarray(getattr(m, name))
            entry["transform"] = _transform_state(m.transform, f"member{i}.transform.", arrays)
            members.append(entry)
        pre = self.preprocessor
        config = {
            "format": CHILD_FORMAT,
            "classes": preprocess_state.encode(np.asarray(self.classes_), arrays, "@classes"),
            "temperature": float(self.temperature),
            "clip": float(self.clip),
            "members": members,
            "preprocessor": None
            if pre is None
            else preprocess_state.encode(pre.fitted(), arrays, "preprocessor"),
        }
        return config, arrays

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays) -> NumpyChild:
        """The child :meth:`to_state` described; ``arrays`` maps names to arrays (an open npz)."""
        from automl_hyper.data import preprocess_state

        if config.get("format") != CHILD_FORMAT:
            raise ValueError(
                f"not a NumpyChild config of this version (format {config.get('format')!r}, "
                f"expected {CHILD_FORMAT!r})"
            )
        members = []
        for i, entry in enumerate(config["members"]):
            found = {name: np.array(arrays[f"member{i}.{name}"]) for name in _MEMBER_ARRAYS}
            optional = {
                name: np.array(arrays[f"member{i}.{name}"])
                if f"member{i}.{name}" in arrays
                else None
                for name in _OPTIONAL_ARRAYS
            }
            members.append(
                Member(
                    transform=_transform_from_state(entry["transform"], arrays),
                    mode=str(entry["mode"]),
                    weight=float(entry["weight"]),
                    **found,
                    **optional,
                )
            )
        pre = config["preprocessor"]
        return cls(
            None if pre is None else preprocess_state.decode(pre, arrays),
            members,
            preprocess_state.decode(config["classes"], arrays),
            float(config["temperature"]),
            float(config["clip"]),
        )

    def save_weights(self, path: str | Path) -> None:
        """The child as one compressed ``.npz`` of plain arrays; :meth:`load` reads it back.

        ``member<i>.W1`` ... are the generated weights and input mappings (``np.load`` reads
        them with numpy only); the ``config`` entry is the JSON of :meth:`to_state` (settings,
        exact class labels, the fitted preprocessing's structure), as text. No pickle.
        """
        config, arrays = self.to_state()
        np.savez_compressed(path, **arrays, config=np.asarray(json.dumps(config)))

    @classmethod
    def load(cls, path: str | Path) -> NumpyChild:
        """The child written by :meth:`save_weights`, read with ``allow_pickle=False``."""
        with np.load(path, allow_pickle=False) as f:
            if "config" not in f.files:
                raise ValueError(
                    f"{path} was written by an older automl-hyper, which pickled the child's "
                    "preprocessing; it is not read (pickle can run code): export the child again"
                )
            return cls.from_state(json.loads(str(f["config"])), f)


@functools.cache
def _blas_controller():
    """threadpoolctl's view of the loaded BLAS libraries, built once (~0.5 ms); a limit on it
    then costs microseconds."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


_MEMBER_ARRAYS = ("W1", "b1", "W2", "b2", "features", "targets", "mean", "std")
# Stored only where a member has them.
_OPTIONAL_ARRAYS = ("log_share", "project_to", "project_value")


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


# -- the numpy preprocessing --------------------------------------------------------------------
CHILD_FORMAT = "automl-hyper-numpy-child-3"
# scikit-learn's QuantileTransformer treats values within this of the outer quantiles as on them
# (sklearn.preprocessing._data.BOUNDS_THRESHOLD, private, so repeated here; tests compare).
_BOUNDS_THRESHOLD = 1e-7
# Its normal output is clipped where the inverse transform stays consistent.
_NORMAL_LOW = float(ndtri(_BOUNDS_THRESHOLD - np.spacing(1)))
_NORMAL_HIGH = float(ndtri(1 - (_BOUNDS_THRESHOLD - np.spacing(1))))


class NumpyQuantileTransformer:
    """scikit-learn's fitted ``QuantileTransformer`` (``transform`` only) as its two tables.

    Same arithmetic in the same dtypes: per column the mean of the forward and backward
    ``np.interp`` (so repeated quantiles map to the middle of their run), the outer quantiles
    (within 1e-7) pinned to 0 and 1, then, for normal output, ``ndtri`` (what
    ``scipy.stats.norm.ppf`` computes) on the whole matrix at once and the same clipping. It skips
    the input validation that made scikit-learn's version cost ~1.5 ms per call.
    """

    def __init__(self, quantiles: np.ndarray, references: np.ndarray, output_distribution: str):
        if output_distribution not in ("normal", "uniform"):
            raise ValueError(
                f"output_distribution must be normal or uniform: {output_distribution!r}"
            )
        self.quantiles_ = quantiles
        self.references_ = references
        self.output_distribution = output_distribution

    @classmethod
    def from_sklearn(cls, fitted) -> NumpyQuantileTransformer:
        return cls(fitted.quantiles_, fitted.references_, fitted.output_distribution)

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        # scikit-learn keeps float16/32/64 (FLOAT_DTYPES) and converts anything else to float64.
        dtype = X.dtype if X.dtype in (np.float16, np.float32, np.float64) else np.float64
        X = np.array(X, dtype=dtype, order="F")  # a copy, columns contiguous for the loop
        q, refs = self.quantiles_, self.references_
        normal = self.output_distribution == "normal"
        with np.errstate(invalid="ignore"):  # NaN compares False, as in scikit-learn
            if normal:
                low = X - _BOUNDS_THRESHOLD < q[0]
                high = X + _BOUNDS_THRESHOLD > q[-1]
            else:
                low, high = X == q[0], X == q[-1]
        back_refs = -refs[::-1]
        for j in range(X.shape[1]):
            col = X[:, j]
            finite = ~np.isnan(col)
            x = col[finite]
            qj = q[:, j]
            col[finite] = 0.5 * (np.interp(x, qj, refs) - np.interp(-x, -qj[::-1], back_refs))
        X[high] = 1
        X[low] = 0
        if normal:
            with np.errstate(invalid="ignore", divide="ignore"):
                X = np.clip(ndtri(X), _NORMAL_LOW, _NORMAL_HIGH).astype(dtype, copy=False)
        return np.ascontiguousarray(X)


def _numpy_member(m: Member) -> Member:
    """``m`` with a scikit-learn quantile transform replaced by its numpy twin (a copy: the
    estimator's members keep their own objects)."""
    from sklearn.preprocessing import QuantileTransformer

    if isinstance(m.transform, QuantileTransformer):
        return dataclasses.replace(m, transform=NumpyQuantileTransformer.from_sklearn(m.transform))
    return m


def _transform_state(transform, prefix: str, arrays: dict) -> dict | None:
    """A member transform as JSON (its kind) + arrays (its tables)."""
    if transform is None:
        return None
    if isinstance(transform, NumpyQuantileTransformer):
        arrays[prefix + "quantiles"] = np.asarray(transform.quantiles_)
        arrays[prefix + "references"] = np.asarray(transform.references_)
        return {
            "kind": "quantile",
            "arrays": prefix,
            "output_distribution": transform.output_distribution,
        }
    if isinstance(transform, GridPowerTransformer):
        arrays[prefix + "lambdas"] = np.asarray(transform.lambdas_)
        return {"kind": "grid-power", "arrays": prefix}
    raise TypeError(f"cannot store a member transform of type {type(transform).__qualname__}")


def _transform_from_state(entry: dict | None, arrays):
    if entry is None:
        return None
    prefix = entry["arrays"]
    if entry["kind"] == "quantile":
        return NumpyQuantileTransformer(
            np.array(arrays[prefix + "quantiles"]),
            np.array(arrays[prefix + "references"]),
            entry["output_distribution"],
        )
    if entry["kind"] == "grid-power":
        power = GridPowerTransformer()
        power.lambdas_ = np.array(arrays[prefix + "lambdas"])
        return power
    raise ValueError(f"unknown member transform {entry['kind']!r}")


class NumpyPreprocessor(TabularPreprocessor):
    """A fitted ``TabularPreprocessor`` whose ColumnTransformer step runs on plain arrays.

    Built by :meth:`from_fitted`. ``transform`` is the inherited one: the same checks, warnings
    and clipping (columns, text in numbers, unseen categories, far values) around
    :meth:`_encode`, which here imputes, scales and one-hot encodes with numpy from tables read
    off the fitted scikit-learn objects: medians, means/scales (or quantile tables), the
    most frequent categories, each column's category -> output position. Only transforming is
    supported (``fit`` refuses).
    """

    @classmethod
    def from_fitted(cls, fitted: TabularPreprocessor) -> NumpyPreprocessor:
        out = cls.__new__(cls)
        out.__dict__.update(fitted.__dict__)  # shared, read-only: the fitted objects themselves
        steps = fitted.column_transformer_.named_transformers_
        out.numeric_tables_ = None
        if fitted.numeric_columns_:
            num = steps["num"].named_steps
            out.numeric_tables_ = (num["impute"].statistics_, _scaler_tables(num["scale"]))
        out.category_tables_ = None
        if fitted.categorical_columns_:
            cat = steps["cat"].named_steps
            out.category_tables_ = (
                list(cat["impute"].statistics_),
                _category_positions(cat["encode"]),
                fitted.categorical_encoding == "onehot",
            )
        return out

    def fitted(self) -> TabularPreprocessor:
        """The plain fitted ``TabularPreprocessor`` this was built from (for storing it)."""
        plain = TabularPreprocessor.__new__(TabularPreprocessor)
        plain.__dict__.update(
            {k: v for k, v in self.__dict__.items() if k not in _NUMPY_PREPROCESSOR_TABLES}
        )
        return plain

    def fit(self, X, y=None):
        raise TypeError("a NumpyPreprocessor is built from a fitted TabularPreprocessor")

    def fit_transform(self, X, y=None, **fit_params):
        raise TypeError("a NumpyPreprocessor is built from a fitted TabularPreprocessor")

    def _encode(self, X: pd.DataFrame, text: np.ndarray | None) -> np.ndarray:
        parts = []
        if self.numeric_tables_ is not None:
            medians, scale = self.numeric_tables_
            # X is the numeric then the categorical columns: no second selection by name.
            frame = X.iloc[:, : len(self.numeric_columns_)] if self.categorical_columns_ else X
            # scikit-learn computes in float32 when every column is float32, else float64.
            f32 = all(dtype == np.float32 for dtype in frame.dtypes)
            # A copy: imputing and scaling happen in place.
            values = frame.to_numpy(
                dtype=np.float32 if f32 else np.float64, na_value=np.nan, copy=True
            )
            missing = np.isnan(values)
            if missing.any():
                values[missing] = np.broadcast_to(medians.astype(values.dtype), values.shape)[
                    missing
                ]
            parts.append(_scale(values, scale))
        if self.category_tables_ is not None:
            parts.append(_encode_categories(text, *self.category_tables_))
        return np.hstack(parts).astype(np.float64, copy=False)


_NUMPY_PREPROCESSOR_TABLES = ("numeric_tables_", "category_tables_")


def _scaler_tables(step) -> tuple:
    """The numeric scaling step as plain values: ("none",), ("standard", mean, scale) or
    ("quantile", NumpyQuantileTransformer)."""
    from sklearn.preprocessing import QuantileTransformer, StandardScaler

    if isinstance(step, str) and step == "passthrough":
        return ("none",)
    if isinstance(step, StandardScaler):
        return (
            "standard",
            step.mean_ if step.with_mean else None,
            step.scale_ if step.with_std else None,
        )
    if isinstance(step, QuantileTransformer):
        return ("quantile", NumpyQuantileTransformer.from_sklearn(step))
    raise TypeError(
        f"the numpy child has no twin for the numeric step {type(step).__qualname__}; "
        "supported: standard, quantile, none"
    )


def _scale(values: np.ndarray, tables: tuple) -> np.ndarray:
    """:func:`_scaler_tables`' step applied to the imputed values, as scikit-learn does it."""
    if tables[0] == "standard":
        _, mean, scale = tables
        # In place, in the values' dtype, as StandardScaler (float32 stays float32).
        if mean is not None:
            values -= mean.astype(values.dtype)
        if scale is not None:
            values /= scale.astype(values.dtype)
        return values
    if tables[0] == "quantile":
        return tables[1].transform(values)
    return values


def _category_positions(encoder) -> list[tuple[dict[str, int], int, int]]:
    """Per categorical column: (category text -> output position within the column, position
    for an unseen category or -1, width), following the fitted encoder."""
    from sklearn.preprocessing import OneHotEncoder

    out = []
    if not isinstance(encoder, OneHotEncoder):  # OrdinalEncoder: index in categories_, or -1
        for categories in encoder.categories_:
            out.append(({str(c): i for i, c in enumerate(categories)}, -1, 1))
        return out
    if encoder.drop is not None:
        raise TypeError("the numpy child does not support OneHotEncoder(drop=...)")
    infrequent = getattr(encoder, "infrequent_categories_", [None] * len(encoder.categories_))
    for categories, rare in zip(encoder.categories_, infrequent):
        rare = set() if rare is None else {str(c) for c in rare}
        frequent = [str(c) for c in categories if str(c) not in rare]
        position = {c: i for i, c in enumerate(frequent)}
        pooled = len(frequent) if rare else -1  # the infrequent level comes last
        position.update({c: pooled for c in rare})
        unseen = pooled if encoder.handle_unknown == "infrequent_if_exist" else -1
        out.append((position, unseen, len(frequent) + (1 if rare else 0)))
    return out


def _encode_categories(text: np.ndarray, modes: list, positions: list, onehot: bool) -> np.ndarray:
    """Most-frequent imputation, then one-hot (float32, as the encoder writes it) or ordinal."""
    n = text.shape[0]
    if not onehot:
        out = np.empty((n, len(positions)))
        for j, (position, unseen, _) in enumerate(positions):
            col = [modes[j] if pd.isna(v) else v for v in text[:, j]]
            out[:, j] = [position.get(v, unseen) for v in col]
        return out
    out = np.zeros((n, sum(width for _, _, width in positions)), dtype=np.float32)
    offset = 0
    rows = np.arange(n)
    for j, (position, unseen, width) in enumerate(positions):
        col = [modes[j] if pd.isna(v) else v for v in text[:, j]]
        index = np.fromiter((position.get(v, unseen) for v in col), dtype=np.intp, count=n)
        hit = index >= 0
        out[rows[hit], offset + index[hit]] = 1.0
        offset += width
    return out
