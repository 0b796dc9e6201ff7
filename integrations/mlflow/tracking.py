"""MLflow tracking: where runs go, the ``compare`` tracker, the pretraining tracker, leaderboards.

``MLflowTracker`` is what :func:`automl_hyper.compare.run_comparison` calls: one parent run per
comparison; inside it one nested run per family and split with its params, metrics, timings and
the fitted model (a pyfunc, see :func:`log_family_model`); for a hypernetwork family with a
generated child (MotherNet) also the child's weights and size. A fit that raises ends its run
FAILED with the message and traceback, and the comparison carries on. At the end the leaderboard
is logged (:func:`log_leaderboard`, the one place leaderboards reach MLflow) and the champion
family's model is registered under ``<dataset>`` with the alias ``champion``.

``PretrainingTracker`` logs a MotherNet pretraining run and never stops it: a failing tracking
server only warns.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd

from automl_hyper.compare import (
    Comparison,
    RunRecord,
    leaderboard_markdown,
    plot_auc_vs_time,
)
from automl_hyper.integrations.mlflow.models import log_family_model

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
_ARTIFACTS_PROGRESS_BAR = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"


def configure_tracking(uri: str | None = None, experiment: str | None = None) -> str:
    """Point MLflow at ``uri`` (else ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db``)."""
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    mlflow.set_tracking_uri(uri)
    if experiment is not None:
        mlflow.set_experiment(experiment)
    return uri


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
        self._progress_env: str | None = None

    def __enter__(self) -> MLflowTracker:
        # Logging a model with an input example downloads it back to validate the signature,
        # each time with a progress bar of its own: the comparison has one bar, keep it alone.
        self._progress_env = os.environ.get(_ARTIFACTS_PROGRESS_BAR)
        os.environ[_ARTIFACTS_PROGRESS_BAR] = "false"
        self.tracking_uri = configure_tracking(self.tracking_uri, self.experiment)
        run = mlflow.start_run(run_name=f"compare-{self.dataset}")
        self.parent_run_id = run.info.run_id
        mlflow.set_tag("automl_hyper.dataset", self.dataset)
        if self.run_params:
            mlflow.log_params(self.run_params)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        mlflow.end_run(status="FAILED" if exc_type else "FINISHED")
        if self._progress_env is None:
            os.environ.pop(_ARTIFACTS_PROGRESS_BAR, None)
        else:
            os.environ[_ARTIFACTS_PROGRESS_BAR] = self._progress_env

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
        log_leaderboard(board, markdown=leaderboard_markdown(board))
        mlflow.log_table(comparison.frame(), artifact_file="runs.json")
        mlflow.log_figure(plot_auc_vs_time(board, title=comparison.dataset), "auc_vs_fit_time.png")
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


def log_leaderboard(
    board: pd.DataFrame, *, family_column: str = "family", markdown: str | None = None
) -> None:
    """Log a leaderboard (one row per family) in the active run: ``leaderboard.json`` (browsable
    in the UI), ``leaderboard.csv``, ``leaderboard.md`` when ``markdown`` is given, and every
    finite numeric cell as the metric ``<family>.<column>``."""
    if family_column not in board.columns:
        raise ValueError(f"leaderboard has no {family_column!r} column: {list(board.columns)}")
    mlflow.log_table(board, artifact_file="leaderboard.json")
    if markdown is not None:
        mlflow.log_text(markdown, "leaderboard.md")
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "leaderboard.csv"
        board.to_csv(csv, index=False)
        mlflow.log_artifact(str(csv))
    metrics = {}
    for row in board.to_dict("records"):
        for column, value in row.items():
            numeric = isinstance(value, int | float | np.number) and not isinstance(value, bool)
            if column != family_column and numeric and np.isfinite(value):
                metrics[f"{row[family_column]}.{column}"] = float(value)
    mlflow.log_metrics(metrics)


def log_comparison(
    leaderboard: pd.DataFrame,
    *,
    dataset: str,
    family_column: str = "family",
    run_name: str | None = None,
    params: dict[str, Any] | None = None,
) -> str:
    """Log a leaderboard made elsewhere (a benchmark script) in the active run or a new one,
    tagged with its dataset (see :func:`log_leaderboard`). Returns the run id."""
    if family_column not in leaderboard.columns:
        raise ValueError(
            f"leaderboard has no {family_column!r} column: {list(leaderboard.columns)}"
        )
    own_run = mlflow.active_run() is None
    run = (
        mlflow.start_run(run_name=run_name or f"compare-{dataset}")
        if own_run
        else mlflow.active_run()
    )
    try:
        mlflow.set_tag("automl_hyper.dataset", dataset)
        if params:
            mlflow.log_params(params)
        log_leaderboard(leaderboard, family_column=family_column)
        return run.info.run_id
    finally:
        if own_run:
            mlflow.end_run()


class PretrainingTracker:
    """MLflow logging for ``automl-hyper pretrain`` (experiment ``mothernet-pretrain``) that never
    stops training: a failing tracking server only warns. A resumed run continues the MLflow run
    recorded in the trainer's checkpoint (``trainer.mlflow_run_id``)."""

    def __init__(self, uri: str, trainer: Any, experiment: str = "mothernet-pretrain") -> None:
        self.active = False
        try:
            mlflow.set_tracking_uri(uri)
            mlflow.set_experiment(experiment)
            run = mlflow.start_run(
                run_id=trainer.mlflow_run_id, run_name=f"pretrain-{trainer.config.name}"
            )
            trainer.mlflow_run_id = run.info.run_id
            if trainer.step == 0:
                flat = _flatten(trainer.config.to_dict())
                mlflow.log_params(
                    {**flat, "prior_seed": trainer.prior_seed, "device": str(trainer.device)}
                )
            self.active = True
        except Exception as err:  # noqa: BLE001 - logging must not kill a long run
            print(f"warning: MLflow disabled: {err}", file=sys.stderr)

    def log(self, metrics: dict[str, float], step: int) -> None:
        if not self.active:
            return
        try:
            mlflow.log_metrics(metrics, step=step)
        except Exception as err:  # noqa: BLE001
            print(f"warning: MLflow logging failed: {err}", file=sys.stderr)

    def close(self) -> None:
        if self.active:
            mlflow.end_run()


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
