"""The benchmark protocol (DESIGN §4), shared by the CLI, the recipes and the benchmarks.

For each split (train = min(1000, n/2) rows, test the same size, stratified, every class on both
sides) every family is fitted and scored in the same process on the same rows: ROC AUC (one-vs-one
macro for multiclass, as the MotherNet paper), accuracy and log loss, with fit and predict wall time.
A family that fails is recorded as failed with its message; the others carry on. Ctrl-C
(KeyboardInterrupt) stops the comparison: the tracker sees the unfinished run end with the
interrupt and ``finish`` gets the partial comparison, which :class:`ComparisonInterrupted` carries.

Tracking is pluggable: ``run_comparison(..., tracker=...)`` calls ``tracker.family_run(...)``
(a context manager around each fit, which ends FAILED if the fit raises) and ``tracker.finish(...)``.
The MLflow tracker lives in ``automl_hyper.integrations.mlflow``; this module does not import it.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, log_loss

from automl_hyper import zoo
from automl_hyper.budgets import budget_description
from automl_hyper.data.loading import Dataset
from automl_hyper.data.splits import paper_splits
from automl_hyper.interrupts import native_errors_after_ctrl_c
from automl_hyper.metrics import auc_score
from automl_hyper.warning_types import AutomlHyperWarning

REFERENCE = "xgboost-tuned"


@dataclass
class RunRecord:
    """One family on one split."""

    family: str
    split: int
    params: dict[str, Any]
    status: str = "ok"  # or "failed"
    error: str | None = None
    auc: float = float("nan")
    accuracy: float = float("nan")
    log_loss: float = float("nan")
    fit_s: float = float("nan")
    predict_s: float = float("nan")
    extra: dict[str, float] = field(default_factory=dict)
    n_train: int = 0  # training rows (the UNF predictor reads it as a meta-feature)

    @property
    def metrics(self) -> dict[str, float]:
        base = {
            "auc": self.auc,
            "accuracy": self.accuracy,
            "log_loss": self.log_loss,
            "fit_s": self.fit_s,
            "predict_s": self.predict_s,
        }
        return {k: float(v) for k, v in {**base, **self.extra}.items() if np.isfinite(v)}


class Tracker(Protocol):
    def family_run(
        self, family: str, split: int, params: dict[str, Any]
    ) -> contextlib.AbstractContextManager[Any]: ...

    def log_result(
        self, run: Any, record: RunRecord, estimator: Any, X_sample: pd.DataFrame
    ) -> None: ...

    def champion_run(
        self, family: str, params: dict[str, Any]
    ) -> contextlib.AbstractContextManager[Any]: ...

    def log_champion(
        self, run: Any, fit: ChampionFit, estimator: Any, X_sample: pd.DataFrame
    ) -> None: ...

    def finish(self, comparison: Comparison) -> None: ...


class NullTracker:
    """Tracks nothing (for benchmarks and tests that only want the numbers)."""

    @contextlib.contextmanager
    def family_run(self, family: str, split: int, params: dict[str, Any]) -> Iterator[None]:
        yield None

    def log_result(
        self, run: Any, record: RunRecord, estimator: Any, X_sample: pd.DataFrame
    ) -> None:
        pass

    @contextlib.contextmanager
    def champion_run(self, family: str, params: dict[str, Any]) -> Iterator[None]:
        yield None

    def log_champion(
        self, run: Any, fit: ChampionFit, estimator: Any, X_sample: pd.DataFrame
    ) -> None:
        pass

    def finish(self, comparison: Comparison) -> None:
        pass


def family_params(
    name: str, budget: str, seed: int, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Zoo defaults, then the budget's settings, then the caller's overrides, then the seed."""
    family = zoo.get(name)
    if budget not in ("small", "paper"):
        raise ValueError(f"budget must be small or paper, got {budget!r}")
    return {
        **family.defaults,
        **family.budgets.get(budget, {}),
        **(overrides or {}),
        "random_state": seed,
    }


def check_families(
    families: Sequence[str],
    budget: str = "small",
    seed: int = 0,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> list[str]:
    """The zoo's names for ``families``, after checking that each exists and that its parameters
    (defaults, budget, ``overrides``) are valid, by building the estimator: no compute is spent on
    a run that would fail on a typo. Raises KeyError (unknown family or parameter) or ValueError
    (a bad value), each naming what is valid."""
    names = [zoo.get(f).name for f in families]  # KeyError naming the known families
    overrides = overrides or {}
    for name in names:
        unknown = set(overrides.get(name, {})) - set(valid_parameters(name))
        if unknown:
            raise KeyError(
                f"{name} has no parameter {', '.join(sorted(unknown))}; "
                f"valid: {', '.join(valid_parameters(name))}"
            )
        estimator = zoo.get(name).make(
            "classification", **family_params(name, budget, seed, overrides.get(name))
        )
        if hasattr(estimator, "_check_params"):
            estimator._check_params()
    return names


def valid_parameters(name: str) -> list[str]:
    """The constructor parameters of a family's classifier (what ``--set FAMILY.PARAM`` accepts)."""
    return sorted(zoo.get(name).make("classification").get_params(deep=False))


def evaluate(
    name: str,
    params: dict[str, Any],
    X_train: pd.DataFrame,
    y_train: pd.Series,
    X_test: pd.DataFrame,
    y_test: pd.Series,
) -> tuple[RunRecord, Any]:
    """Fit one family and score it on the test rows; exceptions propagate to the caller."""
    record = RunRecord(family=name, split=-1, params=params, n_train=len(X_train))
    estimator = zoo.get(name).make("classification", **params)
    start = time.perf_counter()
    estimator.fit(X_train, y_train)
    record.fit_s = time.perf_counter() - start
    start = time.perf_counter()
    proba = estimator.predict_proba(X_test)
    record.predict_s = time.perf_counter() - start
    classes = list(estimator.classes_)
    y_idx = np.array([classes.index(v) for v in y_test])
    record.auc = auc_score(y_idx, proba)
    record.accuracy = float(accuracy_score(y_idx, proba.argmax(axis=1)))
    record.log_loss = float(
        log_loss(y_idx, np.clip(proba, 1e-15, 1), labels=np.arange(len(classes)))
    )
    for attr, key in (
        ("tuning_time_", "tuning_s"),
        ("refit_time_", "refit_s"),
        ("n_epochs_", "epochs"),
    ):
        value = getattr(estimator, attr, None)
        if isinstance(value, int | float):
            record.extra[key] = float(value)
    # MotherNet fine-tuning: the step count early stopping chose, one per tuned child; a max at
    # finetune_steps says the cap, not the validation loss, stopped it.
    steps = getattr(estimator, "finetune_best_steps_", None)
    if steps:
        record.extra["finetune_best_steps"] = float(np.mean(steps))
        record.extra["finetune_best_steps_min"] = float(np.min(steps))
        record.extra["finetune_best_steps_max"] = float(np.max(steps))
    return record, estimator


@dataclass
class ChampionFit:
    """The winning family refitted on every row of the dataset after the protocol: the model to
    register (the splits' models saw only min(1000, n/2) rows each)."""

    family: str
    params: dict[str, Any]
    training_rows: int
    fit_s: float = float("nan")
    status: str = "ok"  # or "failed"
    error: str | None = None


@dataclass
class Comparison:
    dataset: str
    families: list[str]
    budget: str
    records: list[RunRecord] = field(default_factory=list)
    n_splits: int = 0
    seed: int = 0
    # rows, features, classes of the whole dataset (for reports)
    shape: dict[str, int] = field(default_factory=dict)
    champion_fit: ChampionFit | None = None
    # Filled by a tracker: (family, split) -> where the fitted model was logged.
    model_uris: dict[tuple[str, int], str] = field(default_factory=dict)
    interrupted: bool = False  # stopped by Ctrl-C: records hold the runs that finished

    def frame(self) -> pd.DataFrame:
        rows = [
            {
                "family": r.family,
                "split": r.split,
                "status": r.status,
                "error": r.error,
                **r.metrics,
            }
            for r in self.records
        ]
        return pd.DataFrame(rows)

    def leaderboard(self) -> pd.DataFrame:
        """Mean and std per family, with time relative to tuned XGBoost on the same splits."""
        frame = self.frame()
        rows = []
        ok = frame[frame.status == "ok"] if len(frame) else frame
        ref = (
            ok[ok.family == REFERENCE].set_index("split")
            if REFERENCE in set(ok.get("family", []))
            else None
        )
        for name in self.families:
            mine = ok[ok.family == name] if len(ok) else ok
            failed = (
                int(((frame.family == name) & (frame.status == "failed")).sum())
                if len(frame)
                else 0
            )
            row: dict[str, Any] = {"family": name, "splits_ok": len(mine), "splits_failed": failed}
            for metric in ("auc", "accuracy", "log_loss", "fit_s", "predict_s"):
                values = mine[metric] if metric in mine else pd.Series(dtype=float)
                row[f"{metric}_mean"] = float(values.mean()) if len(values) else float("nan")
                if metric == "auc":
                    row["auc_std"] = float(values.std(ddof=0)) if len(values) else float("nan")
            if ref is not None and len(mine):
                joined = mine.set_index("split").join(ref, rsuffix="_ref", how="inner")
                mine_total = joined.fit_s + joined.predict_s
                refit = joined.get("refit_s_ref", joined.fit_s_ref) + joined.predict_s_ref
                row["time_vs_xgb_refit"] = float((mine_total / refit).mean())
                row["time_vs_xgb_with_tuning"] = float(
                    (mine_total / (joined.fit_s_ref + joined.predict_s_ref)).mean()
                )
            rows.append(row)
        board = pd.DataFrame(rows)
        return board.sort_values("auc_mean", ascending=False, na_position="last").reset_index(
            drop=True
        )

    def champion(self) -> str | None:
        board = self.leaderboard()
        board = board[board.splits_ok > 0]
        return None if board.empty else str(board.iloc[0].family)

    def summary(self, family: str) -> dict[str, float]:
        """Mean and std (over the splits that ran) of each metric of ``family``."""
        board = self.leaderboard().set_index("family")
        row = board.loc[family]
        frame = self.frame()
        mine = frame[(frame.family == family) & (frame.status == "ok")]
        out = {"splits_ok": float(row.splits_ok)}
        for metric in ("auc", "accuracy", "log_loss"):
            if metric in mine and len(mine):
                out[f"{metric}_mean"] = float(mine[metric].mean())
                out[f"{metric}_std"] = float(mine[metric].std(ddof=0))
        return out


class ComparisonInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_comparison`; ``comparison`` holds the runs that finished (its
    ``interrupted`` is set). A KeyboardInterrupt, so code that does not know it still stops."""

    def __init__(self, comparison: Comparison) -> None:
        super().__init__(f"comparison interrupted after {len(comparison.records)} runs")
        self.comparison = comparison


def run_comparison(
    dataset: Dataset,
    families: Sequence[str],
    *,
    n_splits: int = 5,
    budget: str = "small",
    seed: int = 0,
    overrides: dict[str, dict[str, Any]] | None = None,
    tracker: Tracker | None = None,
    progress: bool | TextIO = True,
    refit_champion: bool = False,
    skip: Collection[tuple[int, str]] = (),
) -> Comparison:
    """Run the protocol for ``families`` on ``dataset`` and return every record.

    ``overrides`` maps a family to parameters that replace its defaults and budget settings.
    ``progress``: a progress bar on stderr, or on the stream given (the CLI passes the terminal
    while the libraries' chatter goes to a log file), or none.
    ``refit_champion``: after the splits, fit the best family (highest mean AUC) once more on
    every row of the dataset (``comparison.champion_fit``; the tracker's ``champion_run`` and
    ``log_champion`` see it): the model worth registering.
    Every family's parameters are validated (:func:`check_families`) before any fit starts.
    ``skip``: (split, family) pairs not to run (finished earlier: ``automl-hyper benchmark``
    resumes a suite this way); they have no record in the result.
    Ctrl-C raises :class:`ComparisonInterrupted` (a KeyboardInterrupt) carrying the finished runs,
    after the tracker's ``finish`` has seen them; the unfinished run's ``family_run`` context
    sees the KeyboardInterrupt.
    """
    if dataset.task != "classification":
        raise ValueError(
            f"compare runs classification benchmarks; {dataset.name} is {dataset.task}"
        )
    overrides = overrides or {}
    families = check_families(families, budget, seed, overrides)
    tracker = tracker or NullTracker()
    comparison = Comparison(
        dataset=dataset.name,
        families=list(families),
        budget=budget,
        n_splits=n_splits,
        seed=seed,
        shape={
            "rows": len(dataset.X),
            "features": dataset.X.shape[1],
            "classes": int(dataset.y.nunique()),
        },
    )
    splits = paper_splits(dataset.y, n_splits=n_splits, seed=seed)
    skipped = {(int(i), zoo.get(f).name) for i, f in skip}
    jobs = [(i, name) for i in range(len(splits)) for name in families if (i, name) not in skipped]
    champion_job = 1 if refit_champion else 0
    bar = _progress(jobs, progress, dataset.name, extra=champion_job)
    try:
        _run_jobs(dataset, jobs, splits, comparison, tracker, overrides, bar)
        champion = comparison.champion() if refit_champion else None
        if champion is not None:
            if bar is not None:
                bar.set_postfix_str(f"{champion} on all {len(dataset.X)} rows")
            comparison.champion_fit = _refit(dataset, champion, budget, seed, overrides, tracker)
            if bar is not None:
                bar.update(1)
    except KeyboardInterrupt as stop:
        # KeyboardInterrupt is not an Exception, so no per-job handler swallowed it. Keep what
        # finished: the tracker logs and saves the partial results, the caller prints them.
        comparison.interrupted = True
        if bar is not None:
            bar.close()
        try:
            tracker.finish(comparison)
        except Exception as err:  # noqa: BLE001 - the interrupt, not this, is what to report
            warnings.warn(
                f"after Ctrl-C, the tracker could not finish: {err}",
                AutomlHyperWarning,
                stacklevel=2,
            )
        raise ComparisonInterrupted(comparison) from stop
    if bar is not None:
        bar.close()
    tracker.finish(comparison)
    return comparison


def _run_jobs(
    dataset: Dataset,
    jobs: list[tuple[int, str]],
    splits: list,
    comparison: Comparison,
    tracker: Tracker,
    overrides: dict[str, dict[str, Any]],
    bar: Any,
) -> None:
    """Fit and score each (split, family) job, appending its record to ``comparison``."""
    budget, seed = comparison.budget, comparison.seed
    for split, name in jobs:
        train, test = splits[split]
        X_train, y_train = dataset.X.iloc[train], dataset.y.iloc[train]
        X_test, y_test = dataset.X.iloc[test], dataset.y.iloc[test]
        params = family_params(name, budget, seed + split, overrides.get(name))
        if bar is not None:
            bar.set_postfix_str(f"split {split} {name}")
        logged = None
        try:
            with tracker.family_run(name, split, params) as run:
                # A Ctrl-C lost in native code (XGBoost's data callback) may surface as that
                # code's own error: the run is then interrupted (KILLED), not failed.
                with native_errors_after_ctrl_c():
                    record, estimator = evaluate(name, params, X_train, y_train, X_test, y_test)
                record.split = split
                tracker.log_result(run, record, estimator, X_test.head(5))
                logged = record
        except Exception as err:  # one family's failure must not lose the others' results
            record = RunRecord(family=name, split=split, params=params, status="failed")
            record.error = f"{type(err).__name__}: {err}"
        except KeyboardInterrupt:
            if logged is not None:  # Ctrl-C while its run was being closed: it did finish
                comparison.records.append(logged)
            raise
        comparison.records.append(record)
        if bar is not None:
            bar.update(1)


def _refit(
    dataset: Dataset,
    family: str,
    budget: str,
    seed: int,
    overrides: dict[str, dict[str, Any]],
    tracker: Tracker,
) -> ChampionFit:
    """Fit ``family`` on every row (the split-0 seed, so its settings match split 0's)."""
    params = family_params(family, budget, seed, overrides.get(family))
    fit = ChampionFit(family=family, params=params, training_rows=len(dataset.X))
    try:
        with tracker.champion_run(family, params) as run:
            estimator = zoo.get(family).make("classification", **params)
            start = time.perf_counter()
            with native_errors_after_ctrl_c():  # as in _run_jobs: Ctrl-C, not a failed fit
                estimator.fit(dataset.X, dataset.y)
            fit.fit_s = time.perf_counter() - start
            tracker.log_champion(run, fit, estimator, dataset.X.head(5))
    except Exception as err:  # the splits' results stand; the champion is just not registered
        fit.status, fit.error = "failed", f"{type(err).__name__}: {err}"
    return fit


def _progress(jobs: list, progress: bool | TextIO, desc: str, extra: int = 0):
    if not progress:
        return None
    from tqdm.auto import tqdm

    stream = None if progress is True else progress  # None: tqdm's default, stderr
    return tqdm(total=len(jobs) + extra, desc=f"compare {desc}", unit="fit", file=stream)


# Display name, leaderboard column, format. One table of formats for the terminal and markdown.
_COLUMNS = (
    ("accuracy", "accuracy_mean", "{:.4f}"),
    ("log loss", "log_loss_mean", "{:.4f}"),
    ("fit s", "fit_s_mean", "{:.3f}"),
    ("predict ms", "predict_s_mean", "{:.1f}"),  # shown in milliseconds
    ("÷XGB refit", "time_vs_xgb_refit", "{:.3g}"),
    ("÷XGB tune+refit", "time_vs_xgb_with_tuning", "{:.3g}"),
)

LEGEND = (
    "÷XGB refit / ÷XGB tune+refit: the family's fit+predict time divided by tuned XGBoost's "
    "refit+predict time (tuning excluded) / by its tuning+refit+predict time, on the same split, "
    "mean over splits; below 1 is faster (the xgboost-tuned row divides its own tuning+refit by "
    "its refit)."
)


def display_leaderboard(board: pd.DataFrame) -> pd.DataFrame:
    """The leaderboard as text cells with units in the headers: ROC AUC as mean ± std over splits,
    accuracy and log loss to 4 decimals, fit time in s, predict time in ms, time ratios to
    3 significant digits; empty where a value is missing."""

    def fmt(template: str, value: Any, scale: float = 1.0) -> str:
        if not isinstance(value, int | float) or not np.isfinite(value):
            return ""
        return template.format(value * scale)

    rows = []
    for row in board.to_dict("records"):
        auc = row.get("auc_mean", float("nan"))
        # No score: every split failed, or none ran (a comparison stopped by Ctrl-C).
        missing = "failed" if row.get("splits_failed", 0) else "not run"
        cells = {
            "family": row["family"],
            "ROC AUC": f"{auc:.4f} ± {row.get('auc_std', 0.0):.4f}"
            if np.isfinite(auc)
            else missing,
        }
        for title, column, template in _COLUMNS:
            scale = 1000.0 if title == "predict ms" else 1.0
            cells[title] = fmt(template, row.get(column, float("nan")), scale)
        cells["failed splits"] = str(int(row.get("splits_failed", 0)))
        rows.append(cells)
    return pd.DataFrame(rows)


def leaderboard_markdown(board: pd.DataFrame) -> str:
    """The leaderboard as a GitHub-flavoured markdown table (no extra dependency)."""
    shown = display_leaderboard(board)
    header = "| " + " | ".join(shown.columns) + " |"
    rule = "| " + " | ".join("---" if c == "family" else "---:" for c in shown.columns) + " |"
    body = ["| " + " | ".join(row) + " |" for row in shown.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def leaderboard_text(board: pd.DataFrame) -> str:
    """The leaderboard as an aligned table for the terminal, followed by its legend."""
    shown = display_leaderboard(board)
    widths = [max(len(c), *(len(v) for v in shown[c])) for c in shown.columns]
    lines = []
    for cells in [list(shown.columns), *shown.itertuples(index=False)]:
        parts = [
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(cells, widths))
        ]
        lines.append("  ".join(parts))
    return "\n".join([*lines, "", LEGEND])


def leaderboard_report(comparison: Comparison) -> str:
    """``leaderboard.md``: a title, what was compared (dataset, splits, budget), the table with
    its units, the legend, and the champion."""
    shape = comparison.shape
    about = (
        f"{shape['rows']} rows, {shape['features']} features, {shape['classes']} classes"
        if shape
        else ""
    )
    lines = [
        f"# automl-hyper compare: {comparison.dataset}",
        "",
        f"- dataset: {comparison.dataset}" + (f" ({about})" if about else ""),
        f"- splits: {comparison.n_splits} (train = min(1000, n/2) rows, test the same size, "
        f"stratified; seed {comparison.seed})",
        f"- budget: {comparison.budget} "
        f"({budget_description(comparison.budget, comparison.families)})",
        "- units: ROC AUC mean ± std over splits (one-vs-one macro for multiclass); accuracy and "
        "log loss means; fit time in seconds, predict time in milliseconds (wall, mean over "
        "splits)",
        "",
        leaderboard_markdown(comparison.leaderboard()),
        "",
        LEGEND,
    ]
    fit = comparison.champion_fit
    if fit is not None:
        lines += ["", champion_line(fit)]
    return "\n".join(lines) + "\n"


def champion_line(fit: ChampionFit) -> str:
    if fit.status != "ok":
        return f"champion: {fit.family}, refit on all {fit.training_rows} rows FAILED: {fit.error}"
    return f"champion: {fit.family}, refitted on all {fit.training_rows} rows in {fit.fit_s:.1f} s"


def plot_auc_vs_time(board: pd.DataFrame, title: str = "", n_splits: int | None = None):
    """A matplotlib Figure: mean ROC AUC against mean fit time (log scale), one marker per family
    (named in the legend, so labels never overlap), error bars one std of AUC over splits."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator

    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    shown = board[np.isfinite(board.auc_mean)]
    markers = "osD^vP*Xh<>"
    for i, row in enumerate(shown.itertuples(index=False)):
        ax.errorbar(
            row.fit_s_mean,
            row.auc_mean,
            yerr=row.auc_std if np.isfinite(row.auc_std) else None,
            fmt=markers[i % len(markers)],
            markersize=7,
            capsize=4,
            label=f"{row.family}  {row.auc_mean:.4f} ± {row.auc_std:.4f}",
        )
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_minor_locator(LogLocator(base=10, subs="auto"))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.grid(True, which="major", alpha=0.3)
    ax.set_xlabel("fit time, seconds (mean over splits, log scale)")
    ax.set_ylabel("ROC AUC (mean over splits)")
    splits = f" over {n_splits} splits" if n_splits else " over splits"
    ax.legend(
        title=f"family  AUC ± 1 std{splits} (error bars)",
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        fontsize=8,
        title_fontsize=8,
        frameon=False,
    )
    ax.set_title(f"{title}: ROC AUC vs fit time" if title else "ROC AUC vs fit time")
    return fig
