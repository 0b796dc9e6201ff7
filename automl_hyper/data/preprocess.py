"""The one preprocessing path shared by every family.

Built only from scikit-learn transformers and always fitted on training data only:
numeric columns are imputed (median) and transformed (quantile-normal, Yeo-Johnson power, z-score or
nothing); categorical columns are imputed (most frequent, or missing as a level of its own with
``categorical_missing="level"``) and one-hot or ordinal encoded, with
categories unseen during fit mapped to all-zeros (one-hot) or -1 (ordinal) rather than failing.

Bad input is handled here, once for every family (README "Bad input"): duplicate column names
are refused; a column that is entirely missing is dropped with a warning naming it; a text column
that mostly holds numbers is read as numbers with a warning naming it and its non-numbers
(which become missing, then imputed); values too large for the numeric transform are refused at
fit, naming the column; at transform, outputs far outside the training range (beyond
``FAR_SPANS`` times a column's spread, e.g. 1e300 through a power transform) are clipped to it
with a warning naming the input column, so that no prediction is ever NaN; unseen categories
are reported with a warning naming the column.
"""

from __future__ import annotations

import warnings
from typing import Literal, get_args

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

from automl_hyper.warning_types import AutomlHyperWarning

NumericTransform = Literal["quantile", "power", "standard", "none"]
NUMERIC_TRANSFORMS: tuple[str, ...] = get_args(NumericTransform)
CategoricalEncoding = Literal["onehot", "ordinal"]
CategoricalMissing = Literal["most_frequent", "level"]
# The one-hot level that collects a column's categories beyond ``max_categories``.
INFREQUENT_LEVEL = "(infrequent)"
# categorical_missing="level": the level a categorical column's missing cells become.
MISSING_LEVEL = "(missing)"
# Power and standard transforms square the values: beyond this magnitude float64 overflows.
LARGE_VALUE = 1e150
# At transform, an output more than this many training spreads outside the training range is
# clipped to that bound (and reported): a network never sees 1e300 or inf.
FAR_SPANS = 10.0
# A text column is read as numbers when at least this share of its values parse as numbers.
NUMERIC_TEXT_SHARE = 0.5


class BadInputWarning(AutomlHyperWarning):
    """Input was repaired by a documented fallback (README "Bad input"); the message names the column."""


def _warn(message: str) -> None:
    warnings.warn(message, BadInputWarning, stacklevel=4)


def duplicated_columns(columns) -> list:
    """Column names that appear more than once."""
    index = pd.Index(columns)
    return list(dict.fromkeys(index[index.duplicated()]))


def check_unique_columns(columns) -> None:
    dup = duplicated_columns(columns)
    if dup:
        raise ValueError(
            f"X has duplicated column names {dup}: each column needs its own name "
            "(rename them, e.g. X.columns = [...])."
        )


def check_same_columns(expected, got) -> None:
    """Refuse, in one line naming them, columns that differ from fit's (missing, extra, order)."""
    expected, got = list(expected), list(got)
    if got == expected:
        return
    missing = [c for c in expected if c not in set(got)]
    extra = [c for c in got if c not in set(expected)]
    what = f"missing {missing}, unexpected {extra}" if missing or extra else "another order"
    raise ValueError(
        f"X's feature names differ from those seen in fit ({what}); expected {expected}, got {got}"
    )


def check_no_infinity(X: pd.DataFrame) -> None:
    """Refuse infinity in numeric columns, naming them (NaN is imputed; infinity has no place)."""
    numeric = X.select_dtypes(include="number")
    if numeric.size and not np.isfinite(numeric.to_numpy(dtype=float, na_value=0.0)).all():
        bad = [
            c
            for c in numeric.columns
            if np.isinf(numeric[c].to_numpy(dtype=float, na_value=0.0)).any()
        ]
        raise ValueError(
            f"Input X contains infinity in columns {bad}; replace it by NaN (imputed) or a finite value."
        )


def _numeric_text_columns(X: pd.DataFrame, candidates: list) -> dict:
    """Text columns that mostly hold numbers: column -> the values that are not numbers."""
    found = {}
    for c in candidates:
        col = X[c]
        if isinstance(col.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(col):
            continue
        present = col.dropna()
        if present.empty:
            continue
        numbers = pd.to_numeric(present, errors="coerce")
        share = float(numbers.notna().mean())
        is_text = present.map(lambda v: isinstance(v, str))
        if share == 1.0 and is_text.all():
            continue  # all numeric strings: codes of a categorical, kept as categories
        if share >= NUMERIC_TEXT_SHARE:
            found[c] = list(dict.fromkeys(present[numbers.isna()].tolist()))
    return found


def _to_numbers(X: pd.DataFrame, columns: list, when: str | None) -> pd.DataFrame:
    """Read ``columns`` as float (non-numbers become missing), warning per column that had any
    (unless ``when`` is None)."""
    changed = {}
    for c in columns:
        col = X[c]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            continue
        numbers = pd.to_numeric(col, errors="coerce").astype(float)
        bad = col.notna() & numbers.isna()
        if bad.any() and when is not None:
            shown = list(dict.fromkeys(col[bad].tolist()))[:5]
            _warn(
                f"column {c!r} is numeric but holds {int(bad.sum())} value(s) that are not "
                f"numbers at {when} ({shown}); they are treated as missing and imputed"
            )
        if np.isinf(numbers).any():
            raise ValueError(
                f"Input X contains infinity in columns [{c!r}]; replace it by NaN (imputed) or a finite value."
            )
        changed[c] = numbers
    if not changed:
        return X
    X = X.copy()
    for c, numbers in changed.items():
        X[c] = numbers
    return X


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
    ``categorical_missing``: a categorical column's missing cells take its most frequent training
    level (``"most_frequent"``), or become a level of their own, ``MISSING_LEVEL``
    (``"level"``), so that a model can tell "missing" apart (it may carry the signal: on
    cylinder-bands the rows missing a block of columns are nearly all one class); a column with
    no missing cells in fit encodes a missing cell at predict as an unseen category.
    ``min_frequency`` (one-hot only): categories seen in fewer training rows than this (an int),
    or than this share of the training rows (a float in (0, 1)), are pooled into the column's
    infrequent level (``OneHotEncoder(min_frequency=...)``), as the categories beyond
    ``max_categories`` are; None = no pooling by count.
    """

    # Preprocessors stored before these parameters existed (JSON state) have no such attribute:
    # get_params/repr then read these, what they did.
    categorical_missing: CategoricalMissing = "most_frequent"
    min_frequency: int | float | None = None

    def __init__(
        self,
        numeric_transform: NumericTransform = "quantile",
        categorical_encoding: CategoricalEncoding = "onehot",
        categorical: list | None = None,
        max_categories: int | None = 20,
        clip: float | None = None,
        random_state: int | None = 0,
        categorical_missing: CategoricalMissing = "most_frequent",
        min_frequency: int | float | None = None,
    ):
        self.numeric_transform = numeric_transform
        self.categorical_encoding = categorical_encoding
        self.categorical = categorical
        self.max_categories = max_categories
        self.clip = clip
        self.random_state = random_state
        self.categorical_missing = categorical_missing
        self.min_frequency = min_frequency

    def fit(self, X, y=None):
        self._fit(X)
        return self

    def fit_transform(self, X, y=None, **fit_params) -> np.ndarray:
        """Fit, and return the training rows transformed (warnings given once, by fit)."""
        return self._finish(self._fit(X))

    def _fit(self, X) -> np.ndarray:
        """Fit; return the training rows transformed, in float64."""
        X = self._frame(X)
        check_unique_columns(X.columns)
        self.columns_ = list(X.columns)
        cat = list(self.categorical) if self.categorical is not None else categorical_columns(X)
        missing = [c for c in cat if c not in X.columns]
        if missing:
            raise ValueError(f"categorical columns not in the data: {missing}")
        empty = [c for c in X.columns if X[c].isna().all()]
        if len(empty) == X.shape[1]:
            raise ValueError(f"every column of X is entirely missing: {empty}")
        if empty:
            _warn(f"columns {empty} are entirely missing (None/NaN): dropped, they carry nothing")
        if self.categorical is None:
            text = _numeric_text_columns(X, [c for c in cat if c not in empty])
            for c, bad in text.items():
                if not bad:
                    continue  # numbers held in an object column: nothing to report
                _warn(
                    f"column {c!r} holds numbers stored as text; read as numbers, its "
                    f"{len(bad)} distinct non-numeric value(s) {bad[:5]} treated as missing"
                )
            cat = [c for c in cat if c not in text]
        cat = [c for c in cat if c not in empty]
        num = [c for c in X.columns if c not in cat and c not in empty]
        X = _to_numbers(X, num, None)  # the columns read as numbers were reported just above
        self.dropped_columns_ = empty
        self._check_magnitudes(X, num)
        # Raw bounds of each numeric column: at transform, values beyond them are clipped, so
        # that a transform never overflows on a value that training never came near (1e300).
        lo = X[num].min().to_numpy(dtype=np.float64)
        hi = X[num].max().to_numpy(dtype=np.float64)
        spread = np.maximum.reduce([hi - lo, np.abs(lo), np.abs(hi), np.ones_like(lo)])
        self.raw_lower_ = lo - FAR_SPANS * spread
        self.raw_upper_ = hi + FAR_SPANS * spread
        if self.categorical_encoding == "onehot":
            pooled = self.max_categories or self.min_frequency
            encoder = OneHotEncoder(
                handle_unknown="infrequent_if_exist" if pooled else "ignore",
                max_categories=self.max_categories,
                min_frequency=self.min_frequency,
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
                            ("impute", self._categorical_imputer()),
                            ("encode", encoder),
                        ]
                    ),
                    cat,
                )
            )
        self.column_transformer_ = ColumnTransformer(transformers, sparse_threshold=0.0)
        used = X[num + cat]
        out = np.asarray(self.column_transformer_.fit_transform(used), dtype=np.float64)
        self.numeric_columns_ = num
        self.categorical_columns_ = cat
        self.n_features_out_ = int(out.shape[1])
        bad = ~np.isfinite(out.astype(np.float32)).all(axis=0)
        if bad.any():
            names = sorted({self.columns_[i] for i in self.feature_sources()[bad]}, key=str)
            raise ValueError(
                f"columns {names} have values too large for numeric_transform="
                f"{self.numeric_transform!r} (the result overflows); rescale them (e.g. log) "
                "or use numeric_transform='quantile'"
            )
        low, high = out.min(axis=0), out.max(axis=0)
        spread = np.maximum(high - low, 1.0)
        self.lower_ = low - FAR_SPANS * spread
        self.upper_ = high + FAR_SPANS * spread
        self.center_ = np.median(out, axis=0)
        return out

    def _categorical_imputer(self) -> SimpleImputer:
        missing = self.categorical_missing
        if missing == "most_frequent":
            return SimpleImputer(strategy="most_frequent")
        if missing == "level":
            return SimpleImputer(strategy="constant", fill_value=MISSING_LEVEL)
        raise ValueError(f"categorical_missing must be most_frequent or level, got {missing!r}")

    def _check_magnitudes(self, X: pd.DataFrame, num: list) -> None:
        """Refuse, naming them, numeric columns the power or standard transform would overflow on."""
        if self.numeric_transform not in ("power", "standard") or not num:
            return
        peak = X[num].abs().max()
        large = [c for c in num if peak[c] > LARGE_VALUE]
        if large:
            raise ValueError(
                f"columns {large} hold values beyond {LARGE_VALUE:g} (max |x| "
                f"{float(peak[large].max()):.3g}), too large for numeric_transform="
                f"{self.numeric_transform!r}: rescale them (e.g. log) or use "
                "numeric_transform='quantile'"
            )

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "column_transformer_")
        X = self._frame(X)
        check_unique_columns(X.columns)
        check_same_columns(self.columns_, X.columns)
        X = _to_numbers(X, self.numeric_columns_, "predict")
        text = self._warn_unseen_categories(X)
        X, far_inputs = self._clip_far_inputs(X)
        out = self._encode(X[self.numeric_columns_ + self.categorical_columns_], text)
        return self._finish(self._clip_far(out, far_inputs))

    def _encode(self, X: pd.DataFrame, text: np.ndarray | None) -> np.ndarray:
        """The fitted ColumnTransformer's output, in float64. ``text`` is the categorical columns
        as :func:`_as_text` writes them (None without any), for a subclass that encodes them
        itself (MotherNet's numpy child): the checks around this step stay the same."""
        return np.asarray(self.column_transformer_.transform(X), dtype=np.float64)

    def _finish(self, out: np.ndarray) -> np.ndarray:
        out = out.astype(np.float32)
        if self.clip is not None:
            np.clip(out, -self.clip, self.clip, out=out)
        return out

    def _clip_far_inputs(self, X: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
        """Numeric values beyond the raw bounds learnt in fit -> those bounds; column -> count."""
        lower = getattr(self, "raw_lower_", None)
        if lower is None or not self.numeric_columns_:
            return X, {}
        values = X[self.numeric_columns_].to_numpy(dtype=np.float64, na_value=np.nan)
        far = (values < lower) | (values > self.raw_upper_)
        if not far.any():
            return X, {}
        X = X.copy()
        clipped = np.clip(values, lower, self.raw_upper_)
        counts = {}
        for j, column in enumerate(self.numeric_columns_):
            if far[:, j].any():
                X[column] = clipped[:, j]
                counts[column] = int(far[:, j].sum())
        return X, counts

    def _clip_far(self, out: np.ndarray, far_inputs: dict) -> np.ndarray:
        """Outputs beyond ``FAR_SPANS`` training spreads (or NaN) -> the training bounds, with one
        warning naming the input columns (those clipped before the transform included)."""
        lower = getattr(self, "lower_", None)
        counts = dict(far_inputs)
        if lower is not None:
            nan = np.isnan(out)
            far = nan | (out < lower) | (out > self.upper_)
            if far.any():
                sources = self.feature_sources()
                for j in np.flatnonzero(far.any(axis=0)):
                    column = self.columns_[sources[j]]
                    counts[column] = max(counts.get(column, 0), int(far[:, j].sum()))
                out = np.clip(np.where(nan, self.center_, out), lower, self.upper_)
        if counts:
            _warn(
                f"columns {sorted(counts, key=str)}: {sum(counts.values())} value(s) far outside "
                f"the training range (beyond {FAR_SPANS:g} times its spread) were clipped to it"
            )
        return out

    def _warn_unseen_categories(self, X: pd.DataFrame) -> np.ndarray | None:
        """Warn per column about categories unseen in fit; return the columns as text."""
        if not self.categorical_columns_:
            return None
        encoder = self.column_transformer_.named_transformers_["cat"].named_steps["encode"]
        values = _as_text(X[self.categorical_columns_])
        for i, column in enumerate(self.categorical_columns_):
            known = {str(c) for c in encoder.categories_[i]}
            col = values[:, i]
            unseen = [v for v in dict.fromkeys(col[pd.notna(col)]) if v not in known]
            if unseen:
                encoded = "all zeros" if self.categorical_encoding == "onehot" else "-1"
                _warn(
                    f"column {column!r} has categories not seen in fit {unseen[:5]}: "
                    f"encoded as {encoded} (or the infrequent level where there is one)"
                )
        return values

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
