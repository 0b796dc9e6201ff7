"""SMASH inside real AutoGluon: hyperparameters={'SMASH': {...}} on a real dataset, in time."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from automl_hyper.models.smash import ArchSpec

autogluon_tabular = pytest.importorskip("autogluon.tabular")
pytest.importorskip("automl_hyper.integrations.autogluon")

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
# A small search: a few seconds of hypernetwork, a handful of finalist epochs.
SMALL_SMASH = {
    "n_candidates": 40,
    "n_mutations": 10,
    "top_k": 2,
    "hyper_max_epochs": 10,
    "max_epochs": 20,
    "widths": [16, 32, 64],
    "max_depth": 3,
}


@pytest.mark.slow
def test_autogluon_fits_smash_on_credit_g_within_its_time_limit(tmp_path):
    path = DATASETS / "credit-g.csv"
    if not path.exists():
        pytest.skip(f"{path} not available")
    df = pd.read_csv(path)
    df = df.groupby("target", group_keys=False).sample(n=200, random_state=0)  # mixed dtypes
    train, test = df.iloc[::2], df.iloc[1::2]
    time_limit = 60
    start = time.perf_counter()
    predictor = autogluon_tabular.TabularPredictor(
        label="target", path=str(tmp_path / "ag"), verbosity=0
    ).fit(
        train,
        # The estimator's own split: with AutoGluon's X_val (the default, tested in
        # test_eval_set.py) all 160 rows AutoGluon keeps train, the hypernetwork takes 2 batches
        # per epoch instead of 1 and meets this time limit, and test AUC varied 0.53-0.69 from run
        # to run (3 runs); on its own 128/32 split it was 0.652 every time.
        hyperparameters={"SMASH": {**SMALL_SMASH, "ag.use_val_data": False}},
        time_limit=time_limit,
    )
    elapsed = time.perf_counter() - start
    assert elapsed < time_limit + 30  # AutoGluon's own overhead on a loaded machine included
    names = predictor.model_names()
    assert any(n.startswith("SMASH") for n in names), names
    model = predictor._trainer.load_model(next(n for n in names if n.startswith("SMASH")))
    assert isinstance(model.model.best_spec_, ArchSpec)
    proba = predictor.predict_proba(test, model=next(n for n in names if n.startswith("SMASH")))
    positive = predictor.class_labels[1]
    assert roc_auc_score(test["target"] == positive, proba[positive]) > 0.6
