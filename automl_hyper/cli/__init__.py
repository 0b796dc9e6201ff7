"""automl-hyper: hypernetwork model families (MotherNet, INN, SMASH) for tabular data, benchmarked
against tuned XGBoost and tracked in MLflow.

examples:
  automl-hyper compare --dataset wdbc --families mothernet,inn,xgboost-tuned --splits 5
  automl-hyper compare --dataset data.csv --target label --set xgboost-tuned.n_trials=50
  automl-hyper benchmark --suite cc18-30 --data-dir ../shared/datasets --families mothernet,logreg
  automl-hyper families             the model families and their AutoGluon keys
  automl-hyper datasets list        datasets in the local OpenML cache
  automl-hyper pretrain --config small --minutes 60 --out runs/mn

A mistake in a command prints one line with the fix and exits with 2; --debug shows tracebacks.
"""

# This package is the composition root: the one core place (besides ``automl_hyper/__init__.py``)
# that may import ``automl_hyper.integrations``, wiring MLflow and friends around the core. Each
# subcommand lives in its own module here, which exposes ``add_arguments(parser)`` and
# ``main(args) -> int`` and keeps heavy imports (torch, mlflow, ...) inside ``main`` so that
# ``automl-hyper --help`` stays instant. ``python -m automl_hyper.cli`` runs the same command.

from __future__ import annotations

import argparse
import importlib
import os
import sys

from automl_hyper.cli.usage import HelpFormatter, UsageError

__all__ = ["UsageError", "build_parser", "main"]

# subcommand -> (module in this package, one-line help)
SUBCOMMANDS = {
    "compare": ("compare", "run the benchmark protocol: families vs tuned XGBoost"),
    "benchmark": ("benchmark", "the protocol over a suite of datasets, resumable, with a report"),
    "pretrain": ("pretrain", "pretrain the MotherNet hypernetwork"),
    "datasets": ("datasets", "list datasets or build a local OpenML cache"),
    "families": ("families", "list the registered model families"),
    "unf": ("unf", "child banks and the child-quality predictor (UNF)"),
}

DEBUG_HELP = "show Python tracebacks instead of one-line errors"


def build_parser() -> argparse.ArgumentParser:
    from automl_hyper.provenance import describe

    parser = argparse.ArgumentParser(
        prog="automl-hyper", description=__doc__, formatter_class=HelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"automl-hyper {describe()}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        mod = importlib.import_module(f"{__name__}.{module}")
        description = (mod.__doc__ or help_text).replace("``", "")
        p = sub.add_parser(name, help=help_text, description=description)
        mod.add_arguments(p)
        # Also after the subcommand; SUPPRESS keeps a --debug given before it.
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
        p.set_defaults(_main=mod.main)
    _use_formatter(parser)
    return parser


def _use_formatter(parser: argparse.ArgumentParser) -> None:
    """Every parser and sub-parser (including the subcommands' own) shows defaults."""
    parser.formatter_class = HelpFormatter
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _use_formatter(child)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = f"automl-hyper {args.command}"
    try:
        code = int(args._main(args) or 0)
        sys.stdout.flush()  # here, so that a closed pipe is caught below, not at exit
        return code
    except UsageError as err:
        if args.debug:
            raise
        print(f"{command}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (``automl-hyper datasets list | head``): that is not an error.
        # Point stdout at /dev/null so that the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - one line for the user; --debug shows the rest
        if args.debug:
            raise
        print(
            f"{command}: error: {type(err).__name__}: {err}\n(run `automl-hyper --debug "
            f"{args.command} ...` for the traceback)",
            file=sys.stderr,
        )
        return 1
