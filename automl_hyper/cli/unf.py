"""``automl-hyper unf``: child banks and the child-quality predictor (universal neural functionals).

Examples::

    automl-hyper unf build --family smash --tasks 30 --out banks/smash
    automl-hyper unf train --from banks/smash --out predictor.pt --meta-features
    automl-hyper unf ship --from predictor.pt --name unf-smash

``build`` resumes where it stopped when run again with the same ``--out`` and settings (a smash
bank's ``--real-seeds`` may grow: the built tasks get the added trainings). The logic
lives in ``automl_hyper.weightspace``; this module only parses arguments.
"""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="unf_command", required=True)
    b = sub.add_parser("build", help="generate a bank of children on synthetic prior tasks")
    b.add_argument("--family", choices=("mothernet", "smash"), required=True, help="whose children")
    b.add_argument("--tasks", type=int, required=True, help="number of prior tasks")
    b.add_argument("--out", required=True, help="bank directory (resumed if it exists)")
    b.add_argument("--seed", type=int, default=0, help="seed of the prior tasks")
    b.add_argument("--archs", type=int, default=12, help="smash: architectures per task")
    b.add_argument("--hyper-seconds", type=float, default=4.0, help="smash: hypernet budget/task")
    b.add_argument("--real-epochs", type=int, default=40, help="smash: epochs of real training")
    b.add_argument("--min-rows", type=int, default=300, help="rows per prior task, at least")
    b.add_argument("--max-rows", type=int, default=600, help="rows per prior task, at most")
    b.add_argument("--max-features", type=int, default=20, help="features per prior task, at most")
    b.add_argument("--max-depth", type=int, default=3, help="smash: deepest sampled architecture")
    b.add_argument(
        "--real-seeds",
        type=int,
        default=1,
        help="smash: trainings per architecture (mean score); more than a built bank has adds "
        "trainings to its tasks on resume (same labels as building with them from the start)",
    )
    b.add_argument("--widths", default="8,16,32,64", help="smash: layer widths sampled")
    b.add_argument(
        "--prior",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a PriorConfig field of the tasks, e.g. gp_fraction=0.5 (repeatable)",
    )
    b.add_argument(
        "--task-filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="keep only tasks where capacity pays: min_reference_auc=0.7, min_nonlinear_gap=0.03",
    )
    b.add_argument("--no-progress", action="store_true", help="no progress bar")

    t = sub.add_parser("train", help="train a child-quality predictor on a bank")
    t.add_argument("--from", dest="source", required=True, nargs="+", help="bank directories")
    t.add_argument("--out", required=True, help="predictor file (.pt; a .pt.json sidecar is added)")
    t.add_argument("--meta-features", action="store_true", help="also read rows/features/classes")
    t.add_argument("--epochs", type=int, default=30, help="training epochs over the bank")
    t.add_argument("--lr", type=float, default=1e-3, help="learning rate")
    t.add_argument("--channels", default="16,16", help="channels of the equivariant layers")
    t.add_argument("--seed", type=int, default=0, help="seed of the split and the weights")
    t.add_argument("--holdout-tasks", type=float, default=0.2, help="share of tasks held out")
    t.add_argument(
        "--objective",
        choices=("regression", "within_task"),
        default="within_task",
        help="squared error on the score centred per task (default: ranks held-out tasks' "
        "children better) or on the score itself (regression)",
    )

    s = sub.add_parser("ship", help="copy a trained predictor into automl_hyper/weights")
    s.add_argument("--from", dest="source", required=True, help="predictor file with .json sidecar")
    s.add_argument("--name", required=True, help="shipped name, e.g. unf-smash")


def _key_values(items: list[str]) -> dict:
    """``["a=1", "b=0.5"]`` -> ``{"a": 1, "b": 0.5}`` (values read as JSON)."""
    return {k: json.loads(v) for k, v in (kv.split("=", 1) for kv in items)}


def main(args: argparse.Namespace) -> int:
    if args.unf_command == "ship":
        from automl_hyper.weightspace.predictor import ship

        print(f"shipped {ship(args.source, args.name)}")
        return 0
    if args.unf_command == "build":
        from automl_hyper.weightspace.bank import BankConfig, build

        config = BankConfig(
            family=args.family,
            seed=args.seed,
            n_archs=args.archs,
            hyper_seconds=args.hyper_seconds,
            real_epochs=args.real_epochs,
            min_rows=args.min_rows,
            max_rows=args.max_rows,
            max_features=args.max_features,
            max_depth=args.max_depth,
            real_seeds=args.real_seeds,
            widths=[int(w) for w in args.widths.split(",")],
            prior=_key_values(args.prior),
            task_filter=_key_values(args.task_filter),
        )
        table = build(args.out, config, args.tasks, progress=not args.no_progress, log=print)
        print(f"{len(table)} children on {table['task'].nunique()} tasks in {args.out}")
        return 0
    from automl_hyper.weightspace.predictor import train_from_banks

    report = train_from_banks(
        args.source,
        args.out,
        meta_features=args.meta_features,
        epochs=args.epochs,
        learning_rate=args.lr,
        channels=tuple(int(c) for c in args.channels.split(",")),
        seed=args.seed,
        holdout_tasks=args.holdout_tasks,
        log=print,
        objective=args.objective,
    )
    for key, value in report.items():
        print(f"{key}: {value}")
    return 0
