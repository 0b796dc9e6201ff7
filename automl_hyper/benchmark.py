"""The benchmark protocol over a whole suite of datasets, resumable and in parallel, and its report.

``automl-hyper benchmark`` runs :func:`automl_hyper.compare.run_comparison` (the protocol of
docs/benchmark_protocol.md, unchanged) on every dataset of a suite. What is finished is kept in a
*store* (the CLI uses MLflow: ``automl_hyper.integrations.mlflow.MLflowBenchmarkStore``; this
module never imports it) and is skipped when the same command runs again: a run is identified by
suite, dataset, split, family and a key of the family's parameters for that split (zoo defaults,
budget, ``--set`` overrides and seed), so changing any of them runs it afresh while an unchanged
command resumes where it stopped. The code is not part of the key (a commit mid-benchmark would
otherwise throw its runs away): each run records its code version, and the report says when the
runs in one table come from more than one (:func:`code_versions`). Nor is the data part of the
key (runs stored before the data check must still resume): each run records a hash of the data
it was fitted on (:func:`data_hash`, of the loaded X and y), and a finished run whose dataset now
loads with another hash runs again, as a changed input re-runs a stage in DVC or make, rather
than being reused or stopping the suite (the outcome line names the dataset and both hashes).
Worker processes on one machine each take the next dataset
(:func:`run_suite`); several machines sharing one store can run the same command (best with
``shard``), see README's benchmark section for the limits.

The report (:func:`write_report`) needs no MLflow: from a frame of runs it writes ``index.html``
with PNG plots (per-dataset ROC AUC per family next to published anchors, mean rank per family
with bootstrap intervals over datasets, the AUC-vs-time Pareto front) and the tables as CSV.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from automl_hyper import zoo
from automl_hyper.compare import Tracker, family_params, run_comparison
from automl_hyper.data.benchmark_sets import SUITES

# Version of the suite protocol recorded on every run: bump it when the meaning of a run changes
# (splits, metrics), so that a resumed benchmark does not mix old and new runs.
PROTOCOL = "paper-splits-v1"
RESULT_COLUMNS = (
    "dataset",
    "split",
    "family",
    "status",
    "error",
    "auc",
    "accuracy",
    "log_loss",
    "fit_s",
    "predict_s",
)


# --- what to run ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suite:
    """A named list of datasets; ``data_dir`` holds ``<name>.csv`` files when given (else each
    name is an OpenML id or name, loaded through the local OpenML cache)."""

    name: str
    datasets: tuple[str, ...]
    data_dir: str | None = None


def resolve_suite(spec: str, data_dir: str | os.PathLike | None = None) -> Suite:
    """``cc18-30`` (or another name in :data:`automl_hyper.data.benchmark_sets.SUITES`), a folder
    of ``<name>.csv`` files, or comma-separated OpenML ids/names. Raises ValueError naming the
    choices when ``spec`` is none of them."""
    spec = spec.strip()
    if spec in SUITES:
        return Suite(spec, tuple(SUITES[spec]), str(data_dir) if data_dir else None)
    path = Path(spec)
    if path.is_dir():
        names = tuple(sorted(p.name[: -len(".csv")] for p in path.glob("*.csv")))
        if not names:
            raise ValueError(f"suite folder {spec} has no <name>.csv files")
        return Suite(path.resolve().name, names, str(path.resolve()))
    names = tuple(n.strip() for n in spec.split(",") if n.strip())
    if not names or ("," not in spec and not spec.isdigit()):
        from automl_hyper.spelling import did_you_mean

        raise ValueError(
            f"unknown suite {spec!r}{did_you_mean(spec, list(SUITES))}: give a suite name "
            f"({', '.join(SUITES)}), a folder of <name>.csv files, or comma-separated OpenML "
            "ids or names (one dataset: 'NAME,')"
        )
    return Suite(",".join(names), names, str(data_dir) if data_dir else None)


def load_suite_dataset(name: str, data_dir: str | None = None, cache_dir: str | None = None):
    """``<data_dir>/<name>.csv`` (target column ``target``, categorical columns from
    ``<data_dir>/CATEGORICAL.json`` when present) or, without it, the OpenML id or name."""
    from automl_hyper.data.loading import load_dataset

    if data_dir is not None:
        path = Path(data_dir) / f"{name}.csv"
        if path.is_file():
            cats_file = Path(data_dir) / "CATEGORICAL.json"
            cats = json.loads(cats_file.read_text()).get(name) if cats_file.is_file() else None
            return load_dataset(path, "target", categorical=cats, name=name)
    return load_dataset(name, cache_dir=cache_dir)


def data_hash(data) -> str:
    """A short sha256 of a loaded dataset's contents: column names, which columns are
    categorical, and every value of X and y in row order (row order decides the splits). Hashing
    the loaded data, not the file, covers every source (CSV, Parquet, the OpenML cache) and a
    changed ``CATEGORICAL.json``; a file rewritten with the same values hashes the same. Values,
    not pandas' dtypes or its hash functions, are hashed (numbers as float64, the rest as text),
    so that a pandas upgrade does not make every stored run look stale."""
    digest = hashlib.sha256()
    layout = [len(data.y), [str(c) for c in data.X.columns], sorted(map(str, data.categorical))]
    digest.update(json.dumps(layout).encode())
    for _, column in data.X.items():
        digest.update(_column_bytes(column))
    digest.update(_column_bytes(data.y))
    return digest.hexdigest()[:16]


def _column_bytes(column: pd.Series) -> bytes:
    if pd.api.types.is_bool_dtype(column) or (
        pd.api.types.is_numeric_dtype(column) and not isinstance(column.dtype, pd.CategoricalDtype)
    ):
        values = column.to_numpy(dtype="float64", na_value=np.nan) + 0.0  # -0.0 as 0.0
        values[np.isnan(values)] = np.nan  # one NaN bit pattern
        return b"n" + values.tobytes()
    text = ["\x00" if pd.isna(v) else str(v) for v in column.astype(object)]
    return b"s" + "\x1f".join(text).encode() + b"\x1e"


def params_key(params: dict[str, Any]) -> str:
    """A short stable key of a family's parameters for one split (what identifies a run)."""
    text = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def effective_params(family: str, params: dict[str, Any]) -> dict[str, Any]:
    """Every constructor parameter the family's estimator runs with: ``params`` over the
    estimator's own defaults. Keying runs on this (not on ``params`` alone) means a changed
    estimator default is a new run, not one a resumed benchmark skips as finished."""
    estimator = zoo.get(family).make("classification", **params)
    return estimator.get_params(deep=False)


@dataclass(frozen=True)
class Plan:
    """One benchmark request: picklable, so that worker processes get it whole."""

    suite: Suite
    families: tuple[str, ...]
    n_splits: int = 5
    budget: str = "small"
    seed: int = 0
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    cache_dir: str | None = None

    @property
    def protocol(self) -> str:
        return f"{PROTOCOL} budget={self.budget} seed={self.seed}"

    def params(self, family: str, split: int) -> dict[str, Any]:
        """The parameters ``run_comparison`` gives ``family`` on ``split`` (seed + split)."""
        return family_params(family, self.budget, self.seed + split, self.overrides.get(family))

    def key(self, family: str, split: int) -> str:
        return params_key(effective_params(family, self.params(family, split)))

    def jobs(self) -> list[tuple[int, str]]:
        return [(s, f) for s in range(self.n_splits) for f in self.families]

    def keys(self) -> dict[tuple[int, str], str]:
        return {(s, f): self.key(f, s) for s, f in self.jobs()}


class Store(Protocol):
    """Where a suite's runs are kept; picklable (it travels to the worker processes).

    A store that can check the data also has ``data_hashes(plan, dataset)``: for each finished
    (split, family) of ``dataset``, the :func:`data_hash` recorded on its latest finished run
    (None for a run stored before it recorded one), and its ``tracker`` takes ``data_hash=`` to
    record on each new run. A store without them resumes without the check."""

    def finished(self, plan: Plan, dataset: str) -> set[tuple[int, str]]:
        """(split, family) pairs of ``dataset`` finished under ``plan``'s protocol and keys."""
        ...

    def tracker(self, plan: Plan, dataset: str) -> contextlib.AbstractContextManager[Tracker]:
        """The tracker for ``run_comparison`` on ``dataset`` (tags each run with its key)."""
        ...

    def results(self, plan: Plan) -> pd.DataFrame:
        """Every run of ``plan`` (columns :data:`RESULT_COLUMNS`), one per dataset, split and
        family: a finished run before a failed one, the latest first."""
        ...


# --- running ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one dataset's turn did."""

    dataset: str
    ran: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    error: str | None = None
    worker: int = 0
    stale: int = 0  # finished runs fitted on other data than the dataset loads as now: run again
    unhashed: int = 0  # finished runs stored before runs recorded a data hash: kept unchecked
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        notes = "".join(f"; {note}" for note in self.notes)
        if self.error:
            return f"{self.dataset}: ERROR {self.error}{notes}"
        failed = f", {self.failed} failed" if self.failed else ""
        return (
            f"{self.dataset}: ran {self.ran}{failed}, skipped {self.skipped} finished "
            f"({self.seconds:.1f} s, pid {self.worker}){notes}"
        )


UNHASHED_NOTE = (
    "{n} finished runs here were stored before runs recorded a data hash: kept as before, "
    "unchecked against the data (a new --experiment runs them afresh; said once)"
)


def run_dataset(plan: Plan, store: Store, dataset: str) -> Outcome:
    """The protocol on one dataset, skipping the (split, family) pairs the store has finished."""
    start = time.perf_counter()
    outcome = Outcome(dataset, worker=os.getpid())
    try:
        done = store.finished(plan, dataset) & set(plan.jobs())
        outcome.skipped = len(done)
        recorded = getattr(store, "data_hashes", None)
        if len(done) == len(plan.jobs()) and recorded is None:
            return outcome
        try:
            data = load_suite_dataset(dataset, plan.suite.data_dir, plan.cache_dir)
        except Exception as err:
            if len(done) < len(plan.jobs()):
                raise
            # Everything is finished: the runs stand as before, only unchecked.
            outcome.notes.append(f"data not checked ({type(err).__name__}: {err})")
            return outcome
        if recorded is None:
            tracking = store.tracker(plan, dataset)
        else:
            digest = data_hash(data)
            hashes = recorded(plan, dataset) if done else {}
            stale = {job for job in done if hashes.get(job) not in (None, digest)}
            outcome.unhashed = sum(hashes.get(job) is None for job in done)
            if stale:
                old = ", ".join(sorted({str(hashes[job]) for job in stale}))
                outcome.stale = len(stale)
                outcome.notes.append(
                    f"data changed: {len(stale)} finished runs were fitted on data {old}, "
                    f"{dataset} now loads as {digest}: running them again"
                )
                done -= stale
                outcome.skipped = len(done)
            if len(done) == len(plan.jobs()):
                return outcome
            tracking = store.tracker(plan, dataset, data_hash=digest)
        with tracking as tracker:
            comparison = run_comparison(
                data,
                list(plan.families),
                n_splits=plan.n_splits,
                budget=plan.budget,
                seed=plan.seed,
                overrides=plan.overrides,
                tracker=tracker,
                progress=False,
                skip=done,
            )
        outcome.ran = len(comparison.records)
        outcome.failed = sum(r.status != "ok" for r in comparison.records)
    except Exception as err:  # noqa: BLE001 - one dataset's failure must not stop the suite
        outcome.error = f"{type(err).__name__}: {err}"
    finally:
        outcome.seconds = time.perf_counter() - start
    return outcome


def _worker_init(threads: int) -> None:
    """Each worker process uses ``threads`` threads (torch, BLAS, OpenMP), so that N workers do
    not oversubscribe the machine's cores."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    # torch reads OMP_NUM_THREADS when it is first imported (in the task, not here: importing
    # it in every worker would cost seconds even for families that never use it).


def shard_datasets(datasets: Sequence[str], shard: tuple[int, int] = (0, 1)) -> list[str]:
    """The datasets of shard ``k`` of ``n`` (every n-th, from the k-th)."""
    k, n = shard
    if not (n >= 1 and 0 <= k < n):
        raise ValueError(f"shard must be K/N with 0 <= K < N, got {k}/{n}")
    return list(datasets)[k::n]


def run_suite(
    plan: Plan,
    store: Store,
    *,
    workers: int = 1,
    shard: tuple[int, int] = (0, 1),
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Every dataset of the plan's suite (of ``shard``), in ``workers`` processes: each takes
    the next dataset from the list when it is free. ``workers=1`` runs in this process."""
    names = shard_datasets(plan.suite.datasets, shard)
    outcomes: list[Outcome] = []

    def report(outcome: Outcome) -> None:
        if outcome.unhashed and not any(o.unhashed for o in outcomes):
            outcome.notes.append(UNHASHED_NOTE.format(n=outcome.unhashed))
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    if workers <= 1:
        for name in names:
            report(run_dataset(plan, store, name))
        return outcomes
    threads = max(1, (os.cpu_count() or 1) // workers)
    # spawn: a fresh interpreter per worker (forking a process that has started torch's or
    # MLflow's threads can deadlock).
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_worker_init, initargs=(threads,)
    ) as pool:
        futures = {pool.submit(run_dataset, plan, store, name): name for name in names}
        for future in as_completed(futures):
            try:
                report(future.result())
            except Exception as err:  # noqa: BLE001 - a dead worker loses one dataset only
                report(Outcome(futures[future], error=f"{type(err).__name__}: {err}"))
    order = {name: i for i, name in enumerate(names)}
    return sorted(outcomes, key=lambda o: order.get(o.dataset, 0))


# --- tables -----------------------------------------------------------------------------------


def read_anchors(path: str | os.PathLike) -> pd.DataFrame:
    """Published per-dataset ROC AUCs: a CSV with a ``dataset`` column and one column per
    published model (e.g. ../shared/anchors/mothernet_paper_auc_by_dataset.csv); indexed by
    dataset."""
    frame = pd.read_csv(path)
    if "dataset" not in frame.columns:
        raise ValueError(f"{path}: anchors need a 'dataset' column, got {list(frame.columns)}")
    return frame.set_index("dataset")


def read_anchor_times(path: str | os.PathLike) -> pd.DataFrame:
    """Published median times: columns ``model``, ``fit_time``, ``inference_time`` (seconds)."""
    frame = pd.read_csv(path)
    missing = {"model", "fit_time", "inference_time"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: anchor times need columns {sorted(missing)}")
    return frame.set_index("model")


def per_dataset(results: pd.DataFrame, families: Sequence[str], metric: str = "auc"):
    """dataset x family: the mean of ``metric`` over the finished splits."""
    ok = results[results.status == "ok"]
    table = ok.pivot_table(index="dataset", columns="family", values=metric, aggfunc="mean")
    return table.reindex(columns=list(families))


def mean_ranks(
    table: pd.DataFrame, *, n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> pd.DataFrame:
    """Mean rank per column (1 = best AUC on a dataset, ties averaged) over the datasets where
    every column has a value, with a percentile bootstrap interval over datasets."""
    complete = table.dropna()
    if complete.empty:
        return pd.DataFrame(
            columns=["model", "mean_rank", "rank_low", "rank_high", "datasets", "wins"]
        )
    ranks = complete.rank(axis=1, ascending=False, method="average").to_numpy()
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(ranks), size=(n_boot, len(ranks)))
    boot = ranks[idx].mean(axis=1)  # n_boot x models
    lo, hi = np.quantile(boot, [(1 - level) / 2, 1 - (1 - level) / 2], axis=0)
    out = pd.DataFrame(
        {
            "model": complete.columns,
            "mean_rank": ranks.mean(axis=0),
            "rank_low": lo,
            "rank_high": hi,
            "datasets": len(complete),
            "wins": (ranks == 1).sum(axis=0),
        }
    )
    return out.sort_values("mean_rank").reset_index(drop=True)


def pareto_table(results: pd.DataFrame, families: Sequence[str]) -> pd.DataFrame:
    """Per family, on the datasets where every family finished: mean ROC AUC and the median over
    datasets of the fit+predict seconds per split; ``on_front``: no other family is both faster
    and better."""
    auc = per_dataset(results, families).dropna()
    ok = results[(results.status == "ok") & results.dataset.isin(auc.index)]
    seconds = (
        ok.assign(total_s=ok.fit_s + ok.predict_s)
        .pivot_table(index="dataset", columns="family", values="total_s", aggfunc="mean")
        .reindex(columns=list(families))
    )
    rows = []
    for family in families:
        if family not in auc or auc[family].isna().all():
            continue
        rows.append(
            {
                "family": family,
                "auc_mean": float(auc[family].mean()),
                "seconds_median": float(seconds[family].median()),
                "fit_s_median": float(
                    ok[ok.family == family].groupby("dataset").fit_s.mean().median()
                ),
                "predict_s_median": float(
                    ok[ok.family == family].groupby("dataset").predict_s.mean().median()
                ),
                "datasets": len(auc),
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table = table.sort_values(["seconds_median", "auc_mean"], ascending=[True, False])
    best = -np.inf
    front = []
    for value in table.auc_mean:
        front.append(bool(value > best))
        best = max(best, value)
    table["on_front"] = front
    return table.reset_index(drop=True)


def summary_table(results: pd.DataFrame, plan: Plan, ranks: pd.DataFrame) -> pd.DataFrame:
    """One row per family: completeness, mean metrics over the datasets every family finished
    (and over all it finished), mean rank with its interval, median times."""
    auc = per_dataset(results, plan.families)
    complete = auc.dropna()
    expected = len(plan.suite.datasets) * plan.n_splits
    rows = []
    for family in plan.families:
        mine = results[results.family == family]
        ok = mine[mine.status == "ok"]
        by_dataset = ok.groupby("dataset")
        row: dict[str, Any] = {
            "family": family,
            "runs_ok": len(ok),
            "runs_failed": int((mine.status != "ok").sum()),
            "runs_missing": expected - len(mine),
            "datasets": int(ok.dataset.nunique()),
            "auc_mean_common": float(complete[family].mean()) if len(complete) else np.nan,
            "auc_mean_all": float(by_dataset.auc.mean().mean()) if len(ok) else np.nan,
            "accuracy_mean": float(by_dataset.accuracy.mean().mean()) if len(ok) else np.nan,
            "log_loss_mean": float(by_dataset.log_loss.mean().mean()) if len(ok) else np.nan,
            "fit_s_median": float(by_dataset.fit_s.mean().median()) if len(ok) else np.nan,
            "predict_s_median": float(by_dataset.predict_s.mean().median()) if len(ok) else np.nan,
        }
        rank = ranks[ranks.model == family]
        for column in ("mean_rank", "rank_low", "rank_high", "wins"):
            row[column] = float(rank[column].iloc[0]) if len(rank) else np.nan
        rows.append(row)
    return pd.DataFrame(rows).sort_values("auc_mean_common", ascending=False, na_position="last")


# --- plots ------------------------------------------------------------------------------------

_OURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
_MARKERS = "osD^vP*Xh<>"


def plot_per_dataset(table: pd.DataFrame, anchors: pd.DataFrame | None = None):
    """ROC AUC per dataset (rows) of each family (filled markers) next to the published anchors
    (hollow grey-toned markers)."""
    from matplotlib.figure import Figure

    datasets = list(table.index)
    height = max(3.0, 0.32 * len(datasets) + 1.6)
    fig = Figure(figsize=(10, height), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(datasets))
    if anchors is not None:
        shown = anchors.reindex(datasets)
        cmap = _anchor_colours(len(shown.columns))
        for i, column in enumerate(shown.columns):
            ax.scatter(
                shown[column],
                y,
                marker=_MARKERS[i % len(_MARKERS)],
                facecolors="none",
                edgecolors=cmap[i],
                s=28,
                linewidths=0.9,
                label=f"paper: {column}",
                zorder=2,
            )
    for i, family in enumerate(table.columns):
        ax.scatter(
            table[family],
            y,
            marker=_MARKERS[i % len(_MARKERS)],
            color=_OURS[i % len(_OURS)],
            s=46,
            label=family,
            zorder=3,
            edgecolors="black",
            linewidths=0.4,
        )
    ax.set_yticks(y, datasets, fontsize=8)
    ax.invert_yaxis()
    ax.grid(True, axis="x", alpha=0.3)
    ax.grid(True, axis="y", alpha=0.12)
    ax.set_xlabel("ROC AUC (mean over splits; one-vs-one macro for multiclass)")
    ax.set_title(
        "ROC AUC per dataset" + (" next to published anchors" if anchors is not None else "")
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


# Published anchors: ten colours apart from the families' own.
_ANCHORS = (
    "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e",
    "#e6ab02", "#a6761d", "#555555", "#17becf", "#bcbd22",
)  # fmt: skip


def _anchor_colours(n: int) -> list:
    return [_ANCHORS[i % len(_ANCHORS)] for i in range(n)]


def plot_ranks(ranks: pd.DataFrame, ours: Sequence[str], level: float = 0.95):
    """Mean rank per model with its bootstrap interval (ours coloured, published anchors grey)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, max(2.5, 0.42 * len(ranks) + 1.4)), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(ranks))
    for i, row in enumerate(ranks.itertuples(index=False)):
        mine = row.model in ours
        colour = _OURS[list(ours).index(row.model) % len(_OURS)] if mine else "0.55"
        ax.errorbar(
            row.mean_rank,
            i,
            xerr=[[row.mean_rank - row.rank_low], [row.rank_high - row.mean_rank]],
            fmt="o" if mine else "s",
            color=colour,
            mfc=colour if mine else "white",
            capsize=4,
            markersize=8 if mine else 6,
        )
    labels = [m if m in ours else f"paper: {m}" for m in ranks.model]
    ax.set_yticks(y, labels, fontsize=9)
    ax.invert_yaxis()
    ax.grid(True, axis="x", alpha=0.3)
    n = int(ranks.datasets.iloc[0]) if len(ranks) else 0
    ax.set_xlabel(
        f"mean rank over {n} datasets (1 = best ROC AUC); bars: {level:.0%} bootstrap interval "
        "over datasets"
    )
    ax.set_title("Mean rank per model")
    return fig


def plot_pareto(
    table: pd.DataFrame,
    anchor_times: pd.DataFrame | None = None,
    anchors: pd.DataFrame | None = None,
    families: Sequence[str] = (),
):
    """Mean ROC AUC against median fit+predict seconds (log scale); the Pareto front as a line;
    published models (their hardware, their median times) as hollow grey points."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.subplots()
    order = list(families) or list(table.family)  # the same colour per family in every plot
    for row in table.itertuples(index=False):
        i = order.index(row.family) if row.family in order else len(order)
        ax.scatter(
            row.seconds_median,
            row.auc_mean,
            marker=_MARKERS[i % len(_MARKERS)],
            color=_OURS[i % len(_OURS)],
            s=70,
            edgecolors="black",
            linewidths=0.5,
            zorder=3,
            label=f"{row.family}  {row.auc_mean:.4f}, {row.seconds_median:.3g} s"
            + ("  (front)" if row.on_front else ""),
        )
    front = table[table.on_front] if len(table) else table
    if len(front) > 1:
        ax.step(front.seconds_median, front.auc_mean, where="post", color="black", alpha=0.5)
    if anchor_times is not None and anchors is not None and len(table):
        labelled = False
        for model, row in anchor_times.iterrows():
            if model not in anchors.columns:
                continue
            seconds = float(row.fit_time + row.inference_time)
            value = float(anchors[model].mean())
            ax.scatter(
                seconds,
                value,
                marker="s",
                facecolors="none",
                edgecolors="0.5",
                s=30,
                label=None if labelled else "published (the paper's median times, its hardware)",
            )
            labelled = True
            ax.annotate(
                model,
                (seconds, value),
                fontsize=6,
                color="0.4",
                xytext=(3, 2),
                textcoords="offset points",
            )
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.grid(True, which="major", alpha=0.3)
    ax.set_xlabel("fit + predict seconds per split (median over datasets, log scale)")
    ax.set_ylabel("ROC AUC (mean over datasets)")
    ax.set_title("ROC AUC vs time: the Pareto front (line)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


# --- the report -------------------------------------------------------------------------------


def write_report(
    results: pd.DataFrame,
    folder: str | os.PathLike,
    plan: Plan,
    *,
    anchors: pd.DataFrame | None = None,
    anchor_times: pd.DataFrame | None = None,
    command: str | None = None,
    tracking: str | None = None,
    faithfulness: str | os.PathLike | None = None,
) -> list[Path]:
    """``index.html``, its PNG plots and the CSV tables in ``folder``; returns the paths, the page
    last. With INN's faithfulness results (``faithfulness``, or ``inn_faithfulness.csv`` already
    in ``folder``) the page gets an "Explanations" section (:func:`explanations_section`)."""
    from automl_hyper.provenance import describe

    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    results = results.reindex(columns=list(RESULT_COLUMNS) + _extra(results))
    families = list(plan.families)
    auc = per_dataset(results, families).reindex(list(plan.suite.datasets))
    suite_anchors = None
    if anchors is not None:
        shared = anchors.index.intersection(auc.index)
        suite_anchors = anchors.loc[shared] if len(shared) else None
    table = auc.copy()
    if suite_anchors is not None:
        table = table.join(suite_anchors.add_prefix("paper: "))
    rank_input = auc if suite_anchors is None else auc.join(suite_anchors)
    ranks = mean_ranks(rank_input, seed=plan.seed)
    pareto = pareto_table(results, families)
    summary = summary_table(results, plan, mean_ranks(auc, seed=plan.seed))

    paths = {
        "runs": folder / "runs.csv",
        "per_dataset": folder / "per_dataset_auc.csv",
        "ranks": folder / "mean_rank.csv",
        "pareto": folder / "pareto.csv",
        "summary": folder / "summary.csv",
        "plot_per_dataset": folder / "per_dataset_auc.png",
        "plot_ranks": folder / "mean_rank.png",
        "plot_pareto": folder / "pareto.png",
        "html": folder / "index.html",
    }
    results.sort_values(["dataset", "family", "split"]).to_csv(paths["runs"], index=False)
    table.to_csv(paths["per_dataset"], index_label="dataset")
    ranks.to_csv(paths["ranks"], index=False)
    pareto.to_csv(paths["pareto"], index=False)
    summary.to_csv(paths["summary"], index=False)

    plotted = auc.dropna(how="all")
    figures = {
        "plot_per_dataset": plot_per_dataset(
            plotted, suite_anchors.reindex(plotted.index) if suite_anchors is not None else None
        ),
        "plot_ranks": plot_ranks(ranks, families),
        "plot_pareto": plot_pareto(pareto, anchor_times, suite_anchors, families),
    }
    for key, figure in figures.items():
        figure.savefig(paths[key], dpi=110)
    page = _html(plan, results, summary, table, ranks, pareto, describe(), command, tracking)
    section, copied = explanations_section(folder, faithfulness)
    paths["html"].write_text(page.replace("</body>", section + "</body>", 1), encoding="utf-8")
    return [p for k, p in paths.items() if k != "html"] + copied + [paths["html"]]


FAITHFULNESS_FILES = ("inn_faithfulness.csv", "inn_faithfulness.png")


def explanations_section(
    folder: Path, source: str | os.PathLike | None = None
) -> tuple[str, list[Path]]:
    """The "Explanations" section of the page from ``benchmarks/inn_faithfulness.py``'s results
    (its CSV ``source``, the PNG beside it, copied into ``folder`` so the page stands alone;
    without ``source``, ``folder``'s own copies): mean deletion area and CPU seconds per explained
    row per model and explainer, the area per dataset, and the mean deletion curves. Returns the
    HTML ("" without results) and the files copied."""
    csv = Path(source) if source is not None else folder / FAITHFULNESS_FILES[0]
    if not csv.is_file():
        return "", []
    copied = []
    for name, origin in zip(FAITHFULNESS_FILES, (csv, csv.with_suffix(".png"))):
        target = folder / name
        if origin.is_file() and origin.resolve() != target.resolve():
            target.write_bytes(origin.read_bytes())
            copied.append(target)
    runs = pd.read_csv(csv)
    runs["explained by"] = runs.explainer + " on " + runs.model
    means = runs.groupby("explained by", sort=False).agg(
        datasets=("dataset", "nunique"),
        deletion_area=("deletion_area", "mean"),
        auc_unmasked=("auc_unmasked", "mean"),
        cpu_s_per_row=("seconds_per_row", "mean"),
    )
    areas = runs.pivot_table(
        index="dataset", columns="explained by", values="deletion_area", sort=False
    )
    image = ""
    if (folder / FAITHFULNESS_FILES[1]).is_file():
        image = f'<img src="{FAITHFULNESS_FILES[1]}" alt="mean deletion curves per explainer">'
    return (
        f"""<h2>Explanations</h2>
<p class="note">Deletion curves (benchmarks/inn_faithfulness.py): in each explained test row the
k top-attributed features are set to their training mean, and the model's ROC AUC on those rows is
measured for k = 0..F; lower area = more faithful attributions. INN's own w * x against
KernelSHAP and a random order on the same INN; TreeSHAP on tuned XGBoost against a random order
on XGBoost. CPU seconds per explained row on one thread.
<a href="{FAITHFULNESS_FILES[0]}">{FAITHFULNESS_FILES[0]}</a></p>
{image}
{_fmt_table(means.reset_index())}
{_fmt_table(areas, index=True)}
""",
        copied,
    )


def code_versions(results: pd.DataFrame) -> pd.Series:
    """Runs per code version (package version and git commit; column ``code``, "unrecorded" for
    runs logged before it was), most first; empty when no run recorded one."""
    if "code" not in results or results["code"].isna().all():
        return pd.Series(dtype=int)
    return results["code"].fillna("unrecorded").value_counts()


def mixed_code_warning(results: pd.DataFrame) -> str | None:
    """A sentence when the runs come from more than one code version, else None."""
    counts = code_versions(results)
    if len(counts) < 2:
        return None
    listed = "; ".join(f"{code}: {n} runs" for code, n in counts.items())
    return (
        f"these runs come from {len(counts)} code versions ({listed}): a resumed benchmark keeps "
        "finished runs when the code changed but no parameter did; run it again with another "
        "--experiment for one code version throughout"
    )


def mixed_data_warning(results: pd.DataFrame) -> str | None:
    """A sentence naming the datasets whose finished runs in the table recorded more than one
    data hash (a run on edited data failed, so an older finished run stands for its job), else
    None (also for tables without the column, or runs that recorded none)."""
    if "data_hash" not in results:
        return None
    ok = results[(results.status == "ok") & results["data_hash"].notna()]
    hashes = ok.groupby("dataset")["data_hash"].unique()
    mixed = {name: sorted(map(str, h)) for name, h in hashes.items() if len(h) > 1}
    if not mixed:
        return None
    listed = "; ".join(f"{name}: {', '.join(h)}" for name, h in mixed.items())
    return (
        f"runs of {len(mixed)} datasets were fitted on differing data ({listed}): their file "
        "changed and a re-run failed or has not run yet, so older runs stand for those jobs; "
        "run the same command again"
    )


def _extra(results: pd.DataFrame) -> list[str]:
    return [c for c in results.columns if c not in RESULT_COLUMNS]


def _fmt_table(frame: pd.DataFrame, index: bool = False) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, bool | np.bool_):
            return "yes" if value else ""
        if isinstance(value, float | np.floating):
            if not np.isfinite(value):
                return ""
            return f"{value:.4f}" if abs(value) < 100 else f"{value:.0f}"
        return html.escape(str(value))

    head = ([html.escape(str(frame.index.name or ""))] if index else []) + [
        html.escape(str(c)) for c in frame.columns
    ]
    rows = []
    for label, row in frame.iterrows():
        cells = ([html.escape(str(label))] if index else []) + [cell(v) for v in row]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (
        '<div class="wide"><table><thead><tr>'
        + "".join(f"<th>{h}</th>" for h in head)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
    )


def _html(plan, results, summary, table, ranks, pareto, version, command, tracking) -> str:
    expected = len(plan.suite.datasets) * plan.n_splits * len(plan.families)
    ok = int((results.status == "ok").sum())
    failed = results[results.status != "ok"]
    esc = html.escape
    facts = [
        f"suite <b>{esc(plan.suite.name)}</b>: {len(plan.suite.datasets)} datasets",
        f"families: {esc(', '.join(plan.families))}",
        f"splits: {plan.n_splits} (train = min(1000, n/2) rows, test the same size, stratified; "
        f"seed {plan.seed}); budget {esc(plan.budget)}; protocol {esc(plan.protocol)}",
        f"runs: {ok} finished of {expected} ({len(failed)} failed, {expected - len(results)} "
        "not run yet)",
        f"automl-hyper {esc(version)}; written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
    ]
    counts = code_versions(results)
    mixed = mixed_code_warning(results)
    if mixed:
        facts.append(f"<b>code: {esc(mixed)}</b>")
    elif len(counts):
        facts.append(f"code of every run: {esc(str(counts.index[0]))}")
    stale = mixed_data_warning(results)
    if stale:
        facts.append(f"<b>data: {esc(stale)}</b>")
    if command:
        facts.append(f"command: <code>{esc(command)}</code>")
    if tracking:
        facts.append(f"MLflow: <code>{esc(tracking)}</code>")
    failures = ""
    if len(failed):
        shown = failed[["dataset", "split", "family", "error"]].head(50)
        failures = "<h2>Failed runs</h2>" + _fmt_table(shown)
    csvs = " · ".join(
        f'<a href="{n}">{n}</a>'
        for n in ("summary.csv", "per_dataset_auc.csv", "mean_rank.csv", "pareto.csv", "runs.csv")
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>automl-hyper benchmark: {esc(plan.suite.name)}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; max-width: 1150px; color: #222; }}
table {{ border-collapse: collapse; font-size: 12px; margin: 0.5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 2px 6px; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
thead th {{ background: #f0f0f0; }}
img {{ max-width: 100%; border: 1px solid #ddd; margin: 0.5em 0; }}
.note {{ color: #555; font-size: 13px; }}
.wide {{ overflow-x: auto; }}
</style></head><body>
<h1>automl-hyper benchmark: {esc(plan.suite.name)}</h1>
<ul>{"".join(f"<li>{f}</li>" for f in facts)}</ul>
<h2>Summary</h2>
<p class="note">auc_mean_common: mean over the datasets where every family finished; auc_mean_all:
over every dataset the family finished; mean_rank among these families (1 = best) with a 95%
bootstrap interval over datasets; times: median over datasets of the mean seconds per split.</p>
{_fmt_table(summary)}
<h2>ROC AUC per dataset</h2>
<p class="note">Filled markers: this run; hollow: the published numbers (same protocol, their
implementations, hardware and tuning; read per dataset).</p>
<img src="per_dataset_auc.png" alt="ROC AUC per dataset">
<h2>Mean rank</h2>
<img src="mean_rank.png" alt="mean rank per model with bootstrap intervals">
{_fmt_table(ranks)}
<h2>ROC AUC vs time</h2>
<p class="note">Time is wall time of fit + predict on this machine (with several workers, runs
shared the cores: compare times from a --workers 1 run). Published points use the paper's median
times on its own hardware (GPU for the transformer models).</p>
<img src="pareto.png" alt="ROC AUC vs time, Pareto front">
{_fmt_table(pareto)}
<h2>Per-dataset table</h2>
{_fmt_table(table, index=True)}
{failures}
<p class="note">Tables: {csvs}</p>
</body></html>
"""
