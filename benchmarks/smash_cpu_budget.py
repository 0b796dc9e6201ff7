"""SMASH under its CPU-time budget (issue 13 point 5): default arms on a set of datasets, and the
finalist-averaging variants that each fit allows without refitting.

Each (dataset, paper split, arm) is fitted the way ``automl-hyper benchmark --budget small`` fits
it (``compare.family_params``: zoo defaults + budget small + the arm's overrides, seed = split;
``paper_splits(y, seed=0)``, whose split i does not depend on the number of splits; test AUC by
``metrics.auc_score``), with every trained finalist kept (``ensemble_top_k = top_k``), so that
the arm's own average and the filtered ones come from the same networks:

* ``avg<M>``: the best M finalists by real validation score (what ``ensemble_top_k=M`` predicts),
* ``avg<M>_share<S>``: the same, leaving out finalists the budget stopped before S of the
  winner's epochs (``ensemble_min_epoch_share=S``).

Fit wall and CPU seconds (``time.thread_time`` of this thread: SMASH trains on it alone), the
number of finalists trained and stopped by the budget, and the load average are recorded. Rows
are appended per fit, so a stopped run resumes where it was.

    nice -n 5 python benchmarks/smash_cpu_budget.py run --arm current --out /tmp/t1/sel.csv
    python benchmarks/smash_cpu_budget.py report /tmp/t1/sel.csv --base current
    python benchmarks/smash_cpu_budget.py versus-xgb /tmp/t1/cc18.csv --arm current --variant avg5
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_shared  # noqa: E402

from automl_hyper import zoo  # noqa: E402
from automl_hyper.compare import family_params  # noqa: E402
from automl_hyper.data.benchmark_sets import REPORT_SET, SELECTION_SET  # noqa: E402
from automl_hyper.data.splits import paper_splits  # noqa: E402
from automl_hyper.metrics import auc_score  # noqa: E402
from automl_hyper.models.smash.estimators import _member_outputs  # noqa: E402
from automl_hyper.models.smash.search import Candidate, ensemble_members  # noqa: E402
from automl_hyper.models.smash.training import outputs_to_proba  # noqa: E402

# Arms: overrides of the zoo's SMASH parameters. "old": the defaults before 66f046d.
ARMS: dict[str, dict] = {
    "current": {},
    "old": {"top_k": 3, "ensemble_top_k": 2, "learning_rate": 1e-3},
    # A budget that binds (information only): where finalists are cut, does the filter help?
    "tight": {"time_limit": 2.0, "hyper_time_budget": 1.0},
    # Round 2 (smash_cpu_budget_selection.md): spend the unused CPU budget.
    "k10": {"top_k": 10, "ensemble_top_k": 10},
    "pat20": {"patience": 20, "max_epochs": 200},
}
SHARES = (0.5, 0.8)
SETS = {"selection": SELECTION_SET, "cc18-30": REPORT_SET}


def fit_one(name: str, split: int, arm: str) -> list[dict]:
    data = load_shared(name)
    train, test = paper_splits(data.y, n_splits=split + 1, seed=0)[split]
    params = family_params("smash", "small", split, ARMS[arm])
    k = params.get("ensemble_top_k", zoo.get("smash").make().ensemble_top_k)
    est = zoo.get("smash").make("classification", **{**params, "ensemble_top_k": 10**6})
    load = os.getloadavg()[0]
    wall0, cpu0 = time.perf_counter(), time.thread_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(data.X.iloc[train], data.y.iloc[train])
    fit_s, fit_cpu_s = time.perf_counter() - wall0, time.thread_time() - cpu0
    classes = list(est.classes_)
    y_te = np.array([classes.index(v) for v in data.y.iloc[test]])
    X_te = est._transform(data.X.iloc[test])
    probas = [outputs_to_proba(out) for out in _member_outputs(est, X_te)]
    # The finalists, best first (the order of ensemble_nets_), with their epochs and stop reason.
    table = est.search_results_.set_index("spec")
    finalists = []
    for spec in est.discovered_specs_:
        row = table.loc[spec]
        cand = Candidate(None, "", row.proxy_score, 0, real=row.real_score)
        cand.epochs, cand.stopped_by = int(row.epochs), row.stopped_by
        finalists.append(cand)
    assert len(finalists) == len(probas)
    full = est.predict_proba(data.X.iloc[test])
    assert np.allclose(full, np.mean(probas, axis=0), atol=1e-9)  # all finalists averaged
    common = {
        "dataset": name,
        "split": split,
        "arm": arm,
        "fit_s": fit_s,
        "fit_cpu_s": fit_cpu_s,
        "search_cpu_s": est.search_timings_["total_cpu_s"],
        "load1": load,
        "n_trained": len(finalists),
        "n_stopped_by_time": sum(c.stopped_by == "time" for c in finalists),
        "winner_epochs": finalists[0].epochs,
    }
    rows = []
    for m in (3, 5):  # fewer of the trained finalists averaged (information)
        if m < k:
            proba = np.mean(probas[:m], axis=0)
            rows.append(
                {**common, "variant": f"avg{m}", "n_members": m, "auc": auc_score(y_te, proba)}
            )
    for share in (0.0, *SHARES):
        # ensemble_members compares candidates by spec; index positions stand in for them here.
        for i, c in enumerate(finalists):
            c.spec = i
        members = ensemble_members(finalists, finalists[0], k, share)
        proba = np.mean([probas[c.spec] for c in members], axis=0)
        variant = f"avg{k}" if share == 0 else f"avg{k}_share{share:g}"
        rows.append(
            {
                **common,
                "variant": variant,
                "n_members": len(members),
                "auc": auc_score(y_te, proba),
            }
        )
    return rows


def run(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)  # the estimator sets it for the fit too; predictions on one as well
    out = Path(args.out)
    done = set()
    if out.exists():
        prev = pd.read_csv(out)
        done = set(zip(prev.dataset, prev.split, prev.arm))
    names = SETS[args.set]
    for name in reversed(names) if args.reverse else names:
        for split in range(args.split_from, args.splits):
            if (name, split, args.arm) in done:
                continue
            rows = fit_one(name, split, args.arm)
            frame = pd.DataFrame(rows)
            frame.to_csv(out, mode="a", header=not out.exists(), index=False)
            r = rows[0]
            print(
                f"{name}:{split} {args.arm} auc {r['auc']:.4f} fit {r['fit_s']:.1f} s wall "
                f"{r['fit_cpu_s']:.1f} s cpu, load {r['load1']:.1f}, "
                f"{r['n_stopped_by_time']}/{r['n_trained']} cut by time",
                flush=True,
            )


def paired(frame: pd.DataFrame, a: str, b: str, column: str = "key") -> dict:
    """Mean of b - a (values of ``column``) over the datasets' mean AUCs (pairs present in
    both), its SE, b/e/w."""
    wide = frame.pivot_table(index=["dataset", "split"], columns=column, values="auc")
    wide = wide[[a, b]].dropna()
    per = (wide[b] - wide[a]).groupby(level=0).mean()
    return {
        "a": a,
        "b": b,
        "pairs": len(wide),
        "datasets": len(per),
        "mean_a": wide[a].groupby(level=0).mean().mean(),
        "mean_b": wide[b].groupby(level=0).mean().mean(),
        "delta": per.mean(),
        "se": per.std(ddof=1) / np.sqrt(len(per)) if len(per) > 1 else np.nan,
        "better": int((per > 5e-4).sum()),
        "equal": int((per.abs() <= 5e-4).sum()),
        "worse": int((per < -5e-4).sum()),
    }


def report(args: argparse.Namespace) -> None:
    frame = pd.read_csv(args.csv)
    frame["key"] = frame.arm + "/" + frame.variant
    keys = sorted(frame.key.unique())
    base = next(k for k in keys if k.startswith(args.base + "/") and "share" not in k)
    print("| B | A | pairs | datasets | mean A | mean B | B - A | SE | better/equal/worse |")
    print("|---|---|---|---|---|---|---|---|---|")
    for key in keys:
        if key == base:
            continue
        p = paired(frame, base, key)
        print(
            f"| {key} | {base} | {p['pairs']} | {p['datasets']} | {p['mean_a']:.4f} | "
            f"{p['mean_b']:.4f} | {p['delta']:+.4f} | {p['se']:.4f} | "
            f"{p['better']}/{p['equal']}/{p['worse']} |"
        )
    if args.per_dataset:
        cols = args.per_dataset.split(",")
        wide = frame.pivot_table(index="dataset", columns="key", values="auc")[[base, *cols]]
        wide = wide.assign(delta=wide[cols[0]] - wide[base]).sort_values("delta")
        print(f"\n| dataset | {' | '.join(wide.columns[:-1])} | {cols[0]} - {base} |")
        print("|---" * len(wide.columns) + "|---|")
        for name, row in wide.iterrows():
            print(
                f"| {name} | "
                + " | ".join(f"{v:.4f}" for v in row.iloc[:-1])
                + f" | {row.delta:+.4f} |"
            )
    fits = frame.drop_duplicates(["dataset", "split", "arm"])
    print(
        "\n| arm | fits | wall s median (p90, max) | CPU s median (p90, max) | "
        "fits with a finalist cut by time | finalists cut / trained | load1 median |"
    )
    print("|---|---|---|---|---|---|---|")
    for arm, g in fits.groupby("arm"):
        q = lambda s: f"{s.median():.1f} ({s.quantile(0.9):.1f}, {s.max():.1f})"  # noqa: E731
        print(
            f"| {arm} | {len(g)} | {q(g.fit_s)} | {q(g.fit_cpu_s)} | "
            f"{int((g.n_stopped_by_time > 0).sum())} | "
            f"{int(g.n_stopped_by_time.sum())}/{int(g.n_trained.sum())} | {g.load1.median():.1f} |"
        )


def versus_xgb(args: argparse.Namespace) -> None:
    """Pair one arm/variant's rows with the committed full run's tuned XGBoost (and old-defaults
    SMASH, wall-clock budget) on the same dataset x split: the 30 CC18 report."""
    from common import FULL_RUN, committed_aucs

    frame = pd.read_csv(args.csv)
    frame = frame[(frame.arm == args.arm) & (frame.variant == args.variant)]
    ours = frame.set_index(["dataset", "split"]).auc.rename("smash_cpu")
    wide = committed_aucs(FULL_RUN)[["xgboost-tuned", "smash"]].join(ours, how="inner")
    wide = wide.dropna()
    wide.columns = ["xgboost_tuned", "smash_fullrun", "smash_cpu"]
    print(f"{len(wide)} pairs over {wide.index.get_level_values(0).nunique()} datasets")
    per = wide.groupby(level=0).mean()
    for col in ("smash_cpu", "smash_fullrun"):
        d = per[col] - per.xgboost_tuned
        print(
            f"{col}: mean {per[col].mean():.4f} vs xgboost-tuned {per.xgboost_tuned.mean():.4f}: "
            f"{d.mean():+.4f} (SE {d.std(ddof=1) / np.sqrt(len(d)):.4f}), datasets b/e/w "
            f"{int((d > 5e-4).sum())}/{int((d.abs() <= 5e-4).sum())}/{int((d < -5e-4).sum())}"
        )
    d = (per.smash_cpu - per.xgboost_tuned).sort_values()
    print(
        "\n| dataset | smash (CPU budget) | smash old defaults (full run) | xgboost-tuned | delta |"
    )
    print("|---|---|---|---|---|")
    for name in d.index:
        r = per.loc[name]
        print(
            f"| {name} | {r.smash_cpu:.4f} | {r.smash_fullrun:.4f} | {r.xgboost_tuned:.4f} | "
            f"{d[name]:+.4f} |"
        )
    if args.out:
        wide.to_csv(args.out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--arm", choices=sorted(ARMS), required=True)
    r.add_argument("--set", choices=sorted(SETS), default="selection")
    r.add_argument("--splits", type=int, default=2, help="splits split_from .. splits-1")
    r.add_argument("--split-from", type=int, default=0)
    r.add_argument("--reverse", action="store_true", help="last dataset first (a 2nd process)")
    r.add_argument("--out", required=True)
    r.set_defaults(func=run)
    p = sub.add_parser("report")
    p.add_argument("csv")
    p.add_argument("--base", default="current")
    p.add_argument("--per-dataset", help="arm/variant keys for a per-dataset table (comma list)")
    p.set_defaults(func=report)
    v = sub.add_parser("versus-xgb")
    v.add_argument("csv")
    v.add_argument("--arm", default="current")
    v.add_argument("--variant", default="avg5")
    v.add_argument("--out", help="write the paired rows here (CSV)")
    v.set_defaults(func=versus_xgb)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
