"""benchmarks/autogluon_smashslot.py: two gbdt+ours runs paired on complete pairs only, the
decision rule of autogluon_uplift_selection_smashslot.md, fit counts and the uplift table."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from conftest import load_benchmark


def _csv(path: Path, aucs: dict, smash: bool, arm: str = "gbdt+ours") -> Path:
    rows = []
    for (name, split), auc in aucs.items():
        fitted = "MotherNet;INN;LightGBM;CatBoost" + (";SMASH" if smash else ";XGBoost")
        weights = {"SMASH": 0.5, "CatBoost": 0.5} if smash else {"CatBoost": 1.0}
        rows.append(
            {
                "dataset": name,
                "split": split,
                "arm": arm,
                "auc": auc,
                "fit_s": 60.0,
                "load_avg_1m": 5.0,
                "weights": json.dumps(weights) if arm != "gbdt" else "{}",
                "models_fit": fitted,
            }
        )
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_rule_pairs_complete_pairs_and_counts_fitted_models(tmp_path: Path) -> None:
    slot = load_benchmark("autogluon_smashslot")
    base = {("x", 0): 0.80, ("x", 1): 0.80, ("y", 0): 0.90, ("y", 1): 0.90, ("z", 0): 0.7}
    # x +0.01 on both splits, y +0.002 / +0.004; z only in the base run: not paired.
    other = {("x", 0): 0.81, ("x", 1): 0.81, ("y", 0): 0.902, ("y", 1): 0.904}
    a = slot.ours_rows(_csv(tmp_path / "a.csv", base, smash=False))
    b = slot.ours_rows(_csv(tmp_path / "b.csv", other, smash=True))
    text = slot.compare(a, b)
    assert "2 datasets, 4 complete dataset x split pairs" in text
    assert "| SMASH fitted | 0/4 | 4/4 |" in text
    assert "| XGBoost fitted | 4/4 | 0/4 |" in text
    assert "| CatBoost fitted | 4/4 | 4/4 |" in text
    assert "over dataset means: +0.0065, SE 0.0035 (n=2)" in text
    assert "rule (mean > 0 and > 1 SE, none below noise): ADOPT" in text

    # One dataset far below noise on both splits vetoes a positive mean.
    worse = {**other, ("y", 0): 0.88, ("y", 1): 0.88}
    c = slot.ours_rows(_csv(tmp_path / "c.csv", worse, smash=True))
    text = slot.compare(a, c)
    assert "below noise (mean < -max(0.005, 2 SE)): y" in text and "keep current" in text

    gbdt = _csv(tmp_path / "g.csv", {k: v - 0.01 for k, v in base.items()}, False, arm="gbdt")
    table = slot.uplift(gbdt, {"current": a, "candidate": b}, splits={0})
    assert "on 2 complete dataset x split pairs" in table
    assert "| current | 0.8500 | +0.0100 | 0.0000 | 2 / 0 / 0 | none |" in table
