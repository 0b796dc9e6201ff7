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
    # generation only: --family mothernet --against xgboost-tuned,mothernet
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from inn_defaults_table import against_committed, load_runs, markdown, paired_table

# What every mothernet-ft run logs besides its --set overrides (finetune_steps: the zoo's 50).
BASE_PARAMS = {"finetune_steps": "50", "random_state": None}
TIE = 5e-4  # per-dataset mean AUC differences smaller than this count as equal


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
    parser.add_argument("--family", default="mothernet-ft", help="or mothernet (generation only)")
    parser.add_argument("--out", type=Path, help="CSV of the table (and <out>.runs.csv)")
    parser.add_argument("--committed", type=Path, help="runs.csv to pair with (not the baseline)")
    parser.add_argument("--against", default="xgboost-tuned,mothernet-ft", help="its families")
    parser.add_argument("--baseline", default="defaults", help="setting to pair with")
    args = parser.parse_args(argv)
    base = BASE_PARAMS if args.family == "mothernet-ft" else {"random_state": None}
    runs = load_runs(args.tracking_uri, args.experiment, args.family, base)
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
