"""SMASH's peak fit memory with its spline input encoding (default "spline_raw") against None,
next to the AutoGluon estimate (zoo ``ag_memory``), by the method of ``autogluon_memory.py``;
``--family inn``: the same for INN's opt-in ``trunk_encoding`` (searched by HPO).

Each case runs in a fresh process: SMASH is imported and fitted once on 40 rows (code loaded),
then fitted on random float data of the given shape; the peak RSS rise of that fit is what
``ZooModel._estimate_memory_usage_static`` has to cover. The estimate counts the cells of the
data AutoGluon hands over (one-hot levels included), not of the encoded matrix SMASH trains on.

    nice -n 5 python benchmarks/smash_encoding_memory.py --append benchmarks/results/autogluon_memory.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from autogluon_memory import (  # noqa: E402  (the same fit and measurement as that table)
    CHILD,
    PARAMS,
    child_json,
)

SHAPES = ((5000, 50), (20000, 100))
ENCODINGS = ("spline_raw", None)
# family -> (its encoding parameter, the fitted encoder's attribute)
ENCODING = {
    "smash": ("input_encoding", "input_encoder_"),
    "inn": ("trunk_encoding", "trunk_encoder_"),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--append", help="append the section to this markdown file")
    parser.add_argument("--family", choices=sorted(ENCODING), default="smash")
    parser.add_argument("--shapes", default=",".join(f"{n}x{d}" for n, d in SHAPES))
    parser.add_argument(
        "--estimate-only",
        action="store_true",
        help="print the current AutoGluon estimate for each shape, fitting nothing",
    )
    args = parser.parse_args(argv)
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
    param, attr = ENCODING[args.family]
    if args.estimate_only:
        import numpy as np
        import pandas as pd

        from automl_hyper import zoo
        from automl_hyper.integrations.autogluon import model_class

        print(f"{args.family} ag_memory {zoo.get(args.family).ag_memory}")
        print("| rows x features | AutoGluon estimate (MiB) |\n|---|---|")
        for n, d in shapes:
            X = pd.DataFrame(np.zeros((n, d), np.float32), columns=[f"c{i}" for i in range(d)])
            y = pd.Series(np.arange(n) % 2)
            est = model_class(args.family).estimate_memory_usage_static(
                X=X, y=y, hyperparameters={}
            )
            print(f"| {n} x {d} | {est / 2**20:.0f} |")
        return
    rows = [
        f"| {param} | rows x features | encoded width | peak RSS rise (MiB) "
        "| AutoGluon estimate (MiB) | fit s |",
        "|---|---|---|---|---|---|",
    ]
    for n, d in shapes:
        for encoding in ENCODINGS:
            params = {**PARAMS[args.family], param: encoding}
            out = child_json(CHILD, args.family, str(n), str(d), json.dumps(params), attr)
            rows.append(
                f"| {encoding} | {n} x {d} | {out['width']} | {out['rise'] / 2**20:.0f} "
                f"| {out['estimate'] / 2**20:.0f} | {out['s']:.1f} |"
            )
            print(rows[-1], flush=True)
    text = "\n".join(
        [
            "",
            f"## {args.family}: peak fit memory with and without {param}",
            "",
            "Command:",
            "",
            "    nice -n 5 python benchmarks/smash_encoding_memory.py " + " ".join(sys.argv[1:]),
            "",
            f"Fit parameters: {json.dumps(PARAMS[args.family])} plus {param}; same method as",
            "above (fresh process per row, rise of ru_maxrss over a 40-row fit, one torch thread).",
            "The estimate is that of the zoo's ag_memory at the commit the rows were measured on.",
            "",
            *rows,
            "",
        ]
    )
    if args.append:
        with open(args.append, "a") as fh:
            fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
