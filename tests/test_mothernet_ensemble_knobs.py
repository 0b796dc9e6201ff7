"""MotherNet's benchmark-only ensemble knobs (issue 13): geometric mean of the members and
ordinal level order. Each is off by default; these pin what it does."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from automl_hyper.models.mothernet import MotherNetClassifier, child, estimator
from automl_hyper.models.mothernet.child import Member, combine


def fit(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MotherNetClassifier(random_state=0, n_estimators=2, **params).fit(X, y)


def test_geometric_mean_of_members(monkeypatch):
    members = [
        Member(None, None, None, None, None, None, None, None, np.array([0, 1, 2]), weight=0.75),
        Member(None, None, None, None, None, None, None, None, np.array([1, 2, 0]), weight=0.25),
    ]
    p = [np.array([[0.7, 0.2, 0.1]]), np.array([[0.5, 0.3, 0.2]])]  # second: global 1, 2, 0
    arithmetic = combine(p, members, 3)
    np.testing.assert_allclose(arithmetic, [[0.75 * 0.7 + 0.05, 0.15 + 0.125, 0.075 + 0.075]])
    monkeypatch.setattr(child, "_AVERAGE", "geometric")
    expected = np.array([0.7**0.75 * 0.2**0.25, 0.2**0.75 * 0.5**0.25, 0.1**0.75 * 0.3**0.25])
    np.testing.assert_allclose(combine(p, members, 3), [expected / expected.sum()])


@pytest.mark.parametrize("order", ["frequency", "target"])
def test_ordinal_level_order(monkeypatch, order):
    colour = np.array(["a"] * 10 + ["b"] * 50 + ["c"] * 30)
    y = np.r_[np.ones(10), np.zeros(50), np.r_[np.ones(20), np.zeros(10)]].astype(int)
    X = pd.DataFrame({"x": np.linspace(0, 1, 90), "colour": colour})
    monkeypatch.setattr(estimator, "_ORDINAL_ORDER", order)
    clf = fit(X, y, categorical_encoding="ordinal")
    m = clf.members_[0]
    codes = m.project_value[m.project_to == m.project_to.max()]  # colour's levels a, b, c
    # frequency: b (50 rows) first, c, a; target: by the rate of class 0 (the majority):
    # a 0/10, c 10/30, b 50/50.
    assert codes.tolist() == ([3, 1, 2] if order == "frequency" else [1, 3, 2])
