"""CPU per 20-row prediction of MotherNet's exported child: numpy path vs the scikit-learn objects.

    python benchmarks/child_predict_cpu.py [--calls 1000] [--rows 20] [--output FILE]

For wdbc (scikit-learn's breast_cancer, 30 numeric columns) and credit-approval
(../shared/datasets: 15 columns, 9 categorical, missing values), fits MotherNetClassifier (defaults:
4 members, one with a quantile transform) and times ``--calls`` predictions of ``--rows`` random
rows two ways, alternating in blocks of 50 so both see the same machine load: "sklearn" is what
the child ran before (the fitted TabularPreprocessor's ColumnTransformer, each member's
scikit-learn QuantileTransformer), "numpy" is ``NumpyChild.predict_proba`` (NumpyPreprocessor,
NumpyQuantileTransformer). Same checks and warnings in both; their outputs are compared.
"""

from __future__ import annotations

import argparse
import functools
import os
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def sklearn_path(clf, X) -> np.ndarray:
    from automl_hyper.models.mothernet.child import combine, softmax

    Xp = clf.preprocessor_.transform(X)
    probas = [softmax(m.logits(m.inputs(Xp, clf._clip)) / clf.temperature) for m in clf.members_]
    return combine(probas, clf.members_, len(clf.classes_))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--output", default=None)
    args = parser.parse_args()

    from conftest import load_shared

    from automl_hyper import MotherNetClassifier

    warnings.simplefilter("ignore")  # unseen categories in random rows: warned, not timed twice
    data = {"wdbc": load_breast_cancer(return_X_y=True, as_frame=True)}
    data["credit-approval"] = load_shared("credit-approval")
    lines = [
        "$ python benchmarks/child_predict_cpu.py " + " ".join(map(shlex.quote, sys.argv[1:])),
        f"date {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; load average "
        + " ".join(f"{v:.2f}" for v in os.getloadavg()),
        f"| dataset | sklearn path ms CPU / call | numpy path ms CPU / call | speed-up | max |diff| "
        f"({args.calls} calls x {args.rows} rows) |",
        "|---|---|---|---|---|",
    ]
    for name, (X, y) in data.items():
        clf = MotherNetClassifier(random_state=0).fit(X.iloc[:300], y.iloc[:300])
        child = clf.export_child()
        rng = np.random.default_rng(0)
        batches = [X.iloc[rng.choice(len(X), args.rows, replace=False)] for _ in range(args.calls)]
        spent = {"sklearn": 0.0, "numpy": 0.0}
        paths = {"sklearn": functools.partial(sklearn_path, clf), "numpy": child.predict_proba}
        diff = max(
            np.abs(sklearn_path(clf, b) - child.predict_proba(b)).max() for b in batches[:50]
        )
        for start in range(0, args.calls, 50):
            for path, call in paths.items():
                t0 = time.process_time()
                for b in batches[start : start + 50]:
                    call(b)
                spent[path] += time.process_time() - t0
        old, new = (spent[k] / args.calls * 1000 for k in ("sklearn", "numpy"))
        lines.append(f"| {name} | {old:.2f} | {new:.2f} | {old / new:.1f}x | {diff:.1e} |")
    lines.append(
        f"load average after {' '.join(f'{v:.2f}' for v in os.getloadavg())}; one process, "
        "one BLAS thread for the child's matmuls"
    )
    report = "\n".join(lines)
    print(report)
    if args.output:
        with open(args.output, "a") as f:
            f.write(report + "\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
