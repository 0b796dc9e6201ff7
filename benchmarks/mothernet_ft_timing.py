"""MotherNet fine-tuning fit time and predictions on the selection set, for comparing two code versions.

Fits ``mothernet-ft``'s estimator settings (50 steps, ``finetune_average=3``) on the first paper
split of each selection dataset (at most 1,000 training rows, as the protocol), one thread, best
of ``--repeats`` fits, and writes the fit times (CSV) and the test-set probabilities (``.npz``
beside it). Run it once per code version (e.g. ``PYTHONPATH=<clone of the old commit>``), then
``--versus OLD.csv NEW.csv`` prints the time ratio per dataset and the largest probability
difference, so a speed change can show that it changed no prediction.

    OMP_NUM_THREADS=1 PYTHONPATH=/tmp/old python benchmarks/mothernet_ft_timing.py --out old.csv
    OMP_NUM_THREADS=1 python benchmarks/mothernet_ft_timing.py --out new.csv
    python benchmarks/mothernet_ft_timing.py --versus old.csv new.csv
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


def measure(out: Path, repeats: int, data_dir: str) -> None:
    import torch

    from automl_hyper.benchmark import load_suite_dataset
    from automl_hyper.data.benchmark_sets import SELECTION_SET
    from automl_hyper.data.splits import paper_splits
    from automl_hyper.models.mothernet import MotherNetClassifier

    torch.set_num_threads(1)
    rows, probabilities = [], {}
    for name in SELECTION_SET:
        data = load_suite_dataset(name, data_dir)
        train, test = paper_splits(data.y, n_splits=1, seed=0)[0]
        train = train[:1000]
        times = []
        for _ in range(repeats):
            est = MotherNetClassifier(finetune_steps=50, finetune_average=3, random_state=0)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(data.X.iloc[train], data.y.iloc[train])
            times.append(time.perf_counter() - start)
        probabilities[name] = est.predict_proba(data.X.iloc[test])
        rows.append({"dataset": name, "fit_s": min(times), "n_train": len(train)})
        print(name, f"{min(times):.2f}", flush=True)
    pd.DataFrame(rows).to_csv(out, index=False)
    np.savez(out.with_suffix(".npz"), **probabilities)


def versus(old: Path, new: Path) -> str:
    a, b = pd.read_csv(old).set_index("dataset"), pd.read_csv(new).set_index("dataset")
    pa, pb = np.load(old.with_suffix(".npz")), np.load(new.with_suffix(".npz"))
    lines = [
        "| dataset | old fit s | new fit s | new / old | max abs. probability difference |",
        "|---|---|---|---|---|",
    ]
    for name in a.index:
        diff = float(np.abs(pa[name] - pb[name]).max())
        ratio = b.fit_s[name] / a.fit_s[name]
        lines.append(
            f"| {name} | {a.fit_s[name]:.2f} | {b.fit_s[name]:.2f} | {ratio:.2f} | {diff:.1e} |"
        )
    total = b.fit_s.sum() / a.fit_s.sum()
    lines.append(f"| **all (sum)** | {a.fit_s.sum():.1f} | {b.fit_s.sum():.1f} | {total:.2f} | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="CSV of fit times (probabilities: .npz beside)")
    parser.add_argument("--repeats", type=int, default=3, help="fits per dataset; the best counts")
    parser.add_argument("--data-dir", default=str(Path(__file__).parents[2] / "shared/datasets"))
    parser.add_argument("--versus", nargs=2, type=Path, metavar=("OLD", "NEW"))
    args = parser.parse_args()
    if args.versus:
        print(versus(*args.versus))
    elif args.out:
        measure(args.out, args.repeats, args.data_dir)
    else:
        parser.error("give --out or --versus")


if __name__ == "__main__":
    main()
