"""benchmarks/common.py's one pipe-table helper, in the four styles the scripts had each written
for themselves (expected strings: what their own helpers printed for the same frames), and the
committed tables it reproduces byte for byte (gap_diagnosis.md, inn_faithfulness.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import BENCHMARKS, load_benchmark

RESULTS = BENCHMARKS / "results"


@pytest.fixture
def common(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the scripts import it as a sibling
    return load_benchmark("common", "benchmarks_common")


FRAME = pd.DataFrame(
    {"setting": ["a", "b"], "gain": [0.01234, np.nan], "fit_s": [1.25, 3.0], "n": [3, 4]},
    index=pd.Index(["x", "y"], name="ds"),
)


def test_the_four_styles(common):
    # inn_defaults_table: 4 decimals, NaN blank, spaced rule
    assert common.markdown(FRAME, ".4f", rule=" --- |") == (
        "| setting | gain | fit_s | n |\n| --- | --- | --- | --- |\n"
        "| a | 0.0123 | 1.2500 | 3 |\n| b |  | 3.0000 | 4 |"
    )
    # smash_defaults: per-column formats (its float_format), NaN printed
    smash_format = load_benchmark("smash_defaults").float_format
    assert common.markdown(FRAME, smash_format, blank=False) == (
        "| setting | gain | fit_s | n |\n|---|---|---|---|\n"
        "| a | +0.0123 | 1.2 | 3 |\n| b | +nan | 3.0 | 4 |"
    )
    # gap_diagnosis: str of every cell, the index as columns (reset_index)
    assert common.markdown(FRAME.reset_index()) == (
        "| ds | setting | gain | fit_s | n |\n|---|---|---|---|---|\n"
        "| x | a | 0.01234 | 1.25 | 3 |\n| y | b | nan | 3.0 | 4 |"
    )
    # inn_faithfulness: 4 significant digits, non-finite blank, index headed "dataset"
    areas = pd.DataFrame({"area": [0.12345, np.inf], "ratio": [150.0, 2.0]}, index=["x", "mean"])
    assert common.markdown(areas, ".4g", index="dataset", rule=" --- |") == (
        "| dataset | area | ratio |\n| --- | --- | --- |\n| x | 0.1235 | 150 |\n| mean |  | 2 |"
    )


def test_committed_tables_are_reproduced(common):
    gap = load_benchmark("gap_diagnosis")
    text = gap.summarise(pd.read_csv(RESULTS / "gap_diagnosis.csv"))
    committed = (RESULTS / "gap_diagnosis.md").read_text()
    tables = [t for t in text.split("\n\n") if t.startswith("|")]
    assert len(tables) == 3 and all(t in committed for t in tables)

    faithfulness = load_benchmark("inn_faithfulness")
    wide = faithfulness.wide(pd.read_csv(RESULTS / "inn_faithfulness.csv"))
    table = common.markdown(wide, ".4g", index="dataset", rule=" --- |")
    assert table.count("\n") == 10 and table in (RESULTS / "inn_faithfulness.md").read_text()
