"""The registered champion, read back from a real SQLite store: the winning family refitted on
all rows, with a description and tags; an existing alias moved with a warning; only the champion's
full model logged; the leaderboard and plot written to --output; absolute paths in every command."""

from __future__ import annotations

import re

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from automl_hyper import zoo
from automl_hyper.cli import main as cli_main
from automl_hyper.compare import run_comparison
from automl_hyper.data.loading import load_dataset
from automl_hyper.integrations.mlflow import as_request_frame, log_family_model


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A fresh SQLite store given as a *relative* URI, as the default is, from its folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    yield tmp_path
    mlflow.end_run()


def test_the_champion_is_refitted_on_all_rows_tagged_and_moves_the_alias_with_a_warning(
    store, capsys
):
    absolute = f"sqlite:///{store / 'mlflow.db'}"
    # The user already registered their own model under the name and alias compare will use.
    X, y = load_dataset("iris").X, load_dataset("iris").y
    mlflow.set_tracking_uri(absolute)
    # MLflow keeps the active experiment across set_tracking_uri: an earlier test's experiment id
    # does not exist in this fresh store, so name one here as a user would.
    mlflow.set_experiment("my-flowers")
    own = zoo.get("logreg").make(random_state=0).fit(X, y)
    mine = log_family_model(own, name="mine", registered_model_name="flowers", alias="champion")
    printed = capsys.readouterr().out
    assert "logged model: models:/flowers@champion\nserve it: " in printed
    assert f"MLFLOW_TRACKING_URI={absolute} mlflow models serve -m models:/flowers@champion" in (
        printed
    )
    assert mine.uri == "models:/flowers@champion" and "--env-manager local" in mine.serve_command

    code = cli_main(
        ["compare", "--dataset", "iris", "--families", "logreg,inn", "--splits", "2",
         "--set", "inn.max_epochs=2", "--set", "inn.hidden_width=16", "--quiet",
         "--tracking-uri", "sqlite:///mlflow.db", "--register-as", "flowers",
         "--output", "out"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out

    client = MlflowClient(absolute)
    version = client.get_model_version_by_alias("flowers", "champion")
    assert str(version.version) == "2"
    assert (
        f"warning: moved alias flowers@champion from version 1 (not from compare, run {mine.run_id}) to version 2"
        in out
    )

    tags = version.tags
    family = tags["automl_hyper.family"]
    assert family in ("logreg", "inn")
    assert tags["automl_hyper.dataset"] == "iris"
    assert tags["automl_hyper.training_rows"] == "150"  # all rows, not a split's 75
    assert tags["automl_hyper.budget"] == "small" and tags["automl_hyper.splits"] == "2"
    assert tags["automl_hyper.version"].startswith("0.")
    assert "2 stratified splits" in tags["automl_hyper.protocol"]
    board = pd.read_csv(store / "out" / "leaderboard.csv").set_index("family")
    mean, std = board.loc[family, "auc_mean"], board.loc[family, "auc_std"]
    assert tags["automl_hyper.auc"] == f"{mean:.4f} ± {std:.4f}"
    assert float(tags["automl_hyper.auc_mean"]) == pytest.approx(mean, abs=1e-6)
    assert board["auc_mean"].idxmax() == family  # the champion is the best by mean AUC
    assert f"{family} refitted on all 150 rows of iris" in version.description
    assert f"{mean:.4f} ± {std:.4f}" in version.description

    # The version's run is the refit on all rows; the splits logged no full model.
    runs = mlflow.search_runs(experiment_names=["compare-iris"]).set_index("tags.mlflow.runName")
    champion_run = runs.loc[f"{family}-champion-all-rows"]
    assert version.run_id == champion_run["run_id"]
    assert champion_run["metrics.training_rows"] == 150
    for name in ("logreg-split0", "logreg-split1", "inn-split0", "inn-split1"):
        artifacts = {a.path for a in client.list_artifacts(runs.loc[name, "run_id"], "model")}
        assert "model/MLmodel" not in artifacts, (name, artifacts)
    model = mlflow.pyfunc.load_model("models:/flowers@champion")
    assert len(model.predict(as_request_frame(X.head(3)))) == 3

    assert (
        f"champion: {family} -> models:/flowers@champion (version 2, refitted on all 150 rows"
        in out
    )
    # Where everything is, with absolute paths that work from any folder.
    assert f"browse: mlflow ui --backend-store-uri {absolute}" in out
    serve = re.search(r"serve it: (.*)", out).group(1)
    assert (
        f"MLFLOW_TRACKING_URI={absolute} mlflow models serve -m models:/flowers@champion" in serve
    )
    written = re.search(r"written: (.*)", out).group(1).split(", ")
    assert [p.rsplit("/", 1)[1] for p in written] == [
        "leaderboard.md", "leaderboard.csv", "runs.csv", "auc_vs_fit_time.png"
    ]  # fmt: skip
    assert all(p.startswith(str(store)) for p in written)
    report = (store / "out" / "leaderboard.md").read_text()
    assert report.startswith("# automl-hyper compare: iris\n")
    for text in ("150 rows, 4 features, 3 classes", "- splits: 2", "- budget: small",
                 "| family | ROC AUC |", "÷XGB refit", f"champion: {family}, refitted on all 150"):  # fmt: skip
        assert text in report, text
    assert (store / "out" / "auc_vs_fit_time.png").stat().st_size > 10_000


def test_log_models_all_logs_every_split_and_none_registers_nothing(store):
    from automl_hyper.integrations.mlflow import MLflowTracker

    ds = load_dataset("iris")
    with MLflowTracker("iris", tracking_uri="sqlite:///mlflow.db", log_models="all") as tracker:
        run_comparison(ds, ["logreg"], n_splits=1, tracker=tracker, progress=False, refit_champion=True)  # fmt: skip
    assert set(tracker.model_uris) == {("logreg", 0)}
    assert tracker.champion_uri == "models:/iris@champion"
    assert tracker.tracking_uri == f"sqlite:///{store / 'mlflow.db'}"  # made absolute

    with MLflowTracker("iris", tracking_uri="sqlite:///mlflow.db", log_models="none") as tracker:
        comparison = run_comparison(
            ds, ["logreg"], n_splits=1, tracker=tracker, progress=False, refit_champion=True
        )
    assert comparison.champion_fit.training_rows == 150
    assert tracker.champion_uri is None and not tracker.model_uris
    versions = MlflowClient(tracker.tracking_uri).search_model_versions("name='iris'")
    assert len(versions) == 1  # only the first comparison registered
