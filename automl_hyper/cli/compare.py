"""``automl-hyper compare``: the main job, the benchmark protocol of docs/benchmark_protocol.md.

Loads a dataset (OpenML id or name through the local OpenML cache, a CSV/Parquet path), runs every
family on the protocol's splits, refits the best family on all rows, logs each run and the
champion's model to MLflow (sqlite:///mlflow.db in the working folder by default), registers the
champion as <dataset>@champion (or --register-as NAME) and prints a leaderboard. The CLI is the
application layer, so it (not the core protocol in automl_hyper.compare) wires in MLflow.

Every trained model is first saved under --save-dir (compare_models/<dataset>-<UTC time>/), then
logged. If the MLflow store becomes unavailable mid-run (server stopped, database or folder gone
or unwritable), the comparison carries on without tracking, warns once naming that folder, and
writes runs.csv and leaderboard.md there. Ctrl-C keeps the finished runs (FINISHED), marks the
unfinished one and the comparison's run KILLED, prints the partial leaderboard and exits with 130.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from automl_hyper.cli.usage import UsageError, did_you_mean

DEFAULT_FAMILIES = "inn,xgboost-tuned"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from automl_hyper.budgets import budget_description

    parser.add_argument(
        "--dataset",
        required=True,
        help="OpenML id or name (wdbc, iris and wine work offline), or a CSV/Parquet/ARFF path",
    )
    parser.add_argument(
        "--target",
        default=None,
        help="target column of a file (default: 'target' if present, else the last column; "
        "OpenML: the dataset's default target)",
    )
    parser.add_argument(
        "--families",
        default=DEFAULT_FAMILIES,
        help="comma-separated zoo families (`automl-hyper families` lists them)",
    )
    parser.add_argument(
        "--splits", type=int, default=5, help="number of train/test splits (the protocol uses 5)"
    )
    parser.add_argument(
        "--budget",
        choices=("small", "paper"),
        default="small",
        help=f"compute per fit. small: {budget_description('small')}. "
        f"paper: the MotherNet paper's, {budget_description('paper')}",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the splits and of every family (split i uses seed + i)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FAMILY.PARAM=VALUE",
        help="override a family parameter, e.g. --set xgboost-tuned.n_trials=5 (repeatable; "
        "values are Python literals, else text)",
    )
    parser.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db in "
        "the working folder; printed commands carry it as an absolute path)",
    )
    parser.add_argument(
        "--experiment", default=None, help="MLflow experiment (default: compare-<dataset>)"
    )
    parser.add_argument(
        "--register-as",
        default=None,
        metavar="NAME",
        help="registered model name of the champion (default: the dataset's name)",
    )
    parser.add_argument(
        "--no-register",
        action="store_true",
        help="do not refit the champion on all rows nor register it",
    )
    parser.add_argument(
        "--log-models",
        choices=("champion", "all", "none"),
        default="champion",
        help="which full pyfunc models to log: the champion's only (refitted on all rows), also "
        "every split's (about 4 MB each), or none; metrics and child weights are always logged",
    )
    parser.add_argument(
        "--save-dir",
        default="compare_models",
        metavar="DIR",
        help="every trained model (each split's, the champion's) is saved here first, in "
        "<dataset>-<UTC time>/split<k>-<family>/, before any MLflow call for it, with runs.csv "
        "and leaderboard.md at the end. If the MLflow store becomes unavailable mid-run, the "
        "comparison carries on without tracking and warns once, naming this folder",
    )
    parser.add_argument(
        "--output",
        default=None,
        metavar="DIR",
        help="also write leaderboard.md, leaderboard.csv, runs.csv and auc_vs_fit_time.png here",
    )
    parser.add_argument(
        "--cache-dir",
        default=None,
        help="OpenML cache folder (default: $AUTOML_HYPER_OPENML_CACHE, else openml's)",
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
    from automl_hyper.cli.chatter import (
        RelayingTracker,
        WarningRelay,
        default_log_path,
        stderr_to_file,
    )
    from automl_hyper.compare import ComparisonInterrupted, run_comparison
    from automl_hyper.interrupts import ctrl_c_handling

    families = [f.strip() for f in args.families.split(",") if f.strip()]
    overrides = parse_overrides(args.set, families)
    check_request(args, families, overrides)
    log_path = None if args.verbose else Path(args.log_file or default_log_path("compare"))
    register = not args.no_register
    tracker = None
    try:
        with contextlib.ExitStack() as stack:
            # Everything the libraries write to stderr goes to the log; the bar to the terminal.
            terminal = (
                sys.stderr if log_path is None else stack.enter_context(stderr_to_file(log_path))
            )
            # Our own warnings (about the user's data) reach the terminal too, once per message
            # per family; with --verbose every warning is on the terminal already.
            relay = None if log_path is None else WarningRelay(terminal, prefix="\n")
            # Ctrl-C never cuts a tracking write in two, and is not lost in native callbacks.
            stack.enter_context(ctrl_c_handling())
            dataset = load(args)
            print(f"{dataset!r}", flush=True)

            from automl_hyper.integrations.mlflow import MLflowTracker

            tracker = stack.enter_context(
                MLflowTracker(
                    dataset.name,
                    tracking_uri=args.tracking_uri,
                    experiment=args.experiment,
                    log_models=args.log_models,
                    register=register,
                    registered_model_name=args.register_as,
                    run_params={
                        "families": ",".join(families),
                        "splits": args.splits,
                        "budget": args.budget,
                        "seed": args.seed,
                        "log_models": args.log_models,
                    },
                    save_dir=args.save_dir,
                    # Said once, on the terminal, when it happens (and in the log).
                    notify=lambda message: print(f"\nwarning: {message}", file=terminal),
                )
            )
            comparison = run_comparison(
                dataset,
                families,
                n_splits=args.splits,
                budget=args.budget,
                seed=args.seed,
                overrides=overrides,
                tracker=tracker if relay is None else RelayingTracker(tracker, relay, dataset.name),
                progress=False if args.quiet else terminal,
                refit_champion=register,
            )
    except ComparisonInterrupted as stop:
        # The tracker has ended the unfinished run and the parent KILLED on the way out.
        report(args, stop.comparison, tracker, log_path)
        return 130
    report(args, comparison, tracker, log_path)
    ok = any(r.status == "ok" for r in comparison.records)
    return 0 if ok else 1


def check_request(args: argparse.Namespace, families: list[str], overrides: dict) -> None:
    """Refuse a request that cannot run, before loading data or starting MLflow."""
    from automl_hyper import zoo
    from automl_hyper.compare import check_families

    for family in families:
        if family.lower() not in zoo.FAMILIES:
            raise UsageError(
                f"unknown family {family!r}{did_you_mean(family, zoo.names())}; "
                f"known: {', '.join(zoo.names())}"
            )
    if args.splits < 1:
        raise UsageError(f"--splits must be at least 1, got {args.splits}")
    if args.output and Path(args.output).exists() and not Path(args.output).is_dir():
        raise UsageError(f"--output {args.output}: exists and is not a folder")
    for family, params in overrides.items():
        from automl_hyper.compare import valid_parameters

        valid = valid_parameters(family)
        for param in params:
            if param not in valid:
                raise UsageError(
                    f"--set {family}.{param}: {family} has no parameter {param!r}"
                    f"{did_you_mean(param, valid)}; valid: {', '.join(valid)}"
                )
    try:
        check_families(families, args.budget, args.seed, overrides)
    except (KeyError, ValueError, TypeError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        raise UsageError(f"--set: {message}") from err


def load(args: argparse.Namespace):
    """The dataset, or a UsageError saying which names, columns or files would work."""
    from automl_hyper.data.loading import DatasetNotFoundError, load_dataset

    try:
        return load_dataset(args.dataset, args.target, cache_dir=args.cache_dir)
    except (DatasetNotFoundError, FileNotFoundError) as err:
        raise UsageError(f"--dataset {args.dataset}: {err}") from err
    except ValueError as err:
        if "target column" in str(err):  # the message lists the columns
            raise UsageError(f"--target {args.target}: {err}") from err
        # An empty, header-only or unreadable file, or a target with one class: the data
        # layer's message names the file and the problem, so it is a usage error too.
        raise UsageError(f"--dataset {args.dataset}: {err}") from err


def report(args, comparison, tracker, log_path: Path | None) -> None:
    """The leaderboard, failures, where everything went, and the commands to look at it."""
    from automl_hyper.compare import champion_line, leaderboard_text
    from automl_hyper.integrations.mlflow.serving import serve_command, ui_command

    board = comparison.leaderboard()
    print()
    if comparison.interrupted:
        planned = comparison.n_splits * len(comparison.families)
        print(
            f"interrupted (Ctrl-C): {len(comparison.records)} of {planned} runs finished; "
            "partial leaderboard of those:"
        )
    print(
        f"{comparison.dataset}: {comparison.n_splits} splits, budget {comparison.budget}, "
        f"ROC AUC mean ± std over splits, times per fit"
    )
    print(leaderboard_text(board))
    for record in comparison.records:
        if record.status == "failed":
            print(f"FAILED {record.family} split {record.split}: {record.error}", file=sys.stderr)
    if args.output:
        written = write_outputs(Path(args.output), comparison)
        print(f"\nwritten: {', '.join(str(p) for p in written)}")
    print()
    if tracker.saved_folder is not None and tracker.saved_folder.exists():
        print(f"models saved locally: {tracker.saved_folder}")
    state = (
        f"tracking stopped ({tracker.tracking_error}); later runs are only in the folder above"
        if tracker.tracking_error
        else "KILLED (interrupted)"
        if comparison.interrupted
        else ""
    )
    print(
        f"MLflow: {tracker.tracking_uri}  experiment {tracker.experiment}  "
        f"run {tracker.parent_run_id}" + (f"  {state}" if state else "")
    )
    print(f"browse: {ui_command(tracker.tracking_uri)}")
    fit = comparison.champion_fit
    if tracker.champion_uri and fit is not None:
        print(
            f"champion: {fit.family} -> {tracker.champion_uri} (version "
            f"{tracker.champion_version}, refitted on all {fit.training_rows} rows in "
            f"{fit.fit_s:.1f} s)"
        )
    elif fit is not None:
        print(champion_line(fit))
    if tracker.alias_moved:
        print(f"warning: {tracker.alias_moved}")
    if tracker.champion_uri:
        print(f"serve it: {serve_command(tracker.champion_uri, tracker.tracking_uri)}")
    if log_path is not None:
        print(f"library messages (MLflow, Optuna, warnings): {log_path.resolve()}")


def write_outputs(folder: Path, comparison) -> list[Path]:
    """The leaderboard (md, csv), every run (csv) and the AUC-vs-time plot, in ``folder``."""
    from automl_hyper.compare import leaderboard_report, plot_auc_vs_time

    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    board = comparison.leaderboard()
    paths = {
        "md": folder / "leaderboard.md",
        "csv": folder / "leaderboard.csv",
        "runs": folder / "runs.csv",
        "png": folder / "auc_vs_fit_time.png",
    }
    paths["md"].write_text(leaderboard_report(comparison), encoding="utf-8")
    board.to_csv(paths["csv"], index=False)
    comparison.frame().to_csv(paths["runs"], index=False)
    figure = plot_auc_vs_time(board, title=comparison.dataset, n_splits=comparison.n_splits)
    figure.savefig(paths["png"], dpi=120)
    return list(paths.values())


def parse_overrides(items: list[str], families: list[str]) -> dict[str, dict]:
    """``["xgboost-tuned.n_trials=5"]`` -> ``{"xgboost-tuned": {"n_trials": 5}}`` (values as literals)."""
    import ast

    out: dict[str, dict] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        family, dot, param = key.rpartition(".")
        if not sep or not dot or not param:
            raise UsageError(f"--set {item!r}: expected FAMILY.PARAM=VALUE, e.g. inn.max_epochs=20")
        if family not in families:
            raise UsageError(
                f"--set {item!r}: {family!r} is not among --families ({', '.join(families)})"
            )
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw  # a bare word such as quantile
        out.setdefault(family, {})[param] = value
    return out
