"""Log an Optuna study to MLflow (``optuna_integration.MLflowCallback`` is deprecated in Optuna 5).

One parent run per study, one run per finished trial under it, written through ``MlflowClient``
rather than the fluent API, so that several worker processes sharing a study can log at once.
"""

from __future__ import annotations

import datetime
import time
from typing import TYPE_CHECKING

import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

if TYPE_CHECKING:
    import optuna

# Optuna trial state -> MLflow run status. A pruned trial ran as intended and stopped early on
# purpose: FINISHED, with the tag state=PRUNED to tell it apart (KILLED means "stopped from
# outside", which is what a pruned trial is not).
RUN_STATUS = {"COMPLETE": "FINISHED", "PRUNED": "FINISHED", "FAIL": "FAILED"}


class MLflowCallback:
    """Log a study to MLflow: a parent run per study and a nested run per finished trial.

    Pass it to ``study.optimize(..., callbacks=[MLflowCallback()])``.

    * Experiment: ``experiment_name``, default the study's name.
    * Metric: ``metric_name``, default the study's metric name (``make_objective`` sets it to its
      scoring, e.g. ``roc_auc``), else ``value``. The parent run has ``best_<metric>`` per trial.
    * Trial runs: parameters, the metric, intermediate values as ``intermediate_value`` with
      ``step=epoch``, user attributes as tags ``optuna.user_attr.<name>``, and the trial's own
      start and end times. Tags ``state`` and ``optuna.state`` hold COMPLETE, PRUNED or FAIL;
      the run status is FINISHED for complete and pruned trials, FAILED for failed ones. Filter
      with ``tags.state = 'PRUNED'``.
    * The parent run is closed (FINISHED, end time = the latest trial's completion) after every
      trial, because Optuna tells a callback when a trial ends but not when ``optimize`` does:
      so it is never left RUNNING, however optimisation stops (``n_trials``, ``timeout``,
      ``study.stop()``, Ctrl-C, one worker of many finishing), and its duration spans the trials.

    The parent run id is kept in the study's user attributes so that several worker processes
    sharing a storage log under one parent; call :meth:`parent_run_id` once before starting
    them to create it up front.
    """

    _PARENT_ATTR = "mlflow_parent_run_id"

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment_name: str | None = None,
        metric_name: str | None = None,
    ) -> None:
        from automl_hyper.integrations.mlflow.tracking import absolute_tracking_uri

        # Absolute now: a relative sqlite path would follow the working folder of each call.
        self.tracking_uri = absolute_tracking_uri(tracking_uri or mlflow.get_tracking_uri())
        self.experiment_name = experiment_name
        self.metric_name = metric_name
        self._client = MlflowClient(tracking_uri=self.tracking_uri)
        self._experiment_ids: dict[str, str] = {}

    def experiment_id(self, study: optuna.Study) -> str:
        """The experiment's id (``experiment_name``, or the study's name), created if needed."""
        name = self.experiment_name or study.study_name
        if name not in self._experiment_ids:
            experiment = self._client.get_experiment_by_name(name)
            if experiment is None:
                try:
                    self._experiment_ids[name] = self._client.create_experiment(name)
                except MlflowException:  # another worker created it between the two calls
                    experiment = self._client.get_experiment_by_name(name)
            if experiment is not None:
                self._experiment_ids[name] = experiment.experiment_id
        return self._experiment_ids[name]

    def metric(self, study: optuna.Study) -> str:
        if self.metric_name:
            return self.metric_name
        names = study.metric_names
        return names[0] if names and names[0] else "value"

    def parent_run_id(self, study: optuna.Study, start_time: int | None = None) -> str:
        """The study's parent run (created on first use, then shared through the storage)."""
        client = self._client
        run_id = study.user_attrs.get(self._PARENT_ATTR)
        if run_id is None:
            run = client.create_run(
                self.experiment_id(study),
                run_name=study.study_name,
                start_time=start_time,
                tags={
                    "optuna.study_name": study.study_name,
                    "optuna.direction": study.direction.name,
                },
            )
            study.set_user_attr(self._PARENT_ATTR, run.info.run_id)
            # Two workers may both get here first; the last write wins and the loser's parent
            # run is removed. (Calling this once before starting workers avoids the race.)
            run_id = study.user_attrs[self._PARENT_ATTR]
            if run_id != run.info.run_id:
                client.delete_run(run.info.run_id)
        return run_id

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        client = self._client
        started = _ms(trial.datetime_start)
        ended = _ms(trial.datetime_complete) or int(time.time() * 1000)
        parent = self.parent_run_id(study, start_time=started)
        metric = self.metric(study)
        state = trial.state.name
        run = client.create_run(
            self.experiment_id(study),
            run_name=f"trial-{trial.number}",
            start_time=started,
            tags={
                "mlflow.parentRunId": parent,
                "optuna.study_name": study.study_name,
                "optuna.trial_number": str(trial.number),
                "optuna.state": state,
                "state": state,
            },
        )
        metrics = [
            Metric("intermediate_value", float(v), ended, int(step))
            for step, v in sorted(trial.intermediate_values.items())
        ]
        if trial.value is not None:
            metrics.append(Metric(metric, float(trial.value), ended, 0))
        params = [Param(k, str(v)) for k, v in trial.params.items()]
        tags = [RunTag(f"optuna.user_attr.{k}", str(v)) for k, v in trial.user_attrs.items()]
        client.log_batch(run.info.run_id, metrics=metrics, params=params, tags=tags)
        client.set_terminated(
            run.info.run_id, status=RUN_STATUS.get(state, "FAILED"), end_time=ended
        )
        self._update_parent(study, parent, metric, trial.number, ended)

    def _update_parent(self, study, parent: str, metric: str, step: int, ended: int) -> None:
        client = self._client
        try:
            best = study.best_trial
        except ValueError:  # no completed trial yet
            best = None
        if best is not None:
            client.log_batch(parent, metrics=[Metric(f"best_{metric}", best.value, ended, step)])
            tags = {"optuna.best_trial": str(best.number), "optuna.best_params": repr(best.params)}
            for key, value in tags.items():
                _set_tag_racing(client, parent, key, value)
        # Closed after every trial (see the class docstring); a later trial moves the end on.
        previous_end = client.get_run(parent).info.end_time or 0
        client.set_terminated(parent, status="FINISHED", end_time=max(previous_end, ended))


def _ms(moment: datetime.datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


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
