"""MotherNet inference options (issue 13.4) measured on the selection set, generation only.

Each variant is a set of ``MotherNetClassifier`` parameters; every variant is fitted on the same
paper splits (train = min(1000, n/2) rows, as many test rows, seed 0) of every dataset, with
``random_state`` = split index. Prints ROC AUC per dataset (mean over splits; one-vs-one macro for
multiclass, as the paper) and the mean, mean log loss, members written, and fit and predict
time as this process's CPU time (the shared machine's load disturbs it less than wall time),
in ms, mean over datasets. ``--flops`` adds the child forward pass's and the hypernetwork's
achieved GFLOP/s on one thread next to a torch matmul's on one thread (issue 13's speed goal).

    nice python benchmarks/mothernet_inference.py --group many-classes --splits 2
    nice python benchmarks/mothernet_inference.py --group many-classes-weighting --splits 2
    nice python benchmarks/mothernet_inference.py --group members --splits 2
    nice python benchmarks/mothernet_inference.py --group weighting --splits 2
    nice python benchmarks/mothernet_inference.py --flops
    nice python benchmarks/mothernet_inference.py --group precision --splits 3 --warmup --csv ...
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    DATA_DIR,
    committed_aucs,
    evaluate_split0,
    fit_predict_scores,
    load_shared,
    peak_rss_mb,
)

# Datasets with more than 10 classes outside the 30 reported ones: soybean is in the selection
# set; arrhythmia (13 classes, 279 features) and one-hundred-plants-shape (100 classes) are other
# non-CC18 sets (abalone is left out: classes with one row cannot be split).
MANY_CLASSES = ("soybean", "arrhythmia", "one-hundred-plants-shape")

# Settings every variant of a group shares (those of the runs in benchmarks/results).
COMMON = {
    "many-classes": {},
    "many-classes-weighting": {"many_classes": "tree"},
    "members": {"many_classes": "codes", "member_selection": None},
    "weighting": {"many_classes": "codes"},
    "gen": {},  # the estimator's defaults of the day (issue 13, generation-only accuracy)
    "precision": {},  # the defaults of the day; rule in benchmarks/results/mothernet_bf16_selection.md
}

GROUPS: dict[str, dict[str, dict]] = {
    "many-classes": {
        "ovr": {"many_classes": "ovr", "member_selection": None},
        "codes": {"many_classes": "codes", "member_selection": None},
        "tree": {"many_classes": "tree", "member_selection": None},
    },
    "many-classes-weighting": {
        "equal": {"member_selection": None},
        "train": {"member_selection": "train"},
    },
    "members": {
        "n=1": {"n_estimators": 1},
        "n=2": {"n_estimators": 2},
        "n=4": {"n_estimators": 4},
        "n=8": {"n_estimators": 8},
        "n=16": {"n_estimators": 16},
        "auto 0.25 s": {"n_estimators": "auto", "time_budget": 0.25},
        "auto 0.5 s": {"n_estimators": "auto", "time_budget": 0.5},
    },
    "weighting": {
        "equal": {"member_selection": None},
        "train tau=0.02": {"member_selection": "train", "_train_weight_tau": 0.02},
        "train tau=0.05": {"member_selection": "train", "_train_weight_tau": 0.05},
        "train tau=0.2": {"member_selection": "train", "_train_weight_tau": 0.2},
        "unf": {"member_selection": "unf"},
    },
    # bfloat16 encoder forward, and members re-chosen at its lower cost (issue 13, 3 splits).
    "precision": {
        "float32 n=4": {"precision": "float32", "n_estimators": 4},
        "bfloat16 n=4": {"precision": "bfloat16", "n_estimators": 4},
        "bfloat16 n=6": {"precision": "bfloat16", "n_estimators": 6},
        "bfloat16 n=8": {"precision": "bfloat16", "n_estimators": 8},
    },
    # One hypothesis per column against the defaults, 3 splits (SELECTION_SPLITS); the rule
    # that adopts one is in benchmarks/results/mothernet_gen_inference.md.
    "gen": {
        "defaults": {},
        "onehot": {"categorical_encoding": "onehot"},  # the defaults before this sweep
        "ordinal": {"categorical_encoding": "ordinal"},
        "mixed encoding": {"categorical_encoding": "mixed"},
        "binary": {"categorical_encoding": "binary"},
        "mixed binary/ordinal": {
            "categorical_encoding": "mixed",
            "_mixed_encodings": ("binary", "ordinal"),
        },
        "rows 512": {"max_train_rows": 512},
        "transform none": {"input_transform": "none"},
        "transform quantile": {"input_transform": "quantile"},
        "transform power": {"input_transform": "power"},
        "rows 512 n=8": {"max_train_rows": 512, "n_estimators": 8},
        "n=3": {"n_estimators": 3},
        "temperature 0.7": {"temperature": 0.7},
        "temperature 1.5": {"temperature": 1.5},
        "mixed, temperature 1.5": {"categorical_encoding": "mixed", "temperature": 1.5},
        # Second round (rule of 17:05 UTC in mothernet_gen_inference.md).
        "geometric mean": {"_average": "geometric"},
        "ordinal by frequency": {"_ordinal_order": "frequency"},
        "ordinal by target": {"_ordinal_order": "target"},
    },
}


def run_variant(data, splits: int, params: dict) -> dict[str, float]:

    from automl_hyper.data.splits import paper_splits
    from automl_hyper.models.mothernet import MotherNetClassifier, child, estimator

    params = dict(params)
    module = {
        "_codes_per_group": (estimator, "_CODES_PER_GROUP"),
        "_train_weight_tau": (estimator, "_TRAIN_WEIGHT_TAU"),
        "_mixed_encodings": (estimator, "_MIXED_ENCODINGS"),
        "_ordinal_order": (estimator, "_ORDINAL_ORDER"),
        "_average": (child, "_AVERAGE"),
    }
    saved = {}
    for key, (mod, attr) in module.items():  # benchmark-only knobs: the modules' constants
        saved[(mod, attr)] = getattr(mod, attr)
        if key in params:
            setattr(mod, attr, params.pop(key))
    try:
        rows = []
        for i, (tr, te) in enumerate(paper_splits(data.y, n_splits=splits, seed=0)):
            clf = MotherNetClassifier(random_state=i, **params)
            scores = fit_predict_scores(clf, data, tr, te)
            rows.append(
                tuple(scores[k] for k in ("auc", "logloss", "members", "fit_ms", "predict_ms"))
            )
    finally:
        for (mod, attr), value in saved.items():
            setattr(mod, attr, value)
    auc, ll, members, fit_ms, pred_ms = np.mean(rows, axis=0)
    return {
        "auc": auc,
        "logloss": ll,
        "members": members,
        "fit_ms": fit_ms,
        "predict_ms": pred_ms,
        "splits": rows,  # per split: auc, log loss, members, fit ms, predict ms
    }


def flops_report(repeats: int = 5) -> str:
    """Achieved GFLOP/s on one thread: torch matmul peak, the numpy child's forward pass (float64,
    as predictions run) and the hypernetwork's forward pass (one 1,000-row task)."""
    import torch
    from threadpoolctl import threadpool_limits

    from automl_hyper.models.mothernet.child import Member
    from automl_hyper.models.mothernet.registry import load_model

    torch.set_num_threads(1)

    def best(fn) -> float:
        fn()
        times = []
        for _ in range(repeats):
            t0 = time.thread_time()
            fn()
            times.append(time.thread_time() - t0)
        return min(times)

    lines = [
        f"achieved GFLOP/s on one thread (best of {repeats} runs, this thread's CPU time: the "
        "shared machine's other jobs inflate wall time)"
    ]
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        a, b = torch.randn(1024, 1024, dtype=dtype), torch.randn(1024, 1024, dtype=dtype)
        t = best(lambda a=a, b=b: a @ b)
        lines.append(f"  torch matmul 1024^3 {str(dtype)[6:]:>8}: {2 * 1024**3 / t / 1e9:7.1f}")
    rng = np.random.default_rng(0)
    n, F, H, K = 1000, 100, 512, 10
    m = Member(
        np.arange(F), None, np.zeros(F), np.ones(F),
        rng.standard_normal((F, H)).astype(np.float32), np.zeros(H, np.float32),
        rng.standard_normal((H, K)).astype(np.float32), np.zeros(K, np.float32),
        np.arange(K),
    )  # fmt: skip
    Z = rng.standard_normal((n, F)).astype(np.float32)
    with threadpool_limits(1, user_api="blas"):
        t = best(lambda: m.logits(Z))
        a64, b64 = rng.standard_normal((1024, 1024)), rng.standard_normal((1024, 1024))
        tn = best(lambda: a64 @ b64)
    flops = 2 * n * (F * H + H * K)
    lines.append(f"  numpy matmul 1024^3  float64: {2 * 1024**3 / tn / 1e9:7.1f}")
    lines.append(
        f"  child forward (numpy float64, {n} rows, {F}->{H}->{K}): "
        f"{flops / t / 1e9:7.1f}  ({t * 1e3:.2f} ms)"
    )
    model, _ = load_model(None)
    cfg = model.config
    X = torch.randn(1, 1000, cfg.max_features)
    y = torch.randint(0, 2, (1, 1000))
    nf = torch.tensor([20])
    with torch.no_grad():
        t = best(lambda: model.generate(X, y, nf))
    from torch.utils.flop_counter import FlopCounterMode

    # Counted with gradients enabled: under no_grad the encoder takes PyTorch's fused fast path,
    # whose kernel the flop counter does not see.
    counter = FlopCounterMode(display=False)
    with counter:
        model.generate(X, y, nf)
    # The counter misses the attention products (scaled_dot_product_attention): QK^T and AV are
    # 2 * n^2 * embed each per layer, added by hand.
    attention = 4 * cfg.n_layers * X.shape[1] ** 2 * cfg.embed_dim
    gf = counter.get_total_flops() + attention
    lines.append(
        f"  hypernetwork generate (1 task, 1000 rows, float32): {gf / t / 1e9:7.1f}  "
        f"({t * 1e3:.1f} ms, {gf / 1e9:.2f} GFLOP of which attention {attention / 1e9:.2f})"
    )
    with torch.no_grad():  # precision="bfloat16": the encoder under autocast, same FLOPs
        t = best(lambda: model.generate(X, y, nf, torch.bfloat16))
    lines.append(
        f"  hypernetwork generate (1 task, 1000 rows, bfloat16 encoder): {gf / t / 1e9:7.1f}  "
        f"({t * 1e3:.1f} ms)"
    )
    return "\n".join(lines)


def pair_report(csv: Path, runs: Path, variants: list[str]) -> str:
    """Per-split AUCs of ``csv`` (this script's ``--csv``) paired with the families of a
    benchmark run's ``runs.csv`` (same paper splits, seed 0, random_state = split): mean
    difference, its standard error over the dataset-splits, and how many are at or above."""
    import pandas as pd

    ours = pd.read_csv(csv)
    theirs = committed_aucs(runs)
    lines = []
    for variant in variants:
        mine = ours[ours.variant == variant].set_index(["dataset", "split"])["auc"]
        lines.append(f"{variant}: mean AUC {mine.mean():.4f} over {len(mine)} dataset-splits")
        for family in ("xgboost-tuned", "mothernet"):
            ref = theirs[family].dropna()
            diff = (mine - ref).dropna()
            lines.append(
                f"  - {family} (runs.csv, mean {ref.loc[diff.index].mean():.4f}): "
                f"{diff.mean():+.4f} (SE {diff.std(ddof=1) / np.sqrt(len(diff)):.4f}), "
                f">= on {(diff >= 0).sum()}/{len(diff)}"
            )
    return "\n".join(lines)


def time_vs_xgboost(names: list[str], data_dir: Path, params: dict) -> str:
    """Fit+predict time of tuned XGBoost (the zoo's, budget small: the benchmark's) and of
    MotherNet (``params`` over the zoo's defaults) on split 0 of each dataset, one after the
    other in this process: wall and CPU (process) seconds, and the ratios."""

    lines = ["dataset | xgboost-tuned wall / cpu s | mothernet wall / cpu s | ratio wall / cpu"]
    ratios = []
    for name in names:
        data = load_shared(name, data_dir)
        row = []
        for family, extra in (("xgboost-tuned", {}), ("mothernet", params)):
            record, _, cpu = evaluate_split0(family, extra, data)
            row.append((record.fit_s + record.predict_s, cpu))
        (xw, xc), (mw, mc) = row
        ratios.append((xw / mw, xc / mc))
        lines.append(
            f"{name} | {xw:.2f} / {xc:.2f} | {mw:.3f} / {mc:.3f} | {xw / mw:.0f}x / {xc / mc:.0f}x"
        )
    r = np.array(ratios)
    lines.append(
        f"median ratio: wall {np.median(r[:, 0]):.0f}x, cpu {np.median(r[:, 1]):.0f}x "
        f"over {len(names)} datasets"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", choices=sorted(GROUPS), default=None)
    parser.add_argument("--datasets", nargs="*", default=None, help="default: the selection set")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--splits", type=int, default=2)
    parser.add_argument("--flops", action="store_true", help="GFLOP/s report")
    parser.add_argument(
        "--variants", nargs="*", default=None, help="only these variants of the group"
    )
    parser.add_argument("--csv", type=Path, default=None, help="append per-split rows here")
    parser.add_argument(
        "--warmup", action="store_true", help="one untimed fit per variant before timing"
    )
    parser.add_argument(
        "--pair-with",
        type=Path,
        default=None,
        help="a benchmark run's runs.csv: pair --csv's per-split AUCs with its families",
    )
    parser.add_argument(
        "--time-vs-xgboost",
        action="store_true",
        help="time tuned XGBoost and MotherNet (--variants' first, over the zoo defaults) "
        "on split 0 of --datasets",
    )
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    if args.flops:
        print(flops_report())
    if args.pair_with is not None:
        print(pair_report(args.csv, args.pair_with, args.variants or ["defaults"]))
        return 0
    if args.time_vs_xgboost:
        variant = (args.variants or ["defaults"])[0]
        print(time_vs_xgboost(args.datasets, args.data_dir, GROUPS[args.group][variant]))
        return 0
    if args.group is None:
        return 0
    from automl_hyper.data.benchmark_sets import SELECTION_SET

    names = args.datasets or (
        list(MANY_CLASSES) if args.group.startswith("many-classes") else list(SELECTION_SET)
    )
    variants = GROUPS[args.group]
    if args.variants:
        variants = {v: variants[v] for v in args.variants}
    results: dict[str, dict[str, dict]] = {v: {} for v in variants}
    if args.warmup:  # one untimed fit per variant: checkpoint load, imports, first-call kernels
        data = load_shared(names[0], args.data_dir)
        for params in variants.values():
            run_variant(data, 1, {**COMMON[args.group], **params})
    for name in names:
        data = load_shared(name, args.data_dir)
        for label, params in variants.items():
            params = {**COMMON[args.group], **params}
            results[label][name] = run_variant(data, args.splits, params)
            r = results[label][name]
            if args.csv is not None:  # one row per split, for pairing with other runs
                new = not args.csv.exists()
                with args.csv.open("a") as f:
                    if new:
                        f.write(
                            "group,variant,dataset,split,auc,logloss,members,fit_ms,predict_ms\n"
                        )
                    for i, row in enumerate(r["splits"]):
                        values = ",".join(f"{v:.6g}" for v in row)
                        f.write(f"{args.group},{label},{name},{i},{values}\n")
            print(
                f"# {name:<28} {label:<22} auc {r['auc']:.4f} members {r['members']:.1f} "
                f"fit {r['fit_ms']:.0f} ms",
                file=sys.stderr,
                flush=True,
            )
    print(
        f"MotherNet inference, group {args.group!r}: {len(names)} datasets x {args.splits} paper "
        "splits, generation only; ROC AUC per dataset (mean over splits); times are CPU ms, "
        "mean over datasets"
    )
    width = max(len(v) for v in variants) + 2
    print(f"{'dataset':<28}" + "".join(f"{v:>{width}}" for v in variants))
    for name in names:
        print(f"{name:<28}" + "".join(f"{results[v][name]['auc']:>{width}.4f}" for v in variants))
    for key, fmt in (
        ("auc", ".4f"),
        ("logloss", ".4f"),
        ("members", ".1f"),
        ("fit_ms", ".0f"),
        ("predict_ms", ".0f"),
    ):
        label = "mean AUC" if key == "auc" else f"mean {key}"
        print(
            f"{label:<28}"
            + "".join(
                f"{np.mean([results[v][n][key] for n in names]):>{width}{fmt}}" for v in variants
            )
        )
    base = variants and next(iter(variants))
    print(
        f"{'wins vs ' + base:<28}"
        + "".join(
            f"{sum(results[v][n]['auc'] > results[base][n]['auc'] + 1e-9 for n in names):>{width - 3}}"
            f"/{sum(results[v][n]['auc'] < results[base][n]['auc'] - 1e-9 for n in names):<2}"
            for v in variants
        )
    )
    print(f"peak RSS {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
