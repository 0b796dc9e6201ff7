"""SMASH on real tabular data: does the hypernetwork proxy rank architectures like real training?

Per dataset (benchmark protocol, docs/benchmark_protocol.md: train = min(1000, n/2) rows, test = the same size,
stratified), with the training rows split 80/20 into fit/validation rows:

1. Train one ordinary MLP (plain 128-128 ReLU, early stopping): the time reference (the mean
   real training time of the sampled architectures is printed as a second reference).
2. For each hypernetwork configuration (conditioning width x low rank @ epochs):
   train the hypernetwork, score ``--n-candidates`` random architectures by their validation
   log loss under generated weights (timed: the "search time").
3. Train ``--n-archs`` of those architectures (drawn at random from the scored pool) for real,
   twice (seeds 0 and 1, scores averaged), and compute Kendall's tau between proxy and real
   validation scores (AUC and log loss). The tau between the two seeds' real scores is printed
   too: it is the ceiling that training noise puts on any proxy.
4. Test AUC of SmashClassifier (the whole estimator), of the default MLP and of tuned XGBoost.

Prints a table per dataset and a summary. Example (reduced budget, niced, one thread):

    nice -n 10 python benchmarks/smash_correlation.py --n-datasets 8 --n-archs 20
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import kendalltau
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from automl_hyper.data.preprocess import TabularPreprocessor
from automl_hyper.models.smash import (
    ArchSpec,
    FixedArchitectureClassifier,
    SearchSpace,
    SmashClassifier,
)
from automl_hyper.models.smash.hypernet import WeightGenerator, train_hypernet
from automl_hyper.models.smash.network import ArchNet
from automl_hyper.models.smash.search import proxy_scores
from automl_hyper.models.smash.training import holdout_split, score_outputs, train_network

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"
DEFAULT_DATASETS = [
    "breast-w",
    "credit-g",
    "diabetes",
    "vehicle",
    "kc2",
    "blood-transfusion-service-center",
    "ilpd",
    "qsar-biodeg",
    "balance-scale",
    "cmc",
]


def load(name: str) -> tuple[pd.DataFrame, np.ndarray]:
    frame = pd.read_csv(DATA / f"{name}.csv")
    categorical = json.loads((DATA / "CATEGORICAL.json").read_text()).get(name, [])
    X, y = frame.iloc[:, :-1], frame.iloc[:, -1].astype(str).to_numpy()
    for col in categorical:
        if col in X.columns:
            X[col] = X[col].astype(str)
    return X, np.unique(y, return_inverse=True)[1]


def protocol_split(X, y, seed):
    n_train = min(1000, len(y) // 2)
    return train_test_split(
        X, y, train_size=n_train, test_size=n_train, stratify=y, random_state=seed
    )


def auc(y, proba):
    if proba.shape[1] == 2:
        return roc_auc_score(y, proba[:, 1])
    return roc_auc_score(y, proba, multi_class="ovo", labels=np.arange(proba.shape[1]))


def parse_configs(text: str) -> list[tuple[int, int, int]]:
    """'128x4@30,256x8@100' -> [(hidden, rank, hypernetwork epochs), ...]."""
    out = []
    for part in text.split(","):
        size, _, epochs = part.partition("@")
        hidden, _, rank = size.partition("x")
        out.append((int(hidden), int(rank), int(epochs or 30)))
    return out


def xgb_model(seed: int, budget: float):
    try:
        from automl_hyper.models.baselines import TunedXGBClassifier

        return "tuned", TunedXGBClassifier(n_trials=20, time_budget=budget, random_state=seed)
    except ImportError:
        from xgboost import XGBClassifier

        return "default", XGBClassifier(n_jobs=1, random_state=seed)


def run_dataset(name: str, args) -> list[dict]:
    X, y = load(name)
    n_classes = int(y.max()) + 1
    X_tr, X_te, y_tr, y_te = protocol_split(X, y, args.seed)
    pre = TabularPreprocessor(random_state=0)
    Xt = torch.as_tensor(pre.fit_transform(X_tr), dtype=torch.float32)
    fit_idx, val_idx = holdout_split(y_tr, "classification", 0.2, args.seed)
    y_t = torch.as_tensor(y_tr, dtype=torch.int64)
    X_fit, y_fit, X_val, y_val = Xt[fit_idx], y_t[fit_idx], Xt[val_idx], y_t[val_idx]
    # Rows that proxy and real scores are measured on: the validation rows, or (less noisy, for
    # the correlation study only) the protocol's test half, several times larger.
    if args.rank_on_test:
        X_rank = torch.as_tensor(pre.transform(X_te), dtype=torch.float32)
        y_rank = np.asarray(y_te)
    else:
        X_rank, y_rank = X_val, y_val.numpy()
    space = SearchSpace(max_depth=args.max_depth)
    rng = np.random.default_rng(args.seed)

    def real_train(spec: ArchSpec, seed: int) -> tuple[float, float, float]:
        torch.manual_seed(seed)
        net = ArchNet(spec, Xt.shape[1], n_classes)
        t = time.perf_counter()
        train_network(
            net, X_fit, y_fit, X_val, y_val, "classification", rng=np.random.default_rng(seed)
        )
        seconds = time.perf_counter() - t
        with torch.no_grad():
            out = net(X_rank)
        y_np = y_rank
        return (
            score_outputs(out, y_np, "classification", "auc"),
            score_outputs(out, y_np, "classification", "neg_log_loss"),
            seconds,
        )

    # The time reference: the median of three trainings of a default MLP.
    mlp_seconds = float(np.median([real_train(ArchSpec.plain((128, 128)), s)[2] for s in range(3)]))
    pool = list(dict.fromkeys(space.sample(rng) for _ in range(args.n_candidates)))
    picks = rng.choice(len(pool), size=min(args.n_archs, len(pool)), replace=False)
    chosen = [pool[i] for i in picks]
    # Real score = mean of two training seeds; the two seeds' own agreement is the noise ceiling.
    runs = np.array([[real_train(spec, seed) for seed in (0, 1)] for spec in chosen])
    arch_seconds = float(runs[:, :, 2].mean())  # mean real training time of a sampled architecture
    real_auc, real_ll = runs[:, :, 0].mean(1), runs[:, :, 1].mean(1)
    seed_tau = kendalltau(runs[:, 0, 0], runs[:, 1, 0]).statistic
    # A trivial proxy to beat: the parameter count (its sign tells whether bigger was better).
    size_tau = kendalltau([s.n_params(Xt.shape[1], n_classes) for s in chosen], real_auc).statistic

    rows = []
    for hidden, rank, epochs in parse_configs(args.configs):
        torch.manual_seed(args.seed)
        gen = WeightGenerator(space, Xt.shape[1], n_classes, hidden=hidden, rank=rank)
        t = time.perf_counter()
        train_hypernet(
            gen,
            X_fit,
            y_fit,
            "classification",
            rng=np.random.default_rng(args.seed),
            time_budget=None,
            max_epochs=epochs,
            learning_rate=args.hyper_lr,
            archs_per_step=args.archs_per_step,
        )
        hyper_s = time.perf_counter() - t
        # The search as the estimator runs it: the whole pool scored on the validation rows.
        t = time.perf_counter()
        proxy_scores(gen, pool, X_val, y_val.numpy(), "classification", "neg_log_loss")
        score_s = time.perf_counter() - t
        proxy_ll = proxy_scores(gen, chosen, X_rank, y_rank, "classification", "neg_log_loss")
        proxy_auc = proxy_scores(gen, chosen, X_rank, y_rank, "classification", "auc")
        rows.append(
            {
                "dataset": name,
                "hyper": f"{hidden}x{rank}@{epochs}ep",
                "hyper_params": sum(p.numel() for p in gen.parameters()),
                "tau_ll_vs_auc": kendalltau(proxy_ll, real_auc).statistic,
                "tau_ll_vs_ll": kendalltau(proxy_ll, real_ll).statistic,
                "tau_auc_vs_auc": kendalltau(proxy_auc, real_auc).statistic,
                "tau_seed_vs_seed": seed_tau,
                "tau_nparams_vs_auc": size_tau,
                "mlp_s": mlp_seconds,
                "search_s": hyper_s + score_s,
                "score_s": score_s,
                "search_x_mlp": (hyper_s + score_s) / mlp_seconds,
                "arch_s": arch_seconds,
                "search_x_arch": (hyper_s + score_s) / arch_seconds,
            }
        )

    if args.correlation_only:
        return rows
    # Test AUC: whole SMASH estimator, default MLP, XGBoost.
    t = time.perf_counter()
    smash = SmashClassifier(
        n_candidates=args.n_candidates,
        hyper_time_budget=args.smash_hyper_budget,
        random_state=args.seed,
    ).fit(X_tr, y_tr)
    smash_s = time.perf_counter() - t
    mlp = FixedArchitectureClassifier(random_state=args.seed).fit(X_tr, y_tr)
    kind, xgb = xgb_model(args.seed, args.xgb_budget)
    if kind == "default":
        xgb.fit(pre.transform(X_tr), y_tr)
        xgb_proba = xgb.predict_proba(pre.transform(X_te))
    else:
        xgb.fit(X_tr, y_tr)
        xgb_proba = xgb.predict_proba(X_te)
    extra = {
        "auc_smash": auc(y_te, smash.predict_proba(X_te)),
        "auc_mlp": auc(y_te, mlp.predict_proba(X_te)),
        f"auc_xgb_{kind}": auc(y_te, xgb_proba),
        "smash_fit_s": smash_s,
        "smash_winner": smash.best_spec_.describe(),
        "finalist_tau": smash.proxy_kendall_tau_,
    }
    for row in rows:
        row.update(extra)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DEFAULT_DATASETS))
    parser.add_argument("--n-datasets", type=int, default=8)
    parser.add_argument("--n-archs", type=int, default=20)
    parser.add_argument("--n-candidates", type=int, default=500)
    parser.add_argument("--configs", default="32x2@20,128x4@20,128x4@60")
    parser.add_argument("--hyper-lr", type=float, default=1e-2)
    parser.add_argument("--archs-per-step", type=int, default=1)
    parser.add_argument("--smash-hyper-budget", type=float, default=20.0)
    parser.add_argument("--xgb-budget", type=float, default=30.0)
    parser.add_argument("--max-depth", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--rank-on-test", action="store_true", help="score proxy and real on the test half"
    )
    parser.add_argument("--correlation-only", action="store_true", help="skip the test AUCs")
    parser.add_argument("--out", default=None, help="also write the rows as CSV here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)
    names = args.datasets.split(",")[: args.n_datasets]
    rows = []
    for name in names:
        t = time.perf_counter()
        rows.extend(run_dataset(name, args))
        frame = pd.DataFrame(rows)
        print(frame[frame.dataset == name].round(3).to_string(index=False), flush=True)
        print(f"[{name}: {time.perf_counter() - t:.0f} s]", flush=True)
        if args.out:
            frame.to_csv(args.out, index=False)
    frame = pd.DataFrame(rows)
    numeric = frame.select_dtypes("number").columns
    summary = frame.groupby("hyper")[list(numeric)].mean().round(3)
    print("\nmean over datasets, per hypernetwork configuration:")
    print(summary.to_string())
    print(
        "\nmedian search time / MLP time:",
        frame.groupby("hyper")["search_x_mlp"].median().round(2).to_dict(),
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
