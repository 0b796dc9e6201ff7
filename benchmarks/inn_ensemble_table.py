"""Round 5 of the INN defaults (issue 13): seed ensembles (``n_estimators``) against the single
fit and against tuned XGBoost's fit time, from one benchmark store.

Selection set (decides): every INN setting paired with the baseline (gain, SE over datasets),
its median fit time, and the same against ``xgboost-tuned`` runs of the same store and splits.

    python benchmarks/inn_ensemble_table.py --tracking-uri sqlite:////tmp/inn5/mlflow.db \
        --out benchmarks/results/inn_defaults_selection5.csv

Report set (``--experiment benchmark-cc18-30 --committed-full ... --committed-single ...``): the
INN runs paired with committed rows (tuned XGBoost and INN of the full run, the current single fit).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from inn_defaults_table import load_runs, markdown, paired_table, paired_with


def with_times(runs: pd.DataFrame, table: pd.DataFrame, xgb: pd.DataFrame) -> pd.DataFrame:
    """Add each setting's median fit time, tuned XGBoost's on the same splits, and the paired
    AUC difference to XGBoost (SE over datasets)."""
    ref = xgb.set_index(["dataset", "split"])
    extra = []
    for name in table.setting:
        g = runs[runs.setting == name].set_index(["dataset", "split"])
        common = g.index.intersection(ref.index)
        diff = g.loc[common, "auc"] - ref.loc[common, "auc"]
        per_dataset = diff.groupby(level="dataset").mean()
        extra.append(
            {
                "setting": name,
                "median_fit_s": g["fit_s"].median(),
                "xgb_runs": len(common),
                "xgb_median_fit_s": ref.loc[common, "fit_s"].median() if len(common) else np.nan,
                "vs_xgb": diff.mean() if len(common) else np.nan,
                "vs_xgb_se": per_dataset.std(ddof=1) / np.sqrt(len(per_dataset))
                if len(per_dataset) > 1
                else np.nan,
            }
        )
    out = table.merge(pd.DataFrame(extra), on="setting")
    out["time_ratio_to_xgb"] = out.median_fit_s / out.xgb_median_fit_s
    return out


def per_dataset(runs: pd.DataFrame, baseline: str = "defaults") -> pd.DataFrame:
    """Mean AUC per dataset and setting (columns), with the baseline first."""
    wide = runs.pivot_table(index="dataset", columns="setting", values="auc", aggfunc="mean")
    cols = [baseline] + [c for c in wide.columns if c != baseline]
    return wide[cols].reset_index()


def against_committed(runs: pd.DataFrame, refs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each setting paired with each committed reference on the same dataset x split."""
    rows = []
    for name, group in runs.groupby("setting"):
        g = group.set_index(["dataset", "split"])
        for label, ref in refs.items():
            r = ref.set_index(["dataset", "split"])
            common = g.index.intersection(r.index)
            rows.append(
                {
                    "setting": name,
                    "against": label,
                    **paired_with(g, r),
                    "median_fit_s": g.loc[common, "fit_s"].median(),
                    "their_median_fit_s": r.loc[common, "fit_s"].median(),
                }
            )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--experiment", default="benchmark-selection")
    parser.add_argument("--baseline", default="defaults")
    parser.add_argument("--out", type=Path, help="CSV of the table (and <out>.runs.csv)")
    parser.add_argument("--committed-full", type=Path, help="benchmark_full runs.csv")
    parser.add_argument("--committed-single", type=Path, help="runs.csv of the single fit")
    parser.add_argument("--single-setting", default="learning_rate=0.003")
    args = parser.parse_args(argv)
    runs = load_runs(args.tracking_uri, args.experiment, family="inn")
    if args.committed_full:
        full = pd.read_csv(args.committed_full)
        full = full[full.status == "ok"]
        refs = {f: full[full.family == f] for f in ("xgboost-tuned", "inn")}
        refs = {f"{k} (full run)": v for k, v in refs.items()}
        if args.committed_single:
            single = pd.read_csv(args.committed_single)
            refs["inn single fit"] = single[single.setting == args.single_setting]
        table = against_committed(runs, refs)
    else:
        xgb = load_runs(args.tracking_uri, args.experiment, family="xgboost-tuned")
        table = with_times(runs, paired_table(runs, args.baseline), xgb)
        print(markdown(per_dataset(pd.concat([runs, xgb.assign(setting="xgboost-tuned")]))))
        print()
        runs = pd.concat([runs, xgb.assign(setting="xgboost-tuned")])
    print(markdown(table))
    if args.out:
        table.to_csv(args.out, index=False)
        runs.sort_values(["setting", "dataset", "split"]).to_csv(
            args.out.with_suffix(".runs.csv"), index=False
        )


if __name__ == "__main__":
    main()
