"""Paired tables of mothernet-ft (MotherNet + fine-tuning) settings from a benchmark run store.

Selection set: each ``--set mothernet-ft.P=V`` group paired with the current defaults on the same
dataset x split (SE over the per-dataset mean differences), as ``inn_defaults_table.py`` does for
INN. Report set (``--committed``): each group paired with families of a committed ``runs.csv``
(tuned XGBoost, the old mothernet-ft), with datasets better / equal / worse and the fit-time ratio.

    python benchmarks/mothernet_ft_table.py --tracking-uri sqlite:////tmp/u4/sel.db \
        --out benchmarks/results/mothernet_ft_selection.csv
    python benchmarks/mothernet_ft_table.py --tracking-uri sqlite:////tmp/u4/cc18.db \
        --experiment benchmark-cc18-30 --committed benchmarks/results/benchmark_full_cc18-30/runs.csv \
        --out benchmarks/results/mothernet_ft_cc18-30.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from inn_defaults_table import against_committed, markdown, paired_table

# What every mothernet-ft run logs; the rest of its parameters are the --set overrides.
BASE_PARAMS = {"finetune_steps", "random_state"}
TIE = 5e-4  # per-dataset mean AUC differences smaller than this count as equal


def load_runs(tracking_uri: str, experiment: str) -> pd.DataFrame:
    """One row per finished per-split run: dataset, split, setting, auc, fit_s."""
    mlflow.set_tracking_uri(tracking_uri)
    runs = mlflow.search_runs(
        experiment_names=[experiment],
        filter_string="tags.`automl_hyper.role` = 'benchmark-run' and status = 'FINISHED'",
    )
    runs = runs[runs["tags.automl_hyper.family"] == "mothernet-ft"]
    params = [c for c in runs.columns if c.startswith("params.")]
    overrides = [c for c in params if c.removeprefix("params.") not in BASE_PARAMS]
    steps = runs.get("params.finetune_steps", pd.Series("50", index=runs.index))

    def setting(row: pd.Series) -> str:
        items = [f"{c.removeprefix('params.')}={row[c]}" for c in overrides if pd.notna(row[c])]
        if str(steps[row.name]) != "50":
            items.append(f"finetune_steps={steps[row.name]}")
        return ",".join(sorted(items)) or "defaults"

    frame = pd.DataFrame(
        {
            "dataset": runs["tags.automl_hyper.dataset"],
            "split": runs["tags.automl_hyper.split"].astype(int),
            "setting": runs.apply(setting, axis=1),
            "auc": runs["metrics.auc"],
            "fit_s": runs["metrics.fit_s"],
            "epochs": np.nan,  # paired_table's column; fine-tuning logs no epochs
        }
    )
    return frame.drop_duplicates(["dataset", "split", "setting"])


def per_dataset_counts(runs: pd.DataFrame, committed: Path, families: list[str]) -> pd.DataFrame:
    """Datasets (mean over splits) better / equal (|diff| < TIE) / worse than each family."""
    old = pd.read_csv(committed)
    old = old[old.status == "ok"]
    rows = []
    for name, group in runs.groupby("setting"):
        mine = group.groupby("dataset").auc.mean()
        for family in families:
            theirs = old[old.family == family].groupby("dataset").auc.mean()
            diff = (mine - theirs).dropna()
            rows.append(
                {
                    "setting": name,
                    "against": family,
                    "datasets": len(diff),
                    "better": int((diff >= TIE).sum()),
                    "equal": int((diff.abs() < TIE).sum()),
                    "worse": int((diff <= -TIE).sum()),
                }
            )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--experiment", default="benchmark-selection")
    parser.add_argument("--out", type=Path, help="CSV of the table (and <out>.runs.csv)")
    parser.add_argument("--committed", type=Path, help="runs.csv to pair with (not the baseline)")
    parser.add_argument("--against", default="xgboost-tuned,mothernet-ft", help="its families")
    parser.add_argument("--baseline", default="defaults", help="setting to pair with")
    args = parser.parse_args(argv)
    runs = load_runs(args.tracking_uri, args.experiment)
    if args.committed:
        families = args.against.split(",")
        table = against_committed(runs, args.committed, families)
        table = table.merge(per_dataset_counts(runs, args.committed, families))
        table["fit_ratio"] = table.fit_s / table.their_fit_s
    else:
        table = paired_table(runs, args.baseline).drop(columns="epochs")
    print(markdown(table))
    if args.out:
        table.to_csv(args.out, index=False)
        runs.drop(columns="epochs").sort_values(["setting", "dataset", "split"]).to_csv(
            args.out.with_suffix(".runs.csv"), index=False
        )


if __name__ == "__main__":
    main()
