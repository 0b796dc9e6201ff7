"""Weights export (issue 11.4): for every estimator with a weights format, what the files weigh
against the cloudpickle they replace, how far the rebuilt estimator's predictions are from the
original's, and how long reading takes.

    python benchmarks/weights_export.py [--datasets credit-approval,cmc] [--out benchmarks/results/weights_export.md]

Estimators are tests/roster.py's (small budgets: a second's fit each), trained on 300 shuffled rows
of each dataset from ../shared/datasets and predicting the next 200 (regressors: the first numeric
column as target). Read times are the median of 5 reads (from_weights vs cloudpickle.loads).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import cloudpickle  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from conftest import load_shared  # noqa: E402
from roster import ESTIMATORS  # noqa: E402

from automl_hyper.models.baselines import export as baselines_export  # noqa: E402
from automl_hyper.models.inn import export as inn_export  # noqa: E402
from automl_hyper.models.smash import export as smash_export  # noqa: E402

MODULES = {
    "INNClassifier": inn_export,
    "TabResNet": inn_export,
    "INNRegressor": inn_export,
    "SmashClassifier": smash_export,
    "FixedArchClassifier": smash_export,
    "SmashRegressor": smash_export,
    "FixedArchRegressor": smash_export,
    "Logistic": baselines_export,
    "DefaultXGB": baselines_export,
    "TunedXGB": baselines_export,
}


def _median_seconds(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def measure(dataset: str, name: str) -> dict:
    X, y = load_shared(dataset)
    order = np.random.default_rng(0).permutation(len(X))
    X, y = X.iloc[order].reset_index(drop=True), y.iloc[order].reset_index(drop=True)
    if name.endswith("Regressor"):
        target = X.select_dtypes("number").columns[0]
        y, X = X[target].fillna(X[target].median()), X.drop(columns=target)
    train, test = slice(0, 300), slice(300, 500)
    est = ESTIMATORS[name]().fit(X.iloc[train], y.iloc[train])
    predict = est.predict if name.endswith("Regressor") else est.predict_proba
    module = MODULES[name]
    with tempfile.TemporaryDirectory() as tmp:
        files = module.export_weights(est, tmp)
        sizes = {p.name: p.stat().st_size for p in files.values()}
        again = module.from_weights(tmp)
        read_s = _median_seconds(lambda: module.from_weights(tmp))
    pickled = cloudpickle.dumps(est)
    again_predict = again.predict if name.endswith("Regressor") else again.predict_proba
    diff = np.abs(np.asarray(again_predict(X.iloc[test])) - np.asarray(predict(X.iloc[test])))
    return {
        "dataset": dataset,
        "estimator": name,
        "files": ", ".join(f"{k} {v / 1024:.1f}" for k, v in sizes.items()),
        "weights_kib": sum(sizes.values()) / 1024,
        "pickle_kib": len(pickled) / 1024,
        "max_abs_diff": float(diff.max()),
        "read_ms": 1000 * read_s,
        "unpickle_ms": 1000 * _median_seconds(lambda: cloudpickle.loads(pickled)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="credit-approval,cmc")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/weights_export.md"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")  # unseen categories in the predicted rows, warned by both
    rows = [measure(d, name) for d in args.datasets.split(",") for name in MODULES]
    lines = [
        "# Weights export: size, fidelity, read time",
        "",
        f"`python benchmarks/weights_export.py --datasets {args.datasets}`",
        "",
        "| dataset | estimator | files (KiB) | weights KiB | cloudpickle KiB | max abs diff | read ms | unpickle ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['estimator']} | {r['files']} | {r['weights_kib']:.1f} | "
            f"{r['pickle_kib']:.1f} | {r['max_abs_diff']:.1e} | {r['read_ms']:.1f} | "
            f"{r['unpickle_ms']:.1f} |"
        )
    worst = max(r["max_abs_diff"] for r in rows)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines += [
        "",
        f"Largest difference over all rows and estimators: {worst:.1e}. Load average at the end "
        f"(1, 5, 15 min): {load} on {os.cpu_count()} cores: times compare within this table only.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0 if worst <= 1e-9 else 1


if __name__ == "__main__":
    raise SystemExit(main())
