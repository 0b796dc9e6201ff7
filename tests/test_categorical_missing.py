"""TabularPreprocessor(categorical_missing=...): a categorical column's missing cells merged into
its most frequent level, or kept as a level of their own (benchmarks/gap_diagnosis.py, issue 13)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from automl_hyper.data.preprocess import MISSING_LEVEL, TabularPreprocessor
from automl_hyper.data.preprocess_state import decode, encode


def _frame() -> pd.DataFrame:
    colour = pd.Series(["red", "blue", None, "red", None, "green", "red", "blue"], dtype="category")
    return pd.DataFrame({"colour": colour, "x": np.arange(8.0)})


def test_most_frequent_merges_missing_into_the_modal_level():
    pre = TabularPreprocessor(numeric_transform="none")
    Z = pre.fit_transform(_frame())
    assert list(pre.feature_labels()) == ["x", "colour=blue", "colour=green", "colour=red"]
    np.testing.assert_array_equal(Z[2], [2.0, 0.0, 0.0, 1.0])  # missing -> "red"


@pytest.mark.parametrize("encoding", ["onehot", "ordinal"])
def test_level_keeps_missing_apart(encoding):
    pre = TabularPreprocessor(
        numeric_transform="none", categorical_encoding=encoding, categorical_missing="level"
    )
    Z = pre.fit_transform(_frame())
    missing = _frame().colour.isna().to_numpy()
    if encoding == "onehot":
        labels = list(pre.feature_labels())
        assert f"colour={MISSING_LEVEL}" in labels
        column = Z[:, labels.index(f"colour={MISSING_LEVEL}")]
        np.testing.assert_array_equal(column, missing.astype(np.float32))
    else:  # one code for the missing cells, shared by no present level
        codes = Z[:, 1]
        assert len(set(codes[missing])) == 1 and codes[missing][0] not in set(codes[~missing])


def test_level_at_predict_for_a_column_complete_in_fit_is_all_zeros():
    frame = _frame().assign(colour=lambda f: f.colour.cat.add_categories([]).fillna("red"))
    pre = TabularPreprocessor(numeric_transform="none", categorical_missing="level").fit(frame)
    row = frame.iloc[:1].copy()
    row.loc[row.index[0], "colour"] = None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing cell is not reported as an unseen category
        out = pre.transform(row)
    np.testing.assert_array_equal(out[0, 1:], 0.0)


def test_level_survives_the_json_state_round_trip():
    pre = TabularPreprocessor(categorical_missing="level").fit(_frame())
    arrays: dict = {}
    back = decode(encode(pre, arrays, "pre"), arrays)
    np.testing.assert_array_equal(back.transform(_frame()), pre.transform(_frame()))


def test_a_state_stored_before_the_parameter_reads_as_most_frequent():
    pre = TabularPreprocessor().fit(_frame())
    arrays: dict = {}
    entry = encode(pre, arrays, "pre")
    del entry["state"]["categorical_missing"]
    back = decode(entry, arrays)
    assert back.get_params()["categorical_missing"] == "most_frequent"
    np.testing.assert_array_equal(back.transform(_frame()), pre.transform(_frame()))


def test_unknown_setting_is_refused():
    with pytest.raises(ValueError, match="categorical_missing"):
        TabularPreprocessor(categorical_missing="drop").fit(_frame())


def test_families_export_the_level_unchanged():
    """MotherNet's numpy child and INN's weights export predict as the fitted estimator."""
    from automl_hyper import INNClassifier, MotherNetClassifier
    from automl_hyper.models.inn.export import export_weights, from_weights

    rng = np.random.RandomState(0)
    y = (rng.rand(120) < 0.3).astype(int)
    colour = rng.choice(["a", "b", "c"], 120).astype(object)
    colour[(y == 1) & (rng.rand(120) < 0.8)] = None  # missing mostly in class 1
    X = pd.DataFrame({"colour": pd.Series(colour, dtype="category"), "x": rng.randn(120)})
    mothernet = MotherNetClassifier(random_state=0)
    inn = INNClassifier(random_state=0, max_epochs=2)
    for est in (mothernet, inn):
        est._categorical_missing = "level"  # the class default is "most_frequent"
        est.fit(X, y)
        assert f"colour={MISSING_LEVEL}" in list(est.preprocessor_.feature_labels())
    proba = mothernet.predict_proba(X)
    np.testing.assert_allclose(mothernet.export_child().predict_proba(X), proba, atol=1e-12)
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        export_weights(inn, folder)
        np.testing.assert_allclose(from_weights(folder).predict_proba(X), inn.predict_proba(X))
