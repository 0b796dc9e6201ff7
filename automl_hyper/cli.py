"""The ``automl-hyper`` command.

Each subcommand lives in its own module, which exposes ``add_arguments(parser)`` and
``main(args) -> int`` and keeps heavy imports (torch, mlflow, ...) inside ``main`` so that
``automl-hyper --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS = {
    "compare": (
        "automl_hyper.compare_cli",
        "run the benchmark protocol: families vs tuned XGBoost",
    ),
    "pretrain": (
        "automl_hyper.models.mothernet.pretrain_cli",
        "pretrain the MotherNet hypernetwork",
    ),
    "datasets": ("automl_hyper.data.datasets_cli", "list datasets or build a local OpenML cache"),
    "families": ("automl_hyper.zoo_cli", "list the registered model families"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="automl-hyper", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        mod = importlib.import_module(module)
        mod.add_arguments(p)
        p.set_defaults(_main=mod.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args._main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
