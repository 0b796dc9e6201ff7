"""Piecewise-linear (spline) encoding of numeric columns: the opt-in input of INN's trunk and
SMASH's children (issue 13; Gorishniy et al. 2022, "On Embeddings for Numerical Features in
Tabular Deep Learning", where piecewise-linear encodings bring MLPs close to GBDTs).

:class:`SplineEncoder` reads the matrix the shared :class:`~automl_hyper.data.preprocess.
TabularPreprocessor` wrote (after its numeric transform) and expands each NUMERIC output column
into ``n_knots`` B-spline basis functions (scikit-learn's ``SplineTransformer``; ``degree=1`` is
the piecewise-linear "hat" basis, ``degree=3`` cubic), with knots at the column's training
quantiles. One-hot / ordinal categorical outputs pass through unexpanded
(:func:`numeric_outputs` tells them apart).

Choices, each for a reason:

* Knots from the training rows only (``fit``); per column the quantiles of its distinct values'
  distribution. Where quantile knots collapse (a column with a mass of equal values), the knots
  are spread uniformly between its minimum and maximum instead; a column with fewer than 3
  distinct training values (constant, binary) is kept raw, not expanded: a basis over two
  values is the raw column again, and over one value is a constant.
* ``extrapolation="constant"``: a value outside the training range gets the basis values of the
  nearest boundary, so the encoding stays in [0, 1] for every input (as a tree ensemble treats
  values beyond its last split). ``"linear"`` would feed the network unbounded values on rows
  unlike any it trained on. ``keep_raw=True`` adds the raw column next to its basis, which keeps
  the direction and distance beyond the range.
* ``max_width`` caps the output width (columns x basis functions): above it the knot count is
  lowered to fit (at least 3 knots), and where even 3 do not fit the encoder keeps every column
  raw, each with a warning naming the widths.

The fitted state is a few plain arrays (:meth:`SplineEncoder.state`, :meth:`SplineEncoder.from_state`),
so the weights exports store it without pickle; the ``SplineTransformer`` is rebuilt from the
knots, which is exactly the fitted one (explicit knots do not depend on the data it is fitted on).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import SplineTransformer
from sklearn.utils.validation import check_is_fitted

from automl_hyper.warning_types import AutomlHyperWarning

# A column needs at least this many distinct training values to be expanded.
MIN_DISTINCT = 3
# Fewest knots the width cap may lower the count to.
MIN_KNOTS = 3


def numeric_outputs(preprocessor) -> np.ndarray:
    """Boolean mask over a fitted TabularPreprocessor's output columns: True where the column
    comes from a numeric input column (not a one-hot level or ordinal code)."""
    numeric = set(preprocessor.numeric_columns_)
    columns = preprocessor.columns_
    return np.array([columns[s] in numeric for s in preprocessor.feature_sources()], dtype=bool)


def _column_knots(z: np.ndarray, n_knots: int) -> np.ndarray | None:
    """Knots of one column: its training quantiles, uniform between min and max where those
    collapse, or None (keep the column raw) with fewer than MIN_DISTINCT distinct values."""
    distinct = np.unique(z)
    if len(distinct) < MIN_DISTINCT:
        return None
    knots = np.quantile(z, np.linspace(0.0, 1.0, n_knots))
    span = float(distinct[-1] - distinct[0])
    if np.all(np.diff(knots) > 1e-9 * span):
        return knots
    return np.linspace(distinct[0], distinct[-1], n_knots)


class SplineEncoder(TransformerMixin, BaseEstimator):
    """Expand the ``columns`` (indices; None: all) of a float matrix into spline bases.

    Output: the columns not expanded (the others, and those kept raw), in input order, then
    with ``keep_raw`` the expanded columns' raw values, then their basis functions
    (``n_knots + degree - 1`` per column).
    """

    def __init__(
        self,
        n_knots: int = 8,
        degree: int = 1,
        columns=None,
        keep_raw: bool = False,
        max_width: int | None = None,
    ):
        self.n_knots = n_knots
        self.degree = degree
        self.columns = columns
        self.keep_raw = keep_raw
        self.max_width = max_width

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=np.float64)
        if self.n_knots < 2 or self.degree < 0:
            raise ValueError(
                f"n_knots must be >= 2 and degree >= 0, got {self.n_knots}, {self.degree}"
            )
        n = X.shape[1]
        self.n_features_in_ = n
        if self.columns is None:
            candidates = np.arange(n)
        else:
            candidates = np.asarray(self.columns)
            if candidates.dtype == bool:
                candidates = np.flatnonzero(candidates)
            candidates = candidates.astype(np.intp)
        n_knots = self._knot_count(n, len(candidates))
        expanded, knots = [], []
        if n_knots is not None:
            for j in candidates:
                k = _column_knots(X[:, j], n_knots)
                if k is not None:
                    expanded.append(int(j))
                    knots.append(k)
        self.n_knots_ = n_knots or 0
        self.spline_columns_ = np.array(expanded, dtype=np.intp)
        self.raw_columns_ = np.setdiff1d(np.arange(n), self.spline_columns_).astype(np.intp)
        self.knots_ = (
            np.stack(knots, axis=1) if knots else np.zeros((0, 0), dtype=np.float64)
        )  # (n_knots, n_expanded)
        self._build()
        return self

    def _knot_count(self, n: int, n_candidates: int) -> int | None:
        """``n_knots``, lowered to fit ``max_width`` (None: keep every column raw)."""
        if self.max_width is None or n_candidates == 0:
            return self.n_knots
        per = 1 if self.keep_raw else 0
        room = self.max_width - (n - n_candidates)
        fits = room // n_candidates - per - self.degree + 1 if n_candidates else self.n_knots
        if fits >= self.n_knots:
            return self.n_knots
        if fits >= MIN_KNOTS:
            warnings.warn(
                f"spline encoding of {n_candidates} numeric columns with {self.n_knots} knots "
                f"would be wider than max_width={self.max_width}: {fits} knots per column",
                AutomlHyperWarning,
                stacklevel=3,
            )
            return int(fits)
        warnings.warn(
            f"spline encoding of {n_candidates} numeric columns cannot fit max_width="
            f"{self.max_width} even with {MIN_KNOTS} knots: the columns are kept raw",
            AutomlHyperWarning,
            stacklevel=3,
        )
        return None

    def _build(self) -> None:
        """The fitted SplineTransformer, from the knots alone."""
        self.spline_ = None
        if len(self.spline_columns_):
            self.spline_ = SplineTransformer(
                knots=self.knots_, degree=self.degree, extrapolation="constant", include_bias=True
            ).fit(self.knots_)
        basis = self.n_knots_ + self.degree - 1 if len(self.spline_columns_) else 0
        self.n_features_out_ = int(
            len(self.raw_columns_)
            + (len(self.spline_columns_) if self.keep_raw else 0)
            + basis * len(self.spline_columns_)
        )

    def transform(self, X) -> np.ndarray:
        """The encoded matrix, in the input's float dtype (float32 stays float32)."""
        check_is_fitted(self, "knots_")
        X = np.asarray(X)
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"expected {self.n_features_in_} columns, got shape {X.shape}")
        parts = [X[:, self.raw_columns_]]
        if self.spline_ is not None:
            Z = np.nan_to_num(X[:, self.spline_columns_].astype(np.float64))
            if self.keep_raw:
                parts.append(X[:, self.spline_columns_])
            parts.append(self.spline_.transform(Z))
        return np.ascontiguousarray(np.hstack(parts), dtype=dtype)

    # --- plain state for the weights exports --------------------------------------------------
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-able settings, arrays) from which :meth:`from_state` rebuilds this encoder."""
        check_is_fitted(self, "knots_")
        config = {
            "n_knots": int(self.n_knots),
            "degree": int(self.degree),
            "keep_raw": bool(self.keep_raw),
            "max_width": None if self.max_width is None else int(self.max_width),
            "n_features_in": int(self.n_features_in_),
            "n_knots_fitted": int(self.n_knots_),
        }
        arrays = {
            "knots": self.knots_,
            "spline_columns": self.spline_columns_.astype(np.int64),
            "raw_columns": self.raw_columns_.astype(np.int64),
        }
        return config, arrays

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> SplineEncoder:
        enc = cls(
            n_knots=config["n_knots"],
            degree=config["degree"],
            keep_raw=config["keep_raw"],
            max_width=config["max_width"],
        )
        enc.n_features_in_ = int(config["n_features_in"])
        enc.n_knots_ = int(config["n_knots_fitted"])
        enc.knots_ = np.asarray(arrays["knots"], dtype=np.float64)
        enc.spline_columns_ = np.asarray(arrays["spline_columns"], dtype=np.intp)
        enc.raw_columns_ = np.asarray(arrays["raw_columns"], dtype=np.intp)
        enc._build()
        return enc


def store_encoder(
    encoder: SplineEncoder | None, key: str, config: dict[str, Any], arrays: dict[str, np.ndarray]
) -> None:
    """Write ``encoder`` (or None) into an export's ``config[key]`` and ``arrays`` (prefixed by
    ``key``), as :func:`load_encoder` reads it back: the one format of INN's and SMASH's exports."""
    config[key] = None
    if encoder is not None:
        enc_config, enc_arrays = encoder.state()
        config[key] = enc_config
        arrays.update({f"{key}.{k}": v for k, v in enc_arrays.items()})


def load_encoder(
    key: str, config: dict[str, Any], arrays: dict[str, np.ndarray]
) -> SplineEncoder | None:
    """The encoder :func:`store_encoder` wrote under ``key``; None where it wrote none (or the
    export predates the encodings)."""
    enc_config = config.get(key)
    if enc_config is None:
        return None
    prefix = f"{key}."
    enc_arrays = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
    return SplineEncoder.from_state(enc_config, enc_arrays)


def fit_encoder(
    preprocessor,
    Xt: np.ndarray,
    n_knots: int = 8,
    degree: int = 1,
    keep_raw: bool = False,
    max_width: int | None = None,
) -> SplineEncoder:
    """A SplineEncoder over the numeric outputs of a fitted preprocessor, fitted on ``Xt`` (its
    training output)."""
    return SplineEncoder(
        n_knots=n_knots,
        degree=degree,
        columns=numeric_outputs(preprocessor),
        keep_raw=keep_raw,
        max_width=max_width,
    ).fit(Xt)
