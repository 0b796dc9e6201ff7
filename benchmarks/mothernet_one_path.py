"""MotherNet predictions and timings on the paper's splits of one dataset, saved for comparison.

Used to check that a refactoring keeps MotherNet's predictions: run once before the change with
``--save before.npz``, once after with ``--save after.npz --compare before.npz``; prints, per
setting, the largest absolute difference of the predicted probabilities and the fit and predict
times (best of ``--repeats`` runs per split, so that a busy machine's noise is mostly left out),
as wall time and as this process's CPU time (which a shared machine's other jobs disturb less).

    python benchmarks/mothernet_one_path.py --dataset credit-g --save /tmp/before.npz
    python benchmarks/mothernet_one_path.py --dataset credit-g --save /tmp/after.npz \
        --compare /tmp/before.npz
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA_DIR, load_shared  # noqa: E402

SETTINGS = {"generation only": {}, "finetune 50": {"finetune_steps": 50}}
TIMES = ("fit_s", "predict_s", "fit_cpu_s", "predict_cpu_s")


def measure(name: str, splits: int, repeats: int, data_dir: Path) -> dict[str, np.ndarray]:
    from automl_hyper.data.splits import paper_splits
    from automl_hyper.models.mothernet import MotherNetClassifier

    data = load_shared(name, data_dir)
    out: dict[str, np.ndarray] = {}
    for label, params in SETTINGS.items():
        probas, times = [], []
        for i, (tr, te) in enumerate(paper_splits(data.y, n_splits=splits, seed=0)):
            Xtr, Xte, ytr = data.X.iloc[tr], data.X.iloc[te], data.y.iloc[tr]
            best = np.full(4, np.inf)  # fit wall, predict wall, fit CPU, predict CPU
            for _ in range(repeats):
                clf = MotherNetClassifier(random_state=i, **params)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t0, c0 = time.perf_counter(), time.process_time()
                    clf.fit(Xtr, ytr)
                    t1, c1 = time.perf_counter(), time.process_time()
                    proba = clf.predict_proba(Xte)
                    t2, c2 = time.perf_counter(), time.process_time()
                best = np.minimum(best, [t1 - t0, t2 - t1, c1 - c0, c2 - c1])
            probas.append(proba)
            times.append(best)
        out[f"{label}/proba"] = np.concatenate(probas)
        for j, key in enumerate(TIMES):
            out[f"{label}/{key}"] = np.array([t[j] for t in times])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="credit-g")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="runs per split; the best counts")
    parser.add_argument("--save", type=Path, required=True, help=".npz of probabilities and times")
    parser.add_argument("--compare", type=Path, default=None, help="an earlier --save file")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    now = measure(args.dataset, args.splits, args.repeats, args.data_dir)
    np.savez(args.save, **now)
    before = dict(np.load(args.compare)) if args.compare else None
    print(
        f"{args.dataset}, {args.splits} paper splits, best of {args.repeats} runs per split; "
        "times in ms, mean over splits" + (", before -> after" if before else "")
    )
    header = f"{'setting':<16} {'max |dp|':>9}" + "".join(f" {k[:-2]:>17}" for k in TIMES)
    print(header + "\n" + "-" * len(header))
    for label in SETTINGS:
        row = f"{label:<16} "
        if before is None:
            row += f"{'':>9}"
        else:
            row += f"{np.abs(now[f'{label}/proba'] - before[f'{label}/proba']).max():>9.1e}"
        for key in TIMES:
            ms = 1e3 * now[f"{label}/{key}"].mean()
            if before is not None:
                ms0 = 1e3 * before[f"{label}/{key}"].mean()
                row += f" {f'{ms0:.1f} -> {ms:.1f}':>17}"
            else:
                row += f" {ms:>17.1f}"
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
