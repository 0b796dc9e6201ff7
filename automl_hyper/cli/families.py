"""``automl-hyper families``: the registered model families."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verbose", "-v", action="store_true", help="also print each search space")


def main(args: argparse.Namespace) -> int:
    from automl_hyper import zoo

    for name in zoo.names():
        fam = zoo.get(name)
        ag = f"AutoGluon key {fam.ag_key}" if fam.ag_key else "not in AutoGluon"
        print(f"{name:16s} {', '.join(fam.problem_types):32s} {ag:24s} {fam.description}")
        if args.verbose:
            for dim_name, dim in fam.space.items():
                print(f"    {dim_name}: {dim}")
    return 0
