"""MotherNet predictions and timings on the paper's splits of one dataset, saved for comparison.

Used to check that a refactoring keeps MotherNet's predictions: run once before the change with
``--save before.npz``, once after with ``--save after.npz --compare before.npz``; prints, per
setting, the largest absolute difference of the predicted probabilities and the fit and predict
times (best of ``--repeats`` runs per split, so that a busy machine's noise is mostly left out).

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


def measure(name: str, splits: int, repeats: int, data_dir: Path) -> dict[str, np.ndarray]:
    from automl_hyper.data.splits import paper_splits
    from automl_hyper.models.mothernet import MotherNetClassifier

    data = load_shared(name, data_dir)
    out: dict[str, np.ndarray] = {}
    for label, params in SETTINGS.items():
        probas, fit_s, predict_s = [], [], []
        for i, (tr, te) in enumerate(paper_splits(data.y, n_splits=splits, seed=0)):
            Xtr, Xte, ytr = data.X.iloc[tr], data.X.iloc[te], data.y.iloc[tr]
            best_fit = best_predict = np.inf
            for _ in range(repeats):
                clf = MotherNetClassifier(random_state=i, **params)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t0 = time.perf_counter()
                    clf.fit(Xtr, ytr)
                    t1 = time.perf_counter()
                    proba = clf.predict_proba(Xte)
                    t2 = time.perf_counter()
                best_fit, best_predict = min(best_fit, t1 - t0), min(best_predict, t2 - t1)
            probas.append(proba)
            fit_s.append(best_fit)
            predict_s.append(best_predict)
        out[f"{label}/proba"] = np.concatenate(probas)
        out[f"{label}/fit_s"] = np.array(fit_s)
        out[f"{label}/predict_s"] = np.array(predict_s)
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
    print(f"{args.dataset}, {args.splits} paper splits, best of {args.repeats} runs per split")
    header = f"{'setting':<16} {'max |dp|':>10} {'fit ms':>16} {'predict ms':>16}"
    print(header + "\n" + "-" * len(header))
    for label in SETTINGS:
        fit = 1e3 * now[f"{label}/fit_s"].mean()
        pred = 1e3 * now[f"{label}/predict_s"].mean()
        if before is None:
            print(f"{label:<16} {'':>10} {fit:>16.1f} {pred:>16.2f}")
            continue
        diff = np.abs(now[f"{label}/proba"] - before[f"{label}/proba"]).max()
        fit0 = 1e3 * before[f"{label}/fit_s"].mean()
        pred0 = 1e3 * before[f"{label}/predict_s"].mean()
        print(
            f"{label:<16} {diff:>10.1e} {f'{fit0:.1f} -> {fit:.1f}':>16} "
            f"{f'{pred0:.2f} -> {pred:.2f}':>16}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
