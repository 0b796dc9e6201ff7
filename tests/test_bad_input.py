"""Bad input as a test matrix (issue 11.2): every case of ``bad_input_cases`` against every
estimator of ``roster``, plus the CLI on broken files.

Each cell must end in a specific error raised before any training, or in a documented fallback
(README "Bad input") with a BadInputWarning naming the column, and whatever succeeds must give
finite outputs and probabilities summing to 1. ``benchmarks/bad_input_matrix.py`` writes the same
matrix as a table to benchmarks/results/bad_input_matrix.md.
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from bad_input_cases import CASES, acceptable, applies, run_case
from roster import ESTIMATORS, is_classifier

from automl_hyper.data.preprocess import BadInputWarning, TabularPreprocessor
from automl_hyper.models import base

CELLS = [
    pytest.param(case, name, id=f"{case.name}-{name}")
    for case in CASES
    for name in ESTIMATORS
    if applies(case, is_classifier(name))
]


@pytest.mark.parametrize(("case", "name"), CELLS)
def test_bad_input_gets_a_specific_error_or_a_documented_fallback(case, name):
    outcome = run_case(case, ESTIMATORS[name], is_classifier(name))
    assert acceptable(case, outcome), (case.expect, case.match, outcome)


# --- the preprocessing path on its own -------------------------------------------------------


def test_huge_values_at_predict_are_clipped_never_nan():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=50), "b": rng.exponential(size=50)})
    for transform in ("quantile", "power", "standard", "none"):
        pre = TabularPreprocessor(numeric_transform=transform).fit(X)
        new = pd.DataFrame({"a": [1e300, -1.7e308, 0.5], "b": [1e308, 0.1, -1e300]})
        with pytest.warns(BadInputWarning, match=r"columns \['a', 'b'\]"):
            out = pre.transform(new)
        assert np.isfinite(out).all(), transform
        inside = pre.transform(X.iloc[:5])  # values seen in fit are untouched, no warning
        np.testing.assert_array_equal(inside, pre.fit_transform(X)[:5])


def test_numbers_stored_as_text_and_category_codes():
    X = pd.DataFrame(
        {
            "price": ["1.5", "2", "oops", "4.25", None, "3"],
            "code": ["1", "2", "3", "1", "2", "3"],  # numeric strings only: kept as categories
            "mixed": [1.0, 2, 3.5, None, 4, 5],  # numbers in an object column: numbers, silently
        }
    ).astype(object)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pre = TabularPreprocessor().fit(X)
    messages = [str(w.message) for w in caught if issubclass(w.category, BadInputWarning)]
    assert len(messages) == 1 and "column 'price' holds numbers stored as text" in messages[0]
    assert "['oops']" in messages[0]
    assert pre.numeric_columns_ == ["price", "mixed"]
    assert pre.categorical_columns_ == ["code"]


def test_a_column_entirely_missing_is_dropped_and_keeps_its_place_in_importances():
    X = pd.DataFrame({"a": [1.0, 2, 3, 4], "gone": [None] * 4, "b": ["x", "y", "x", "y"]})
    with pytest.warns(BadInputWarning, match=r"\['gone'\] are entirely missing"):
        pre = TabularPreprocessor().fit(X)
    assert pre.dropped_columns_ == ["gone"]
    assert sorted(set(pre.feature_sources().tolist())) == [0, 2]
    with warnings.catch_warnings():
        warnings.simplefilter("error", BadInputWarning)
        assert pre.transform(X).shape == (4, 3)


def test_sparse_input_beyond_the_limit_is_refused(monkeypatch):
    from automl_hyper.models.baselines import LogisticBaseline

    monkeypatch.setattr(base, "MAX_DENSE_CELLS", 100)
    X = sp.random(40, 5, density=0.2, format="csr", random_state=0)
    y = np.arange(40) % 2
    with pytest.raises(ValueError, match=r"sparse X of shape \(40, 5\) \(200 cells\) is too large"):
        LogisticBaseline().fit(X, y)


# --- the CLI on broken files -----------------------------------------------------------------


def _compare(path, *extra) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "automl_hyper.cli", "compare", "--dataset", str(path), *extra],
        capture_output=True,
        text=True,
        timeout=240,
    )


def _one_line_error(proc: subprocess.CompletedProcess, pattern: str) -> None:
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert proc.returncode != 0 and lines, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("automl-hyper compare: error:"), lines
    assert re.search(pattern, lines[0]), lines[0]
    # The message is the data layer's (a ValueError naming the file and the problem); the CLI
    # maps such errors to a usage error: exit code 2 and one line.
    assert proc.returncode == 2, (proc.returncode, lines)
    assert len(lines) == 1, lines


def _csv(tmp_path, frame: pd.DataFrame, name: str = "data.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("kind", "pattern"),
    [
        ("no_target", r"target column 'label' not in \['a', 'b', 'y'\]"),
        ("one_class", r"at least 2 classes in 'label'"),
        ("empty", r"data\.csv: the file is empty"),
        ("header_only", r"data\.csv: no data rows"),
        ("junk", r"data\.csv: could not read it as CSV"),
    ],
)
def test_compare_on_a_broken_csv_fails_in_one_line_with_exit_code_2(tmp_path, kind, pattern):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=30), "b": rng.normal(size=30)})
    path = tmp_path / "data.csv"
    if kind == "no_target":
        frame.assign(y=np.arange(30) % 2).to_csv(path, index=False)
    elif kind == "one_class":
        frame.assign(label="yes").to_csv(path, index=False)
    elif kind == "empty":
        path.write_text("")
    elif kind == "header_only":
        path.write_text("a,b,label\n")
    else:
        path.write_bytes(bytes(rng.integers(0, 256, size=4096, dtype=np.uint8)))
    proc = _compare(
        path,
        "--target",
        "label",
        "--families",
        "logreg",
        "--splits",
        "1",
        "--tracking-uri",
        f"sqlite:///{tmp_path / 'mlflow.db'}",
        "--output",
        str(tmp_path / "out"),
    )
    _one_line_error(proc, pattern)
