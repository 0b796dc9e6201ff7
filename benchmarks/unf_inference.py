"""Inference cost of the shipped UNF predictors: time per child on one CPU thread (issue 10).

    python benchmarks/unf_inference.py --bank smash=DIR --bank mothernet=DIR --out FILE.md

For each family, the shipped predictor scores children of the bank one at a time (batch of 1,
after one warm-up call per weight space). Wall time and the process's CPU time are both reported:
on a shared machine the wall time includes waiting for a core, the CPU time does not.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from automl_hyper.weightspace.bank import ChildCollection
from automl_hyper.weightspace.uses import shipped_predictor


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bank", action="append", required=True, help="family=DIR")
    p.add_argument("--children", type=int, default=40)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    lines = [
        "# UNF predictor inference time per child (one CPU thread, batch of 1)",
        "",
        f"`python {' '.join(sys.argv)}`",
        "",
        "| family | children | wall ms (median) | CPU ms (median) | CPU ms (p90) | parameters |",
        "|---|---|---|---|---|---|",
    ]
    for item in args.bank:
        family, directory = item.split("=", 1)
        predictor = shipped_predictor(family)
        coll = ChildCollection(directory)
        children = [coll[i] for i in range(min(args.children, len(coll)))]
        wall, cpu = [], []
        for c in children:
            meta = [(c.row["n_train"], c.row["n_features"], c.row["n_classes"])]
            predictor.predict([(c.space, c.arrays)], meta)  # warm-up: builds the layer plan
            t0, c0 = time.perf_counter(), time.process_time()
            predictor.predict([(c.space, c.arrays)], meta)
            wall.append(1000 * (time.perf_counter() - t0))
            cpu.append(1000 * (time.process_time() - c0))
        n_params = sum(q.numel() for q in predictor.net.parameters())
        lines.append(
            f"| {family} | {len(children)} | {np.median(wall):.2f} | {np.median(cpu):.2f} | "
            f"{np.percentile(cpu, 90):.2f} | {n_params} |"
        )
    lines.append("")
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
