"""SMASH defaults on the selection set (issue 13 point 5): finalist count, top-k averaging, the
final training's settings and winner tuning, all on one shared pool per dataset and split.

Per dataset and paper split the search runs as ``automl-hyper benchmark --budget small`` runs it
(zoo defaults + budget small, seed = split, the estimator's own preprocessing and 80/20 holdout,
hypernetwork and sampling inside ``time_limit``), up to the ranked pool. Then the top 5 by the
proxy are trained for real once per training setting, each (setting, finalist) with the same seed,
so the variants differ only in what they change. Variant ``<setting>/top<K>/avg<M>``: the first K
finalists by the proxy, ordered by real validation AUC (as the estimator does), the best M
averaged. ``tune<N>``: ``search.tune_winner`` over the base setting's top-3 winner (N trials).
Time of a variant = pool build + the real training of its K finalists (+ tuning), no deadline.

    nice -n 5 python benchmarks/smash_defaults.py --splits 2 --out /tmp/smash_sweep/pool.csv
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import FULL_RUN, committed_aucs, load_shared, markdown  # noqa: E402

from automl_hyper import zoo  # noqa: E402
from automl_hyper.compare import family_params  # noqa: E402
from automl_hyper.data.benchmark_sets import SELECTION_SET  # noqa: E402
from automl_hyper.data.splits import paper_splits  # noqa: E402
from automl_hyper.metrics import auc_score  # noqa: E402
from automl_hyper.models.smash.estimators import _context  # noqa: E402
from automl_hyper.models.smash.search import (  # noqa: E402
    Candidate,
    build_pool,
    rank_candidates,
    train_candidate,
    tune_winner,
)
from automl_hyper.models.smash.training import outputs_to_proba  # noqa: E402
from automl_hyper.models.torch_utils import seeded  # noqa: E402

# Training settings of the finalists (overrides of the estimator's defaults).
SETTINGS: dict[str, dict] = {
    "base": {},
    "dropout0.2": {"dropout": 0.2},
    "bs32": {"batch_size": 32},
    "lr3e-3": {"learning_rate": 3e-3},
    "patience20": {"patience": 20},
}
N_FINALISTS = 5


def run_split(name: str, split: int, data, tr, te, tune_trials: int) -> list[dict]:
    params = family_params("smash", "small", split)
    est = zoo.get("smash").make("classification", **params)
    est._check_params()
    X_tr, y_tr = est._check_fit_input(data.X.iloc[tr], data.y.iloc[tr])
    classes, y_enc = np.unique(y_tr, return_inverse=True)
    Xt = est._fit_preprocessor(X_tr)
    est.classes_ = classes
    X_te = torch.as_tensor(est._transform(data.X.iloc[te]), dtype=torch.float64)
    y_te = np.searchsorted(classes, data.y.iloc[te].to_numpy())
    config = est._config()
    t0 = time.perf_counter()
    ctx = _context(est, Xt, y_enc.astype(np.int64), len(classes), config)
    with seeded(ctx.seed):
        gen, pool, _ = build_pool(ctx, est.search_space_, {})
    ranked = rank_candidates(ctx, gen, pool, "proxy")[:N_FINALISTS]
    pool_s = time.perf_counter() - t0
    ctx.deadline = None  # the finalists' times are measured, not cut

    def train(spec_cand: Candidate, cfg) -> tuple[Candidate, float, np.ndarray]:
        cand = Candidate(spec_cand.spec, "final", spec_cand.proxy, spec_cand.n_params)
        s = zlib.crc32(cand.spec.to_json().encode()) ^ ctx.seed
        ctx.rng = np.random.default_rng(s)
        t = time.perf_counter()
        with seeded(s):
            train_candidate(ctx, cand, gen, cfg)
        secs = time.perf_counter() - t
        with torch.no_grad():
            proba = outputs_to_proba(cand.net.double().eval()(X_te))
        return cand, secs, proba

    rows = []
    base_fin = None
    for setting, over in SETTINGS.items():
        cfg = replace(config, **over)
        trained = [train(c, cfg) for c in ranked]
        for k in (3, 5):
            fin = sorted(trained[:k], key=lambda f: (-f[0].real, -f[0].proxy))
            secs = pool_s + sum(f[1] for f in trained[:k])
            for m in sorted({1, 2, 3, k}):
                if m > len(fin):
                    continue
                proba = np.mean([f[2] for f in fin[:m]], axis=0)
                rows.append(
                    {
                        "dataset": name,
                        "split": split,
                        "variant": f"{setting}/top{k}/avg{m}",
                        "test_auc": auc_score(y_te, proba),
                        "val_auc": fin[0][0].real,
                        "time_s": secs,
                        "epochs": float(np.mean([f[0].epochs for f in fin[:m]])),
                    }
                )
        if setting == "base":
            base_fin = sorted(trained[:3], key=lambda f: (-f[0].real, -f[0].proxy))
    if tune_trials:
        ctx.rng = np.random.default_rng(ctx.seed)
        t = time.perf_counter()
        with seeded(ctx.seed):
            best, _ = tune_winner(ctx, base_fin[0][0], gen, tune_trials)
        tune_s = time.perf_counter() - t
        with torch.no_grad():
            p_best = outputs_to_proba(best.net.double().eval()(X_te))
        secs = pool_s + sum(f[1] for f in base_fin) + tune_s
        for m in (1, 2, 3):
            probas = [p_best] + [f[2] for f in base_fin[1:m]]
            rows.append(
                {
                    "dataset": name,
                    "split": split,
                    "variant": f"base/top3/tune{tune_trials}/avg{m}",
                    "test_auc": auc_score(y_te, np.mean(probas, axis=0)),
                    "val_auc": best.real,
                    "time_s": secs,
                    "epochs": float(best.epochs),
                }
            )
    return rows


BASELINE = "base/top3/avg2"  # today's default: top_k 3, ensemble_top_k 2, tune_trials 0


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Per variant: mean test AUC, paired gain over BASELINE (mean, SE, median, per split and per
    dataset wins/losses), median and max time."""
    wide = frame.pivot_table(index=["dataset", "split"], columns="variant", values="test_auc")
    times = frame.groupby("variant").time_s
    rows = []
    for variant in wide.columns:
        diff = (wide[variant] - wide[BASELINE]).dropna()
        per_ds = diff.groupby(level="dataset").mean()
        rows.append(
            {
                "variant": variant,
                "mean_auc": wide[variant].mean(),
                "gain": diff.mean(),
                "se": diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.nan,
                "median_gain": diff.median(),
                "splits_w_t_l": f"{(diff > 1e-9).sum()}/{(diff.abs() <= 1e-9).sum()}/"
                f"{(diff < -1e-9).sum()}",
                "datasets_better": int((per_ds > 1e-9).sum()),
                "datasets_worse": int((per_ds < -1e-9).sum()),
                "median_time_s": times.median()[variant],
                "max_time_s": times.max()[variant],
            }
        )
    return pd.DataFrame(rows).sort_values("gain", ascending=False, ignore_index=True)


def float_format(column: str) -> str:
    """Times to 1 decimal, gains signed to 4, the rest to 4."""
    return ".1f" if column.endswith("_s") else "+.4f" if "gain" in column else ".4f"


def pair_report(new_runs: Path, full_runs: Path = FULL_RUN) -> pd.DataFrame:
    """The new ``smash`` rows of a report-set run against the full run's old ``smash`` and
    ``xgboost-tuned`` rows of the same dataset-splits (same paper splits and seeds)."""
    new = pd.read_csv(new_runs)
    new = new[(new.family == "smash") & (new.status == "ok")]
    old = committed_aucs(full_runs)
    table = new.set_index(["dataset", "split"])[["auc", "fit_s"]].rename(
        columns={"auc": "smash_new", "fit_s": "fit_s_new"}
    )
    table = table.join(old[["smash", "xgboost-tuned"]].rename(columns={"smash": "smash_old"}))
    return table.dropna(subset=["smash_old", "xgboost-tuned"])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default=",".join(SELECTION_SET))
    ap.add_argument("--splits", type=int, default=2)
    ap.add_argument("--only-split", type=int, default=None)
    ap.add_argument("--tune-trials", type=int, default=4)
    ap.add_argument("--out", required=True, help="CSV, appended to (resumes: done pairs skipped)")
    ap.add_argument("--summarise", nargs="+", help="merge these CSVs into --out, print the table")
    ap.add_argument("--pair", help="a report-set runs.csv: pair its smash rows (see pair_report)")
    args = ap.parse_args(argv)
    if args.pair:
        table = pair_report(Path(args.pair))
        table.to_csv(args.out)
        n = len(table)
        for ref in ("smash_old", "xgboost-tuned"):
            diff = table.smash_new - table[ref]
            print(
                f"smash_new {table.smash_new.mean():.4f} vs {ref} {table[ref].mean():.4f}: "
                f"{diff.mean():+.4f} (SE {diff.std(ddof=1) / np.sqrt(n):.4f}), "
                f"new >= {ref} on {(diff >= 0).sum()}/{n} dataset-splits"
            )
        print(f"fit_s new median {table.fit_s_new.median():.1f}, max {table.fit_s_new.max():.1f}")
        return
    if args.summarise:
        frame = pd.concat([pd.read_csv(p) for p in args.summarise], ignore_index=True)
        frame = frame.drop_duplicates(["dataset", "split", "variant"])
        frame.to_csv(args.out, index=False)
        print(markdown(summarise(frame), float_format, blank=False))
        return
    torch.set_num_threads(1)
    out = Path(args.out)
    done = set()
    if out.is_file():
        prev = pd.read_csv(out)
        done = set(zip(prev.dataset, prev.split))
    for name in args.datasets.split(","):
        data = load_shared(name)
        splits = paper_splits(data.y, n_splits=args.splits, seed=0)
        for split, (tr, te) in enumerate(splits):
            if args.only_split is not None and split != args.only_split:
                continue
            if (name, split) in done:
                continue
            rows = run_split(name, split, data, tr, te, args.tune_trials)
            frame = pd.DataFrame(rows)
            frame.to_csv(out, mode="a", header=not out.is_file(), index=False)
            base = frame.set_index("variant").test_auc
            print(
                f"{name} {split}: base/top3/avg2 {base['base/top3/avg2']:.4f} "
                f"time {frame.time_s.max():.0f}s",
                flush=True,
            )


if __name__ == "__main__":
    main()
