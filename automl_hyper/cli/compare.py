"""``automl-hyper compare``: the main job (DESIGN §1 and §4).

Loads a dataset (OpenML id or name through the local OpenML cache, a CSV/Parquet path), runs every
family on the protocol's splits, logs each run and model to MLflow (``sqlite:///mlflow.db`` by
default), registers the best as ``<dataset>@champion`` and prints a leaderboard. The CLI is the
application layer, so it (not the core protocol in automl_hyper.compare) wires in MLflow.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

DEFAULT_FAMILIES = "inn,xgboost-tuned"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, help="OpenML id or name, or a CSV/Parquet path")
    parser.add_argument(
        "--target", default=None, help="target column (files; default: target/last)"
    )
    parser.add_argument(
        "--families",
        default=DEFAULT_FAMILIES,
        help=f"comma-separated zoo families (default {DEFAULT_FAMILIES})",
    )
    parser.add_argument("--splits", type=int, default=5, help="number of splits (protocol: 5)")
    parser.add_argument("--budget", choices=("small", "paper"), default="small")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FAMILY.PARAM=VALUE",
        help="override a family parameter, e.g. --set xgboost-tuned.n_trials=5 (repeatable)",
    )
    parser.add_argument(
        "--tracking-uri", default=None, help="MLflow tracking URI (default sqlite:///mlflow.db)"
    )
    parser.add_argument(
        "--experiment", default=None, help="MLflow experiment (default compare-<dataset>)"
    )
    parser.add_argument("--cache-dir", default=None, help="OpenML cache folder")
    parser.add_argument("--no-register", action="store_true", help="do not register the champion")
    parser.add_argument(
        "--no-models", action="store_true", help="log metrics only, no model artifacts"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--log-file",
        default=None,
        metavar="PATH",
        help="where the libraries' messages (MLflow, Optuna, warnings) go during the run "
        "(default: a new file under the temporary folder; its path is printed at the end)",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show the libraries' messages on the terminal instead of a log file",
    )


def main(args: argparse.Namespace) -> int:
    from automl_hyper import zoo
    from automl_hyper.cli.chatter import default_log_path, stderr_to_file
    from automl_hyper.compare import leaderboard_text, run_comparison
    from automl_hyper.data.loading import load_dataset

    families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = [f for f in families if f.lower() not in zoo.FAMILIES]
    if unknown:
        print(f"unknown families {unknown}; known: {', '.join(zoo.names())}", file=sys.stderr)
        return 2
    if args.splits < 1:
        print("--splits must be at least 1", file=sys.stderr)
        return 2
    try:
        overrides = parse_overrides(args.set, families)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    log_path = None if args.verbose else Path(args.log_file or default_log_path("compare"))
    with contextlib.ExitStack() as stack:
        # Everything the libraries write to stderr goes to the log; the bar to the terminal.
        terminal = sys.stderr if log_path is None else stack.enter_context(stderr_to_file(log_path))
        dataset = load_dataset(args.dataset, args.target, cache_dir=args.cache_dir)
        print(f"{dataset!r}", flush=True)

        from automl_hyper.integrations.mlflow import MLflowTracker

        tracker = stack.enter_context(
            MLflowTracker(
                dataset.name,
                tracking_uri=args.tracking_uri,
                experiment=args.experiment,
                log_models=not args.no_models,
                register=not args.no_register,
                run_params={
                    "families": ",".join(families),
                    "splits": args.splits,
                    "budget": args.budget,
                    "seed": args.seed,
                },
            )
        )
        comparison = run_comparison(
            dataset,
            families,
            n_splits=args.splits,
            budget=args.budget,
            seed=args.seed,
            overrides=overrides,
            tracker=tracker,
            progress=False if args.quiet else terminal,
        )
    board = comparison.leaderboard()
    print()
    print(leaderboard_text(board))
    for record in comparison.records:
        if record.status == "failed":
            print(f"FAILED {record.family} split {record.split}: {record.error}", file=sys.stderr)
    print(
        f"\nMLflow: {tracker.tracking_uri}  experiment {tracker.experiment}  run {tracker.parent_run_id}"
    )
    if tracker.champion_uri:
        print(f"champion: {comparison.champion()} -> {tracker.champion_uri}")
        print(
            f"serve it: mlflow models serve -m {tracker.champion_uri} --env-manager local -p 5001"
        )
    if log_path is not None:
        print(f"library messages (MLflow, Optuna, warnings): {log_path.resolve()}")
    ok = any(r.status == "ok" for r in comparison.records)
    return 0 if ok else 1


def parse_overrides(items: list[str], families: list[str]) -> dict[str, dict]:
    """``["xgboost-tuned.n_trials=5"]`` -> ``{"xgboost-tuned": {"n_trials": 5}}`` (values as literals)."""
    import ast

    out: dict[str, dict] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        family, dot, param = key.rpartition(".")
        if not sep or not dot or family not in families:
            raise ValueError(
                f"--set {item!r}: expected FAMILY.PARAM=VALUE with FAMILY in {families}"
            )
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw  # a bare word such as quantile
        out.setdefault(family, {})[param] = value
    return out
