"""``benchmarks/mothernet_ft_steps.py``: settings parse (ints, floats, words, None), ``--shard``
splits a suite between processes without overlap, and the XGBoost time ratio pairs splits
(issue 13, MotherNet fine-tuning rounds)."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import load_benchmark


@pytest.fixture(scope="module")
def steps():
    return load_benchmark("mothernet_ft_steps")


def test_parse_setting(steps):
    assert steps.parse_setting("") == {}
    assert steps.parse_setting("n_estimators=8,finetune_lr=0.003,member_selection=None") == {
        "n_estimators": 8,
        "finetune_lr": 0.003,
        "member_selection": None,
    }
    assert steps.parse_setting("input_transform=power") == {"input_transform": "power"}


def test_shard_covers_the_suite_once(steps):
    names = tuple("abcde")
    parts = [steps.shard(names, f"{k}/2") for k in (0, 1)]
    assert parts == [("a", "c", "e"), ("b", "d")]
    assert steps.shard(names, None) == names
    with pytest.raises(ValueError):
        steps.shard(names, "2/2")


def test_xgboost_ratio_uses_common_splits(steps):
    runs = pd.DataFrame(
        {
            "dataset": ["a", "a", "b"],
            "split": [0, 1, 0],
            "setting": "defaults",
            "fit_s": [1.0, 2.0, 4.0],
        }
    )
    xgb = pd.DataFrame(
        {
            "dataset": ["a", "a", "c"],
            "split": [0, 1, 0],
            "setting": ["xgboost-tuned", "xgboost-tuned", "xgboost-tuned"],
            "fit_s": [30.0, 60.0, 999.0],
        }
    )
    # common splits: (a, 0), (a, 1): medians 45 / 1.5
    assert steps.xgboost_ratio(runs, xgb)["defaults"] == pytest.approx(30.0)
    # A benchmark runs.csv names the family instead of a setting.
    committed = xgb.rename(columns={"setting": "family"})
    assert steps.xgboost_ratio(runs, committed)["defaults"] == pytest.approx(30.0)
