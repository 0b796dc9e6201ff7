"""MLflow tracking: where runs go, the ``compare`` tracker, the pretraining tracker, leaderboards.

``MLflowTracker`` is what :func:`automl_hyper.compare.run_comparison` calls: one parent run per
comparison; inside it one nested run per family and split with its params, metrics and timings;
for a hypernetwork family with a generated child (MotherNet) also the child's weights and size.
A fit that raises ends its run FAILED with the message and traceback, and the comparison carries
on. Then one more nested run refits the champion (best mean AUC) on all rows and logs its pyfunc
model (:func:`log_family_model`; ``log_models="all"`` logs every split's model too). At the end
the leaderboard is logged (:func:`log_leaderboard`, the one place leaderboards reach MLflow) and
the champion's model is registered (default under the dataset's name) with the alias
``champion``, a description and tags.

Nothing trained is lost to a tracking store that goes away mid-run: with ``save_dir`` (the
``compare`` CLI's ``compare_models``) each model is first saved locally (:mod:`.local_models`,
``<save_dir>/<dataset>-<time>/``), then logged. When an MLflow
call fails and a check write to the store fails too, tracking stops for the rest of the comparison
with one warning naming that folder, and the comparison carries on (the runs still open are ended
as far as the store allows). Ctrl-C ends the unfinished run and the parent run KILLED.

``PretrainingTracker`` logs a MotherNet pretraining run and never stops it: a failing tracking
server only warns.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd

from automl_hyper.compare import (
    ChampionFit,
    Comparison,
    RunRecord,
    leaderboard_report,
    plot_auc_vs_time,
)
from automl_hyper.integrations.mlflow.local_models import LocalModels
from automl_hyper.integrations.mlflow.models import log_family_model, log_feature_importances
from automl_hyper.interrupts import deferred
from automl_hyper.warning_types import AutomlHyperWarning

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
_ARTIFACTS_PROGRESS_BAR = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"


def absolute_tracking_uri(uri: str) -> str:
    """``uri`` with a relative local path made absolute: ``sqlite:///mlflow.db`` (three slashes:
    relative to the working folder) becomes ``sqlite:////home/me/mlflow.db``; a plain folder or
    ``file:`` path likewise. Server and database URLs are returned unchanged."""
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        path, sep, query = uri.removeprefix("sqlite:///").partition("?")
        if path and path != ":memory:":
            return f"sqlite:///{Path(path).resolve()}{sep}{query}"
        return uri
    if uri.startswith("file:") and not uri.startswith("file:/"):
        return Path(uri.removeprefix("file:")).resolve().as_uri()
    if "://" not in uri and not uri.startswith(("databricks", "file:")):
        return str(Path(uri).resolve())
    return uri


def configure_tracking(uri: str | None = None, experiment: str | None = None) -> str:
    """Point MLflow at ``uri`` (else ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db``),
    made absolute (:func:`absolute_tracking_uri`), which is returned: printed commands that
    carry it work from any folder."""
    uri = absolute_tracking_uri(
        uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    )
    mlflow.set_tracking_uri(uri)
    if experiment is not None:
        mlflow.set_experiment(experiment)
    return uri


def runs_by_name(uri: str, experiment: str) -> dict[str, Any]:
    """Run name -> run of ``experiment`` in the store at ``uri``, read while another process may
    still be creating that store (a ``compare`` or ``benchmark`` being watched). A SQLite store is
    read only once its experiment exists: an ``MlflowClient`` on a missing or half-made database
    would create the tables too, racing the writer's own migrations. ``{}`` until then."""
    if uri.startswith("sqlite:///"):
        import sqlite3

        path = uri.removeprefix("sqlite:///")
        try:
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
                sql = "SELECT 1 FROM experiments WHERE name = ?"
                if db.execute(sql, (experiment,)).fetchone() is None:
                    return {}
        except sqlite3.Error:
            return {}
    client = mlflow.MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return {}
    return {r.info.run_name: r for r in client.search_runs([found.experiment_id])}


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


LOG_MODELS = ("champion", "all", "none")
# Once the store has failed, the calls that close its runs or check it must not wait through
# MLflow's retries again (7 by default, about 4 minutes per call to an unreachable server).
_FAIL_FAST = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


@contextlib.contextmanager
def _fail_fast() -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in _FAIL_FAST}
    os.environ.update(_FAIL_FAST)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _status_for(exc_type: type[BaseException] | None) -> str:
    if exc_type is None:
        return "FINISHED"
    # Ctrl-C (or a KeyboardInterrupt raised for it) stopped the run from outside.
    return "KILLED" if issubclass(exc_type, KeyboardInterrupt) else "FAILED"


class MLflowTracker:
    """Use as a context manager around :func:`automl_hyper.compare.run_comparison`.

    ``log_models``: ``"champion"`` (default) logs the full pyfunc model only for the champion
    refitted on all rows (``run_comparison(..., refit_champion=True)``); ``"all"`` also for every
    split (about 4 MB each); ``"none"`` logs no model, so nothing is registered. The splits
    always log their metrics, and a hypernetwork's generated child weights (a few hundred kB).
    ``registered_model_name`` (default: the dataset's name) gets the champion's version, with a
    description and tags (dataset, metric mean ± std over splits, protocol, budget, package version
    and commit, training rows), and ``alias`` points at it; moving an alias from another version
    warns and is kept in ``alias_moved``.

    ``save_dir`` (``automl-hyper compare`` passes ``compare_models``; default None: no copies, so
    ``automl-hyper benchmark``'s subclass keeps none): every split's model and the champion are
    first written under it in ``<dataset>-<UTC time>/`` (``saved_folder``),
    before any MLflow call for them, with ``runs.csv`` and ``leaderboard.md`` at the end. If the
    store becomes unavailable, tracking stops (``tracking_error`` says why), ``notify`` (default:
    a warning) is called once with a message naming that folder, and the comparison carries on.
    """

    def __init__(
        self,
        dataset: str,
        *,
        tracking_uri: str | None = None,
        experiment: str | None = None,
        log_models: str | bool = "champion",
        register: bool = True,
        registered_model_name: str | None = None,
        alias: str = "champion",
        run_params: dict[str, Any] | None = None,
        save_dir: str | Path | None = None,
        notify: Callable[[str], None] | None = None,
    ):
        if isinstance(log_models, bool):  # the older boolean form: every split, or none
            log_models = "all" if log_models else "none"
        if log_models not in LOG_MODELS:
            raise ValueError(f"log_models must be one of {LOG_MODELS}, got {log_models!r}")
        self.dataset = dataset
        self.tracking_uri = tracking_uri
        self.experiment = experiment or f"compare-{registered_name(dataset)}"
        self.log_models = log_models
        self.register = register and log_models != "none"
        self.registered_model_name = registered_name(registered_model_name or dataset)
        self.alias = alias
        self.run_params = run_params or {}
        self.model_uris: dict[tuple[str, int], str] = {}
        self.champion_model_uri: str | None = None  # the refitted champion's logged model
        self.champion_uri: str | None = None  # models:/<name>@<alias> once registered
        self.champion_version: str | None = None
        self.alias_moved: str | None = None
        self.parent_run_id: str | None = None
        self._progress_env: str | None = None
        self.saved = None if save_dir is None else LocalModels(dataset, save_dir)
        self.tracking_error: str | None = None  # set when the store failed: tracking stopped
        self.lost_message: str | None = None  # the one warning given then
        self._open_run: Any = None  # the nested run being started or running
        self._notify = notify

    @property
    def saved_folder(self) -> Path | None:
        """Where this comparison's models are saved locally (None without ``save_dir``)."""
        return None if self.saved is None else self.saved.folder

    def __enter__(self) -> MLflowTracker:
        # Logging a model with an input example downloads it back to validate the signature,
        # each time with a progress bar of its own: the comparison has one bar, keep it alone.
        self._progress_env = os.environ.get(_ARTIFACTS_PROGRESS_BAR)
        os.environ[_ARTIFACTS_PROGRESS_BAR] = "false"
        with deferred():  # Ctrl-C waits for the store's writes (see automl_hyper.interrupts)
            self.tracking_uri = configure_tracking(self.tracking_uri, self.experiment)
            run = mlflow.start_run(run_name=f"compare-{self.dataset}")
            self.parent_run_id = run.info.run_id
            mlflow.set_tag("automl_hyper.dataset", self.dataset)
            if self.run_params:
                mlflow.log_params(self.run_params)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.tracking_error is None:
            try:
                with deferred():
                    mlflow.end_run(status=_status_for(exc_type))
            except Exception as err:  # noqa: BLE001 - the results exist; say where they are
                self._lost("ending the comparison run", err)
        if self._progress_env is None:
            os.environ.pop(_ARTIFACTS_PROGRESS_BAR, None)
        else:
            os.environ[_ARTIFACTS_PROGRESS_BAR] = self._progress_env

    # -- the store going away --------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        """``fn()`` (MLflow calls), or None once tracking has stopped. If it raises and the store
        fails a check write too, tracking stops (:meth:`_lost`); if the store answers, the error
        is the call's own and is raised as before."""
        if self.tracking_error is not None:
            return None
        # A Ctrl-C inside waits for the end: a SQLite write cut half-way leaves the database
        # locked, and then not even the KILLED status could be written.
        with deferred():
            try:
                return fn()
            except Exception as err:
                if self._store_answers():
                    raise
                self._lost(what, err)
                return None

    def _store_answers(self) -> bool:
        """Whether the store still takes a write: a tag and a small artifact on the parent run."""
        if self.parent_run_id is None:
            return False
        client = mlflow.MlflowClient()
        try:
            with _fail_fast():
                stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                client.set_tag(self.parent_run_id, "automl_hyper.store_checked", stamp)
                client.log_text(self.parent_run_id, stamp, "store_check.txt")
        except Exception:  # noqa: BLE001 - any failure means the store is not usable
            return False
        return True

    def _lost(self, what: str, err: BaseException) -> None:
        """Stop tracking: end the runs still open as far as the store allows (quickly), and
        say once where the models are."""
        first_line = (str(err).strip().splitlines() or [""])[0][:300]
        self.tracking_error = f"{what}: {type(err).__name__}: {first_line}"
        with _fail_fast():
            while mlflow.active_run() is not None:
                with contextlib.suppress(Exception):
                    mlflow.end_run(status="FAILED")  # pops the run first, then tells the store
        where = (
            f"every model trained is saved in {self.saved_folder}"
            if self.saved is not None
            else "models trained are not saved locally (no save_dir)"
        )
        self.lost_message = (
            f"MLflow store {self.tracking_uri} unavailable ({self.tracking_error}); tracking "
            f"stopped and the comparison carries on without it: {where}"
        )
        # A plain UserWarning: the CLI shows this one through notify, not the warning relay.
        warnings.warn(self.lost_message, stacklevel=3)
        if self._notify is not None:
            self._notify(self.lost_message)

    def _save_locally(self, name: str, estimator: Any, example: Any, info: dict) -> None:
        if self.saved is None:
            return
        try:
            self.saved.save(name, estimator, example, info)
        except Exception as err:  # noqa: BLE001 - the fit stands; say that this copy is missing
            warnings.warn(
                f"could not save {name} under {self.saved.folder}: {type(err).__name__}: {err}",
                AutomlHyperWarning,
                stacklevel=3,
            )

    # -- runs ----------------------------------------------------------------------------------
    def _start_nested(self, run_name: str, tags: dict[str, str], params: dict[str, Any]) -> Any:
        run = self._open_run = mlflow.start_run(run_name=run_name, nested=True)
        try:
            mlflow.set_tags(tags)
            mlflow.log_params({k: v for k, v in params.items() if v is not None})
        except BaseException:
            with _fail_fast(), contextlib.suppress(Exception):
                mlflow.end_run(status="FAILED")
            self._open_run = None
            raise
        return run

    def _end_with_error(self, err: BaseException, status: str) -> None:
        try:
            mlflow.set_tag("automl_hyper.error", f"{type(err).__name__}: {err}"[:5000])
            mlflow.log_text(traceback.format_exc(), "error.txt")
        finally:
            mlflow.end_run(status=status)

    @contextlib.contextmanager
    def _nested_run(
        self, run_name: str, tags: dict[str, str], params: dict[str, Any]
    ) -> Iterator[Any]:
        """A nested run around a fit: FINISHED, FAILED with the error, or KILLED by Ctrl-C;
        yields None (and the fit goes on) when tracking has stopped."""
        # _start_nested records the run as soon as it exists: a Ctrl-C held back until the end
        # of the start (see _call) is raised after the run began, and must end it KILLED.
        self._open_run = None
        try:
            self._call(
                f"starting run {run_name}", lambda: self._start_nested(run_name, tags, params)
            )
            run = self._open_run
            yield run
        except BaseException as err:
            run = self._open_run
            if run is not None and self.tracking_error is None:
                status = _status_for(type(err))
                with contextlib.suppress(Exception):  # the fit's own error is what matters
                    self._call(
                        f"ending run {run_name}", lambda e=err: self._end_with_error(e, status)
                    )
            raise
        if run is not None:
            self._call(f"ending run {run_name}", lambda: mlflow.end_run(status="FINISHED"))

    def family_run(
        self, family: str, split: int, params: dict[str, Any]
    ) -> contextlib.AbstractContextManager[Any]:
        tags = {"automl_hyper.family": family, "automl_hyper.split": str(split)}
        return self._nested_run(f"{family}-split{split}", tags, params)

    def log_result(
        self, run: Any, record: RunRecord, estimator: Any, X_sample: pd.DataFrame
    ) -> None:
        from automl_hyper.weightspace.uses import child_quality

        quality = child_quality(estimator, record.n_train)  # {} for families with no children
        info = {
            "family": record.family,
            "split": record.split,
            "train_rows": record.n_train,
            "params": record.params,
            "metrics": {**record.metrics, **quality},
        }
        # Locally first: whatever happens to the store from here on, this model is kept.
        self._save_locally(f"split{record.split}-{record.family}", estimator, X_sample, info)
        if run is not None:
            self._call(
                f"logging {record.family} split {record.split}",
                lambda: self._log_result(record, estimator, X_sample, quality),
            )

    def _log_result(
        self, record: RunRecord, estimator: Any, X_sample: pd.DataFrame, quality: dict
    ) -> None:
        # The UNF-predicted AUC of each generated child next to the measured one (auc);
        # log_family_model logs it itself when it runs.
        logs_model = self.log_models == "all"
        mlflow.log_metrics({**record.metrics, **({} if logs_model else quality)})
        if hasattr(estimator, "export_child"):
            log_generated_child(estimator.export_child())
        if logs_model:
            info = log_family_model(
                estimator,
                name="model",
                input_example=X_sample,
                family=record.family,
                quiet=True,
                n_train=record.n_train,
            )
            self.model_uris[(record.family, record.split)] = info.model_uri
        else:
            log_feature_importances(estimator, prefix="model/")  # a small table and plot

    def champion_run(
        self, family: str, params: dict[str, Any]
    ) -> contextlib.AbstractContextManager[Any]:
        tags = {"automl_hyper.family": family, "automl_hyper.champion": "true"}
        return self._nested_run(f"{family}-champion-all-rows", tags, params)

    def log_champion(
        self, run: Any, fit: ChampionFit, estimator: Any, X_sample: pd.DataFrame
    ) -> None:
        from automl_hyper.weightspace.uses import child_quality

        quality = child_quality(estimator, fit.training_rows)
        info = {
            "family": fit.family,
            "champion": True,
            "train_rows": fit.training_rows,
            "params": fit.params,
            "metrics": {"fit_s": fit.fit_s, **quality},
        }
        self._save_locally(f"champion-{fit.family}", estimator, X_sample, info)
        if run is not None:
            self._call(
                f"logging the champion {fit.family}",
                lambda: self._log_champion(fit, estimator, X_sample, quality),
            )

    def _log_champion(
        self, fit: ChampionFit, estimator: Any, X_sample: pd.DataFrame, quality: dict
    ) -> None:
        logs_model = self.log_models != "none"  # then log_family_model logs the quality
        metrics = {"training_rows": fit.training_rows, "fit_s": fit.fit_s}
        mlflow.log_metrics({**metrics, **({} if logs_model else quality)})
        mlflow.set_tag("automl_hyper.training_rows", str(fit.training_rows))
        if hasattr(estimator, "export_child"):
            log_generated_child(estimator.export_child())
        if self.log_models == "none":
            log_feature_importances(estimator, prefix="model/")
            return
        info = log_family_model(
            estimator,
            name="model",
            input_example=X_sample,
            family=fit.family,
            quiet=True,
            n_train=fit.training_rows,
        )
        self.champion_model_uri = info.model_uri

    def finish(self, comparison: Comparison) -> None:
        if self.saved is not None:
            try:
                self.saved.write_results(comparison.frame(), leaderboard_report(comparison))
            except OSError as err:
                warnings.warn(
                    f"could not write the results under {self.saved.folder}: {err}",
                    AutomlHyperWarning,
                    stacklevel=2,
                )
        if comparison.interrupted:
            self._call("logging the leaderboard", lambda: self._log_board(comparison))
            return
        self._call("logging the leaderboard", lambda: self._finish(comparison))

    def _log_board(self, comparison: Comparison) -> None:
        board = comparison.leaderboard()
        log_leaderboard(board, markdown=leaderboard_report(comparison))
        mlflow.log_table(comparison.frame(), artifact_file="runs.json")
        figure = plot_auc_vs_time(board, title=comparison.dataset, n_splits=comparison.n_splits)
        mlflow.log_figure(figure, "auc_vs_fit_time.png")

    def _finish(self, comparison: Comparison) -> None:
        self._log_board(comparison)
        fit = comparison.champion_fit
        if fit is None:
            return
        mlflow.set_tag("automl_hyper.champion", fit.family)
        if fit.status != "ok" or not self.register or self.champion_model_uri is None:
            return
        self._register(comparison, fit)

    def _register(self, comparison: Comparison, fit: ChampionFit) -> None:
        name = self.registered_model_name
        client = mlflow.MlflowClient()
        previous = _version_with_alias(client, name, self.alias)
        tags = champion_tags(comparison, fit)
        version = mlflow.register_model(self.champion_model_uri, name, tags=tags)
        client.update_model_version(
            name, version.version, description=champion_description(comparison, fit)
        )
        client.set_registered_model_alias(name, self.alias, version.version)
        self.champion_version = str(version.version)
        self.champion_uri = f"models:/{name}@{self.alias}"
        if previous is not None and str(previous.version) != str(version.version):
            was = previous.tags.get("automl_hyper.family") or "not from compare"
            self.alias_moved = (
                f"moved alias {name}@{self.alias} from version {previous.version} ({was}, "
                f"run {previous.run_id}) to version {version.version}"
            )
            warnings.warn(self.alias_moved, AutomlHyperWarning, stacklevel=2)


def _version_with_alias(client: mlflow.MlflowClient, name: str, alias: str):
    """The version ``name@alias`` points at now, or None (no such model or alias)."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def champion_tags(comparison: Comparison, fit: ChampionFit) -> dict[str, str]:
    """The registered champion version's tags: enough to know what it is without the runs."""
    from automl_hyper.provenance import git_commit, package_version

    summary = comparison.summary(fit.family)
    tags = {
        "automl_hyper.dataset": comparison.dataset,
        "automl_hyper.family": fit.family,
        "automl_hyper.training_rows": str(fit.training_rows),
        "automl_hyper.protocol": protocol_text(comparison),
        "automl_hyper.budget": comparison.budget,
        "automl_hyper.version": package_version(),
        "automl_hyper.splits": str(int(summary["splits_ok"])),
    }
    for metric in ("auc", "accuracy", "log_loss"):
        if f"{metric}_mean" in summary:
            tags[f"automl_hyper.{metric}"] = (
                f"{summary[f'{metric}_mean']:.4f} ± {summary[f'{metric}_std']:.4f}"
            )
            tags[f"automl_hyper.{metric}_mean"] = f"{summary[f'{metric}_mean']:.6f}"
            tags[f"automl_hyper.{metric}_std"] = f"{summary[f'{metric}_std']:.6f}"
    commit = git_commit()
    if commit:
        tags["automl_hyper.git_commit"] = commit
    if mlflow.active_run() is not None:
        tags["automl_hyper.compare_run_id"] = mlflow.active_run().info.run_id
    return tags


def protocol_text(comparison: Comparison) -> str:
    return (
        f"{comparison.n_splits} stratified splits, train = min(1000, n/2) rows, test the same "
        f"size, seed {comparison.seed} (docs/benchmark_protocol.md)"
    )


def champion_description(comparison: Comparison, fit: ChampionFit) -> str:
    from automl_hyper.provenance import describe

    summary = comparison.summary(fit.family)
    return (
        f"{fit.family} refitted on all {fit.training_rows} rows of {comparison.dataset}: the best "
        f"of {', '.join(comparison.families)} by ROC AUC, {summary['auc_mean']:.4f} ± "
        f"{summary['auc_std']:.4f} (mean ± std over {int(summary['splits_ok'])} splits; protocol: "
        f"{protocol_text(comparison)}; budget {comparison.budget}). automl-hyper {describe()}."
    )


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
