"""MLflow as the store of ``automl-hyper benchmark`` (see :mod:`automl_hyper.benchmark`).

Experiment ``benchmark-<suite>`` (or the caller's). Per dataset and invocation one parent run
(:class:`~automl_hyper.integrations.mlflow.tracking.MLflowTracker`'s, no model registered), and
inside it one nested run per split and family, tagged ``automl_hyper.suite``, ``.dataset``,
``.split``, ``.family``, ``.protocol``, ``.budget`` and ``.params_key`` (the family's parameters
on that split), ``.data_hash`` (:func:`automl_hyper.benchmark.data_hash` of the data it was fitted
on: not part of the key either; a finished run whose dataset now loads with another hash runs
again), and ``.code`` (the package version and git commit that ran it: not part of the
key, so a resumed benchmark keeps runs across code changes, and the report says when it did).
A FINISHED run with the same tags is a finished job: the next invocation skips
it. FAILED runs (the fit raised) and runs left RUNNING by a killed process run again. The report
is logged as artifacts (``report/``) of a run named ``report`` in the same experiment.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from automl_hyper.benchmark import RESULT_COLUMNS, Plan
from automl_hyper.integrations.mlflow.tracking import MLflowTracker, configure_tracking

TAG = "automl_hyper."


def default_experiment(plan: Plan) -> str:
    from automl_hyper.integrations.mlflow.tracking import registered_name

    return f"benchmark-{registered_name(plan.suite.name)}"[:250]


class BenchmarkTracker(MLflowTracker):
    """``MLflowTracker`` whose family runs also carry the suite's tags."""

    def __init__(
        self, plan: Plan, dataset: str, data_hash: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(dataset, log_models="none", register=False, **kwargs)
        self.plan = plan
        self.data_hash = data_hash

    def __enter__(self) -> BenchmarkTracker:
        super().__enter__()
        mlflow.set_tags(
            {
                f"{TAG}suite": self.plan.suite.name,
                f"{TAG}protocol": self.plan.protocol,
                f"{TAG}budget": self.plan.budget,
                f"{TAG}role": "benchmark-dataset",
            }
        )
        return self

    @contextlib.contextmanager
    def family_run(self, family: str, split: int, params: dict[str, Any]) -> Iterator[Any]:
        from automl_hyper.provenance import describe

        with super().family_run(family, split, params) as run:
            mlflow.set_tags(
                {
                    f"{TAG}code": describe(),
                    f"{TAG}suite": self.plan.suite.name,
                    f"{TAG}dataset": self.dataset,
                    f"{TAG}protocol": self.plan.protocol,
                    f"{TAG}budget": self.plan.budget,
                    f"{TAG}params_key": self.plan.key(family, split),
                    f"{TAG}role": "benchmark-run",
                    **({f"{TAG}data_hash": self.data_hash} if self.data_hash else {}),
                }
            )
            yield run


class MLflowBenchmarkStore:
    """Picklable (a URI and an experiment name): each worker process opens its own client."""

    def __init__(self, tracking_uri: str | None = None, experiment: str | None = None) -> None:
        self.tracking_uri = tracking_uri
        self.experiment = experiment

    def prepare(self, plan: Plan) -> str:
        """Resolve the URI (absolute) and create the experiment once, in the parent process,
        before workers start (several processes creating a SQLite store at once race)."""
        self.experiment = self.experiment or default_experiment(plan)
        self.tracking_uri = configure_tracking(self.tracking_uri, self.experiment)
        return self.tracking_uri

    def _runs(self, plan: Plan, dataset: str | None = None) -> pd.DataFrame:
        configure_tracking(self.tracking_uri)
        experiment = mlflow.get_experiment_by_name(self.experiment or default_experiment(plan))
        if experiment is None:
            return pd.DataFrame()
        clauses = [
            f"tags.`{TAG}role` = 'benchmark-run'",
            f"tags.`{TAG}suite` = {_quote(plan.suite.name)}",
            f"tags.`{TAG}protocol` = {_quote(plan.protocol)}",
        ]
        if dataset is not None:
            clauses.append(f"tags.`{TAG}dataset` = {_quote(dataset)}")
        return mlflow.search_runs(
            experiment_ids=[experiment.experiment_id],
            filter_string=" AND ".join(clauses),
            order_by=["attributes.start_time DESC"],
            output_format="pandas",
        )

    def _matching(self, plan: Plan, runs: pd.DataFrame) -> pd.DataFrame:
        """Runs whose (split, family, params key) is one of ``plan``'s jobs."""
        if runs.empty:
            return runs
        keys = plan.keys()
        split = pd.to_numeric(runs.get(f"tags.{TAG}split"), errors="coerce")
        family = runs.get(f"tags.{TAG}family")
        key = runs.get(f"tags.{TAG}params_key")
        wanted = [
            (not pd.isna(s)) and keys.get((int(s), f)) == k
            for s, f, k in zip(split, family, key, strict=True)
        ]
        return runs[wanted]

    def finished(self, plan: Plan, dataset: str) -> set[tuple[int, str]]:
        runs = self._matching(plan, self._runs(plan, dataset))
        if runs.empty:
            return set()
        done = runs[runs.status == "FINISHED"]
        return {
            (int(s), f)
            for s, f in zip(done[f"tags.{TAG}split"], done[f"tags.{TAG}family"], strict=True)
        }

    def data_hashes(self, plan: Plan, dataset: str) -> dict[tuple[int, str], str | None]:
        """Per finished (split, family) of ``dataset``: the data hash its latest finished run
        recorded (None: logged before runs recorded one)."""
        runs = self._matching(plan, self._runs(plan, dataset))
        if runs.empty:
            return {}
        done = runs[runs.status == "FINISHED"]  # the latest first
        hashes = done.get(f"tags.{TAG}data_hash", pd.Series(None, index=done.index))
        latest: dict[tuple[int, str], str | None] = {}
        for s, f, h in zip(
            done[f"tags.{TAG}split"], done[f"tags.{TAG}family"], hashes, strict=True
        ):
            latest.setdefault((int(s), f), None if pd.isna(h) else str(h))
        return latest

    def tracker(self, plan: Plan, dataset: str, data_hash: str | None = None) -> BenchmarkTracker:
        return BenchmarkTracker(
            plan,
            dataset,
            data_hash=data_hash,
            tracking_uri=self.tracking_uri,
            experiment=self.experiment or default_experiment(plan),
            run_params={
                "suite": plan.suite.name,
                "families": ",".join(plan.families),
                "splits": plan.n_splits,
                "budget": plan.budget,
                "seed": plan.seed,
            },
        )

    def results(self, plan: Plan) -> pd.DataFrame:
        runs = self._matching(plan, self._runs(plan))
        if runs.empty:
            return pd.DataFrame(columns=[*RESULT_COLUMNS, "run_id"])
        runs = runs[runs.status.isin(["FINISHED", "FAILED"])]
        out = pd.DataFrame(
            {
                "dataset": runs[f"tags.{TAG}dataset"],
                "split": runs[f"tags.{TAG}split"].astype(int),
                "family": runs[f"tags.{TAG}family"],
                "status": runs.status.map({"FINISHED": "ok", "FAILED": "failed"}),
                "error": runs.get(f"tags.{TAG}error"),
                **{
                    m: runs.get(f"metrics.{m}", pd.Series(float("nan"), index=runs.index))
                    for m in ("auc", "accuracy", "log_loss", "fit_s", "predict_s")
                },
                "run_id": runs.run_id,
                "code": runs.get(f"tags.{TAG}code"),  # None for runs logged before the tag
                "data_hash": runs.get(f"tags.{TAG}data_hash"),  # None: logged before it was
                "start_time": runs.start_time,
            }
        )
        # One run per job: a finished one before a failed one, then the latest.
        out = out.sort_values(
            ["status", "start_time"], ascending=[False, False], key=_status_first
        ).drop_duplicates(["dataset", "split", "family"])
        return out.drop(columns="start_time").reset_index(drop=True)

    def log_report(self, plan: Plan, folder: str | Path) -> str:
        """The report folder as artifacts ``report/`` of a new run ``report``; its run id."""
        configure_tracking(self.tracking_uri, self.experiment or default_experiment(plan))
        with mlflow.start_run(run_name=f"report-{plan.suite.name}") as run:
            mlflow.set_tags(
                {
                    f"{TAG}suite": plan.suite.name,
                    f"{TAG}protocol": plan.protocol,
                    f"{TAG}role": "benchmark-report",
                }
            )
            mlflow.log_params({"families": ",".join(plan.families), "splits": plan.n_splits})
            mlflow.log_artifacts(str(folder), artifact_path="report")
            return run.info.run_id


def _status_first(column: pd.Series) -> pd.Series:
    if column.name == "status":
        return column.map({"ok": 1, "failed": 0})
    return column


def _quote(value: str) -> str:
    return "'" + value.replace("'", "\\'") + "'"
