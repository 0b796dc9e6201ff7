"""``automl-hyper benchmark``: the compare protocol (docs/benchmark_protocol.md) over a whole suite.

Every dataset x split x family is one MLflow run tagged with the suite, dataset, split, family,
protocol, budget and a key of the family's parameters; running the same command again skips what
is FINISHED (so a stopped benchmark resumes). --workers N runs N processes on this machine, each
taking the next dataset; several machines may run the same command against one shared tracking
server (split the list with --shard K/N). At the end the report (index.html with PNG plots and
the tables as CSV) is written to --output and logged to MLflow.

examples:
  automl-hyper benchmark --suite cc18-30 --data-dir ../shared/datasets \\
      --families mothernet,mothernet-ft,inn,smash,xgboost-tuned --splits 5 --workers 2 \\
      --anchors ../shared/anchors/mothernet_paper_auc_by_dataset.csv
  automl-hyper benchmark --suite credit-g,diabetes,kc2 --families logreg,mothernet --splits 1
  automl-hyper benchmark --suite cc18-30 --data-dir ../shared/datasets --report-only
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import time
from pathlib import Path

from automl_hyper.cli.compare import parse_overrides
from automl_hyper.cli.usage import UsageError, did_you_mean

DEFAULT_FAMILIES = "mothernet,mothernet-ft,inn,smash,xgboost-tuned"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from automl_hyper.budgets import budget_description

    parser.add_argument(
        "--suite",
        required=True,
        help="cc18-30 (the 30 datasets of the MotherNet/TabPFN papers), selection, a folder of "
        "<name>.csv files, or comma-separated OpenML ids/names",
    )
    parser.add_argument("--families", default=DEFAULT_FAMILIES, help="comma-separated families")
    parser.add_argument("--splits", type=int, default=5, help="splits per dataset")
    parser.add_argument(
        "--budget",
        choices=("small", "paper"),
        default="small",
        help=f"compute per fit. small: {budget_description('small')}",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of splits and families")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FAMILY.PARAM=VALUE",
        help="override a family parameter (repeatable; part of each run's key)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes on this machine, each taking the next dataset (times measured "
        "with several workers share the cores)",
    )
    parser.add_argument(
        "--shard",
        default="0/1",
        metavar="K/N",
        help="run only every N-th dataset from the K-th (one shard per machine sharing a store)",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        metavar="DIR",
        help="folder of <name>.csv files (target column 'target', CATEGORICAL.json) for the "
        "suite's names (default: the OpenML cache)",
    )
    parser.add_argument("--cache-dir", default=None, help="OpenML cache folder")
    parser.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db); "
        "share one (a server on PostgreSQL) between machines",
    )
    parser.add_argument(
        "--experiment", default=None, help="MLflow experiment (default: benchmark-<suite>)"
    )
    parser.add_argument(
        "--output",
        default=None,
        metavar="DIR",
        help="report folder (default: benchmark_report_<suite> in the working folder)",
    )
    parser.add_argument(
        "--anchors",
        default=None,
        metavar="FILE",
        help="published per-dataset AUCs: CSV with a 'dataset' column and one column per model",
    )
    parser.add_argument(
        "--anchor-times",
        default=None,
        metavar="FILE",
        help="published median times: CSV with model, fit_time, inference_time (seconds)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: write the report from what the store has finished",
    )
    parser.add_argument("--no-report", action="store_true", help="run, but write no report")
    parser.add_argument(
        "--log-file",
        default=None,
        metavar="PATH",
        help="where the libraries' messages go (default: a new file under the temporary folder)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="the libraries' messages on the terminal"
    )


def plan_from_args(args: argparse.Namespace):
    """The :class:`automl_hyper.benchmark.Plan`, or a UsageError naming the fix."""
    from automl_hyper import zoo
    from automl_hyper.benchmark import Plan, resolve_suite
    from automl_hyper.compare import check_families

    families = [f.strip() for f in args.families.split(",") if f.strip()]
    for family in families:
        if family.lower() not in zoo.FAMILIES:
            raise UsageError(
                f"unknown family {family!r}{did_you_mean(family, zoo.names())}; "
                f"known: {', '.join(zoo.names())}"
            )
    if args.splits < 1:
        raise UsageError(f"--splits must be at least 1, got {args.splits}")
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    if args.data_dir and not Path(args.data_dir).is_dir():
        raise UsageError(f"--data-dir {args.data_dir}: not a folder")
    for option in ("anchors", "anchor_times"):
        value = getattr(args, option)
        if value and not Path(value).is_file():
            raise UsageError(f"--{option.replace('_', '-')} {value}: no such file")
    overrides = parse_overrides(args.set, families)
    try:
        families = check_families(families, args.budget, args.seed, overrides)
    except (KeyError, ValueError, TypeError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        raise UsageError(f"--set: {message}") from err
    try:
        suite = resolve_suite(args.suite, args.data_dir)
    except ValueError as err:
        raise UsageError(f"--suite {args.suite}: {err}") from err
    if suite.data_dir:
        missing = [n for n in suite.datasets if not (Path(suite.data_dir) / f"{n}.csv").is_file()]
        if missing and args.data_dir:
            raise UsageError(
                f"--data-dir {args.data_dir}: no {', '.join(m + '.csv' for m in missing[:5])}"
                + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            )
    return Plan(
        suite=suite,
        families=tuple(families),
        n_splits=args.splits,
        budget=args.budget,
        seed=args.seed,
        overrides=overrides,
        cache_dir=args.cache_dir,
    )


def parse_shard(text: str) -> tuple[int, int]:
    k, sep, n = text.partition("/")
    try:
        shard = (int(k), int(n))
    except ValueError:
        shard = (-1, 0)
    if not sep or not (shard[1] >= 1 and 0 <= shard[0] < shard[1]):
        raise UsageError(f"--shard {text!r}: expected K/N with 0 <= K < N, e.g. 0/2 and 1/2")
    return shard


def main(args: argparse.Namespace) -> int:
    from automl_hyper.benchmark import (
        mixed_code_warning,
        read_anchor_times,
        read_anchors,
        run_suite,
        write_report,
    )
    from automl_hyper.cli.chatter import (
        RelayingStore,
        WarningRelay,
        default_log_path,
        stderr_to_file,
    )

    plan = plan_from_args(args)
    shard = parse_shard(args.shard)
    output = Path(args.output or f"benchmark_report_{_safe(plan.suite.name)}")
    if output.exists() and not output.is_dir():
        raise UsageError(f"--output {output}: exists and is not a folder")
    log_path = None if args.verbose else Path(args.log_file or default_log_path("benchmark"))
    from automl_hyper.integrations.mlflow.benchmark import MLflowBenchmarkStore

    store = MLflowBenchmarkStore(args.tracking_uri, args.experiment)
    outcomes = []
    with contextlib.ExitStack() as stack:
        if log_path is not None:
            stack.enter_context(stderr_to_file(log_path))
        uri = store.prepare(plan)
        print(
            f"benchmark {plan.suite.name}: {len(plan.suite.datasets)} datasets x "
            f"{plan.n_splits} splits x {len(plan.families)} families "
            f"({', '.join(plan.families)}); MLflow {uri}, experiment {store.experiment}",
            flush=True,
        )
        if not args.report_only:
            start = time.perf_counter()
            n = len(plan.suite.datasets[shard[0] :: shard[1]])

            def progress(outcome) -> None:
                print(f"[{len(outcomes) + 1}/{n}] {outcome.line()}", flush=True)
                outcomes.append(outcome)

            # Our own warnings (about the data) are printed with the progress lines too, once
            # per message per dataset and family, also from worker processes.
            runs = store if log_path is None else RelayingStore(store, WarningRelay())
            run_suite(plan, runs, workers=args.workers, shard=shard, on_outcome=progress)
            ran = sum(o.ran for o in outcomes)
            print(
                f"ran {ran} runs ({sum(o.failed for o in outcomes)} failed), skipped "
                f"{sum(o.skipped for o in outcomes)} finished, "
                f"{sum(o.error is not None for o in outcomes)} datasets with errors, in "
                f"{time.perf_counter() - start:.0f} s",
                flush=True,
            )
        if not args.no_report:
            results = store.results(plan)
            anchors = read_anchors(args.anchors) if args.anchors else None
            times = read_anchor_times(args.anchor_times) if args.anchor_times else None
            written = write_report(
                results,
                output,
                plan,
                anchors=anchors,
                anchor_times=times,
                command=command_line(args, plan),
                tracking=f"{uri} experiment {store.experiment}",
            )
            run_id = store.log_report(plan, output)
            print(f"report: {written[-1]} ({len(results)} runs; logged to MLflow run {run_id})")
            mixed = mixed_code_warning(results)
            if mixed:
                print(f"warning: {mixed}", flush=True)
    if log_path is not None:
        print(f"library messages (MLflow, warnings): {log_path.resolve()}")
    return 1 if any(o.error for o in outcomes) else 0


def command_line(args: argparse.Namespace, plan) -> str:
    """The command that resumes this benchmark (and rewrites its report)."""
    parts = ["automl-hyper", "benchmark", "--suite", args.suite]
    parts += ["--families", ",".join(plan.families), "--splits", str(plan.n_splits)]
    if plan.budget != "small":
        parts += ["--budget", plan.budget]
    if plan.seed:
        parts += ["--seed", str(plan.seed)]
    for item in args.set:
        parts += ["--set", item]
    for option in ("data_dir", "anchors", "anchor_times", "tracking_uri", "experiment"):
        if getattr(args, option):
            parts += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
    return " ".join(shlex.quote(p) for p in parts)


def _safe(name: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "suite"
