"""The ``automl-hyper`` command.

This package is the composition root: the one core place (besides ``automl_hyper/__init__.py``)
that may import ``automl_hyper.integrations``, wiring MLflow and friends around the core. Each
subcommand lives in its own module here, which exposes ``add_arguments(parser)`` and
``main(args) -> int`` and keeps heavy imports (torch, mlflow, ...) inside ``main`` so that
``automl-hyper --help`` stays instant. ``python -m automl_hyper.cli`` runs the same command.
"""

from __future__ import annotations

import argparse
import importlib

# subcommand -> (module in this package, one-line help)
SUBCOMMANDS = {
    "compare": ("compare", "run the benchmark protocol: families vs tuned XGBoost"),
    "pretrain": ("pretrain", "pretrain the MotherNet hypernetwork"),
    "datasets": ("datasets", "list datasets or build a local OpenML cache"),
    "families": ("families", "list the registered model families"),
    "unf": ("unf", "child banks and the child-quality predictor (UNF)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="automl-hyper", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        mod = importlib.import_module(f"{__name__}.{module}")
        mod.add_arguments(p)
        p.set_defaults(_main=mod.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args._main(args) or 0)
