"""Helpers shared by the benchmark scripts: the shared datasets, the paper's anchors, memory."""

from __future__ import annotations

import json
import resource
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT.parent / "shared" / "datasets"
ANCHORS = ROOT.parent / "shared" / "anchors" / "mothernet_paper_auc_by_dataset.csv"


# The committed full benchmark run (30 CC18 x 5 paper splits, seed 0, budget small): its per-split
# results are what later runs on the same splits pair with.
FULL_RUN = Path(__file__).resolve().parent / "results" / "benchmark_full_cc18-30" / "runs.csv"


def committed_aucs(runs_csv: Path = FULL_RUN) -> pd.DataFrame:
    """Test AUC of a benchmark run's finished runs (its ``runs.csv``): one row per dataset x
    split, one column per family, for pairing with new runs on the same paper splits."""
    runs = pd.read_csv(runs_csv)
    runs = runs[runs.status == "ok"]
    return runs.pivot_table(index=["dataset", "split"], columns="family", values="auc")


def load_shared(name: str, data_dir: Path = DATA_DIR):
    """A dataset of ../shared/datasets through the package's own loader (categoricals typed)."""
    from automl_hyper.data.loading import load_dataset

    categorical = json.loads((data_dir / "CATEGORICAL.json").read_text()).get(name, [])
    return load_dataset(data_dir / f"{name}.csv", "target", categorical=categorical, name=name)


def cc18_names(data_dir: Path = DATA_DIR) -> list[str]:
    """The 30 OpenML-CC18 datasets on which TabPFN and MotherNet were evaluated."""
    return (data_dir / "TABPFN_CC18_30.txt").read_text().split()


def anchors() -> pd.DataFrame:
    """Published per-dataset mean AUCs (MotherNet paper), indexed by dataset name."""
    return pd.read_csv(ANCHORS).set_index("dataset")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def evaluate_split0(family: str, extra: dict, data):
    """``compare.evaluate`` of a zoo family (budget small, seed 0, ``extra`` over its
    parameters) on paper split 0 of ``data``, warnings silenced: (record, fitted estimator,
    CPU seconds of this process for fit + predict)."""
    import time
    import warnings

    from automl_hyper.compare import evaluate, family_params
    from automl_hyper.data.splits import paper_splits

    tr, te = paper_splits(data.y, n_splits=1, seed=0)[0]
    c0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        record, est = evaluate(
            family,
            family_params(family, "small", 0, extra),
            data.X.iloc[tr],
            data.y.iloc[tr],
            data.X.iloc[te],
            data.y.iloc[te],
        )
    return record, est, time.process_time() - c0


def fit_predict_scores(clf, data, train, test) -> dict:
    """Fit ``clf`` on ``data``'s ``train`` rows and score its probabilities on ``test``: ROC AUC,
    log loss, ensemble members and fit / predict CPU milliseconds (warnings silenced: the
    benchmarks probe limits on purpose)."""
    import time
    import warnings

    import numpy as np
    from sklearn.metrics import log_loss

    from automl_hyper.metrics import auc_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c0 = time.process_time()
        clf.fit(data.X.iloc[train], data.y.iloc[train])
        c1 = time.process_time()
        proba = clf.predict_proba(data.X.iloc[test])
        c2 = time.process_time()
    y = np.searchsorted(clf.classes_, data.y.iloc[test])
    return {
        "auc": auc_score(y, proba),
        "logloss": log_loss(y, proba, labels=np.arange(proba.shape[1])),
        "members": len(clf.members_),
        "fit_ms": 1e3 * (c1 - c0),
        "predict_ms": 1e3 * (c2 - c1),
    }


def markdown(
    frame: pd.DataFrame,
    floats: str | Callable[[str], str] | None = None,
    *,
    blank: bool = True,
    index: str | None = None,
    rule: str = "---|",
) -> str:
    """A pipe table (pandas' ``to_markdown`` needs tabulate, which is not a dependency).

    ``floats``: the format spec of float cells (``".4f"``, ``"+.4f"``, ``".4g"``), or a function
    from the column's name to one; None: every cell as ``str`` (round the frame first).
    ``blank``: non-finite floats as empty cells (else formatted: ``nan``). ``index``: the index
    as the first column, headed ``index`` (else left out; ``frame.reset_index()`` keeps its
    names). ``rule``: the header rule per column, ``"---|"`` (``|---|---|``) or ``" --- |"``
    (``| --- | --- |``)."""
    columns = [str(c) for c in frame.columns]
    specs = [floats(c) if callable(floats) else floats for c in columns]

    def cell(spec: str | None, value) -> str:
        if spec is None or not isinstance(value, float | np.floating):
            return str(value)
        return "" if blank and not np.isfinite(value) else f"{value:{spec}}"

    head = ([index] if index is not None else []) + columns
    lines = ["| " + " | ".join(head) + " |", "|" + rule * len(head)]
    labels = frame.index if index is not None else [None] * len(frame)
    for label, row in zip(labels, frame.itertuples(index=False)):
        cells = [cell(spec, v) for spec, v in zip(specs, row)]
        lines.append("| " + " | ".join(([str(label)] if index is not None else []) + cells) + " |")
    return "\n".join(lines)
