"""Pretraining curves from ``automl-hyper pretrain`` logs, runs chained by ``--init-from``.

    python benchmarks/pretrain_curve.py benchmarks/results/pretrain_small_cpu.log \
        benchmarks/results/pretrain_small_gpu_h100.log --png benchmarks/results/pretrain_curve.png \
        [--mlflow-uri sqlite:///mlflow.db]

Prints the evaluation table (synthetic datasets seen over all runs, held-out synthetic loss relative
to the class-prior loss, generation-only AUC on 5 real datasets) and plots the training loss and
the real-data AUC against datasets seen. Each run's synthetic loss is measured on its own prior
(the GPU run's tasks have up to 1024 rows), so the ratio to that prior's class-prior loss is what
compares across runs; the real-data AUC is the same protocol throughout.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

STEP = re.compile(r"^step (\d+) tasks (\d+) loss ([\d.]+) lr ([\d.e+-]+) datasets/s ([\d.]+)")
EVAL = re.compile(r"^eval step (\d+) tasks (\d+): (.*)$")


def parse(path: str, run: str, offset: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    train, evals = [], []
    for line in open(path):
        if m := STEP.match(line):
            step, tasks, loss, lr, rate = m.groups()
            train.append(dict(run=run, step=int(step), seen=offset + int(tasks), loss=float(loss),
                              lr=float(lr), datasets_per_s=float(rate)))  # fmt: skip
        elif m := EVAL.match(line):
            metrics = dict(kv.split("=") for kv in m.group(3).split())
            evals.append({"run": run, "step": int(m.group(1)), "seen": offset + int(m.group(2)),
                          **{k: float(v) for k, v in metrics.items()}})  # fmt: skip
    return pd.DataFrame(train), pd.DataFrame(evals)


def log_to_mlflow(uri: str, logs: list[str], train: pd.DataFrame, ev: pd.DataFrame) -> None:
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("mothernet-pretrain")
    for path in logs:
        run = Path(path).stem
        with mlflow.start_run(run_name=f"{run} (imported log)"):
            mlflow.set_tags({"imported_from_log": path})
            for row in train[train.run == run].itertuples():
                mlflow.log_metrics(
                    {"train_loss": row.loss, "lr": row.lr, "datasets_per_s": row.datasets_per_s},
                    step=row.step,
                )
            metric_cols = [c for c in ev.columns if c not in ("run", "step", "seen")]
            for row in ev[ev.run == run].to_dict("records"):
                values = {k: row[k] for k in metric_cols if pd.notna(row[k])}
                mlflow.log_metrics({**values, "datasets_seen": row["seen"]}, step=row["step"])
        print(f"logged {run} to {uri}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "logs", nargs="+", help="logs in training order (each run continues the last)"
    )
    parser.add_argument("--png", default=None)
    parser.add_argument(
        "--mlflow-uri",
        default=None,
        help="also log each run's curves to this MLflow store (experiment mothernet-pretrain), "
        "for runs made where MLflow was not installed (the lent GPU machine)",
    )
    args = parser.parse_args(argv)
    trains, evals, offset = [], [], 0
    for i, path in enumerate(args.logs):
        train, ev = parse(path, Path(path).stem, offset)
        # A run started with --init-from evaluates its starting weights at step 0: drop that row
        # when it repeats the previous run's last evaluation.
        if i and not ev.empty:
            ev = ev[ev["step"] > 0]
        trains.append(train)
        evals.append(ev)
        offset = int(max(train["seen"].max(), ev["seen"].max() if not ev.empty else 0))
    train, ev = pd.concat(trains), pd.concat(evals)
    ev["synthetic_loss_vs_class_prior"] = ev["synthetic_loss"] / ev["synthetic_class_prior_loss"]
    cols = [
        "run",
        "step",
        "seen",
        "synthetic_loss_vs_class_prior",
        "synthetic_acc",
        "auc_real_mean",
    ]
    pd.set_option("display.width", 200)
    print(ev[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print("\nthroughput (median datasets/s per run):")
    print(train.groupby("run")["datasets_per_s"].median().to_string())
    if args.mlflow_uri:
        log_to_mlflow(args.mlflow_uri, args.logs, train, ev)
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
        for run, part in train.groupby("run"):
            smooth = part["loss"].rolling(10, min_periods=1).mean()
            a.plot(part["seen"], smooth, label=run)
        a.set(xscale="log", xlabel="synthetic datasets seen", ylabel="train loss (rolling mean)")
        a.legend()
        for run, part in ev.groupby("run"):
            b.plot(part["seen"], part["auc_real_mean"], marker="o", ms=3, label=run)
        b.set(xscale="log", xlabel="synthetic datasets seen", ylabel="generation-only AUC, 5 real")
        b.legend()
        fig.tight_layout()
        fig.savefig(args.png, dpi=110)
        print(f"\nwrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
