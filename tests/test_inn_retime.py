"""``benchmarks/inn_retime.py``: settings parse from the command line, and every setting is fitted
once per repeat on the same training rows with its overrides applied (issue 13, INN defaults)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import load_benchmark


@pytest.fixture(scope="module")
def retime():
    return load_benchmark("inn_retime")


def test_parse_setting(retime):
    assert retime.parse_setting("base=") == ("base", {})
    assert retime.parse_setting(
        "b32=batch_size=32,learning_rate=0.002,numeric_transform=power"
    ) == (
        "b32",
        {"batch_size": 32, "learning_rate": 0.002, "numeric_transform": "power"},
    )


def test_retime_fits_every_setting_with_its_overrides(retime, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(target=(X[:, 0] > 0).astype(int))
    frame.to_csv(tmp_path / "toy.csv", index=False)
    settings = {
        "one": {"max_epochs": 1, "hidden_width": 8},
        "two": {"max_epochs": 2, "hidden_width": 8},
    }
    rows = retime.retime(str(tmp_path), ["toy"], settings, repeats=2)
    assert len(rows) == 4
    # order rotates per repeat, so neither setting always runs first
    assert list(rows.setting) == ["one", "two", "two", "one"]
    assert rows.groupby("setting").epochs.max().to_dict() == {"one": 1, "two": 2}
    assert (rows.fit_s > 0).all()
