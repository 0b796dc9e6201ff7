"""benchmarks/autogluon_uplift.py --versus: a CSV without the gbdt arm (or the + ours arm) is
refused before anything is summarised or fitted, naming the file, the arm and how to add it; with
both arms in both CSVs the comparison prints (rows of a committed run)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import BENCHMARKS, load_benchmark

COMMITTED = BENCHMARKS / "results" / "autogluon_uplift_cc18-30.csv"  # both arms, splits 0-1
NAMES = ("diabetes", "kc2", "credit-g")


def _rows(arms=("gbdt", "gbdt+ours"), splits=(0, 1)) -> pd.DataFrame:
    table = pd.read_csv(COMMITTED, keep_default_na=False, na_values=[""])
    keep = table.dataset.isin(NAMES) & table.arm.isin(arms) & table.split.isin(splits)
    assert keep.any()
    return table[keep]


def _main(tmp_path: Path, base: pd.DataFrame, other: pd.DataFrame, *extra: str):
    base.to_csv(tmp_path / "a.csv", index=False)
    other.to_csv(tmp_path / "b.csv", index=False)
    argv = [
        "--suite", ",".join(NAMES), "--splits", "2", "--time-limit", "1",
        "--out", str(tmp_path / "b.csv"), "--summary", str(tmp_path / "b.md"),
        "--versus", str(tmp_path / "a.csv"), *extra,
    ]  # fmt: skip
    return load_benchmark("autogluon_uplift").main(argv)


def test_versus_without_the_gbdt_arm_is_refused_first(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        _main(tmp_path, _rows(), _rows(arms=("gbdt+ours",)), "--summarise-only")
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert f"B (--out {tmp_path / 'b.csv'}): no finished gbdt rows on splits < 2" in err, err
    assert "--gbdt-from OTHER.csv" in err and "A (--versus" not in err, err
    assert not (tmp_path / "b.md").exists()  # refused before the summary was written


def test_versus_refuses_before_fitting_when_the_base_lacks_an_arm(tmp_path, capsys):
    """Without --summarise-only the command would fit; a base CSV with no gbdt rows (the arm
    this command cannot add to it) stops it first. Rows on later splits get a --splits hint."""
    with pytest.raises(SystemExit) as stop:
        _main(tmp_path, _rows(arms=("gbdt+ours",)), _rows(splits=(0,)), "--arms", "gbdt+ours")
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert f"A (--versus {tmp_path / 'a.csv'}): no finished gbdt rows on splits < 2" in err, err
    assert f"--arms gbdt --out {tmp_path / 'a.csv'}" in err, err
    assert not (tmp_path / "b.md").exists()
    assert len(pd.read_csv(tmp_path / "b.csv")) == len(_rows(splits=(0,)))  # nothing fitted

    with pytest.raises(SystemExit):
        _main(tmp_path, _rows(splits=(1,)), _rows(), "--summarise-only", "--splits", "1")
    err = capsys.readouterr().err
    assert "no finished gbdt rows on splits < 1 (it has them on splits [1]: raise --splits)" in err


def test_versus_with_both_arms_prints_the_comparison(tmp_path, capsys):
    assert _main(tmp_path, _rows(), _rows(splits=(0,)), "--summarise-only") == 0
    out = capsys.readouterr().out
    assert "3 datasets, 3 dataset x splits in both runs" in out, out
