"""``automl-hyper datasets``: build a local OpenML-layout cache, or list what is cached."""

from __future__ import annotations

import argparse

from automl_hyper.cli.usage import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="datasets_command", required=True)
    cache = sub.add_parser(
        "cache",
        help="cache a folder of ARFF/CSV files (with MANIFEST.tsv) under their OpenML ids",
        description="Write each dataset of a folder into openml-python's cache layout, keeping "
        "the OpenML ids from MANIFEST.tsv, so they load by id or name with no network.",
    )
    cache.add_argument("--from", dest="src", required=True, metavar="DIR", help="source folder")
    cache.add_argument("--names", default=None, help="comma-separated subset of dataset names")
    cache.add_argument("--overwrite", action="store_true", help="rewrite datasets already cached")
    _cache_dir_argument(cache)
    listing = sub.add_parser("list", help="list the datasets in the OpenML cache")
    _cache_dir_argument(listing)


def _cache_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache-dir",
        default=None,
        metavar="DIR",
        help="openml root cache folder (default: $AUTOML_HYPER_OPENML_CACHE, else openml's)",
    )


def main(args: argparse.Namespace) -> int:
    from automl_hyper.data.openml_cache import (
        build_cache,
        cached_descriptions,
        openml_cache,
        read_index,
    )

    if args.datasets_command == "cache":
        names = [n.strip() for n in args.names.split(",") if n.strip()] if args.names else None
        try:
            written = build_cache(args.src, args.cache_dir, names=names, overwrite=args.overwrite)
        except (FileNotFoundError, ValueError) as e:
            raise UsageError(str(e)) from e
        with openml_cache(args.cache_dir) as server_dir:
            print(f"cached {len(written)} datasets in {server_dir}")
        return 0
    with openml_cache(args.cache_dir) as server_dir:
        rows = cached_descriptions(server_dir)
        aliases: dict[int, list[str]] = {}
        for name, did in read_index(server_dir).items():
            aliases.setdefault(did, []).append(name)
    if not rows:
        print(f"no datasets cached in {server_dir}")
        print("(wdbc/breast_cancer, iris and wine load anyway, from scikit-learn's copies)")
        return 0
    print(f"{'id':>7}  {'name':36s} {'target':16s} {'data':5s} origin")
    for r in rows:
        other = sorted(set(aliases.get(r["id"], [])) - {r["name"]})
        name = r["name"] + (f" ({', '.join(other)})" if other else "")
        origin = "local" if r["local"] else "openml"
        data = "yes" if r["has_data"] else "no"
        print(f"{r['id']:>7}  {name:36s} {r['target']:16s} {data:5s} {origin}")
    print(f"{len(rows)} datasets in {server_dir}")
    return 0
