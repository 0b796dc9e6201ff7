"""benchmarks/autogluon_uplift.py on one tiny dataset: both arms fit, the table is complete, the
final model's weights sum to 1, resume skips finished rows and the summary reads the table."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import load_benchmark
from sklearn.datasets import load_breast_cancer

from automl_hyper.data.loading import Dataset


def _script():
    return load_benchmark("autogluon_uplift")


@pytest.mark.slow
def test_uplift_tiny_dataset(tmp_path: Path) -> None:
    pytest.importorskip("autogluon.tabular")
    pytest.importorskip("lightgbm")
    pytest.importorskip("catboost")
    uplift = _script()
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    # 160 rows, 6 columns: paper splits of 80/80, every model fits in a few seconds.
    keep = y.groupby(y).head(80).index
    ds = Dataset(
        "tiny-wdbc",
        X.loc[keep, X.columns[:6]].reset_index(drop=True),
        y[keep].reset_index(drop=True),
    )
    ours = {key: {} for key in uplift.OUR_KEYS}
    args = dict(splits=1, time_limit=20.0, presets="medium_quality", num_cpus=1, ours=ours)
    rows = uplift.run_dataset("tiny-wdbc", done=set(), ours_config="plain", dataset=ds, **args)

    table = pd.DataFrame(rows)
    assert list(table["arm"]) == list(uplift.ARMS)
    expected = {*uplift.KEY, "auc", "fit_s", "predict_s", "best_model", "weights", "error"}
    expected |= {f"{p}_{f}" for f in ("mothernet", "inn", "smash") for p in ("w", "fit")}
    assert expected <= set(table.columns)
    assert (table["error"] == "").all(), table["error"].tolist()
    assert table["auc"].between(0.5, 1.0).all()
    for row in table.itertuples():
        assert sum(json.loads(row.weights).values()) == pytest.approx(1.0, abs=1e-3)
    gbdt, both = table.iloc[0], table.iloc[1]
    assert not gbdt["fit_mothernet"] and gbdt["w_mothernet"] == 0
    assert "MotherNet" in both["models_fit"].split(";")  # our families ran in the second arm

    # Resume: with both keys done nothing runs; the summary pairs the two arms.
    done = {tuple(r[k] for k in uplift.KEY) for r in rows}
    assert uplift.run_dataset("tiny-wdbc", done=done, ours_config="plain", dataset=ds, **args) == []
    text = uplift.summarise(table)
    assert "1 dataset x split pairs with both arms" in text
    assert "| mothernet |" in text and "tiny-wdbc" in text


def test_summary_flags_datasets_below_noise() -> None:
    """A dataset is below noise only when its mean paired difference is under -max(0.005, 2 SE)."""
    uplift = _script()
    rows = []
    # "a": worse by 0.02 on both splits (below noise); "b": -0.004 then +0.002 (within noise).
    for name, diffs in (("a", (-0.02, -0.02)), ("b", (-0.004, 0.002))):
        for split, diff in enumerate(diffs):
            for arm, auc in (("gbdt", 0.8), ("gbdt+ours", 0.8 + diff)):
                ours = arm == "gbdt+ours" and name == "b"
                rows.append(
                    dict(
                        zip(uplift.KEY, (name, split, arm, 60.0, "medium_quality", "cfg")),
                        auc=auc,
                        fit_s=1.0,
                        predict_s=0.1,
                        weights=json.dumps({"INN": 0.5, "LightGBM": 0.5} if ours else {}),
                        models_fit="INN;LightGBM" if ours else "LightGBM",
                    )
                )
    table = pd.DataFrame(rows)
    noise = uplift.below_noise(
        table.pivot_table(index=["dataset", "split"], columns="arm", values="auc").pipe(
            lambda w: w["gbdt+ours"] - w["gbdt"]
        )
    )
    assert noise["below_noise"].to_dict() == {"a": True, "b": False}
    assert noise.loc["b", "min"] == pytest.approx(-0.004)
    text = uplift.summarise(table)
    assert "below noise" in text and ": a (1 of 2 datasets)" in text
    assert "| any of ours | 2/4 | 2/4 |" in text
    assert "sharing a family row" not in text  # one model per family: nothing to split


def test_summary_splits_a_family_row_shared_by_several_configs() -> None:
    """Two MOTHERNET fine-tuned configs (MotherNetFT, MotherNetFT_P) are one family row; the
    summary also gives each model's own count and weight."""
    uplift = _script()
    weights = [{"MotherNetFT": 0.6, "LightGBM": 0.4}, {"MotherNetFT_P": 0.2, "LightGBM": 0.8}]
    rows = []
    for split, w in enumerate(weights):
        for arm, auc in (("gbdt", 0.8), ("gbdt+ours", 0.81)):
            ours = arm == "gbdt+ours"
            rows.append(
                dict(
                    zip(uplift.KEY, ("a", split, arm, 60.0, "medium_quality", "cfg")),
                    auc=auc,
                    fit_s=1.0,
                    predict_s=0.1,
                    weights=json.dumps(w if ours else {}),
                    models_fit="MotherNetFT;MotherNetFT_P;LightGBM" if ours else "LightGBM",
                )
            )
    text = uplift.summarise(pd.DataFrame(rows))
    assert "| mothernet_ft | 2/2 | 2/2 | 0.400 |" in text
    assert "| MotherNetFT | mothernet_ft | 1/2 | 0.600 |" in text
    assert "| MotherNetFT_P | mothernet_ft | 1/2 | 0.200 |" in text


def test_reuse_gbdt_copies_only_missing_gbdt_rows(tmp_path: Path) -> None:
    """--gbdt-from: another run's gbdt rows of the chosen datasets, splits and time limit are
    copied under this run's ours_config; rows this run already has and its other arm are not."""
    import argparse

    uplift = _script()
    source = tmp_path / "other.csv"
    rows = [
        dict(zip(uplift.KEY, (name, split, arm, limit, "medium_quality", "old")), auc=0.7)
        for name in ("a", "b", "c")
        for split in (0, 1)
        for arm in uplift.ARMS
        for limit in (60.0, 20.0)
    ]
    pd.DataFrame(rows).to_csv(source, index=False)
    args = argparse.Namespace(time_limit=60.0, presets="medium_quality", splits=1)
    done = {("b", 0, "gbdt", 60.0, "medium_quality", "new")}

    table, done = uplift.reuse_gbdt(pd.DataFrame(), done, source, ["a", "b"], args, "new")

    assert table[["dataset", "split", "arm", "time_limit"]].values.tolist() == [
        ["a", 0, "gbdt", 60.0]
    ]
    assert table["ours_config"].tolist() == ["new"]
    assert table["gbdt_from"].tolist() == ["other.csv"]
    assert ("a", 0, "gbdt", 60.0, "medium_quality", "new") in done and len(done) == 2


def test_versus_pairs_two_runs_on_common_splits() -> None:
    """--versus: the + ours arms of two runs, each against its gbdt arm, on the splits both have."""
    uplift = _script()

    def run(config: str, ours_auc: dict, smash: float) -> pd.DataFrame:
        rows = []
        for (name, split), auc in ours_auc.items():
            for arm, value in (("gbdt", 0.8), ("gbdt+ours", auc)):
                weights = {"SMASH": smash, "CatBoost": 1 - smash} if arm != "gbdt" else {}
                key = (name, split, arm, 60.0, "medium_quality", config)
                rows.append(dict(zip(uplift.KEY, key), auc=value, weights=json.dumps(weights)))
        return pd.DataFrame(rows)

    a = run("old", {("x", 0): 0.78, ("y", 0): 0.82, ("z", 0): 0.9}, smash=0.8)
    b = run("new", {("x", 0): 0.80, ("y", 0): 0.83}, smash=0.2)
    text = uplift.versus(a, b, ("A", "B"))
    assert "2 datasets, 2 dataset x splits in both runs" in text
    assert "| mean test AUC | 0.8000 | 0.8000 | 0.8150 |" in text
    assert "| worst dataset diff vs gbdt | | -0.0200 (x) | +0.0000 (x) |" in text
    assert "| datasets below noise | | 1 | 0 |" in text
    assert "| SMASH mean weight | | 0.800 | 0.200 |" in text
    assert "mean +0.0150" in text and "better on 2, equal on 0, worse on 0" in text


def test_only_splits_fits_nothing_outside_them() -> None:
    """--only-splits: with split 0 done and only split 0 asked for, nothing is fitted (split 1
    of --splits 2 is left alone); a split id not below --splits is refused before any fit."""
    uplift = _script()
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    ds = Dataset("tiny-wdbc", X.iloc[:60, :3], y.iloc[:60])
    done = {("tiny-wdbc", 0, arm, 60.0, "medium_quality", "cfg") for arm in uplift.ARMS}
    args = dict(splits=2, time_limit=60.0, presets="medium_quality", num_cpus=1, ours={})
    rows = uplift.run_dataset(
        "tiny-wdbc", done=done, ours_config="cfg", dataset=ds, only={0}, **args
    )
    assert rows == []
    with pytest.raises(SystemExit):
        uplift.main(["--suite", "breast-w", "--splits", "2", "--only-splits", "2"])


def test_code_label_is_fixed_at_first_call() -> None:
    """--code names a frozen install; later calls (one per row) return the same label."""
    uplift = _script()  # a fresh module: nothing recorded yet
    assert uplift.code_state("abc123-frozen") == "abc123-frozen"
    assert uplift.code_state() == "abc123-frozen"


def test_summary_states_the_rows_load_not_the_load_at_summary_time() -> None:
    uplift = _script()
    table = pd.DataFrame({"load_avg_1m": [2.0, 1.5, 3.3, None]})
    assert uplift.load_phrase(table) == "median 2.0, range 1.5-3.3 over the rows"
    assert uplift.load_phrase(pd.DataFrame({"auc": [0.9]})) == "not recorded"
