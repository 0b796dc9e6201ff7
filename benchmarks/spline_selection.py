"""Spline (piecewise-linear) input encoding for INN's trunk and SMASH's children, on the selection
set (issue 13 item 5; automl_hyper/data/spline.py).

``run``: one arm of one family over the SELECTION set x SELECTION_SPLITS paper splits (seed 0),
budget small, seed = split, the zoo defaults plus the arm's ``--set`` overrides, as ``automl-hyper
benchmark`` builds them (``compare.family_params``). Per run: test ROC AUC, fit wall seconds,
fit CPU seconds of this thread (both families train on it alone), the network's input width.
Appends to ``--out`` and skips the (dataset, split, arm) rows it already has.

``report``: each arm paired with ``--base`` on the same dataset x split: mean AUC, gain, SE of the
16 per-dataset mean gains, datasets up / down, datasets below noise (mean gain < -max(0.005, 2 x
SE of its split gains)), the median per-run fit-time ratio, and tuned XGBoost on the same splits
from a committed runs CSV for context. Prints Markdown.

    nice -n 5 python benchmarks/spline_selection.py run --family inn --arm defaults \\
        --out benchmarks/results/inn_spline_selection.csv
    nice -n 5 python benchmarks/spline_selection.py run --family inn --arm spline \\
        --set trunk_encoding=spline --out benchmarks/results/inn_spline_selection.csv
    python benchmarks/spline_selection.py report benchmarks/results/inn_spline_selection.csv
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_shared  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
# Tuned XGBoost (budget small, 15 trials or 30 s) on the same 16 x 3 selection splits.
XGB_RUNS = RESULTS / "inn_defaults_selection5.runs.csv"


def _overrides(items: list[str]) -> dict:
    out = {}
    for item in items or []:
        key, _, value = item.partition("=")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def _input_width(est) -> int:
    if hasattr(est, "ensemble_nets_"):  # SMASH
        return int(est.net_.weights[0].shape[1])
    net = est.ensemble_[0]  # INN
    return int(net.trunk.stem.in_features)


def fit_one(family: str, name: str, split: int, n_splits: int, overrides: dict) -> dict:
    import torch

    from automl_hyper import zoo
    from automl_hyper.compare import family_params
    from automl_hyper.data.splits import paper_splits
    from automl_hyper.metrics import auc_score

    torch.set_num_threads(1)
    data = load_shared(name)
    train, test = paper_splits(data.y, n_splits=n_splits, seed=0)[split]
    params = family_params(family, "small", split, overrides)
    est = zoo.get(family).make("classification", **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wall0, cpu0 = time.perf_counter(), time.thread_time()
        est.fit(data.X.iloc[train], data.y.iloc[train])
        fit_s, fit_cpu_s = time.perf_counter() - wall0, time.thread_time() - cpu0
        proba = est.predict_proba(data.X.iloc[test])
    y = np.searchsorted(est.classes_, data.y.iloc[test].to_numpy())
    return {
        "dataset": name,
        "split": split,
        "auc": auc_score(y, proba),
        "fit_s": fit_s,
        "fit_cpu_s": fit_cpu_s,
        "input_width": _input_width(est),
        "n_features_out": est.preprocessor_.n_features_out_,
        "load1": os.getloadavg()[0],
    }


def run(args: argparse.Namespace) -> None:
    from automl_hyper.data.benchmark_sets import REPORT_SET, SELECTION_SET, SELECTION_SPLITS

    overrides = _overrides(args.set)
    out = Path(args.out)
    done = set()
    if out.is_file():
        prev = pd.read_csv(out)
        done = set(zip(prev.dataset, prev.split, prev.arm))
    if args.datasets == "report":
        names = list(REPORT_SET)
    else:
        names = args.datasets.split(",") if args.datasets else list(SELECTION_SET)
    n_splits = args.splits or SELECTION_SPLITS
    for name in names:
        for split in range(args.from_split, n_splits):
            if (name, split, args.arm) in done:
                continue
            row = fit_one(args.family, name, split, n_splits, overrides)
            row = {"family": args.family, "arm": args.arm, **row, "overrides": repr(overrides)}
            pd.DataFrame([row]).to_csv(out, mode="a", header=not out.is_file(), index=False)
            print(
                f"{args.family} {args.arm} {name} {split}: auc {row['auc']:.4f} "
                f"fit {row['fit_s']:.1f}s (cpu {row['fit_cpu_s']:.1f}) width {row['input_width']}",
                flush=True,
            )


def _cell(column: str, v) -> str:
    if isinstance(v, float):
        if np.isnan(v):
            return ""
        if column in ("gain", "vs_xgb", "worst_dataset_gain"):
            return f"{v:+.4f}"
        if column.endswith("_s") or column.endswith("ratio"):
            return f"{v:.2f}"
        return f"{v:.4f}"
    return str(v)


def markdown(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(c, v) for c, v in zip(frame.columns, row)) + " |")
    return "\n".join(lines)


def report(args: argparse.Namespace) -> None:
    runs = pd.read_csv(args.csv, float_precision="round_trip")
    wide = runs.pivot_table(index=["dataset", "split"], columns="arm", values="auc")
    fit = runs.pivot_table(index=["dataset", "split"], columns="arm", values="fit_s")
    cpu = runs.pivot_table(index=["dataset", "split"], columns="arm", values="fit_cpu_s")
    xgb = None
    xgb_runs = Path(args.xgb) if args.xgb else XGB_RUNS
    if xgb_runs.is_file():
        old = pd.read_csv(xgb_runs, float_precision="round_trip")
        who = old.setting if "setting" in old else old.family  # a benchmark runs.csv: family
        xgb = old[who == "xgboost-tuned"].set_index(["dataset", "split"])["auc"]
    rows, per_dataset = [], {}
    base_row = {
        "arm": args.base,
        "runs": int(wide[args.base].notna().sum()),
        "mean_auc": wide[args.base].mean(),
        "median_fit_s": fit[args.base].median(),
    }
    if xgb is not None:
        common = wide.index.intersection(xgb.index)
        base_row["vs_xgb"] = (wide.loc[common, args.base] - xgb.loc[common]).mean()
        base_row["xgb_runs"] = len(common)
    for arm in wide.columns.drop(args.base):
        both = wide[[arm, args.base]].dropna()
        diff = both[arm] - both[args.base]
        by_ds = diff.groupby(level="dataset")
        mean_ds = by_ds.mean()
        se_ds = by_ds.std(ddof=1) / np.sqrt(by_ds.count())
        below = mean_ds[mean_ds < -np.maximum(0.005, 2 * se_ds.fillna(0.0))]
        per_dataset[arm] = mean_ds
        ratio = (fit[arm] / fit[args.base]).loc[both.index]
        cpu_ratio = (cpu[arm] / cpu[args.base]).loc[both.index]
        row = {
            "arm": arm,
            "runs": len(both),
            "datasets": len(mean_ds),
            "mean_auc": both[arm].mean(),
            "gain": diff.mean(),
            "se": mean_ds.std(ddof=1) / np.sqrt(len(mean_ds)) if len(mean_ds) > 1 else np.nan,
            "datasets_up": int((mean_ds > 0).sum()),
            "datasets_down": int((mean_ds < 0).sum()),
            "below_noise": ",".join(below.index) or "none",
            "worst_dataset_gain": mean_ds.min(),
            "median_fit_s": fit.loc[both.index, arm].median(),
            "fit_ratio": ratio.median(),
            "cpu_ratio": cpu_ratio.median(),
        }
        if xgb is not None:
            common = both.index.intersection(xgb.index)
            row["vs_xgb"] = (both.loc[common, arm] - xgb.loc[common]).mean()
            row["xgb_runs"] = len(common)
        rows.append(row)
    table = pd.DataFrame(rows).sort_values("gain", ascending=False, ignore_index=True)
    table = pd.concat([pd.DataFrame([base_row]), table], ignore_index=True)
    for column in ("datasets", "datasets_up", "datasets_down", "xgb_runs"):
        if column in table:
            table[column] = table[column].astype("Int64").astype(str).replace("<NA>", "")
    print(markdown(table))
    print()
    frame = pd.DataFrame(per_dataset).sort_index()
    frame.insert(0, "dataset", frame.index)
    frame.columns = ["dataset"] + [f"{c} - {args.base}" for c in frame.columns[1:]]
    print(markdown(frame.reset_index(drop=True)))
    if args.out:
        table.to_csv(args.out, index=False)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--family", required=True, choices=["inn", "smash"])
    r.add_argument("--arm", required=True)
    r.add_argument("--set", nargs="*", default=[], help="key=value estimator overrides")
    r.add_argument(
        "--datasets", default=None, help="comma list, or 'report' (default: the selection set)"
    )
    r.add_argument("--splits", type=int, default=None, help="default SELECTION_SPLITS")
    r.add_argument(
        "--from-split", type=int, default=0, help="run splits from this one (unseen splits only)"
    )
    r.add_argument("--out", required=True)
    p = sub.add_parser("report")
    p.add_argument("csv")
    p.add_argument("--base", default="defaults")
    p.add_argument("--xgb", help=f"runs CSV with xgboost-tuned rows (default {XGB_RUNS.name})")
    p.add_argument("--out", help="CSV of the summary table")
    args = ap.parse_args(argv)
    run(args) if args.command == "run" else report(args)


if __name__ == "__main__":
    main()
