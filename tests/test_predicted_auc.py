"""The UNF-predicted score of every generated child (``child_quality``), logged by ``compare`` next
to the measured AUC, so a user can see how far to trust the predictor. Real estimators, the
shipped predictors, a real SQLite MLflow store."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest

from automl_hyper import MotherNetClassifier, zoo
from automl_hyper.compare import run_comparison
from automl_hyper.data.loading import load_dataset
from automl_hyper.weightspace.uses import child_quality


def test_a_mothernet_compare_run_logs_predicted_auc_next_to_its_auc(tmp_path, monkeypatch):
    from automl_hyper.integrations.mlflow import MLflowTracker

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # log_models="all": the split's pyfunc goes through log_family_model, which logs the scores
    # (the tracker logs them itself otherwise: test_compare_faults checks that path).
    with MLflowTracker("iris", tracking_uri=uri, log_models="all", register=False) as tracker:
        comparison = run_comparison(
            load_dataset("iris"), ["mothernet"], n_splits=1, tracker=tracker, progress=False
        )
    (record,) = comparison.records
    (run,) = mlflow.MlflowClient(uri).search_runs(
        [mlflow.MlflowClient(uri).get_experiment_by_name("compare-iris").experiment_id],
        filter_string="tags.`automl_hyper.family` = 'mothernet'",
    )
    metrics = run.data.metrics
    assert metrics["auc"] == pytest.approx(record.auc)
    members = [metrics[f"predicted_auc_member_{i}"] for i in range(4)]  # the default 4 members
    assert 0.0 <= metrics["predicted_auc"] <= 1.0
    assert all(0.0 <= m <= 1.0 for m in members)
    assert metrics["predicted_auc"] == pytest.approx(np.mean(members))
    assert tracker.model_uris[("mothernet", 0)]  # logged by log_family_model
    history = mlflow.MlflowClient(uri).get_metric_history(run.info.run_id, "predicted_auc")
    assert len(history) == 1  # logged once, not by both the tracker and log_family_model


def test_smash_finalists_scored_by_the_unf_ranker_get_their_predicted_auc():
    from sklearn.datasets import load_breast_cancer

    from automl_hyper.models.smash import SmashClassifier

    X, y = load_breast_cancer(return_X_y=True)
    tiny = {"n_candidates": 12, "n_mutations": 4, "top_k": 3, "hyper_max_epochs": 3}
    clf = SmashClassifier(
        **tiny, max_epochs=5, widths=(8, 16), max_depth=2, random_state=0, ranker="unf"
    ).fit(X[:200], y[:200])
    quality = child_quality(clf, 200)
    predicted = [quality[f"predicted_auc_finalist_{i}"] for i in range(3)]
    real = [quality[f"validation_auc_finalist_{i}"] for i in range(3)]
    assert all(0.0 <= p <= 1.0 for p in predicted)
    assert real == sorted(real, reverse=True)  # best real validation AUC first
    assert quality["predicted_auc"] == pytest.approx(np.mean(predicted))
    # The default proxy ranker scores nothing with the predictor: nothing to log.
    proxy = SmashClassifier(**tiny, max_epochs=2, widths=(8,), max_depth=1, random_state=0)
    assert child_quality(proxy.fit(X[:200], y[:200]), 200) == {}


def test_no_children_gives_nothing_and_a_failing_predictor_only_warns():
    X, y = load_dataset("iris").X, load_dataset("iris").y
    assert child_quality(zoo.get("logreg").make(random_state=0).fit(X, y), 150) == {}
    broken = MotherNetClassifier(random_state=0).fit(X, y)
    broken.members_ = [object()]  # a child the predictor cannot read
    with pytest.warns(UserWarning, match="predicted_auc not logged"):
        assert child_quality(broken, 150) == {}
