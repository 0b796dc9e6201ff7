"""Prior ablations: generation-only AUC of the estimator with candidate checkpoints, same splits.

    python benchmarks/prior_ablation.py --run control=runs/prior_v2/control --run v2=runs/prior_v2/v2 \
        [--set selection|report] [--splits 3]

Each ``--run NAME=DIR`` is a pretraining run directory (``checkpoint.pt`` + ``config.json``); it is
converted to the shipped fp16 format in a temporary folder (as ``ship`` does) and evaluated with
``MotherNetClassifier(checkpoint=...)`` defaults (generation only) on the paper splits (seed 0)
of the selection set (``automl_hyper.data.benchmark_sets.SELECTION_SET``) or of the 30 reported
CC18 datasets. The shipped checkpoint is always evaluated too, in the same process, so every
column comes from the same estimator code.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA_DIR, cc18_names  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", default=[], help="NAME=RUN_DIR (repeatable)")
    parser.add_argument("--set", choices=("selection", "report"), default="selection")
    parser.add_argument("--splits", type=int, default=None)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument(
        "--shipped",
        default="mothernet-small",
        help="the reference checkpoint (a shipped name, or a copy with its .pt.json beside it)",
    )
    args = parser.parse_args(argv)

    import torch

    from automl_hyper.data.benchmark_sets import SELECTION_SET, SELECTION_SPLITS
    from automl_hyper.models.mothernet.evaluate import estimator_eval
    from automl_hyper.models.mothernet.ship import ship

    torch.set_num_threads(1)
    names = SELECTION_SET if args.set == "selection" else cc18_names(args.data_dir)
    splits = args.splits or (SELECTION_SPLITS if args.set == "selection" else 5)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        checkpoints = {"shipped": args.shipped}
        for spec in args.run:
            name, run_dir = spec.split("=", 1)
            entry = ship(Path(run_dir), Path(tmp) / name, name)
            checkpoints[name] = Path(tmp) / name / entry["file"]
            print(f"{name}: {entry['steps']} steps, {entry['synthetic_datasets_seen']} tasks")
        for name, ckpt in checkpoints.items():
            t0 = time.perf_counter()
            results[name] = estimator_eval(ckpt, args.data_dir, names, splits)
            print(
                f"{name}: mean {results[name]['auc_mean']:.4f} ({time.perf_counter() - t0:.0f} s)"
            )
    cols = list(results)
    print(f"\nROC AUC, {args.set} set, {splits} paper splits, estimator defaults, generation only")
    print("| dataset | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for key in results["shipped"]:
        if key == "auc_mean":
            continue
        row = [results[c].get(key, float("nan")) for c in cols]
        print(f"| {key[4:]} | " + " | ".join(f"{v:.4f}" for v in row) + " |")
    means = [results[c]["auc_mean"] for c in cols]
    print("| **mean** | " + " | ".join(f"**{v:.4f}**" for v in means) + " |")
    base = results["shipped"]
    for c in cols[1:]:
        diff = np.array([results[c][k] - base[k] for k in base if k != "auc_mean"])
        print(
            f"{c} - shipped: mean {diff.mean():+.4f}, better on {(diff > 0).sum()}, "
            f"worse on {(diff < 0).sum()} of {len(diff)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
