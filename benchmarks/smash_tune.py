"""SMASH winner tuning inside the time limit (issue 13 point 5): arms read from one fit, against
tuned XGBoost's fit time on the same pairs.

Per (dataset, paper split): tuned XGBoost (``xgboost-tuned``, budget small) is fitted, then one
SMASH fit with ``tune_trials=8, tune_ensemble=True`` and every finalist kept. Each arm's
prediction is the average of its own members, taken from that fit's networks by
``ensemble_sources_`` (tests/test_smash_tuning.py shows why this equals fitting the arm):

* ``current``: the 10 finalists untuned (today's defaults);
* ``tuneN``: the best of the untuned winner and the first N trials by validation score (the
  untuned one kept on ties) in the winner's place (``tune_trials=N``);
* ``tuneNjoin``: the 10 finalists plus the first N trials (``tune_trials=N, tune_ensemble=True``).

Fit seconds per arm: the measured fit for N = 8; minus the measured tuning time for ``current``;
plus the first N trials' measured time for N < 8. CPU seconds are ``time.process_time`` around
``fit`` (both models run on this process's one thread). Rows are appended per fit (resumable).

    nice -n 5 python -W ignore benchmarks/smash_tune.py run --out /tmp/tune/a.csv --also /tmp/tune/b.csv
    nice -n 5 python -W ignore benchmarks/smash_tune.py run --out /tmp/tune/b.csv --also /tmp/tune/a.csv --reverse
    python benchmarks/smash_tune.py report /tmp/tune/sel.csv --check benchmarks/results/smash_cpu_budget_selection.csv
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
from smash_cpu_budget import paired  # noqa: E402

from automl_hyper import zoo  # noqa: E402
from automl_hyper.compare import family_params  # noqa: E402
from automl_hyper.data.benchmark_sets import REPORT_SET, SELECTION_SET  # noqa: E402
from automl_hyper.data.splits import paper_splits  # noqa: E402
from automl_hyper.metrics import auc_score  # noqa: E402
from automl_hyper.models.smash.estimators import _member_outputs  # noqa: E402
from automl_hyper.models.smash.training import outputs_to_proba  # noqa: E402

N_TRIALS = 8
SETS = {"selection": SELECTION_SET, "cc18-30": REPORT_SET}
ARMS = ("current", "tune4", "tune8", "tune8join", "tune4join")
DECIDING = ("tune4", "tune8", "tune8join")
COLUMNS = ["dataset", "split", "arm", "auc", "fit_s", "fit_cpu_s", "load1", "xgb_trials",
           "n_trials_done", "n_finalists", "n_cut", "n_members", "winner"]  # fmt: skip


def _timed_fit(est, X, y) -> tuple[float, float]:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    return time.perf_counter() - wall0, time.process_time() - cpu0


def fit_xgb(name: str, split: int) -> dict:
    data = load_shared(name)
    train, test = paper_splits(data.y, n_splits=split + 1, seed=0)[split]
    est = zoo.get("xgboost-tuned").make(
        "classification", **family_params("xgboost-tuned", "small", split)
    )
    load = os.getloadavg()[0]
    fit_s, fit_cpu_s = _timed_fit(est, data.X.iloc[train], data.y.iloc[train])
    classes = list(est.classes_)
    y_te = np.array([classes.index(v) for v in data.y.iloc[test]])
    n_trials = len(est.study_.trials) if hasattr(est, "study_") else 0
    auc = auc_score(y_te, est.predict_proba(data.X.iloc[test]))
    return {
        "dataset": name,
        "split": split,
        "arm": "xgboost-tuned",
        "auc": auc,
        "fit_s": fit_s,
        "fit_cpu_s": fit_cpu_s,
        "load1": load,
        "xgb_trials": n_trials,
    }


def _arm_members(sources: list[str], real: list[float], untuned: float, arm: str) -> list[str]:
    finalists = sorted((s for s in sources if s.startswith("finalist:")), key=lambda s: int(s[9:]))
    n = 0 if arm == "current" else int(arm[4:].removesuffix("join"))
    trials = [f"trial:{j}" for j in range(n) if np.isfinite(real[j])]
    if arm.endswith("join"):
        return finalists + trials
    best, best_score = "finalist:0", untuned
    for j in range(n):  # tune_winner: a trial replaces the winner only if strictly better
        if np.isfinite(real[j]) and real[j] > best_score:
            best, best_score = f"trial:{j}", real[j]
    return [best, *finalists[1:]]


def fit_smash(name: str, split: int) -> list[dict]:
    data = load_shared(name)
    train, test = paper_splits(data.y, n_splits=split + 1, seed=0)[split]
    over = {"tune_trials": N_TRIALS, "tune_ensemble": True, "ensemble_top_k": 10**6}
    est = zoo.get("smash").make("classification", **family_params("smash", "small", split, over))
    load = os.getloadavg()[0]
    fit_s, fit_cpu_s = _timed_fit(est, data.X.iloc[train], data.y.iloc[train])
    classes = list(est.classes_)
    y_te = np.array([classes.index(v) for v in data.y.iloc[test]])
    X_te = est._transform(data.X.iloc[test])
    probas = dict(
        zip(est.ensemble_sources_, (outputs_to_proba(o) for o in _member_outputs(est, X_te)))
    )
    assert np.allclose(est.predict_proba(data.X.iloc[test]), np.mean(list(probas.values()), axis=0))
    records = est.tuning_results_
    real = [r["real_score"] for r in records] + [np.nan] * (N_TRIALS - len(records))
    table = est.search_results_
    trained = table[table.real_score.notna()]
    untuned = float(trained.real_score.max())
    timings = est.search_timings_
    base_s, base_cpu = fit_s - timings["tuning_s"], fit_cpu_s - timings["tuning_cpu_s"]
    common = {
        "dataset": name,
        "split": split,
        "load1": load,
        "n_trials_done": len(records),
        "n_finalists": len(trained),
        "n_cut": int((trained.stopped_by == "time").sum()),
    }
    rows = []
    for arm in ARMS:
        members = _arm_members(est.ensemble_sources_, real, untuned, arm)
        n = 0 if arm == "current" else int(arm[4:].removesuffix("join"))
        extra = records[:n]
        rows.append(
            {
                **common,
                "arm": arm,
                "n_members": len(members),
                "winner": members[0],
                "auc": auc_score(y_te, np.mean([probas[m] for m in members], axis=0)),
                "fit_s": base_s + sum(r["seconds"] for r in extra),
                "fit_cpu_s": base_cpu + sum(r["cpu_seconds"] for r in extra),
            }
        )
    return rows


def run(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)
    out = Path(args.out)

    def done() -> set:  # re-read before each pair: a second process may have fitted it
        paths = [p for p in (out, *map(Path, args.also)) if p.exists()]
        frames = [pd.read_csv(p) for p in paths]
        return {key for f in frames for key in zip(f.dataset, f.split, f.arm)}

    names = SETS[args.set]
    for name in reversed(names) if args.reverse else names:
        for split in range(args.split_from, args.splits):
            for model in ("xgboost-tuned", "current"):
                if (name, split, model) in done() or (model != "current" and args.no_xgb):
                    continue
                rows = fit_smash(name, split) if model == "current" else [fit_xgb(name, split)]
                frame = pd.DataFrame(rows).reindex(columns=COLUMNS)  # one layout for both models
                frame.to_csv(out, mode="a", header=not out.exists(), index=False)
                for r in rows:
                    print(
                        f"{name}:{split} {r['arm']} auc {r['auc']:.4f} fit {r['fit_s']:.1f} s "
                        f"wall {r['fit_cpu_s']:.1f} s cpu load {r['load1']:.1f}",
                        flush=True,
                    )


def report(args: argparse.Namespace) -> None:
    frame = pd.read_csv(args.csv)
    smash = frame[frame.arm != "xgboost-tuned"]
    xgb = frame[frame.arm == "xgboost-tuned"].set_index(["dataset", "split"])
    keys = set(smash[smash.arm == "current"].set_index(["dataset", "split"]).index) & set(xgb.index)
    x = xgb.loc[sorted(keys)]
    half = 0.5 * x.fit_cpu_s.median()
    print(
        f"tuned XGBoost on {len(x)} pairs: median fit {x.fit_cpu_s.median():.1f} CPU-s "
        f"({x.fit_s.median():.1f} wall-s), half {half:.1f} CPU-s; {int((x.xgb_trials < 15).sum())} "
        f"fits cut by its 30 wall-s timeout; mean AUC {x.auc.groupby(level=0).mean().mean():.4f}\n"
    )
    print(
        "| arm | pairs | datasets | mean current | mean arm | arm - current | SE | gain/SE | "
        "better/equal/worse | fit CPU-s median (p90) | wall-s median | < half XGB CPU | passes |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    fits = smash.set_index(["dataset", "split"])
    for arm in ARMS:
        g = fits[fits.arm == arm].loc[sorted(keys)]
        cpu = g.fit_cpu_s.median()
        if arm == "current":
            print(
                f"| current | {len(g)} | | | {g.auc.groupby(level=0).mean().mean():.4f} | | | | | "
                f"{cpu:.1f} ({g.fit_cpu_s.quantile(0.9):.1f}) | {g.fit_s.median():.1f} | {cpu < half} | |"
            )
            continue
        p = paired(smash, "current", arm, column="arm")
        gain_ok = p["delta"] > 0.002 and p["delta"] > 2 * p["se"]
        verdict = (
            "yes"
            if (gain_ok and cpu < half and arm in DECIDING)
            else ("info" if arm not in DECIDING else "no")
        )
        print(
            f"| {arm} | {p['pairs']} | {p['datasets']} | {p['mean_a']:.4f} | {p['mean_b']:.4f} | "
            f"{p['delta']:+.4f} | {p['se']:.4f} | {p['delta'] / p['se']:.1f} | "
            f"{p['better']}/{p['equal']}/{p['worse']} | "
            f"{cpu:.1f} ({g.fit_cpu_s.quantile(0.9):.1f}) | {g.fit_s.median():.1f} | {cpu < half} | {verdict} |"
        )
    cur = fits[fits.arm == "current"]
    print(
        f"\nfinalists cut by the budget: {int(cur.n_cut.sum())} of {int(cur.n_finalists.sum())}; "
        f"trials run: {int(cur.n_trials_done.sum())} of {N_TRIALS * len(cur)}; "
        f"winner replaced by a trial (tune8): {int((fits[fits.arm == 'tune8'].winner != 'finalist:0').sum())} "
        f"of {len(cur)}; load1 median {frame.load1.median():.1f}"
    )
    wide = smash.pivot_table(index="dataset", columns="arm", values="auc")[list(ARMS)]
    wide["xgboost-tuned"] = x.auc.groupby(level=0).mean()
    wide = wide.assign(d=wide.tune8join - wide.current).sort_values("d")
    print("\n| dataset | " + " | ".join(wide.columns[:-1]) + " | tune8join - current |")
    print("|---" * len(wide.columns) + "|---|")
    for name, row in wide.iterrows():
        print(f"| {name} | " + " | ".join(f"{v:.4f}" for v in row.iloc[:-1]) + f" | {row.d:+.4f} |")
    if args.check:  # the current arm against committed fits of the same defaults (k10/avg10)
        old = pd.read_csv(args.check)
        old = old[(old.arm == "k10") & (old.variant == "avg10")].set_index(["dataset", "split"]).auc
        both = cur.auc.to_frame("here").join(old.rename("committed"), how="inner")
        diff = (both.here - both.committed).abs()
        print(
            f"\ncheck: current vs committed k10/avg10 on {len(both)} pairs: max |diff| "
            f"{diff.max():.2e}, {int((diff > 1e-4).sum())} pairs differ by > 1e-4"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--set", choices=sorted(SETS), default="selection")
    r.add_argument("--splits", type=int, default=3, help="splits split_from .. splits-1")
    r.add_argument("--split-from", type=int, default=0)
    r.add_argument("--reverse", action="store_true", help="last dataset first (a 2nd process)")
    r.add_argument("--no-xgb", action="store_true", help="SMASH only (XGBoost from committed runs)")
    r.add_argument("--out", required=True)
    r.add_argument("--also", nargs="*", default=[], help="other processes' CSVs (rows done there)")
    r.set_defaults(func=run)
    p = sub.add_parser("report")
    p.add_argument("csv")
    p.add_argument("--check", help="smash_cpu_budget CSV with k10/avg10 rows of the same pairs")
    p.set_defaults(func=report)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
