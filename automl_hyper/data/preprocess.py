"""The one preprocessing path shared by every family.

Built only from scikit-learn transformers and always fitted on training data only:
numeric columns are imputed (median) and transformed (quantile-normal, Yeo-Johnson power, z-score or
nothing); categorical columns are imputed (most frequent) and one-hot or ordinal encoded, with
categories unseen during fit mapped to all-zeros (one-hot) or -1 (ordinal) rather than failing.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    PowerTransformer,
    QuantileTransformer,
    StandardScaler,
)
from sklearn.utils.validation import check_is_fitted

NumericTransform = Literal["quantile", "power", "standard", "none"]
CategoricalEncoding = Literal["onehot", "ordinal"]
# The one-hot level that collects a column's categories beyond ``max_categories``.
INFREQUENT_LEVEL = "(infrequent)"


def categorical_columns(X: pd.DataFrame) -> list:
    """Columns to treat as categories: object, string, category and bool dtypes."""
    return [
        c
        for c in X.columns
        if isinstance(X[c].dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(X[c])
        or pd.api.types.is_string_dtype(X[c])
        or pd.api.types.is_bool_dtype(X[c])
    ]


def _numeric_step(kind: NumericTransform, n_samples: int, random_state: int | None):
    if kind == "quantile":
        return QuantileTransformer(
            n_quantiles=max(2, min(1000, n_samples)),
            output_distribution="normal",
            random_state=random_state,
        )
    if kind == "power":
        return PowerTransformer(method="yeo-johnson", standardize=True)
    if kind == "standard":
        return StandardScaler()
    if kind == "none":
        return "passthrough"
    raise ValueError(f"numeric_transform must be quantile, power, standard or none, got {kind!r}")


def _as_text(X) -> np.ndarray:
    """Categories as text (object array, NaN kept), so that 1, 1.0 and "1" are one category.

    Integer codes arrive as floats when a column has missing values and as ints when it has
    none: formatting integral floats as ints keeps the categories of fit and predict the same.
    Object dtype because SimpleImputer rejects fixed-width numpy strings.
    """
    frame = pd.DataFrame(X).copy()
    for c in frame.columns:
        col = frame[c]
        if pd.api.types.is_float_dtype(col) and np.all(np.mod(col.dropna(), 1) == 0):
            frame[c] = col.astype("Int64")
    missing = frame.isna().to_numpy()
    out = frame.astype(str).to_numpy(dtype=object)
    out[missing] = np.nan
    return out


def _onehot_levels(encoder: OneHotEncoder, i: int) -> list[str]:
    """The levels one-hot column ``i`` writes, in output order: its frequent categories in
    ``categories_`` order, then one pooled level for the infrequent ones (as OneHotEncoder does)."""
    categories = [str(c) for c in encoder.categories_[i]]
    infrequent = getattr(encoder, "infrequent_categories_", [None] * len(encoder.categories_))[i]
    if infrequent is None:
        return categories
    rare = {str(c) for c in infrequent}
    return [c for c in categories if c not in rare] + [INFREQUENT_LEVEL]


class TabularPreprocessor(TransformerMixin, BaseEstimator):
    """Impute, encode and transform a table into a float32 matrix.

    ``categorical`` lists the categorical columns; ``None`` detects them from the dtypes of a
    DataFrame (a plain array is taken as all numeric). ``clip`` bounds the output (after scaling)
    to ``[-clip, clip]``, which hypernetworks trained on bounded synthetic data need.
    """

    def __init__(
        self,
        numeric_transform: NumericTransform = "quantile",
        categorical_encoding: CategoricalEncoding = "onehot",
        categorical: list | None = None,
        max_categories: int | None = 20,
        clip: float | None = None,
        random_state: int | None = 0,
    ):
        self.numeric_transform = numeric_transform
        self.categorical_encoding = categorical_encoding
        self.categorical = categorical
        self.max_categories = max_categories
        self.clip = clip
        self.random_state = random_state

    def fit(self, X, y=None):
        X = self._frame(X)
        cat = list(self.categorical) if self.categorical is not None else categorical_columns(X)
        missing = [c for c in cat if c not in X.columns]
        if missing:
            raise ValueError(f"categorical columns not in the data: {missing}")
        num = [c for c in X.columns if c not in cat]
        if self.categorical_encoding == "onehot":
            encoder = OneHotEncoder(
                handle_unknown="infrequent_if_exist" if self.max_categories else "ignore",
                max_categories=self.max_categories,
                sparse_output=False,
                dtype=np.float32,
            )
        elif self.categorical_encoding == "ordinal":
            encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
        else:
            raise ValueError(
                f"categorical_encoding must be onehot or ordinal, got {self.categorical_encoding!r}"
            )
        transformers = []
        if num:
            transformers.append(
                (
                    "num",
                    Pipeline(
                        [
                            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                            (
                                "scale",
                                _numeric_step(self.numeric_transform, len(X), self.random_state),
                            ),
                        ]
                    ),
                    num,
                )
            )
        if cat:
            transformers.append(
                (
                    "cat",
                    Pipeline(
                        [
                            ("text", FunctionTransformer(_as_text, feature_names_out="one-to-one")),
                            (
                                "impute",
                                SimpleImputer(strategy="most_frequent"),
                            ),
                            ("encode", encoder),
                        ]
                    ),
                    cat,
                )
            )
        self.column_transformer_ = ColumnTransformer(transformers, sparse_threshold=0.0)
        self.column_transformer_.fit(X)
        self.numeric_columns_ = num
        self.categorical_columns_ = cat
        self.columns_ = list(X.columns)
        self.n_features_out_ = int(self.column_transformer_.transform(X.iloc[:1]).shape[1])
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "column_transformer_")
        X = self._frame(X)
        if list(X.columns) != self.columns_:
            raise ValueError(
                f"columns differ from those seen in fit: expected {self.columns_}, got {list(X.columns)}"
            )
        out = np.asarray(self.column_transformer_.transform(X), dtype=np.float32)
        if self.clip is not None:
            np.clip(out, -self.clip, self.clip, out=out)
        return out

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "column_transformer_")
        return self.column_transformer_.get_feature_names_out()

    def feature_sources(self) -> np.ndarray:
        """For each output column, the position in ``columns_`` of the input column it comes from.

        The one-hot levels of a categorical column share its position, so
        ``np.bincount(feature_sources(), weights=v)`` sums a per-output quantity back per input.
        """
        return np.array([source for source, _ in self._output_columns()], dtype=np.intp)

    def feature_labels(self) -> np.ndarray:
        """Output column names in the user's terms: ``mean radius`` for a numeric or ordinal column,
        ``colour=red`` for a one-hot level (``colour=(infrequent)`` for the rare ones pooled)."""
        return np.array([label for _, label in self._output_columns()], dtype=object)

    def _output_columns(self) -> list[tuple[int, str]]:
        """(input position, label) per output column, in output order."""
        check_is_fitted(self, "column_transformer_")
        position = {column: i for i, column in enumerate(self.columns_)}
        out: list[tuple[int, str]] = []
        for name, pipeline, columns in self.column_transformer_.transformers_:
            if name == "cat" and self.categorical_encoding == "onehot":
                encoder = pipeline.named_steps["encode"]
                for i, column in enumerate(columns):
                    levels = _onehot_levels(encoder, i)
                    out += [(position[column], f"{column}={level}") for level in levels]
            elif name in ("num", "cat"):
                out += [(position[column], str(column)) for column in columns]
        if len(out) != self.n_features_out_:  # guards against a change in OneHotEncoder's layout
            raise RuntimeError(
                f"mapped {len(out)} output columns but the transform writes {self.n_features_out_}"
            )
        return out

    @staticmethod
    def _frame(X) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            return X
        X = np.asarray(X)
        return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
