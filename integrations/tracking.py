"""MLflow tracking for ``automl-hyper compare``: the Tracker that automl_hyper.compare calls.

One parent run per comparison; inside it one nested run per family and split with its params,
metrics, timings and the fitted model (a pyfunc, see :func:`log_family_model`); for a hypernetwork
family with a generated child (MotherNet) also the child's weights and size. A fit that raises
ends its run FAILED with the message and traceback, and the comparison carries on. At the end the
leaderboard is logged (markdown, table and an AUC-vs-fit-time plot) and the champion family's model
is registered under ``<dataset>`` with the alias ``champion``.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from automl_hyper.compare import (
    Comparison,
    RunRecord,
    leaderboard_markdown,
    plot_auc_vs_time,
)
from automl_hyper.integrations.mlflow import configure_tracking, log_family_model


def registered_name(dataset: str) -> str:
    """A registry-safe model name for a dataset (letters, digits, '-', '_', '.')."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", dataset).strip("-") or "dataset"


def log_generated_child(child: Any) -> None:
    """A hypernetwork family's generated child in the active run: its weights as an ``.npz``
    artifact (``child/weights.npz``), its size as metrics, one line per member as a table."""
    mlflow.log_metrics(child.summary())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "weights.npz"
        child.save_weights(path)
        mlflow.log_artifact(str(path), artifact_path="child")
        mlflow.log_metric("child_npz_bytes", float(path.stat().st_size))
    mlflow.log_table(pd.DataFrame(child.member_table()), artifact_file="child/members.json")


class MLflowTracker:
    """Use as a context manager around :func:`automl_hyper.compare.run_comparison`."""

    def __init__(
        self,
        dataset: str,
        *,
        tracking_uri: str | None = None,
        experiment: str | None = None,
        log_models: bool = True,
        register: bool = True,
        alias: str = "champion",
        run_params: dict[str, Any] | None = None,
    ):
        self.dataset = dataset
        self.tracking_uri = tracking_uri
        self.experiment = experiment or f"compare-{registered_name(dataset)}"
        self.log_models = log_models
        self.register = register
        self.alias = alias
        self.run_params = run_params or {}
        self.model_uris: dict[tuple[str, int], str] = {}
        self.champion_uri: str | None = None
        self.parent_run_id: str | None = None

    def __enter__(self) -> MLflowTracker:
        self.tracking_uri = configure_tracking(self.tracking_uri, self.experiment)
        run = mlflow.start_run(run_name=f"compare-{self.dataset}")
        self.parent_run_id = run.info.run_id
        mlflow.set_tag("automl_hyper.dataset", self.dataset)
        if self.run_params:
            mlflow.log_params(self.run_params)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        mlflow.end_run(status="FAILED" if exc_type else "FINISHED")

    @contextlib.contextmanager
    def family_run(self, family: str, split: int, params: dict[str, Any]) -> Iterator[Any]:
        with mlflow.start_run(run_name=f"{family}-split{split}", nested=True) as run:
            mlflow.set_tags({"automl_hyper.family": family, "automl_hyper.split": str(split)})
            mlflow.log_params({k: v for k, v in params.items() if v is not None})
            try:
                yield run
            except BaseException as err:
                mlflow.set_tag("automl_hyper.error", f"{type(err).__name__}: {err}"[:5000])
                mlflow.log_text(traceback.format_exc(), "error.txt")
                mlflow.end_run(status="FAILED")
                raise

    def log_result(
        self, run: Any, record: RunRecord, estimator: Any, X_sample: pd.DataFrame
    ) -> None:
        mlflow.log_metrics(record.metrics)
        if hasattr(estimator, "export_child"):
            log_generated_child(estimator.export_child())
        if self.log_models:
            info = log_family_model(
                estimator, name="model", input_example=X_sample, family=record.family
            )
            self.model_uris[(record.family, record.split)] = info.model_uri

    def finish(self, comparison: Comparison) -> None:
        board = comparison.leaderboard()
        mlflow.log_text(leaderboard_markdown(board), "leaderboard.md")
        mlflow.log_table(board, artifact_file="leaderboard.json")
        mlflow.log_table(comparison.frame(), artifact_file="runs.json")
        mlflow.log_figure(plot_auc_vs_time(board, title=comparison.dataset), "auc_vs_fit_time.png")
        for row in board.itertuples(index=False):
            for metric in ("auc_mean", "auc_std", "fit_s_mean", "time_vs_xgb_refit"):
                value = getattr(row, metric, float("nan"))
                if pd.notna(value):
                    mlflow.log_metric(f"{row.family}.{metric}", float(value))
        champion = comparison.champion()
        if champion is None or not self.register:
            return
        # The champion's model from its first successful split stands for the family.
        uris = [uri for (fam, _), uri in sorted(self.model_uris.items()) if fam == champion]
        if not uris:
            return
        name = registered_name(comparison.dataset)
        version = mlflow.register_model(uris[0], name)
        mlflow.MlflowClient().set_registered_model_alias(name, self.alias, version.version)
        mlflow.set_tag("automl_hyper.champion", champion)
        self.champion_uri = f"models:/{name}@{self.alias}"
