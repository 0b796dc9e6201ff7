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


def test_min_frequency_pools_levels_seen_under_k_rows():
    X = pd.DataFrame({"c": ["a"] * 10 + ["b"] * 6 + ["c"] * 2 + ["d"], "x": np.arange(19.0)})
    pre = TabularPreprocessor(min_frequency=5).fit(X)
    with pytest.warns(UserWarning, match="not seen in fit"):
        # x is the same in every row, so rows differ only by their one-hot level.
        out = pre.transform(pd.DataFrame({"c": ["a", "b", "c", "d", "new"], "x": [0.0] * 5}))
    assert out.shape[1] == 4  # x, then a, b and the pooled level
    # c and d (seen 2 and 1 times) share the pooled level; an unseen level goes there too.
    assert (out[2] == out[3]).all() and (out[3] == out[4]).all()
    assert not (out[0] == out[2]).all() and not (out[1] == out[2]).all()
    assert TabularPreprocessor().fit(X).transform(X).shape[1] == 5  # no pooling by count


def test_min_frequency_as_a_share_of_the_training_rows():
    X = pd.DataFrame({"c": ["a"] * 10 + ["b"] * 6 + ["c"] * 2 + ["d"], "x": np.arange(19.0)})
    # 0.2 x 19 rows = 3.8: c (2) and d (1) pooled, as with the count 3.
    share = TabularPreprocessor(min_frequency=0.2).fit(X).transform(X)
    count = TabularPreprocessor(min_frequency=3).fit(X).transform(X)
    np.testing.assert_array_equal(share, count)
    assert share.shape[1] == 4
