"""The main job end to end: real data, real MLflow (SQLite), real registry; failures kept apart."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest

from automl_hyper import zoo
from automl_hyper.cli import main as cli_main
from automl_hyper.compare import run_comparison
from automl_hyper.data.loading import load_dataset
from automl_hyper.integrations.mlflow import as_request_frame


@pytest.fixture
def tracking(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(uri)
    return uri


@pytest.mark.slow
def test_main_job_logs_registers_and_prints_leaderboard(tracking, shared_datasets_dir, capsys):
    code = cli_main(
        [
            "compare",
            "--dataset",
            str(shared_datasets_dir / "diabetes.csv"),
            "--families",
            "inn,logreg,xgboost-tuned",
            "--splits",
            "2",
            "--budget",
            "small",
            "--set",
            "xgboost-tuned.n_trials=4",
            "--set",
            "inn.max_epochs=20",
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    for family in ("inn", "logreg", "xgboost-tuned"):
        assert family in out
    assert "models:/diabetes@champion" in out
    client = mlflow.MlflowClient()
    version = client.get_model_version_by_alias("diabetes", "champion")
    model = mlflow.pyfunc.load_model("models:/diabetes@champion")
    ds = load_dataset(shared_datasets_dir / "diabetes.csv")
    pred = model.predict(as_request_frame(ds.X.head(3)))
    assert list(pred.columns)[0] == "label" and len(pred) == 3
    runs = mlflow.search_runs(experiment_names=["compare-diabetes"])
    # one parent + 3 families x 2 splits + the champion refitted on all rows
    assert len(runs) == 8
    assert set(runs["status"]) == {"FINISHED"}
    champion_run = runs[runs["tags.automl_hyper.champion"] == "true"]
    assert version.run_id == champion_run["run_id"].item()
    assert version.tags["automl_hyper.training_rows"] == str(len(ds.X))


def test_a_failing_family_ends_failed_and_the_others_are_kept(tracking, shared_datasets_dir):
    from automl_hyper.integrations.mlflow import MLflowTracker

    # A real estimator whose settings pass validation but fail inside fit: a device that does
    # not exist on this machine (torch raises when the network is moved there).
    zoo.register(
        zoo.Family(
            name="inn-broken",
            classifier="automl_hyper.models.inn:INNClassifier",
            defaults={"device": "cuda:99"},
        )
    )
    try:
        ds = load_dataset(shared_datasets_dir / "blood-transfusion-service-center.csv")
        with MLflowTracker(ds.name, experiment="failing") as tracker:
            comparison = run_comparison(
                ds,
                ["inn-broken", "logreg"],
                n_splits=1,
                tracker=tracker,
                progress=False,
                refit_champion=True,
            )
    finally:
        zoo.FAMILIES.pop("inn-broken")
    by_family = {r.family: r for r in comparison.records}
    assert by_family["inn-broken"].status == "failed"
    assert by_family["inn-broken"].error
    assert by_family["logreg"].status == "ok" and by_family["logreg"].auc > 0.6
    runs = mlflow.search_runs(experiment_names=["failing"]).set_index("tags.mlflow.runName")
    assert runs.loc["inn-broken-split0", "status"] == "FAILED"
    assert runs.loc["inn-broken-split0", "tags.automl_hyper.error"] == by_family["inn-broken"].error
    assert runs.loc["logreg-split0", "status"] == "FINISHED"
    # the champion is the family that worked
    assert mlflow.MlflowClient().get_model_version_by_alias(
        tracker.champion_uri.split("/")[1].split("@")[0], "champion"
    )


def test_unknown_family_is_refused_before_any_compute(shared_datasets_dir):
    ds = load_dataset(shared_datasets_dir / "diabetes.csv")
    with pytest.raises(KeyError, match="unknown family"):
        run_comparison(ds, ["inn", "no-such-family"], n_splits=1, progress=False)


def test_invalid_parameters_are_refused_before_any_fit(shared_datasets_dir):
    ds = load_dataset(shared_datasets_dir / "diabetes.csv")
    with pytest.raises(ValueError, match="batch_size"):
        run_comparison(
            ds, ["logreg", "inn"], n_splits=1, overrides={"inn": {"batch_size": 0}}, progress=False
        )


def test_mothernet_runs_log_the_generated_child(tracking, shared_datasets_dir):
    """Every MotherNet fit logs its child: weights (.npz) that reproduce its predictions, size."""
    import numpy as np

    from automl_hyper.integrations.mlflow import MLflowTracker

    ds = load_dataset(shared_datasets_dir / "diabetes.csv")
    with MLflowTracker("diabetes", log_models=False, register=False) as tracker:
        run_comparison(ds, ["mothernet"], n_splits=2, tracker=tracker)
    runs = mlflow.search_runs(
        experiment_names=["compare-diabetes"],
        filter_string="tags.`automl_hyper.family` = 'mothernet'",
    )
    assert len(runs) == 2
    assert set(runs["status"]) == {"FINISHED"}
    run = runs.iloc[0]
    # default ensemble: 4 members of an 8 -> 512 -> 2 MLP each
    assert run["metrics.child_members"] == 4
    assert run["metrics.child_parameters"] == 4 * (8 * 512 + 512 + 512 * 2 + 2)
    assert run["metrics.child_npz_bytes"] > 0
    path = mlflow.artifacts.download_artifacts(run_id=run["run_id"], artifact_path="child")
    weights = np.load(f"{path}/weights.npz")
    assert weights["member0.W1"].shape == (8, 512) and weights["member3.W2"].shape == (512, 2)
    assert np.isfinite(weights["member1.W1"]).all()


def test_mothernet_ft_runs_log_the_early_stopped_step_count(tracking, shared_datasets_dir):
    """A fine-tuned MotherNet's run carries the step count early stopping chose (mean, min, max
    over the tuned children, as ``finetune_best_steps_`` has them); generation only has none."""
    from automl_hyper.compare import evaluate
    from automl_hyper.integrations.mlflow import MLflowTracker

    ds = load_dataset(shared_datasets_dir / "diabetes.csv")
    ft = {"mothernet-ft": {"finetune_steps": 6}}
    with MLflowTracker("diabetes", log_models=False, register=False) as tracker:
        run_comparison(ds, ["mothernet", "mothernet-ft"], n_splits=1, overrides=ft, tracker=tracker)
    runs = mlflow.search_runs(experiment_names=["compare-diabetes"]).set_index(
        "tags.automl_hyper.family"
    )
    tuned, plain = runs.loc["mothernet-ft"], runs.loc["mothernet"]
    assert 0 <= tuned["metrics.finetune_best_steps_min"] <= tuned["metrics.finetune_best_steps"]
    assert tuned["metrics.finetune_best_steps"] <= tuned["metrics.finetune_best_steps_max"] <= 6
    assert pd.isna(plain.get("metrics.finetune_best_steps"))

    # The logged figures are the fitted estimator's own list, summarised.
    X, y = ds.X.iloc[:300], ds.y.iloc[:300]
    params = {"finetune_steps": 6, "random_state": 0}
    record, estimator = evaluate(
        "mothernet-ft", params, X, y, ds.X.iloc[300:400], ds.y.iloc[300:400]
    )
    steps = estimator.finetune_best_steps_
    assert steps and record.extra["finetune_best_steps"] == pytest.approx(np.mean(steps))
    assert record.extra["finetune_best_steps_max"] == max(steps)


@pytest.mark.slow
def test_the_main_job_shows_one_progress_bar_and_keeps_library_messages_in_a_log(tmp_path):
    """What a user sees: the bar on stderr, the leaderboard on stdout; MLflow's INFO lines, its
    registration messages and warnings only in the log file whose path is printed."""
    import os
    import re
    import subprocess
    import sys

    log = tmp_path / "compare.log"
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    done = subprocess.run(
        [sys.executable, "-m", "automl_hyper.cli", "compare", "--dataset", "wdbc"]
        + ["--families", "logreg", "--splits", "1", "--log-file", str(log)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    bar_updates = [part for part in re.split(r"[\r\n]+", done.stderr) if part.strip()]
    assert bar_updates and all(part.startswith("compare wdbc") for part in bar_updates)
    assert "logreg" in done.stdout and f"library messages (MLflow, Optuna, warnings): {log}" in (
        done.stdout
    )
    kept = log.read_text()
    assert "INFO mlflow" in kept and "Successfully registered model 'wdbc'" in kept
