"""MotherNet (generation only and + fine-tuning) against tuned XGBoost and logistic regression.

Protocol of the MotherNet paper (docs/benchmark_protocol.md): the 30 datasets of TABPFN_CC18_30.txt, 5 splits of
train = min(1000, n/2) rows and a test set of the same size, stratified; ROC AUC (one-vs-one
macro for multiclass); fit and predict wall time in the same process. Prints per-dataset AUC next
to the paper's published AUCs and each model's fit+predict time relative to tuned XGBoost.

    python benchmarks/mothernet_vs_xgb.py                         # the full run (long)
    python benchmarks/mothernet_vs_xgb.py --datasets breast-w,diabetes --splits 1 --xgb-budget small
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
from common import load_shared

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "datasets"
ANCHORS = ROOT.parent / "shared" / "anchors" / "mothernet_paper_auc_by_dataset.csv"


def models(args) -> dict[str, tuple[str, dict]]:
    ckpt = {"checkpoint": args.checkpoint} if args.checkpoint else {}
    out = {
        "MotherNet": ("mothernet", {**ckpt, "n_estimators": args.n_estimators}),
        f"MotherNet+ft{args.finetune_steps}": (
            "mothernet",
            {**ckpt, "n_estimators": args.n_estimators, "finetune_steps": args.finetune_steps},
        ),
        "LogReg": ("logreg", {}),
    }
    if not args.no_xgb:
        out["XGB-tuned"] = ("xgboost-tuned", "budget")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--datasets", default=None, help="comma-separated (default: the 30)")
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--checkpoint", default=None, help="MotherNet checkpoint (default shipped)")
    parser.add_argument("--n-estimators", type=int, default=4)
    parser.add_argument("--finetune-steps", type=int, default=50)
    parser.add_argument("--xgb-budget", default="small", choices=("small", "paper"))
    parser.add_argument("--no-xgb", action="store_true", help="leave tuned XGBoost out")
    parser.add_argument("--csv", default=None, help="also write every dataset x split x model row")
    parser.add_argument(
        "--report",
        nargs="+",
        default=None,
        help="only print the tables for CSVs written by earlier runs (e.g. dataset groups)",
    )
    args = parser.parse_args(argv)
    if args.report:
        res = pd.concat([pd.read_csv(path) for path in args.report])
        report(res, sorted(res.dataset.unique()), int(res.split.max()) + 1)
        return 0

    import torch

    from automl_hyper.compare import evaluate, family_params
    from automl_hyper.data.splits import paper_splits

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    names = (
        args.datasets.split(",")
        if args.datasets
        else (args.data_dir / "TABPFN_CC18_30.txt").read_text().split()
    )
    rows = []
    for name in names:
        data = load_shared(name, args.data_dir)  # the package's loader, categoricals typed
        X, y = data.X, data.y
        for split, (tr, te) in enumerate(paper_splits(y, n_splits=args.splits, seed=0)):
            for label, (family, params) in models(args).items():
                if params == "budget":
                    params = family_params(family, args.xgb_budget, split)
                else:
                    params = {**params, "random_state": split}
                try:
                    rec, _ = evaluate(
                        family, params, X.iloc[tr], y.iloc[tr], X.iloc[te], y.iloc[te]
                    )
                    tuning = rec.extra.get("tuning_s", float("nan"))
                    rows.append((name, split, label, rec.auc, rec.fit_s, rec.predict_s, tuning))
                except Exception as err:  # noqa: BLE001 - one failing model must not end the run
                    print(f"{name} split {split} {label}: FAILED {err}", file=sys.stderr)
            print(f"{name} split {split} done", file=sys.stderr, flush=True)
    cols = ["dataset", "split", "model", "auc", "fit_s", "predict_s", "tuning_s"]
    res = pd.DataFrame(rows, columns=cols)
    res["time_s"] = res.fit_s + res.predict_s
    if args.csv:
        res.to_csv(args.csv, index=False)
    report(res, names, args.splits)
    return 0


def report(res: pd.DataFrame, names: list[str], n_splits: int) -> None:
    """Per-dataset AUC next to the paper's, mean AUC, and time ratios (also for merged CSVs)."""
    anchors = pd.read_csv(ANCHORS).set_index("dataset")
    auc = res.pivot_table(index="dataset", columns="model", values="auc", aggfunc="mean")
    for col in ("MotherNet-2024-classavg-ens8", "XGBoost-tuned-1h"):
        auc[f"paper {col}"] = anchors[col].reindex(auc.index)
    pd.set_option("display.width", 200)
    print("\nROC AUC (mean over splits), with the paper's published AUCs:")
    print(auc.round(4).to_string())
    print("\nmean AUC:")
    print(auc.mean().round(4).to_string())
    times = res.groupby("model")[["fit_s", "predict_s", "time_s"]].median()
    xgb = res[res.model == "XGB-tuned"].set_index(["dataset", "split"])
    if not xgb.empty:
        # Ratios per dataset and split (same split, same process), then their median: XGBoost's
        # time including tuning, and its refit on the chosen hyperparameters + predict alone.
        keyed = res.set_index(["dataset", "split"])
        keyed["vs_tuned"] = keyed.time_s / xgb.time_s.reindex(keyed.index)
        # "Refit + predict": everything XGBoost's fit does except the hyperparameter search, i.e.
        # the same input checks and preprocessing MotherNet's time includes, the final fit on the
        # chosen hyperparameters, and predict.
        xgb_refit = xgb.time_s - xgb.tuning_s
        keyed["vs_refit"] = keyed.time_s / xgb_refit.reindex(keyed.index)
        ratios = keyed.groupby("model")[["vs_tuned", "vs_refit"]].median()
        times["time / XGB incl. tuning"] = ratios.vs_tuned
        times["time / XGB refit+predict"] = ratios.vs_refit
        print(f"\nXGB-tuned refit+predict alone: median {xgb_refit.median():.4f} s per split")
    print("\nmedian wall time per split (s) and median per-split time ratios:")
    print(times.round(4).to_string())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\npeak RSS {peak:.0f} MiB; {len(names)} datasets x {n_splits} splits; "
        f"finished {time.strftime('%Y-%m-%d %H:%M')}"
    )


if __name__ == "__main__":
    sys.exit(main())
