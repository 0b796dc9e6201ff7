"""Paired table of INN settings from a benchmark run store (issue 13: INN defaults).

Reads the per-split runs that ``automl-hyper benchmark --families inn --set inn.P=V`` logged to
an MLflow store, groups them by their ``--set`` overrides (the runs' parameters minus the
baseline's) and pairs each group with the baseline on the same dataset x split. Noise is the
standard error of the per-dataset mean differences.

    python benchmarks/inn_defaults_table.py --tracking-uri sqlite:////tmp/inn_sweep/mlflow.db \
        --experiment benchmark-selection --out benchmarks/results/inn_defaults_selection.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import markdown  # noqa: E402

# Parameters a family's runs log that are not ``--set`` overrides, so not part of a setting's name:
# None = always left out, a value = left out while the run has that value (the zoo's default).
# Every small-budget INN run logs max_epochs 40; another value (round 4) names the setting.
BASE_PARAMS = {"max_epochs": "40", "random_state": None}


def load_runs(
    tracking_uri: str,
    experiment: str,
    family: str | None = None,
    base_params: dict[str, str | None] = BASE_PARAMS,
) -> pd.DataFrame:
    """One row per finished per-split run (of ``family``, else of every family): dataset, split,
    setting (its ``--set`` overrides, or "defaults"), auc, fit_s, epochs (NaN if not logged)."""
    mlflow.set_tracking_uri(tracking_uri)
    runs = mlflow.search_runs(
        experiment_names=[experiment],
        filter_string="tags.`automl_hyper.role` = 'benchmark-run' and status = 'FINISHED'",
    )
    if family is not None:
        runs = runs[runs["tags.automl_hyper.family"] == family]
    params = [c for c in runs.columns if c.startswith("params.")]

    def setting(row: pd.Series) -> str:
        items = []
        for column in params:
            name, value = column.removeprefix("params."), row[column]
            if pd.isna(value) or (name in base_params and base_params[name] in (None, value)):
                continue
            items.append(f"{name}={value}")
        return ",".join(sorted(items)) or "defaults"

    frame = pd.DataFrame(
        {
            "dataset": runs["tags.automl_hyper.dataset"],
            "split": runs["tags.automl_hyper.split"].astype(int),
            "setting": runs.apply(setting, axis=1),
            "auc": runs["metrics.auc"],
            "fit_s": runs["metrics.fit_s"],
            "epochs": runs.get("metrics.epochs", np.nan),
        }
    )
    return frame.drop_duplicates(["dataset", "split", "setting"])


def paired_table(runs: pd.DataFrame, baseline: str = "defaults") -> pd.DataFrame:
    """Mean AUC, paired gain over ``baseline`` with its SE over datasets, wins, fit time."""
    base = runs[runs.setting == baseline].set_index(["dataset", "split"])
    rows = []
    for name, group in runs.groupby("setting"):
        g = group.set_index(["dataset", "split"])
        common = g.index.intersection(base.index)
        diff = g.loc[common, "auc"] - base.loc[common, "auc"]
        per_dataset = diff.groupby(level="dataset").mean()
        n = len(per_dataset)
        rows.append(
            {
                "setting": name,
                "runs": len(common),
                "datasets": n,
                "auc": g.loc[common, "auc"].mean(),
                "gain": diff.mean(),
                "se": per_dataset.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan,
                "datasets_up": int((per_dataset > 0).sum()),
                "datasets_down": int((per_dataset < 0).sum()),
                "epochs": g.loc[common, "epochs"].mean(),
                "fit_s": g.loc[common, "fit_s"].mean(),
                "fit_ratio": g.loc[common, "fit_s"].mean() / base.loc[common, "fit_s"].mean(),
            }
        )
    return pd.DataFrame(rows).sort_values("gain", ascending=False)


def paired_with(g: pd.DataFrame, ref: pd.DataFrame) -> dict:
    """AUC of ``g`` against ``ref`` (both indexed by dataset x split) on their common splits; SE
    over the dataset-splits (as goals_vs_xgboost.txt) and over datasets."""
    common = g.index.intersection(ref.index)
    diff = g.loc[common, "auc"] - ref.loc[common, "auc"]
    per_dataset = diff.groupby(level="dataset").mean()
    return {
        "runs": len(common),
        "auc": g.loc[common, "auc"].mean(),
        "their_auc": ref.loc[common, "auc"].mean(),
        "diff": diff.mean(),
        "se_splits": diff.std(ddof=1) / np.sqrt(len(diff)),
        "se_datasets": per_dataset.std(ddof=1) / np.sqrt(len(per_dataset)),
        "splits_at_or_above": f"{int((diff > -1e-12).sum())}/{len(diff)}",
    }


def against_committed(runs: pd.DataFrame, committed: Path, families: list[str]) -> pd.DataFrame:
    """Each setting in ``runs`` paired with ``families`` of a committed ``runs.csv`` on the same
    dataset x split (:func:`paired_with`), with mean fit times."""
    old = pd.read_csv(committed)
    old = old[old.status == "ok"]
    rows = []
    for name, group in runs.groupby("setting"):
        g = group.set_index(["dataset", "split"])
        for family in families:
            ref = old[old.family == family].set_index(["dataset", "split"])
            common = g.index.intersection(ref.index)
            rows.append(
                {
                    "setting": name,
                    "against": family,
                    **paired_with(g, ref),
                    "fit_s": g.loc[common, "fit_s"].mean(),
                    "their_fit_s": ref.loc[common, "fit_s"].mean(),
                }
            )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--experiment", default="benchmark-selection")
    parser.add_argument("--out", type=Path, help="CSV of the table (and <out>.runs.csv)")
    parser.add_argument("--committed", type=Path, help="runs.csv to pair with (not the baseline)")
    parser.add_argument("--against", default="inn,xgboost-tuned", help="its families")
    parser.add_argument("--baseline", default="defaults", help="setting to pair with")
    args = parser.parse_args(argv)
    runs = load_runs(args.tracking_uri, args.experiment)
    if args.committed:
        table = against_committed(runs, args.committed, args.against.split(","))
    else:
        table = paired_table(runs, args.baseline)
    print(markdown(table, ".4f", rule=" --- |"))
    if args.out:
        table.to_csv(args.out, index=False)
        runs.sort_values(["setting", "dataset", "split"]).to_csv(
            args.out.with_suffix(".runs.csv"), index=False
        )


if __name__ == "__main__":
    main()
