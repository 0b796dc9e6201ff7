"""MotherNet's quantile members at fit: scikit-learn's transform against the numpy twin.

``MotherNetClassifier._fit_transform("quantile", Z)`` fits scikit-learn's ``QuantileTransformer``
on a member's training rows; it used to transform them with it too (per column, three
``scipy.stats.norm.ppf`` calls), and now transforms them with ``NumpyQuantileTransformer`` (the
twin the exported child predicts with), into an array laid out as scikit-learn's copy is, so that
the fit stays bitwise what it was. This script measures, in one process with the two paths
interleaved (the machine is noisy: only ratios from the same run are reported):

1. the transform step alone on each dataset's quantile-member input (split 0, train = min(1000,
   n/2) rows): CPU ms, median of ``--repeats``, and whether the two outputs are bitwise equal;
2. ``MotherNetClassifier`` fit+predict (defaults, one thread) with the old path patched back in
   and with the new one: CPU ms, median of ``--repeats``, and whether the probabilities are equal;
3. with ``--real-data DIR``: tasks per second cut by ``RealTaskSource`` (pretraining's real tasks)
   on the 19 tables of the shipped continuation, old path against new, same seeds, same tasks.

    OMP_NUM_THREADS=1 nice python benchmarks/mothernet_quantile_speed.py --real-data ../shared/datasets
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA_DIR, load_shared  # noqa: E402

DATASETS = ("anneal", "yeast", "kr-vs-kp", "phoneme", "spambase", "sick")
REAL_NAMES = (
    "arrhythmia,autos,lymph,mushroom,optdigits,segment,glass,vote,ionosphere,waveform-5000,iris,"
    "abalone,cardiotocography,hill-valley,one-hundred-plants-shape,one-hundred-plants-texture,"
    "seismic-bumps,semeion,autoUniv-au6-1000"
).split(",")


def _old_fit_transform(kind: str, Z: np.ndarray):
    """The path before: scikit-learn fits and transforms."""
    from sklearn.preprocessing import QuantileTransformer

    from automl_hyper.models.mothernet.child import GridPowerTransformer

    if kind == "quantile":
        t = QuantileTransformer(n_quantiles=max(2, min(1000, len(Z))), output_distribution="normal")
    elif kind == "power":
        t = GridPowerTransformer()
    else:
        return None, Z
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return t, t.fit(Z).transform(Z)


def _timed(fn, *args):
    """(CPU ms of ``fn(*args)``, its result)."""
    c0 = time.process_time()
    out = fn(*args)
    return 1000 * (time.process_time() - c0), out


def _fit_predict(fit_transform, data, tr, te) -> np.ndarray:
    """Defaults, one thread, with ``fit_transform`` as the members' transform step."""
    from automl_hyper.models.mothernet import estimator as est

    new = est.MotherNetClassifier._fit_transform
    est.MotherNetClassifier._fit_transform = staticmethod(fit_transform)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf = est.MotherNetClassifier(random_state=0)
            return clf.fit(data.X.iloc[tr], data.y.iloc[tr]).predict_proba(data.X.iloc[te])
    finally:
        est.MotherNetClassifier._fit_transform = staticmethod(new)


def _quantile_input(data) -> np.ndarray:
    """The estimator's shared preprocessing of split 0's training rows (a quantile member sees
    these columns, one-hot or contracted)."""
    from automl_hyper.data.splits import paper_splits
    from automl_hyper.models.mothernet.estimator import MotherNetClassifier

    tr, _ = paper_splits(data.y, n_splits=1, seed=0)[0]
    clf = MotherNetClassifier(random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = clf._fit_preprocessor(data.X.iloc[tr])
    return np.asarray(X)[:, ::-1]  # a strided view, as a member's column subset is


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--real-data", type=Path, default=None)
    args = parser.parse_args()

    import torch

    from automl_hyper.data.splits import paper_splits
    from automl_hyper.models.mothernet import estimator as est

    torch.set_num_threads(1)
    new_fit_transform = est.MotherNetClassifier._fit_transform
    print("| dataset | train rows x cols | transform old ms | new ms | new/old | outputs equal |")
    print("|---|---|---|---|---|---|")
    for name in DATASETS:
        Z = _quantile_input(load_shared(name, args.data_dir))
        old_ms, new_ms = [], []
        for _ in range(args.repeats):
            ms, (_, a) = _timed(_old_fit_transform, "quantile", Z)
            old_ms.append(ms)
            ms, (_, b) = _timed(new_fit_transform, "quantile", Z)
            new_ms.append(ms)
        equal = np.array_equal(a, b) and a.flags.f_contiguous == b.flags.f_contiguous
        o, n = statistics.median(old_ms), statistics.median(new_ms)
        print(
            f"| {name} | {Z.shape[0]} x {Z.shape[1]} | {o:.1f} | {n:.1f} | {n / o:.2f} | {equal} |"
        )

    print()
    print("| dataset | fit+predict old ms | new ms | new/old | probabilities equal |")
    print("|---|---|---|---|---|")
    ratios = []
    for name in DATASETS:
        data = load_shared(name, args.data_dir)
        tr, te = paper_splits(data.y, n_splits=1, seed=0)[0]

        _fit_predict(new_fit_transform, data, tr, te)  # warm-up: checkpoint load, first calls
        old_ms, new_ms = [], []
        for _ in range(args.repeats):
            ms, old_proba = _timed(_fit_predict, _old_fit_transform, data, tr, te)
            old_ms.append(ms)
            ms, new_proba = _timed(_fit_predict, new_fit_transform, data, tr, te)
            new_ms.append(ms)
        o, n = statistics.median(old_ms), statistics.median(new_ms)
        ratios.append(n / o)
        same = np.array_equal(old_proba, new_proba)
        print(f"| {name} | {o:.0f} | {n:.0f} | {n / o:.2f} | {same} |")
    print(f"| mean ratio | | | {np.mean(ratios):.2f} | |")

    if args.real_data is None:
        return
    from automl_hyper.models.mothernet import real_tasks
    from automl_hyper.models.mothernet.configs import get_config

    prior = get_config("small-v2").prior
    print()
    print("| real tasks (19 tables, batches of 16) | old tasks/s | new tasks/s | new/old | same |")
    print("|---|---|---|---|---|")
    for encoding in ("onehot", "mixed"):
        source = real_tasks.RealTaskSource(args.real_data, REAL_NAMES, prior, encoding)
        rates, batches = {"old": [], "new": []}, {}
        new_member_transform = real_tasks._member_transform
        for rep in range(args.repeats):
            for label, member_transform in (
                ("old", _old_member_transform),
                ("new", new_member_transform),
            ):
                real_tasks._member_transform = member_transform
                try:
                    t0 = time.process_time()
                    out = [source.sample(16, 1000 * rep + s) for s in range(4)]
                    rates[label].append(64 / (time.process_time() - t0))
                finally:
                    real_tasks._member_transform = new_member_transform
                batches[label] = torch.cat([b.X.reshape(-1) for b in out])
        same = torch.equal(batches["old"], batches["new"])
        o, n = statistics.median(rates["old"]), statistics.median(rates["new"])
        print(f"| {encoding} | {o:.1f} | {n:.1f} | {n / o:.2f} | {same} |")


def _old_member_transform(Z: np.ndarray, split: int, kind: str) -> np.ndarray:
    """``real_tasks._member_transform`` before: scikit-learn fitted and transformed the training
    rows, then transformed every row again."""
    from automl_hyper.models.mothernet.estimator import MotherNetClassifier

    transform, _ = _old_fit_transform(kind, Z[:split])
    if transform is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Z = transform.transform(Z)
    mean, std = Z[:split].mean(0), Z[:split].std(0)
    std = np.where(std > 1e-8, std, 1.0)
    clip = MotherNetClassifier._clip
    return np.clip(np.nan_to_num((Z - mean) / std), -clip, clip).astype(np.float32)


if __name__ == "__main__":
    main()
