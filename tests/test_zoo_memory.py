"""The zoo's AutoGluon memory estimates against peak fit RSS rises measured by
benchmarks/smash_encoding_memory.py (benchmarks/results/autogluon_memory.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl_hyper import zoo

# (rows, numeric columns, measured peak RSS rise in MiB) with SMASH's default input_encoding.
# 50,000 x 10: few columns, many rows, where the per-row cost (candidates scored on all
# validation rows at once) dominates.
SMASH_SPLINE_RAW = [
    (5000, 50, 65),
    (20000, 50, 166),
    (20000, 100, 202),
    (50000, 50, 457),
    (50000, 10, 270),
]


@pytest.mark.parametrize(("rows", "cols", "rise_mib"), SMASH_SPLINE_RAW)
def test_smash_estimate_covers_the_spline_encoded_fit(rows, cols, rise_mib):
    pytest.importorskip("autogluon.core")
    from automl_hyper.integrations.autogluon import model_class

    assert zoo.get("smash").make().input_encoding == "spline_raw"  # what was measured
    X = pd.DataFrame(
        np.zeros((rows, cols), dtype=np.float32), columns=[f"c{i}" for i in range(cols)]
    )
    y = pd.Series(np.arange(rows) % 2)
    estimate = model_class("smash").estimate_memory_usage_static(X=X, y=y, hyperparameters={})
    assert estimate >= rise_mib * 2**20


# (rows, numeric columns, measured peak RSS rise in MiB) of INN with trunk_encoding="spline_raw".
INN_SPLINE_RAW = [(20000, 100, 346), (50000, 50, 438)]


@pytest.mark.parametrize(("rows", "cols", "rise_mib"), INN_SPLINE_RAW)
def test_inn_estimate_reads_the_trials_trunk_encoding(rows, cols, rise_mib):
    pytest.importorskip("autogluon.core")
    from autogluon.common import space

    from automl_hyper.integrations.autogluon import model_class

    X = pd.DataFrame(
        np.zeros((rows, cols), dtype=np.float32), columns=[f"c{i}" for i in range(cols)]
    )
    y = pd.Series(np.arange(rows) % 2)

    def estimate(hyperparameters):
        return model_class("inn").estimate_memory_usage_static(
            X=X, y=y, hyperparameters=hyperparameters
        )

    assert estimate({"trunk_encoding": "spline_raw"}) >= rise_mib * 2**20
    assert estimate({"trunk_encoding": "spline"}) == estimate({"trunk_encoding": "spline_raw"})
    # The default (None) keeps the estimate it had; so does a search space before HPO, which
    # AutoGluon estimates at its default value.
    searched = space.Categorical(None, "spline_raw")
    assert estimate({}) == estimate({"trunk_encoding": None}) < rise_mib * 2**20
    assert estimate({"trunk_encoding": searched}) == estimate({})
