"""Zoo families against tuned XGBoost on the 30 CC18 datasets, with the paper protocol.

Per dataset: mean ROC AUC over the splits for each family, next to the paper's published tuned
XGBoost (1 h) and MotherNet AUCs; fit+predict time relative to tuned XGBoost's refit+predict.

    python benchmarks/cc18_vs_xgb.py --families inn,logreg --splits 5
    python benchmarks/cc18_vs_xgb.py --families inn --datasets diabetes,kc2 --splits 1 --xgb-trials 10
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd
from common import anchors, cc18_names, load_shared, peak_rss_mb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default="inn")
    parser.add_argument("--datasets", default=None, help="comma-separated (default: the 30)")
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--budget", default="small", choices=("small", "paper"))
    parser.add_argument("--xgb-trials", type=int, default=None, help="override the budget's trials")
    parser.add_argument(
        "--xgb-time", type=float, default=None, help="override the budget's seconds"
    )
    parser.add_argument("--out", default=None, help="also write the per-dataset table as CSV")
    args = parser.parse_args(argv)

    import torch

    from automl_hyper.compare import REFERENCE, run_comparison

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    families = [f for f in args.families.split(",") if f] + [REFERENCE]
    xgb = {k: v for k, v in (("n_trials", args.xgb_trials), ("time_budget", args.xgb_time)) if v}
    names = args.datasets.split(",") if args.datasets else cc18_names()
    paper = anchors()
    rows, start = [], time.time()
    for name in names:
        ds = load_shared(name)
        comparison = run_comparison(
            ds,
            families,
            n_splits=args.splits,
            budget=args.budget,
            overrides={REFERENCE: xgb},
            progress=False,
        )
        board = comparison.leaderboard().set_index("family")
        row = {"dataset": name}
        for fam in families:
            row[f"{fam} auc"] = board.loc[fam, "auc_mean"]
            if fam != REFERENCE:
                row[f"{fam} x xgb refit"] = board.loc[fam].get("time_vs_xgb_refit", float("nan"))
                row[f"{fam} x xgb tuned"] = board.loc[fam].get(
                    "time_vs_xgb_with_tuning", float("nan")
                )
        row["paper xgb-1h"] = paper.loc[name, "XGBoost-tuned-1h"] if name in paper.index else None
        row["paper MotherNet"] = (
            paper.loc[name, "MotherNet-2024-classavg-ens8"] if name in paper.index else None
        )
        rows.append(row)
        print(
            pd.DataFrame([row]).to_string(index=False, header=len(rows) == 1, float_format="%.4f"),
            flush=True,
        )
    table = pd.DataFrame(rows)
    print("\nmean over datasets:")
    print(table.drop(columns="dataset").mean(numeric_only=True).to_string(float_format="%.4f"))
    print(
        f"\n{len(names)} datasets, {args.splits} splits, {time.time() - start:.0f} s, peak RSS {peak_rss_mb():.0f} MB"
    )
    if args.out:
        table.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
