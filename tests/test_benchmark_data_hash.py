"""A resumed ``automl-hyper benchmark`` checks the data: each run records a hash of the data it
was fitted on, and a finished run whose dataset file has changed since runs again instead of
being reused. Runs stored before runs recorded a hash resume as before, with one note.

The store here is a second implementation of :class:`automl_hyper.benchmark.Store` (runs in a
list), so the resume logic is tested on real fits (``logreg``) without a tracking server.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl_hyper.benchmark import (
    Plan,
    Suite,
    data_hash,
    load_suite_dataset,
    mixed_data_warning,
    run_suite,
    write_report,
)
from automl_hyper.compare import NullTracker


class _Tracker(NullTracker):
    def __init__(self, store: _Runs, plan: Plan, dataset: str, data_hash: str | None) -> None:
        self.store, self.plan, self.dataset, self.data_hash = store, plan, dataset, data_hash

    def __enter__(self) -> _Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    @contextlib.contextmanager
    def family_run(self, family: str, split: int, params: dict[str, Any]) -> Iterator[dict]:
        run = {
            "dataset": self.dataset,
            "split": split,
            "family": family,
            "key": self.plan.key(family, split),
            "status": "running",
        }
        if self.data_hash is not None:
            run["data_hash"] = self.data_hash
        self.store.runs.append(run)
        try:
            yield run
        except BaseException:
            run["status"] = "failed"
            raise
        run["status"] = "ok"


class _Runs:
    """Runs as dicts, newest last; keyed like MLflowBenchmarkStore (split, family, params key)."""

    def __init__(self, runs: list[dict] | None = None) -> None:
        self.runs = [] if runs is None else runs

    def _finished(self, plan: Plan, dataset: str) -> list[dict]:
        keys = plan.keys()
        return [
            r
            for r in self.runs
            if r["dataset"] == dataset
            and r["status"] == "ok"
            and keys.get((r["split"], r["family"])) == r["key"]
        ]

    def finished(self, plan: Plan, dataset: str) -> set[tuple[int, str]]:
        return {(r["split"], r["family"]) for r in self._finished(plan, dataset)}

    def results(self, plan: Plan) -> pd.DataFrame:
        return pd.DataFrame(self.runs)


class LegacyStore(_Runs):
    """A store as before the data check: its runs record no data hash."""

    def tracker(self, plan: Plan, dataset: str) -> _Tracker:
        return _Tracker(self, plan, dataset, None)


class HashingStore(_Runs):
    def tracker(self, plan: Plan, dataset: str, data_hash: str | None = None) -> _Tracker:
        return _Tracker(self, plan, dataset, data_hash)

    def data_hashes(self, plan: Plan, dataset: str) -> dict[tuple[int, str], str | None]:
        latest = {}
        for run in self._finished(plan, dataset):  # oldest first: the latest one wins
            latest[(run["split"], run["family"])] = run.get("data_hash")
        return latest


def _write(folder: Path, name: str, seed: int, rows: int = 120) -> None:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 3)).round(3)
    y = (X[:, 0] + 0.5 * rng.normal(size=rows) > 0).astype(int)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(target=y)
    frame.to_csv(folder / f"{name}.csv", index=False)


def _plan(folder: Path) -> Plan:
    return Plan(Suite("t", ("one", "two"), str(folder)), ("logreg",), n_splits=2)


def _lines(plan: Plan, store) -> dict[str, str]:
    return {o.dataset: o.line() for o in run_suite(plan, store)}


def test_data_hash_follows_the_values_not_their_types():
    from automl_hyper.data.loading import load_dataset

    frame = pd.DataFrame({"a": [1, 2, 3, 4], "b": ["x", "y", None, "x"], "target": [0, 1, 0, 1]})
    base = data_hash(load_dataset(frame, "target"))
    assert data_hash(load_dataset(frame.astype({"a": float}), "target")) == base
    assert data_hash(load_dataset(frame.astype({"b": "category"}), "target")) == base
    changed = {
        "a value": frame.assign(a=[1, 2, 3, 5]),
        "a missing cell": frame.assign(b=["x", "y", "z", "x"]),
        "a column name": frame.rename(columns={"a": "c"}),
        "the row order": frame.iloc[[1, 0, 2, 3]],
        "a target": frame.assign(target=[1, 1, 0, 1]),
    }
    for what, other in changed.items():
        assert data_hash(load_dataset(other, "target")) != base, what
    assert data_hash(load_dataset(frame, "target", categorical=["a", "b"])) != base


def test_a_changed_dataset_file_runs_again(tmp_path):
    _write(tmp_path, "one", 0)
    _write(tmp_path, "two", 1)
    plan, store = _plan(tmp_path), HashingStore()
    first = _lines(plan, store)
    assert all("ran 2, skipped 0" in line for line in first.values()), first
    before = data_hash(load_suite_dataset("one", str(tmp_path)))
    assert {r["data_hash"] for r in store.runs if r["dataset"] == "one"} == {before}

    again = _lines(plan, store)
    assert all("ran 0, skipped 2" in line for line in again.values()), again

    # The same name, other contents: one value of one row edited.
    frame = pd.read_csv(tmp_path / "one.csv")
    frame.loc[5, "a"] += 1.0
    frame.to_csv(tmp_path / "one.csv", index=False)
    after = data_hash(load_suite_dataset("one", str(tmp_path)))
    assert after != before
    edited = _lines(plan, store)
    assert "ran 2, skipped 0" in edited["one"], edited
    said = f"2 finished runs were fitted on data {before}, one now loads as {after}"
    assert said in edited["one"], edited
    assert "ran 0, skipped 2" in edited["two"] and "data changed" not in edited["two"], edited
    newest = [r for r in store.runs if r["dataset"] == "one"][-2:]
    assert [r["data_hash"] for r in newest] == [after, after]

    # The re-run runs are the latest: the next invocation finds everything finished.
    settled = _lines(plan, store)
    assert all("ran 0, skipped 2" in line and "data" not in line for line in settled.values())


def test_runs_stored_before_the_check_resume_with_one_note(tmp_path):
    _write(tmp_path, "one", 0)
    _write(tmp_path, "two", 1)
    plan, legacy = _plan(tmp_path), LegacyStore()
    _lines(plan, legacy)
    assert len(legacy.runs) == 4 and not any("data_hash" in r for r in legacy.runs)

    store = HashingStore(legacy.runs)  # the same runs, read by a store that checks
    lines = _lines(plan, store)
    assert all("ran 0, skipped 2" in line for line in lines.values()), lines
    noted = [line for line in lines.values() if "stored before runs recorded a data hash" in line]
    assert len(noted) == 1, lines
    assert len(store.runs) == 4

    # A third split: its new runs record the hash; the old ones stay unchecked, as before.
    wider = Plan(plan.suite, plan.families, n_splits=3)
    lines = _lines(wider, store)
    assert all("ran 1, skipped 2" in line for line in lines.values()), lines
    assert [r.get("data_hash") for r in store.runs[4:]] == [
        data_hash(load_suite_dataset(name, str(tmp_path))) for name in ("one", "two")
    ]


def test_finished_runs_stand_when_their_data_no_longer_loads(tmp_path):
    _write(tmp_path, "one", 0)
    _write(tmp_path, "two", 1)
    plan, store = _plan(tmp_path), HashingStore()
    _lines(plan, store)
    (tmp_path / "two.csv").write_text("a,b\n1,2\n")  # no target column
    lines = _lines(plan, store)
    assert "ran 0, skipped 2" in lines["two"] and "data not checked" in lines["two"], lines
    assert "ERROR" not in lines["two"]


def test_the_report_says_when_a_dataset_s_runs_saw_different_data(tmp_path):
    """The report keeps a finished run before a failed one: when the re-run on edited data
    failed, the older run stands, and the page says so."""
    plan = Plan(Suite("s", ("x", "y")), ("a",), n_splits=2)
    rows = [
        {"dataset": d, "split": i, "family": "a", "status": "ok", "auc": 0.8, "fit_s": 1.0,
         "predict_s": 0.1, "data_hash": h}
        for d, i, h in (("x", 0, "old0"), ("x", 1, "new1"), ("y", 0, "same"), ("y", 1, None))
    ]  # fmt: skip
    write_report(pd.DataFrame(rows), tmp_path, plan)
    page = (tmp_path / "index.html").read_text()
    assert "runs of 1 datasets were fitted on differing data (x: new1, old0)" in page, page
    assert mixed_data_warning(pd.DataFrame(rows[2:])) is None
    assert mixed_data_warning(pd.DataFrame(rows).drop(columns="data_hash")) is None


def _mlflow_runs(uri: str) -> pd.DataFrame:
    import mlflow

    mlflow.set_tracking_uri(uri)
    return mlflow.search_runs(
        search_all_experiments=True,
        filter_string="tags.`automl_hyper.role` = 'benchmark-run'",
    )


def test_the_cli_and_mlflow_store_check_the_data(tmp_path, capsys):
    """``automl-hyper benchmark`` on MLflow: an edited dataset file runs again (its runs tagged
    ``automl_hyper.data_hash``, column ``data_hash`` of the results), and the next command finds
    the re-run runs finished; runs logged before the tag resume with one note."""
    import mlflow

    from automl_hyper.cli import build_parser
    from automl_hyper.cli import main as cli_main
    from automl_hyper.cli.benchmark import plan_from_args
    from automl_hyper.integrations.mlflow.benchmark import MLflowBenchmarkStore

    data = tmp_path / "suite"
    data.mkdir()
    _write(data, "one", 0)
    _write(data, "two", 1)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    argv = [
        "benchmark", "--suite", str(data), "--families", "logreg", "--splits", "1",
        "--tracking-uri", uri, "--no-report", "--log-file", str(tmp_path / "libs.log"),
    ]  # fmt: skip
    assert cli_main(argv) == 0
    assert "ran 2 runs (0 failed), skipped 0 finished" in capsys.readouterr().out
    first = _mlflow_runs(uri).set_index("tags.automl_hyper.dataset")["tags.automl_hyper.data_hash"]
    assert first["one"] == data_hash(load_suite_dataset("one", str(data)))

    frame = pd.read_csv(data / "one.csv")
    frame.loc[5, "a"] += 1.0
    frame.to_csv(data / "one.csv", index=False)
    assert cli_main(argv) == 0
    out = capsys.readouterr().out
    assert "ran 1 runs (0 failed), skipped 1 finished" in out, out
    assert f"were fitted on data {first['one']}, one now loads as" in out, out
    plan = plan_from_args(build_parser().parse_args(argv))
    store = MLflowBenchmarkStore(uri)
    store.prepare(plan)
    report = store.results(plan).set_index("dataset")
    assert report.loc["two", "data_hash"] == first["two"]  # the column of runs.csv
    assert report.loc["one", "data_hash"] == data_hash(load_suite_dataset("one", str(data)))
    assert cli_main(argv) == 0
    assert "ran 0 runs (0 failed), skipped 2 finished" in capsys.readouterr().out

    client = mlflow.MlflowClient()  # as if logged before runs recorded a data hash
    for run_id in _mlflow_runs(uri).run_id:
        client.delete_tag(run_id, "automl_hyper.data_hash")
    assert cli_main(argv) == 0
    out = capsys.readouterr().out
    assert "ran 0 runs (0 failed), skipped 2 finished" in out, out
    assert out.count("stored before runs recorded a data hash") == 1, out
