"""INN's cost over the same TabResNet with an ordinary output head.

Both networks share the trunk, optimiser, schedule and epochs (early stopping off so they run the
same number of epochs); only the head differs: (F + 1) * C generated weights per row, applied to
the row, plus the L1 penalty, against C logits. Prints training time ratio and test AUC per dataset.

    python benchmarks/inn_overhead.py --datasets diabetes,credit-g,kc2,qsar-biodeg,banknote-authentication
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from common import load_shared, peak_rss_mb

DEFAULT = "diabetes,credit-g,kc2,qsar-biodeg,banknote-authentication,vehicle,cmc"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=DEFAULT)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3, help="fits per model (median time)")
    args = parser.parse_args(argv)

    import torch

    from automl_hyper.data.splits import paper_splits
    from automl_hyper.metrics import auc_score
    from automl_hyper.models.baselines import TabResNetClassifier
    from automl_hyper.models.inn import INNClassifier

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    rows = []
    for name in args.datasets.split(","):
        ds = load_shared(name)
        train, test = paper_splits(ds.y, n_splits=1, seed=0)[0]
        Xtr, ytr, Xte, yte = ds.X.iloc[train], ds.y.iloc[train], ds.X.iloc[test], ds.y.iloc[test]
        row = {"dataset": name, "rows": len(train), "features": ds.X.shape[1]}
        for label, cls in (("inn", INNClassifier), ("plain", TabResNetClassifier)):
            times = []
            for rep in range(args.repeats):
                model = cls(max_epochs=args.epochs, patience=10**6, random_state=rep)
                start = time.perf_counter()
                model.fit(Xtr, ytr)
                times.append(time.perf_counter() - start)
            y_idx = np.searchsorted(model.classes_, yte)
            row[f"{label} fit s"] = float(np.median(times))
            row[f"{label} auc"] = auc_score(y_idx, model.predict_proba(Xte))
        row["time ratio"] = row["inn fit s"] / row["plain fit s"]
        rows.append(row)
        print(
            pd.DataFrame([row]).to_string(index=False, header=len(rows) == 1, float_format="%.4f"),
            flush=True,
        )
    table = pd.DataFrame(rows)
    print(
        f"\nmedian time ratio INN / plain head: {table['time ratio'].median():.3f} (goal <= 1.10)"
    )
    print(
        f"mean AUC: INN {table['inn auc'].mean():.4f}, plain head {table['plain auc'].mean():.4f}"
    )
    print(f"peak RSS {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
