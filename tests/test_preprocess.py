"""The shared preprocessing: output columns traced back to the user's input columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl_hyper.data.preprocess import INFREQUENT_LEVEL, TabularPreprocessor


def _frame(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "mean radius": rng.normal(size=n),
            "letter": rng.choice(list("abcdefghijklmnopqrstuvwxyz"), n),  # > max_categories
            "flag": rng.choice([True, False], n),
        }
    )


@pytest.mark.parametrize("encoding", ["onehot", "ordinal"])
def test_labels_and_sources_follow_scikit_learns_output_layout(encoding):
    df = _frame()
    pre = TabularPreprocessor(categorical_encoding=encoding).fit(df)
    labels, sources = pre.feature_labels(), pre.feature_sources()
    sklearn_names = pre.get_feature_names_out()
    assert len(labels) == len(sources) == len(sklearn_names) == pre.transform(df).shape[1]
    for label, source, sklearn_name in zip(labels, sources, sklearn_names):
        column = df.columns[source]
        if encoding == "ordinal" or column == "mean radius":
            assert label == column and sklearn_name.endswith(f"__{column}")
        else:
            level = label.removeprefix(f"{column}=")
            level = "infrequent_sklearn" if level == INFREQUENT_LEVEL else level
            assert sklearn_name == f"cat__{column}_{level}"
    assert np.bincount(sources).tolist() == (
        [1, 1, 1] if encoding == "ordinal" else [1, 20, 2]  # max_categories=20 pools the rest
    )


def test_arrays_get_positional_names():
    pre = TabularPreprocessor().fit(np.ones((5, 3)))
    assert pre.feature_labels().tolist() == ["x0", "x1", "x2"]
    assert pre.feature_sources().tolist() == [0, 1, 2]
