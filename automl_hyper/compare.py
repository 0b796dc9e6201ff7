"""The benchmark protocol (DESIGN §4), shared by the CLI, the recipes and the benchmarks.

For each split (train = min(1000, n/2) rows, test the same size, stratified, every class on both
sides) every family is fitted and scored in the same process on the same rows: ROC AUC (one-vs-one
macro for multiclass, as the MotherNet paper), accuracy and log loss, with fit and predict wall time.
A family that fails is recorded as failed with its message; the others carry on.

Tracking is pluggable: ``run_comparison(..., tracker=...)`` calls ``tracker.family_run(...)``
(a context manager around each fit, which ends FAILED if the fit raises) and ``tracker.finish(...)``.
The MLflow tracker lives in ``automl_hyper.integrations.mlflow``; this module does not import it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, log_loss

from automl_hyper import zoo
from automl_hyper.data.loading import Dataset
from automl_hyper.data.splits import paper_splits
from automl_hyper.metrics import auc_score

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


def evaluate(
    name: str,
    params: dict[str, Any],
    X_train: pd.DataFrame,
    y_train: pd.Series,
    X_test: pd.DataFrame,
    y_test: pd.Series,
) -> tuple[RunRecord, Any]:
    """Fit one family and score it on the test rows; exceptions propagate to the caller."""
    record = RunRecord(family=name, split=-1, params=params)
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
    return record, estimator


@dataclass
class Comparison:
    dataset: str
    families: list[str]
    budget: str
    records: list[RunRecord] = field(default_factory=list)
    # Filled by a tracker: (family, split) -> where the fitted model was logged.
    model_uris: dict[tuple[str, int], str] = field(default_factory=dict)

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
) -> Comparison:
    """Run the protocol for ``families`` on ``dataset`` and return every record.

    ``overrides`` maps a family to parameters that replace its defaults and budget settings.
    ``progress``: a progress bar on stderr, or on the stream given (the CLI passes the terminal
    while the libraries' chatter goes to a log file), or none.
    Every family's parameters are validated (by building its estimator) before any fit starts.
    """
    if dataset.task != "classification":
        raise ValueError(
            f"compare runs classification benchmarks; {dataset.name} is {dataset.task}"
        )
    families = [zoo.get(f).name for f in families]  # unknown names fail here, before any compute
    overrides = overrides or {}
    for name in families:  # bad parameters fail here, before any compute
        params = family_params(name, budget, seed, overrides.get(name))
        estimator = zoo.get(name).make("classification", **params)
        if hasattr(estimator, "_check_params"):
            estimator._check_params()
    tracker = tracker or NullTracker()
    comparison = Comparison(dataset=dataset.name, families=list(families), budget=budget)
    splits = paper_splits(dataset.y, n_splits=n_splits, seed=seed)
    jobs = [(i, name) for i in range(len(splits)) for name in families]
    bar = _progress(jobs, progress, dataset.name)
    for split, name in bar:
        train, test = splits[split]
        X_train, y_train = dataset.X.iloc[train], dataset.y.iloc[train]
        X_test, y_test = dataset.X.iloc[test], dataset.y.iloc[test]
        params = family_params(name, budget, seed + split, overrides.get(name))
        if hasattr(bar, "set_postfix_str"):
            bar.set_postfix_str(f"split {split} {name}")
        try:
            with tracker.family_run(name, split, params) as run:
                record, estimator = evaluate(name, params, X_train, y_train, X_test, y_test)
                record.split = split
                tracker.log_result(run, record, estimator, X_test.head(5))
        except Exception as err:  # one family's failure must not lose the others' results
            record = RunRecord(family=name, split=split, params=params, status="failed")
            record.error = f"{type(err).__name__}: {err}"
        comparison.records.append(record)
    tracker.finish(comparison)
    return comparison


def _progress(jobs: list, progress: bool | TextIO, desc: str):
    if not progress:
        return jobs
    from tqdm.auto import tqdm

    stream = None if progress is True else progress  # None: tqdm's default, stderr
    return tqdm(jobs, desc=f"compare {desc}", unit="fit", file=stream)


def leaderboard_markdown(board: pd.DataFrame) -> str:
    """The leaderboard as a GitHub-flavoured markdown table (no extra dependency)."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return "" if np.isnan(value) else f"{value:.4g}"
        return str(value)

    header = "| " + " | ".join(board.columns) + " |"
    rule = "| " + " | ".join("---" for _ in board.columns) + " |"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in board.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def leaderboard_text(board: pd.DataFrame) -> str:
    """A compact table for the terminal: AUC mean±std, accuracy, log loss, times."""
    lines = [
        f"{'family':16s} {'AUC':>15s} {'acc':>7s} {'logloss':>8s} {'fit s':>9s} {'pred s':>9s} "
        f"{'x XGB refit':>11s} {'x XGB tuned':>11s} {'failed':>6s}"
    ]
    for row in board.itertuples(index=False):
        auc = f"{row.auc_mean:.4f}±{row.auc_std:.4f}" if np.isfinite(row.auc_mean) else "failed"
        rel = getattr(row, "time_vs_xgb_refit", float("nan"))
        rel_t = getattr(row, "time_vs_xgb_with_tuning", float("nan"))
        lines.append(
            f"{row.family:16s} {auc:>15s} {row.accuracy_mean:7.4f} {row.log_loss_mean:8.4f} "
            f"{row.fit_s_mean:9.3f} {row.predict_s_mean:9.4f} {rel:11.3g} {rel_t:11.3g} "
            f"{row.splits_failed:6d}"
        )
    return "\n".join(lines)


def plot_auc_vs_time(board: pd.DataFrame, title: str = ""):
    """A matplotlib Figure: mean AUC against mean fit time (log scale), one point per family."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    shown = board[np.isfinite(board.auc_mean)]
    ax.errorbar(shown.fit_s_mean, shown.auc_mean, yerr=shown.auc_std, fmt="o")
    for row in shown.itertuples(index=False):
        ax.annotate(
            row.family, (row.fit_s_mean, row.auc_mean), textcoords="offset points", xytext=(4, 4)
        )
    ax.set_xscale("log")
    ax.set_xlabel("fit time (s, log scale)")
    ax.set_ylabel("ROC AUC (mean over splits)")
    ax.set_title(title or "AUC vs fit time")
    return fig
