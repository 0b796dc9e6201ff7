"""Pair a benchmark store's MotherNet generation runs (30 CC18 x 5) with the committed full run
(tuned XGBoost and the old MotherNet rows of benchmark_full_cc18-30/runs.csv), per dataset x split.

Usage: python benchmarks/mothernet_gen_pair.py TRACKING_URI  (the store `automl-hyper benchmark
--families mothernet` wrote)
"""

import sys

import mlflow
import numpy as np

sys.path.insert(0, "benchmarks")
from common import committed_aucs

mlflow.set_tracking_uri(sys.argv[1])
runs = mlflow.search_runs(
    search_all_experiments=True, filter_string="attributes.status = 'FINISHED'"
)
runs = (
    runs[runs["tags.automl_hyper.family"] == "mothernet"]
    if "tags.automl_hyper.family" in runs
    else runs
)
cols = [c for c in runs.columns if c.startswith("tags.")]
ds = next(c for c in cols if c.endswith(".dataset"))
sp = next(c for c in cols if c.endswith(".split"))
fam = next(c for c in cols if c.endswith(".family"))
auc = next(
    c for c in runs.columns if c in ("metrics.test_roc_auc", "metrics.roc_auc", "metrics.auc")
)
fit = next((c for c in runs.columns if c.startswith("metrics.fit")), None)
runs = runs[runs[fam] == "mothernet"]
new = runs.set_index([runs[ds], runs[sp].astype(int)])[auc]
new.index.names = ["dataset", "split"]
old = committed_aucs()
pairs = old.join(new.rename("new"), how="inner")
print(f"pairs: {len(pairs)} over {pairs.index.get_level_values(0).nunique()} datasets")
for ref in ("xgboost-tuned", "mothernet"):
    d = (pairs["new"] - pairs[ref]).groupby(level=0).mean()
    print(
        f"| this store vs {ref} | {pairs['new'].mean():.4f} | {pairs[ref].mean():.4f} | {d.mean():+.4f} | {d.std(ddof=1) / np.sqrt(len(d)):.4f} | {(d > 1e-4).sum()}/{(d.abs() <= 1e-4).sum()}/{(d < -1e-4).sum()} |"
    )
if fit:
    print("median fit s (this run):", runs[fit].median())
