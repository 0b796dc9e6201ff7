"""Bad-input cases run against every estimator of ``roster`` (tests/test_bad_input.py and
``benchmarks/bad_input_matrix.py``, which writes benchmarks/results/bad_input_matrix.md).

A case builds (X_fit, y_fit, X_predict) and says what is acceptable: ``error`` (a ValueError whose
message matches, raised before any training), ``warn`` (a fit and predict that succeed with a
BadInputWarning matching), or ``ok`` (they succeed; a matching error is also accepted for the
cases marked so). Whatever succeeds must give finite outputs, probabilities that sum to 1, one
row per input row: never a silent wrong answer.
"""

from __future__ import annotations

import re
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from automl_hyper.data.preprocess import BadInputWarning

N = 48


def _frame(n: int = N, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n) * 10 + 3,
            "colour": rng.choice(["red", "green", "blue"], size=n),
        }
    )


def _target(X: pd.DataFrame, classification: bool, n_classes: int = 2):
    score = X["a"].to_numpy() + 0.1 * np.arange(len(X)) % 1
    if not classification:
        return pd.Series(2 * score + 1, name="y")
    if n_classes == 2:
        return pd.Series(np.where(score > np.median(score), "yes", "no"), name="y")
    ranks = np.argsort(np.argsort(score))
    return pd.Series((ranks * n_classes // len(X)).astype(int), name="y")


@dataclass
class Case:
    name: str
    what: str  # one line for the README table
    expect: str  # "error", "warn" or "ok"
    match: str = ""  # regex the error or warning message must match
    also_error: str = ""  # for "ok": an error matching this is acceptable too (family-specific)
    classifier_only: bool = False
    regressor_only: bool = False
    # builder(classification) -> (X_fit, y_fit, X_predict)
    build: object = field(default=None, repr=False)


def _standard(classification):
    X = _frame()
    return X, _target(X, classification), _frame(9, seed=1)


def _with(fit_edit=None, predict_edit=None, n: int = N):
    def build(classification):
        X = _frame(n)
        y = _target(X, classification)
        Xp = _frame(9, seed=1)
        if fit_edit:
            X = fit_edit(X.copy())
        if predict_edit:
            Xp = predict_edit(Xp.copy())
        return X, y, Xp

    return build


def _set(column, rows, value):
    def edit(X):
        X[column] = X[column].astype(object) if isinstance(value, str) else X[column]
        for r in rows:
            X.loc[r, column] = value
        return X

    return edit


def _one_class(classification):
    X = _frame()
    return X, pd.Series(["yes"] * len(X)), _frame(9, seed=1)


def _one_row(classification):
    X = _frame(1)
    y = pd.Series(["yes"]) if classification else pd.Series([1.5])
    return X, y, _frame(3, seed=1)


def _two_rows(classification):
    X = _frame(2)
    y = pd.Series(["yes", "no"]) if classification else pd.Series([1.5, -0.5])
    return X, y, _frame(3, seed=1)


def _many_classes(classification):
    X = _frame(120)
    return X, _target(X, True, n_classes=12), _frame(9, seed=1)


def _many_features(classification):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 120)), columns=[f"f{i}" for i in range(120)])
    Xp = pd.DataFrame(rng.normal(size=(9, 120)), columns=X.columns)
    y = X["f0"] + X["f1"]
    y = (y > 0).map({True: "yes", False: "no"}) if classification else y
    return X, y, Xp


def _duplicate_names(classification):
    X = _frame()
    y = _target(X, classification)
    X.columns = ["a", "a", "colour"]
    return X, y, X.iloc[:5]


def _sparse(classification):
    rng = np.random.default_rng(0)
    dense = rng.normal(size=(N, 6)) * (rng.random((N, 6)) < 0.3)
    y = dense[:, 0] + dense[:, 1]
    y = np.where(y > 0, "yes", "no") if classification else y
    return sp.csr_matrix(dense), y, sp.csr_matrix(dense[:7])


def _array_wrong_width(classification):
    X = _frame()[["a", "b"]].to_numpy()
    return X, _target(_frame(), classification), np.ones((4, 3))


def _nan_target(classification):
    X = _frame()
    y = _target(X, classification).astype(object)
    y.iloc[3] = None
    return X, y, _frame(9, seed=1)


def _text_target(classification):
    X = _frame()
    return X, pd.Series(["low", "high"] * (N // 2)), _frame(9, seed=1)


def _constant_target(classification):
    X = _frame()
    return X, pd.Series(np.full(N, 4.25)), _frame(9, seed=1)


CASES = [
    Case("clean", "a clean table (reference)", "ok", build=_standard),
    Case(
        "nan",
        "NaN in a numeric column, at fit and predict",
        "ok",
        build=_with(_set("a", [1, 5], np.nan), _set("a", [0], np.nan)),
    ),
    Case(
        "inf_fit",
        "inf in a numeric column at fit",
        "error",
        r"infinity in columns \['b'\]",
        build=_with(_set("b", [2], np.inf)),
    ),
    Case(
        "inf_predict",
        "-inf in a numeric column at predict",
        "error",
        r"infinity in columns \['b'\]",
        build=_with(predict_edit=_set("b", [2], -np.inf)),
    ),
    Case(
        "huge_fit",
        "values near the float64 limit (1e300, -1.7e308) at fit",
        "ok",
        also_error=r"columns \['a'\] .*too large",
        build=_with(lambda X: _set("a", [3], -1.7e308)(_set("a", [1], 1e300)(X))),
    ),
    Case(
        "huge_predict",
        "values near the float64 limit (1e300) at predict only",
        "ok",
        build=_with(predict_edit=lambda X: _set("a", [1], 1e300)(_set("b", [2], -1e308)(X))),
    ),
    Case(
        "text_in_numeric",
        "strings inside a numeric column ('n/a', 'oops')",
        "warn",
        r"column 'a'",
        build=_with(_set("a", [2, 7], "oops"), _set("a", [0], "n/a")),
    ),
    Case(
        "none_column",
        "a column that is entirely None",
        "warn",
        r"\['empty'\] are entirely missing",
        build=_with(lambda X: X.assign(empty=None), lambda X: X.assign(empty=None)),
    ),
    Case(
        "all_none",
        "every column entirely None",
        "error",
        r"every column of X is entirely missing",
        build=_with(
            lambda X: pd.DataFrame({"a": [None] * len(X), "b": [np.nan] * len(X)}),
            lambda X: pd.DataFrame({"a": [None] * len(X), "b": [np.nan] * len(X)}),
        ),
    ),
    Case(
        "constant",
        "a constant numeric and a constant categorical column",
        "ok",
        build=_with(
            lambda X: X.assign(a=7.0, colour="red"), lambda X: X.assign(a=7.0, colour="red")
        ),
    ),
    Case(
        "unseen_category",
        "a category at predict that fit never saw",
        "warn",
        r"column 'colour' has categories not seen in fit \['purple'\]",
        build=_with(predict_edit=_set("colour", [0, 1], "purple")),
    ),
    Case("one_row", "one training row", "error", r"one class|at least 2", build=_one_row),
    Case("two_rows", "two training rows", "ok", build=_two_rows),
    Case(
        "one_class",
        "one class in y",
        "error",
        r"at least 2 classes.*one class",
        classifier_only=True,
        build=_one_class,
    ),
    Case(
        "constant_target",
        "a constant target",
        "ok",
        regressor_only=True,
        build=_constant_target,
    ),
    Case(
        "many_classes",
        "12 classes (MotherNet was pretrained on at most 10)",
        "ok",
        classifier_only=True,
        build=_many_classes,
    ),
    Case("many_features", "120 features", "ok", build=_many_features),
    Case(
        "duplicate_names",
        "duplicated column names",
        "error",
        r"duplicated column names \['a'\]",
        build=_duplicate_names,
    ),
    Case(
        "sparse",
        "scipy.sparse input",
        "warn",
        r"sparse X of shape \(\d+, 6\) densified",
        build=_sparse,
    ),
    Case(
        "missing_column",
        "a column missing at predict",
        "error",
        r"feature names differ from those seen in fit \(missing \['b'\], unexpected \[\]\)",
        build=_with(predict_edit=lambda X: X.drop(columns=["b"])),
    ),
    Case(
        "extra_column",
        "an extra column at predict",
        "error",
        r"feature names differ from those seen in fit \(missing \[\], unexpected \['z'\]\)",
        build=_with(predict_edit=lambda X: X.assign(z=1.0)),
    ),
    Case(
        "reordered_columns",
        "the same columns in another order at predict",
        "error",
        r"feature names differ from those seen in fit \(another order\)",
        build=_with(predict_edit=lambda X: X[["b", "a", "colour"]]),
    ),
    Case(
        "array_width",
        "a numpy array with another number of columns at predict",
        "error",
        r"X has 3 features, but .* is expecting 2 features",
        build=_array_wrong_width,
    ),
    Case(
        "nan_target",
        "a missing label in y",
        "error",
        r"y contains NaN or missing",
        build=_nan_target,
    ),
    Case(
        "text_target",
        "a text target for a regressor",
        "error",
        r"needs a numeric target",
        regressor_only=True,
        build=_text_target,
    ),
]


def applies(case: Case, classification: bool) -> bool:
    return not (
        (case.classifier_only and not classification) or (case.regressor_only and classification)
    )


@dataclass
class Outcome:
    kind: str  # "error", "warn", "ok" or "WRONG"
    message: str
    seconds: float
    stage: str = ""  # where an error was raised: "fit" or "predict"
    trained: bool = False  # whether the family's training (_fit_arrays) started


def _first_line(text: str) -> str:
    return str(text).strip().splitlines()[0] if str(text).strip() else ""


def run_case(case: Case, make, classification: bool) -> Outcome:
    """Fit and predict; classify what happened (never raises for the expected kinds)."""
    X, y, Xp = case.build(classification)
    est = make()
    trained = []
    fit_arrays = est._fit_arrays

    def spy(*args, **kwargs):  # records that training started: errors must come before it
        trained.append(True)
        return fit_arrays(*args, **kwargs)

    est._fit_arrays = spy
    start = time.perf_counter()
    stage = "fit"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            est.fit(X, y)
            stage = "predict"
            out = est.predict_proba(Xp) if classification else est.predict(Xp)
        except ValueError as err:
            seconds = time.perf_counter() - start
            return Outcome("error", _first_line(err), seconds, stage, bool(trained))
    seconds = time.perf_counter() - start
    out = np.asarray(out, dtype=float)
    problems = []
    if out.shape[0] != Xp.shape[0]:
        problems.append(f"{out.shape[0]} outputs for {Xp.shape[0]} rows")
    if not np.isfinite(out).all():
        problems.append("non-finite outputs")
    if classification and not np.allclose(out.sum(axis=1), 1.0, atol=1e-6):
        problems.append("probabilities do not sum to 1")
    if classification and out.shape[1] != len(est.classes_):
        problems.append(f"{out.shape[1]} probability columns for {len(est.classes_)} classes")
    if problems:
        return Outcome("WRONG", "; ".join(problems), seconds, "", True)
    ours = [w for w in caught if issubclass(w.category, BadInputWarning)]
    if ours:
        message = " | ".join(dict.fromkeys(_first_line(w.message) for w in ours))
        return Outcome("warn", message, seconds, "", True)
    return Outcome("ok", "", seconds, "", True)


def acceptable(case: Case, outcome: Outcome) -> bool:
    if outcome.kind == "WRONG":
        return False
    if outcome.kind == "error" and outcome.stage == "fit" and outcome.trained:
        return False  # a fit error must come before any training
    if case.expect == "error":
        return outcome.kind == "error" and re.search(case.match, outcome.message) is not None
    if outcome.kind == "error":
        return bool(case.also_error) and re.search(case.also_error, outcome.message) is not None
    if case.expect == "warn":
        return outcome.kind == "warn" and re.search(case.match, outcome.message) is not None
    return True  # "ok": succeeded with valid outputs (a documented warning is allowed)
