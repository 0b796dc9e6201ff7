"""SMASH (current defaults) against tuned XGBoost on the 30 CC18 datasets, paired per split.

SMASH comes from an ``automl-hyper benchmark`` MLflow store, read through the package's own store
with the current code's run keys (so only runs made with today's effective SMASH parameters count);
tuned XGBoost and the old-defaults SMASH come from the committed full run's ``runs.csv`` (same
protocol: paper splits, seed 0, budget small). Pairs are the (dataset, split) with both runs ok.

    python benchmarks/smash_vs_xgb_table.py --tracking-uri sqlite:////tmp/u3/cc18.db \
        --csv benchmarks/results/smash_defaults_cc18_5splits.csv
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from common import FULL_RUN

XGB = "xgboost-tuned"
# AUCs closer than this count as equal (the tables print four decimals).
TIE = 1e-4


def smash_runs(tracking_uri: str, n_splits: int, suite: str = "cc18-30") -> pd.DataFrame:
    """Finished SMASH runs of the store whose key matches today's effective parameters."""
    from automl_hyper.benchmark import Plan, resolve_suite
    from automl_hyper.integrations.mlflow.benchmark import MLflowBenchmarkStore

    plan = Plan(suite=resolve_suite(suite), families=("smash",), n_splits=n_splits)
    runs = MLflowBenchmarkStore(tracking_uri).results(plan)
    return runs[runs.status == "ok"]


def paired(smash: pd.DataFrame, full: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, split) run by both: new SMASH, tuned XGBoost, old SMASH."""
    full = full[full.status == "ok"]
    wide = full.pivot_table(index=["dataset", "split"], columns="family", values=["auc", "fit_s"])
    base = pd.DataFrame(
        {
            "xgb_auc": wide[("auc", XGB)],
            "xgb_fit_s": wide[("fit_s", XGB)],
            "old_smash_auc": wide[("auc", "smash")],
        }
    )
    new = smash.set_index(["dataset", "split"])[["auc", "fit_s"]]
    new.columns = ["smash_auc", "smash_fit_s"]
    out = new.join(base, how="inner").reset_index()
    out["delta"] = out.smash_auc - out.xgb_auc
    out["fit_ratio"] = out.smash_fit_s / out.xgb_fit_s
    return out.sort_values(["dataset", "split"]).reset_index(drop=True)


def counts(delta: pd.Series) -> str:
    return f"{(delta > TIE).sum()}/{(delta.abs() <= TIE).sum()}/{(delta < -TIE).sum()}"


def summary(pairs: pd.DataFrame, full: pd.DataFrame) -> str:
    """The markdown tables: overall figures, old defaults, worst 5 datasets."""
    per = pairs.groupby("dataset").agg(
        splits=("split", "size"),
        smash=("smash_auc", "mean"),
        xgb=("xgb_auc", "mean"),
        old=("old_smash_auc", "mean"),
        delta=("delta", "mean"),
        smash_fit_s=("smash_fit_s", "median"),
        xgb_fit_s=("xgb_fit_s", "median"),
    )
    se = per.delta.std(ddof=1) / np.sqrt(len(per))
    old_delta = (per.old - per.xgb).mean()
    old_se = (per.old - per.xgb).std(ddof=1) / np.sqrt(len(per))
    ok = full[full.status == "ok"].pivot_table(
        index=["dataset", "split"], columns="family", values="auc"
    )
    old_all = (ok["smash"] - ok[XGB]).groupby("dataset").mean()
    lines = [
        f"Pairs: {len(pairs)} dataset x split over {len(per)} datasets "
        f"(splits per dataset: {per.splits.min()}-{per.splits.max()}).",
        "",
        "| | mean AUC | delta vs tuned XGBoost (SE over datasets) | datasets b/e/w | splits b/e/w |",
        "|---|---|---|---|---|",
        f"| smash, current defaults | {pairs.smash_auc.mean():.4f} | {per.delta.mean():+.4f} "
        f"({se:.4f}) | {counts(per.delta)} | {counts(pairs.delta)} |",
        f"| smash, old defaults (full run, same pairs) | {pairs.old_smash_auc.mean():.4f} | "
        f"{old_delta:+.4f} ({old_se:.4f}) | {counts(per.old - per.xgb)} | "
        f"{counts(pairs.old_smash_auc - pairs.xgb_auc)} |",
        f"| xgboost-tuned (full run, same pairs) | {pairs.xgb_auc.mean():.4f} | | | |",
        f"| smash, old defaults (full run, all 30 x 5) | {ok['smash'].mean():.4f} | "
        f"{old_all.mean():+.4f} ({old_all.std(ddof=1) / np.sqrt(len(old_all)):.4f}) | "
        f"{counts(old_all)} | {counts(ok['smash'] - ok[XGB])} |",
        f"| xgboost-tuned (full run, all 30 x 5) | {ok[XGB].mean():.4f} | | | |",
        "",
        f"Fit time: SMASH median {pairs.smash_fit_s.median():.1f} s (max "
        f"{pairs.smash_fit_s.max():.1f}), tuned XGBoost (incl. its Optuna tuning) median "
        f"{pairs.xgb_fit_s.median():.1f} s; median per-pair ratio SMASH / XGBoost "
        f"{pairs.fit_ratio.median():.2f}.",
        "",
        "Per dataset (sorted by delta, worst first; the worst 5 are the first 5 rows):",
        "",
        "| dataset | splits | smash | smash old | xgboost-tuned | smash - xgb | "
        "median fit s smash | median fit s xgb |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in per.sort_values("delta").iterrows():
        lines.append(
            f"| {name} | {int(r.splits)} | {r.smash:.4f} | {r.old:.4f} | {r.xgb:.4f} | "
            f"{r.delta:+.4f} | {r.smash_fit_s:.1f} | {r.xgb_fit_s:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--runs-csv", default=str(FULL_RUN))
    parser.add_argument("--csv", default=None, help="also write the paired rows here")
    args = parser.parse_args(argv)

    full = pd.read_csv(args.runs_csv)
    pairs = paired(smash_runs(args.tracking_uri, args.splits), full)
    if args.csv:
        pairs.to_csv(args.csv, index=False, float_format="%.6g")
    print(summary(pairs, full))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
