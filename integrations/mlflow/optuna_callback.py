"""Log an Optuna study to MLflow (``optuna_integration.MLflowCallback`` is deprecated in Optuna 5).

One parent run per study, one run per finished trial under it, written through ``MlflowClient``
rather than the fluent API, so that several worker processes sharing a study can log at once.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

if TYPE_CHECKING:
    import optuna


class MLflowCallback:
    """Log a study to MLflow: a parent run per study and a nested run per finished trial.

    Pass it to ``study.optimize(..., callbacks=[MLflowCallback()])``. Every trial's run gets its
    parameters, its value (``metric_name``), its state as tag ``optuna.state`` (COMPLETE, PRUNED,
    FAIL) and its intermediate values as metric ``intermediate_value`` with ``step=epoch``. The
    parent run id is kept in the study's user attributes so that several worker processes
    sharing a storage log under one parent; call :meth:`parent_run_id` once before starting
    them to create it up front.
    """

    _PARENT_ATTR = "mlflow_parent_run_id"

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment_name: str = "optuna",
        metric_name: str = "value",
    ) -> None:
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self.metric_name = metric_name
        self._client = None
        self._experiment_id: str | None = None

    def _setup(self):
        if self._client is None:
            self._client = MlflowClient(tracking_uri=self.tracking_uri or mlflow.get_tracking_uri())
            experiment = self._client.get_experiment_by_name(self.experiment_name)
            if experiment is None:
                try:
                    self._experiment_id = self._client.create_experiment(self.experiment_name)
                except Exception:  # another worker created it between the two calls
                    experiment = self._client.get_experiment_by_name(self.experiment_name)
                    self._experiment_id = experiment.experiment_id
            else:
                self._experiment_id = experiment.experiment_id
        return self._client

    def parent_run_id(self, study: optuna.Study) -> str:
        """The study's parent run (created on first use, then shared through the storage)."""
        client = self._setup()
        run_id = study.user_attrs.get(self._PARENT_ATTR)
        if run_id is None:
            run = client.create_run(
                self._experiment_id,
                run_name=study.study_name,
                tags={"optuna.study_name": study.study_name},
            )
            study.set_user_attr(self._PARENT_ATTR, run.info.run_id)
            # Two workers may both get here first; the last write wins and the loser's parent
            # run is removed. (Calling this once before starting workers avoids the race.)
            run_id = study.user_attrs[self._PARENT_ATTR]
            if run_id != run.info.run_id:
                client.delete_run(run.info.run_id)
        return run_id

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        client = self._setup()
        parent = self.parent_run_id(study)
        state = trial.state.name
        run = client.create_run(
            self._experiment_id,
            run_name=f"trial-{trial.number}",
            tags={
                "mlflow.parentRunId": parent,
                "optuna.study_name": study.study_name,
                "optuna.trial_number": str(trial.number),
                "optuna.state": state,
            },
        )
        now = int(1000 * (trial.datetime_complete or trial.datetime_start).timestamp())
        metrics = [
            Metric("intermediate_value", float(v), now, int(step))
            for step, v in sorted(trial.intermediate_values.items())
        ]
        if trial.value is not None:
            metrics.append(Metric(self.metric_name, float(trial.value), now, 0))
        params = [Param(k, str(v)) for k, v in trial.params.items()]
        tags = [RunTag(f"optuna.user_attr.{k}", str(v)) for k, v in trial.user_attrs.items()]
        client.log_batch(run.info.run_id, metrics=metrics, params=params, tags=tags)
        status = {"COMPLETE": "FINISHED", "PRUNED": "KILLED"}.get(state, "FAILED")
        client.set_terminated(run.info.run_id, status=status)
        self._update_parent(study, client, parent, trial.number, now)

    def _update_parent(self, study, client, parent: str, step: int, now: int) -> None:
        try:
            best = study.best_trial
        except ValueError:  # no completed trial yet
            return
        client.log_batch(
            parent, metrics=[Metric(f"best_{self.metric_name}", best.value, now, step)]
        )
        tags = {"optuna.best_trial": str(best.number), "optuna.best_params": repr(best.params)}
        for key, value in tags.items():
            _set_tag_racing(client, parent, key, value)


def _set_tag_racing(client, run_id: str, key: str, value: str, attempts: int = 5) -> None:
    """Set a parent-run tag that other worker processes may be setting at the same moment.

    MLflow's SQL store inserts a new tag row after checking for an old one, so two workers
    updating the same parent tag can collide on the unique key (seen with two workers on SQLite).
    The loser retries: its value is the newer one.
    """
    for attempt in range(attempts):
        try:
            client.set_tag(run_id, key, value)
            return
        except MlflowException:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
