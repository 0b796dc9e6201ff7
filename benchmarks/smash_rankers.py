"""SMASH finalist rankers (proxy, UNF, both), top-k averaging and winner tuning, on the selection set.

Issue 10 point 4 and issue 13 point 5. Per dataset and paper split (train = min(1000, n/2) rows, the
estimator's own 80/20 fit/validation cut of them), one hypernetwork and one scored pool of
architectures are shared by every variant, so the variants differ only in what they change:

* rankers: the ``top_k`` finalists by the proxy (validation log loss under generated weights,
  today's SMASH), by the UNF predictor's predicted score of the generated weights, or by the
  average of both ranks; each finalist is trained for real (a cache: a finalist two rankers share
  is trained once, with a seed of its own, so the result does not depend on the order);
* within-task Kendall tau of each ranking score against real scores, over ``--n-random``
  architectures drawn at random from the pool plus every ranker's finalists, all trained for real
  (real = validation AUC, which the search selects by, and test AUC);
* on the proxy ranker's finalists: the average of the best 2 / 3 (by validation score) against the
  winner alone, and ``--tune-trials`` Optuna trials over the winner's learning rate, dropout and
  weight decay (``search.tune_winner``, as ``SmashClassifier(tune_trials=...)`` runs it).

Time of a variant = hypernetwork + sampling + local search (+ UNF scoring for unf/both) + the real
training of its finalists (+ tuning). Test AUC as the protocol (one-vs-one macro for multiclass).

    nice -n 10 python benchmarks/smash_rankers.py --splits 2 --out benchmarks/results/smash_rankers
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import kendalltau
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_shared, peak_rss_mb  # noqa: E402

from automl_hyper.data.benchmark_sets import SELECTION_SET  # noqa: E402
from automl_hyper.data.preprocess import TabularPreprocessor  # noqa: E402
from automl_hyper.data.splits import paper_splits  # noqa: E402
from automl_hyper.models.smash.architecture import SearchSpace  # noqa: E402
from automl_hyper.models.smash.context import SearchConfig, SearchContext  # noqa: E402
from automl_hyper.models.smash.search import (  # noqa: E402
    Candidate,
    build_pool,
    load_predictor,
    rank_candidates,
    train_candidate,
    tune_winner,
)
from automl_hyper.models.smash.training import holdout_split, outputs_to_proba  # noqa: E402

RANKERS = ("proxy", "unf", "both")


def test_auc(y: np.ndarray, proba: np.ndarray) -> float:
    if proba.shape[1] == 2:
        return float(roc_auc_score(y, proba[:, 1]))
    return float(roc_auc_score(y, proba, multi_class="ovo", labels=np.arange(proba.shape[1])))


def tau(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return float("nan")
    return float(kendalltau(a[ok], b[ok]).statistic)


def run_split(
    name: str, split: int, tr, te, data, args, predictor
) -> tuple[list[dict], list[dict]]:
    X, y = data.X, data.y.to_numpy()
    classes, y_tr = np.unique(y[tr], return_inverse=True)
    y_te = np.searchsorted(classes, y[te])
    pre = TabularPreprocessor(random_state=0)
    X_tr = torch.as_tensor(pre.fit_transform(X.iloc[tr]), dtype=torch.float32)
    X_te = torch.as_tensor(pre.transform(X.iloc[te]), dtype=torch.float32)
    seed = split
    fit_idx, val_idx = holdout_split(y_tr, "classification", 0.2, seed)
    y_t = torch.as_tensor(y_tr, dtype=torch.int64)
    config = SearchConfig(
        n_candidates=args.n_candidates,
        n_mutations=args.n_mutations,
        top_k=args.top_k,
        hyper_time_budget=args.hyper_seconds,
        max_epochs=args.max_epochs,
    )
    ctx = SearchContext(
        X_fit=X_tr[fit_idx],
        y_fit=y_t[fit_idx],
        X_val=X_tr[val_idx],
        y_val=y_t[val_idx],
        task="classification",
        n_outputs=len(classes),
        config=config,
        seed=seed,
    )
    torch.manual_seed(seed)
    timings: dict[str, float] = {}
    gen, pool, _ = build_pool(ctx, SearchSpace(max_depth=args.max_depth), timings)
    pool_s = sum(timings.values())
    t = time.perf_counter()
    rank_candidates(ctx, gen, pool, "unf", predictor)
    unf_s = time.perf_counter() - t
    orders = {r: rank_candidates(ctx, gen, pool, r, predictor) for r in ("unf", "proxy")}
    unf_score = {id(c): c.unf for c in pool}
    both = rank_candidates(ctx, gen, pool, "both", predictor)
    orders["both"] = both
    both_score = {id(c): c.rank_score for c in pool}

    trained: dict[int, tuple[Candidate, float, float]] = {}  # id -> (cand, seconds, test auc)

    def train(cand: Candidate) -> tuple[Candidate, float, float]:
        if id(cand) not in trained:
            s = zlib.crc32(cand.spec.to_json().encode()) ^ seed
            ctx.rng = np.random.default_rng(s)
            torch.manual_seed(s)
            t0 = time.perf_counter()
            train_candidate(ctx, cand, gen)
            with torch.no_grad():
                proba = outputs_to_proba(cand.net(X_te))
            trained[id(cand)] = (cand, time.perf_counter() - t0, test_auc(y_te, proba))
        return trained[id(cand)]

    rows, finalists = [], {}
    for ranker in RANKERS:
        fin = [train(c) for c in orders[ranker][: config.top_k]]
        finalists[ranker] = sorted(fin, key=lambda f: (-f[0].real, -f[0].proxy))
        winner = finalists[ranker][0]
        extra = unf_s if ranker != "proxy" else 0.0
        rows.append(
            {
                "dataset": name,
                "split": split,
                "variant": ranker,
                "test_auc": winner[2],
                "val_auc": winner[0].real,
                "time_s": pool_s + extra + sum(f[1] for f in fin),
                "winner": winner[0].spec.describe(),
            }
        )

    # within-task tau: random architectures of the pool plus every ranker's finalists
    rng = np.random.default_rng(1000 + seed)
    for i in rng.choice(len(pool), size=min(args.n_random, len(pool)), replace=False):
        train(pool[i])
    done = [v[0] for v in trained.values()]
    real_val = [c.real for c in done]
    real_test = [trained[id(c)][2] for c in done]
    taus = {
        "dataset": name,
        "split": split,
        "n_trained": len(done),
        "pool": len(pool),
        "unf_s": unf_s,
        "pool_s": pool_s,
    }
    scores = {
        "proxy": [c.proxy for c in done],
        "unf": [unf_score[id(c)] for c in done],
        "both": [both_score[id(c)] for c in done],
        "n_params": [c.n_params for c in done],
    }
    for key, values in scores.items():
        taus[f"tau_{key}_val"] = tau(values, real_val)
        taus[f"tau_{key}_test"] = tau(values, real_test)

    # top-k averaging and tuning on the proxy ranker's (today's) finalists
    base = rows[0]
    fin = finalists["proxy"]

    def averaged(cands: list[Candidate]) -> float:
        with torch.no_grad():
            return test_auc(y_te, np.mean([outputs_to_proba(c.net(X_te)) for c in cands], 0))

    for k in (2, 3):
        if len(fin) >= k:
            rows.append(
                {**base, "variant": f"proxy+avg{k}", "test_auc": averaged([f[0] for f in fin[:k]])}
            )
    if args.tune_trials:
        ctx.rng = np.random.default_rng(seed)
        torch.manual_seed(seed)
        t0 = time.perf_counter()
        best, _ = tune_winner(ctx, fin[0][0], gen, args.tune_trials)
        tune_s = time.perf_counter() - t0
        with torch.no_grad():
            auc_tuned = test_auc(y_te, outputs_to_proba(best.net(X_te)))
        tuned = {**base, "time_s": base["time_s"] + tune_s, "val_auc": best.real}
        rows.append({**tuned, "variant": f"proxy+tune{args.tune_trials}", "test_auc": auc_tuned})
        members = [best] + [f[0] for f in fin[1:3]]
        rows.append(
            {
                **tuned,
                "variant": f"proxy+tune{args.tune_trials}+avg3",
                "test_auc": averaged(members),
            }
        )
    return rows, [taus]


def summarise(rows: pd.DataFrame, taus: pd.DataFrame, args, command: str) -> str:
    out = [
        "# SMASH finalist rankers, top-k averaging and winner tuning (selection set)",
        "",
        f"`{command}`",
        "",
        f"{rows.dataset.nunique()} selection datasets x {rows.split.nunique()} paper splits; "
        f"pool {args.n_candidates} sampled + {args.n_mutations} mutated, hypernetwork "
        f"{args.hyper_seconds:g} s, max_depth {args.max_depth}, top_k {args.top_k}, "
        f"finalists <= {args.max_epochs} epochs, {args.tune_trials} tuning trials.",
        "",
        "## Test AUC and time per variant (mean over dataset-splits)",
        "",
        "| variant | mean test AUC | vs proxy | median vs proxy | wins/ties/losses vs proxy "
        "| datasets better/worse (split mean) | mean time s |",
        "|---|---|---|---|---|---|---|",
    ]
    ref = rows[rows.variant == "proxy"].set_index(["dataset", "split"]).test_auc
    for variant, group in rows.groupby("variant", sort=False):
        g = group.set_index(["dataset", "split"]).test_auc
        d = (g - ref.reindex(g.index)).to_numpy()
        wtl = f"{(d > 1e-4).sum()}/{(abs(d) <= 1e-4).sum()}/{(d < -1e-4).sum()}"
        per = pd.Series(d, index=g.index).groupby(level="dataset").mean()
        bw = f"{(per > 1e-4).sum()}/{(per < -1e-4).sum()}"
        out.append(
            f"| {variant} | {g.mean():.4f} | {np.nanmean(d):+.4f} | {np.nanmedian(d):+.4f} | "
            f"{wtl} | {bw} | {group.time_s.mean():.1f} |"
        )
    wide = rows.pivot_table(index="dataset", columns="variant", values="test_auc", sort=False)
    per_dataset = [
        "",
        "Per dataset (test AUC, mean over splits):",
        "",
        "| dataset | " + " | ".join(wide.columns) + " |",
        "|---" * (len(wide.columns) + 1) + "|",
        *(f"| {n} | " + " | ".join(f"{v:.4f}" for v in r) + " |" for n, r in wide.iterrows()),
    ]
    out += [
        "",
        "## Within-task Kendall tau against real scores",
        "",
        f"Over {args.n_random} random pool architectures plus every ranker's finalists, trained "
        "for real (mean over dataset-splits; real = validation AUC that the search selects by, "
        "or test AUC).",
        "",
        "| ranking score | tau vs real val AUC | tau vs real test AUC |",
        "|---|---|---|",
    ]
    for key in ("proxy", "unf", "both", "n_params"):
        out.append(
            f"| {key} | {taus[f'tau_{key}_val'].mean():.3f} | {taus[f'tau_{key}_test'].mean():.3f} |"
        )
    out += [
        "",
        f"UNF scoring of the whole pool: {taus.unf_s.mean():.1f} s mean (pool build "
        f"{taus.pool_s.mean():.1f} s). Peak RSS {peak_rss_mb():.0f} MB.",
        *per_dataset,
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(SELECTION_SET))
    parser.add_argument("--splits", type=int, default=2)
    parser.add_argument("--only-split", type=int, default=None)
    parser.add_argument("--n-candidates", type=int, default=200)
    parser.add_argument("--n-mutations", type=int, default=40)
    parser.add_argument("--hyper-seconds", type=float, default=10.0)
    parser.add_argument("--top-k", type=int, default=3)
    # 3: the deepest architectures the shipped unf-smash predictor reads (its banks' max_depth)
    parser.add_argument("--max-depth", type=int, default=3)
    parser.add_argument("--max-epochs", type=int, default=50)
    parser.add_argument("--n-random", type=int, default=6)
    parser.add_argument("--tune-trials", type=int, default=6)
    parser.add_argument("--predictor", default=None, help="UNF predictor file (default unf-smash)")
    parser.add_argument("--out", default=None, help="prefix: writes <out>.csv, _tau.csv, .md")
    parser.add_argument("--summarise", nargs="*", default=None, help="merge these prefixes only")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    command = "python benchmarks/smash_rankers.py " + " ".join(argv or sys.argv[1:])
    if args.summarise is not None:
        # parts may overlap (runs over the list from both ends): the first of a pair counts
        rows = pd.concat([pd.read_csv(f"{p}.csv") for p in args.summarise])
        rows = rows.drop_duplicates(["dataset", "split", "variant"], ignore_index=True)
        taus = pd.concat([pd.read_csv(f"{p}_tau.csv") for p in args.summarise])
        taus = taus.drop_duplicates(["dataset", "split"], ignore_index=True)
        text = summarise(rows, taus, args, command)
        print(text)
        if args.out:
            Path(f"{args.out}.md").write_text(text)
        return 0
    predictor = load_predictor(args.predictor)
    all_rows, all_taus = [], []
    for name in args.datasets.split(","):
        data = load_shared(name)
        splits = paper_splits(data.y, n_splits=args.splits, seed=0, drop_singletons=True)
        for split, (tr, te) in enumerate(splits):
            if args.only_split is not None and split != args.only_split:
                continue
            t = time.perf_counter()
            rows, taus = run_split(name, split, tr, te, data, args, predictor)
            all_rows += rows
            all_taus += taus
            print(
                f"{name} split {split}: "
                + ", ".join(f"{r['variant']} {r['test_auc']:.4f}" for r in rows)
                + f"; tau proxy {taus[0]['tau_proxy_val']:.2f} unf {taus[0]['tau_unf_val']:.2f}"
                f" [{time.perf_counter() - t:.0f} s]",
                flush=True,
            )
            if args.out:
                pd.DataFrame(all_rows).to_csv(f"{args.out}.csv", index=False)
                pd.DataFrame(all_taus).to_csv(f"{args.out}_tau.csv", index=False)
    text = summarise(pd.DataFrame(all_rows), pd.DataFrame(all_taus), args, command)
    print(text)
    if args.out:
        Path(f"{args.out}.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
