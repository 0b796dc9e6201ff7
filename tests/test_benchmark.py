"""``automl-hyper benchmark``: a suite run, resumed, its report rendered in headless Chromium.

The end-to-end test runs a 3-dataset suite (a folder of CSVs from ../shared/datasets) with two
cheap families and one split against a SQLite MLflow store, runs the same command again (every
job is skipped: the store still has 6 runs), then renders ``index.html`` with Debian's
``chromium`` (installed by .ci/run) and checks that every image loaded and that the screenshot
shows the plots' coloured markers. Another runs two worker processes on one store.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl_hyper import zoo
from automl_hyper.benchmark import (
    Plan,
    Suite,
    mean_ranks,
    mixed_code_warning,
    pareto_table,
    resolve_suite,
    shard_datasets,
    write_report,
)
from automl_hyper.cli import build_parser
from automl_hyper.cli import main as cli_main

SHARED = Path(__file__).resolve().parents[2] / "shared"
SUITE = ("diabetes", "kc2", "blood-transfusion-service-center")  # 522-768 rows, numeric, binary


def test_resolve_suite(tmp_path):
    cc18 = resolve_suite("cc18-30")
    assert cc18.name == "cc18-30" and len(cc18.datasets) == 30 and "credit-g" in cc18.datasets
    (tmp_path / "a.csv").write_text("x,target\n1,0\n")
    (tmp_path / "b.csv").write_text("x,target\n1,0\n")
    folder = resolve_suite(str(tmp_path))
    assert folder.datasets == ("a", "b") and folder.data_dir == str(tmp_path.resolve())
    assert resolve_suite("31, 37,kc2").datasets == ("31", "37", "kc2")
    with pytest.raises(ValueError, match="did you mean cc18-30"):
        resolve_suite("cc18-3")


def test_shards_cover_the_suite_once():
    names = [f"d{i}" for i in range(7)]
    parts = [shard_datasets(names, (k, 3)) for k in range(3)]
    assert sorted(sum(parts, [])) == sorted(names)
    with pytest.raises(ValueError):
        shard_datasets(names, (3, 3))


def test_run_key_follows_the_estimators_own_defaults():
    """A run is keyed on every parameter the estimator runs with, so a changed estimator default
    is a new run (a resumed benchmark must not skip it), and spelling out a default is not."""
    suite = Suite("s", ("x",))
    plain = Plan(suite, ("inn",), n_splits=1)
    default_lr = zoo.get("inn").make("classification").get_params()["learning_rate"]
    spelled = Plan(suite, ("inn",), n_splits=1, overrides={"inn": {"learning_rate": default_lr}})
    other = Plan(suite, ("inn",), n_splits=1, overrides={"inn": {"learning_rate": default_lr / 2}})
    assert plain.key("inn", 0) == spelled.key("inn", 0)
    assert plain.key("inn", 0) != other.key("inn", 0)
    assert plain.key("inn", 0) != plain.key("inn", 1)  # the seed is part of the key


def test_mean_ranks_and_pareto():
    table = pd.DataFrame(
        {"a": [0.9, 0.8, 0.7], "b": [0.8, 0.9, 0.6], "c": [0.7, 0.7, 0.5]},
        index=["x", "y", "z"],
    )
    ranks = mean_ranks(table, n_boot=500).set_index("model")
    assert ranks.loc["a", "mean_rank"] == pytest.approx(4 / 3)
    assert ranks.loc["c", "mean_rank"] == 3 and ranks.loc["c", "rank_low"] == 3
    assert ranks.loc["a", "rank_low"] <= ranks.loc["a", "mean_rank"] <= ranks.loc["a", "rank_high"]
    assert ranks.loc["a", "wins"] == 2
    assert mean_ranks(table, n_boot=500).equals(mean_ranks(table, n_boot=500))  # seeded
    rows = []
    for family, auc, seconds in (("fast", 0.7, 0.1), ("slow-good", 0.9, 10.0), ("bad", 0.6, 5.0)):
        rows += [
            {"dataset": d, "split": 0, "family": family, "status": "ok", "auc": auc,
             "fit_s": seconds, "predict_s": 0.0}
            for d in ("x", "y")
        ]  # fmt: skip
    pareto = pareto_table(pd.DataFrame(rows), ["fast", "slow-good", "bad"]).set_index("family")
    assert pareto.on_front.to_dict() == {"fast": True, "bad": False, "slow-good": True}


def test_usage_errors(capsys):
    assert cli_main(["benchmark", "--suite", "cc18-3", "--families", "logreg"]) == 2
    assert "did you mean cc18-30" in capsys.readouterr().err
    assert cli_main(["benchmark", "--suite", "cc18-30", "--shard", "2/2"]) == 2
    assert "--shard" in capsys.readouterr().err
    assert cli_main(["benchmark", "--suite", "cc18-30", "--families", "logregg"]) == 2
    assert "did you mean logreg" in capsys.readouterr().err


def test_report_without_mlflow(tmp_path):
    """The report from a frame alone (partial results, one failure, anchors for some datasets)."""
    plan = Plan(Suite("s", ("x", "y", "z")), ("a", "b"), n_splits=2)
    rng = np.random.default_rng(0)
    rows = [
        {"dataset": d, "split": s, "family": f, "status": "ok", "error": None,
         "auc": rng.uniform(0.6, 0.9), "accuracy": 0.7, "log_loss": 0.5,
         "fit_s": rng.uniform(0.1, 1), "predict_s": 0.01}
        for d in ("x", "y") for s in (0, 1) for f in ("a", "b")
    ]  # fmt: skip
    rows.append({"dataset": "z", "split": 0, "family": "a", "status": "failed", "error": "boom"})
    anchors = pd.DataFrame({"paper-m": [0.8, 0.85]}, index=pd.Index(["x", "q"], name="dataset"))
    paths = write_report(pd.DataFrame(rows), tmp_path, plan, anchors=anchors)
    assert all(p.stat().st_size > 0 for p in paths)
    page = (tmp_path / "index.html").read_text()
    assert "8 finished of 12 (1 failed, 3 not run yet)" in page and "boom" in page
    summary = pd.read_csv(tmp_path / "summary.csv").set_index("family")
    assert summary.loc["a", "runs_failed"] == 1 and summary.loc["b", "runs_missing"] == 2
    assert "paper: paper-m" in pd.read_csv(tmp_path / "per_dataset_auc.csv").columns


def test_report_says_when_runs_come_from_several_code_versions(tmp_path):
    """Code is not part of a run's key; the page names the versions when a table mixes them
    (and stays quiet for a frame without the column, e.g. an older runs.csv)."""
    plan = Plan(Suite("s", ("x", "y")), ("a",), n_splits=1)
    rows = [
        {"dataset": d, "split": 0, "family": "a", "status": "ok", "auc": 0.8, "fit_s": 1.0,
         "predict_s": 0.1, "code": code}
        for d, code in (("x", "0.1.0 (git aaaaaaa)"), ("y", None))
    ]  # fmt: skip
    write_report(pd.DataFrame(rows), tmp_path, plan)
    page = (tmp_path / "index.html").read_text()
    assert "come from 2 code versions (0.1.0 (git aaaaaaa): 1 runs; unrecorded: 1 runs)" in page
    assert mixed_code_warning(pd.DataFrame(rows[:1])) is None
    write_report(pd.DataFrame(rows).drop(columns="code"), tmp_path, plan)
    assert "code versions" not in (tmp_path / "index.html").read_text()


def test_resuming_with_other_settings_never_mixes_them(tmp_path, capsys):
    """A resumed command with another --set value or --budget runs every job afresh, and its
    table holds only its own runs; the first command, run again, finds its own runs finished."""
    from automl_hyper.cli.benchmark import plan_from_args
    from automl_hyper.integrations.mlflow.benchmark import MLflowBenchmarkStore
    from automl_hyper.provenance import describe

    data = _suite_folder(tmp_path, SUITE[:1])
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    base = [
        "benchmark", "--suite", str(data), "--families", "logreg", "--splits", "2",
        "--tracking-uri", uri, "--no-report", "--log-file", str(tmp_path / "libs.log"),
    ]  # fmt: skip
    settings = {"first": [], "C": ["--set", "logreg.C=0.1"], "paper": ["--budget", "paper"]}
    tables = {}
    for name, extra in [*settings.items(), ("first again", [])]:
        argv = base + extra
        assert cli_main(argv) == 0
        out = capsys.readouterr().out
        expected = "ran 0 runs (0 failed), skipped 2" if name == "first again" else "ran 2 runs"
        assert expected in out, (name, out)
        args = build_parser().parse_args(argv)
        store = MLflowBenchmarkStore(uri)
        plan = plan_from_args(args)
        store.prepare(plan)
        tables[name] = store.results(plan)
    ids = {name: set(t.run_id) for name, t in tables.items()}
    assert all(len(t) == 2 for t in tables.values())  # 2 splits each, never 4 or 6
    assert ids["first"].isdisjoint(ids["C"] | ids["paper"]) and ids["C"].isdisjoint(ids["paper"])
    assert ids["first again"] == ids["first"]
    assert set(tables["first"].code) == {describe()}


def _finished_runs(db: Path) -> pd.DataFrame:
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{db}")
    return mlflow.search_runs(
        search_all_experiments=True,
        filter_string="tags.`automl_hyper.role` = 'benchmark-run'",
    )


def _suite_folder(tmp_path: Path, names=SUITE) -> Path:
    """A suite folder: the datasets' CSVs from ../shared/datasets and their categorical lists."""
    if not (SHARED / "datasets" / "diabetes.csv").is_file():
        pytest.skip(f"shared datasets not found under {SHARED}")
    data = tmp_path / "suite"
    data.mkdir()
    cats = json.loads((SHARED / "datasets" / "CATEGORICAL.json").read_text())
    for name in names:
        shutil.copy(SHARED / "datasets" / f"{name}.csv", data)
    (data / "CATEGORICAL.json").write_text(json.dumps({n: cats[n] for n in names}))
    return data


def test_workers_share_one_store(tmp_path, capsys):
    """Two worker processes (spawned) take a dataset each and log to one SQLite store."""
    data = _suite_folder(tmp_path, SUITE[:2])
    db = tmp_path / "mlflow.db"
    argv = [
        "benchmark", "--suite", str(data), "--families", "logreg", "--splits", "1",
        "--tracking-uri", f"sqlite:///{db}", "--workers", "2", "--no-report",
        "--log-file", str(tmp_path / "libs.log"),
    ]  # fmt: skip
    assert cli_main(argv) == 0
    out = capsys.readouterr().out
    assert "ran 2 runs (0 failed), skipped 0 finished" in out, out
    pids = {line.rsplit("pid ", 1)[1].rstrip(")") for line in out.splitlines() if "pid " in line}
    assert len(pids) == 2, out  # each dataset in its own worker
    runs = _finished_runs(db)
    assert len(runs) == 2 and set(runs.status) == {"FINISHED"}


def test_benchmark_resumes_and_renders(tmp_path, capsys):
    data = _suite_folder(tmp_path)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    db = tmp_path / "mlflow.db"
    report = tmp_path / "report"
    argv = [
        "benchmark", "--suite", str(data), "--families", "logreg,mothernet", "--splits", "1",
        "--tracking-uri", f"sqlite:///{db}", "--output", str(report),
        "--anchors", str(SHARED / "anchors" / "mothernet_paper_auc_by_dataset.csv"),
        "--log-file", str(tmp_path / "libs.log"),
    ]  # fmt: skip

    assert cli_main(argv) == 0
    first = capsys.readouterr().out
    assert "ran 6 runs (0 failed), skipped 0 finished" in first, first
    runs = _finished_runs(db)
    assert len(runs) == 6 and set(runs.status) == {"FINISHED"}
    assert sorted(runs["tags.automl_hyper.dataset"]) == sorted(SUITE * 2)
    assert runs["metrics.auc"].between(0.5, 1.0).all()

    # Again: every dataset x split x family is found finished in MLflow and skipped.
    assert cli_main(argv) == 0
    second = capsys.readouterr().out
    assert "ran 0 runs (0 failed), skipped 6 finished" in second, second
    assert len(_finished_runs(db)) == 6

    # The report: tables, plots, and what MLflow keeps of it.
    runs_csv = pd.read_csv(report / "runs.csv")
    assert len(runs_csv) == 6 and (runs_csv.status == "ok").all()
    per_dataset = pd.read_csv(report / "per_dataset_auc.csv").set_index("dataset")
    assert per_dataset.loc["diabetes", "paper: TabPFN-v1"] == pytest.approx(0.8409)
    images = ["per_dataset_auc.png", "mean_rank.png", "pareto.png"]
    page = (report / "index.html").read_text()
    for image in images:
        assert f'src="{image}"' in page and (report / image).stat().st_size > 10_000
    import mlflow

    reports = mlflow.search_runs(
        search_all_experiments=True, filter_string="tags.`automl_hyper.role` = 'benchmark-report'"
    )
    assert len(reports) == 2  # one per invocation
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(reports.run_id[0], "report")}
    assert {"report/index.html", *(f"report/{i}" for i in images)} <= artifacts

    if chromium is None:
        pytest.skip("chromium not installed (.ci/run installs Debian's chromium)")
    _check_rendering(chromium, report, images, tmp_path)


def _check_rendering(chromium: str, report: Path, images: list[str], tmp_path: Path) -> None:
    """Every <img> loaded (naturalWidth > 0, read back from the DOM after a script records it)
    and the screenshot is not blank: the plots' saturated marker colours are on it."""
    from PIL import Image

    probe = report / "_probe.html"
    probe.write_text(
        (report / "index.html")
        .read_text()
        .replace(
            "</body>",
            "<script>window.addEventListener('load', () => { document.body.setAttribute("
            "'data-widths', Array.from(document.images).map(i => i.naturalWidth).join(',')); "
            "});</script></body>",
        )
    )
    base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run(
        [*base, "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    probe.unlink()
    widths = dom.split('data-widths="', 1)[1].split('"', 1)[0].split(",")
    assert len(widths) == len(images) and all(int(w) > 300 for w in widths), widths

    shot = tmp_path / "screenshot.png"
    subprocess.run(
        [*base, f"--screenshot={shot}", "--window-size=1200,2000", (report / "index.html").as_uri()],
        capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.shape[:2] == (2000, 1200)
    assert pixels.std() > 20  # not blank
    colours = len(np.unique(pixels.reshape(-1, 3), axis=0))
    saturation = pixels.max(axis=2) - pixels.min(axis=2)
    # Text and tables are grey; only the plots put saturated colours on the page.
    assert colours > 500 and (saturation > 120).sum() > 1000, (colours, (saturation > 120).sum())


def test_run_comparison_skips_finished_jobs():
    """``run_comparison(skip=...)`` runs only the other (split, family) pairs, on the same splits
    and parameters as a full run (what a resumed benchmark relies on)."""
    from sklearn.datasets import load_breast_cancer

    from automl_hyper.compare import run_comparison
    from automl_hyper.data.loading import load_dataset

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    data = load_dataset(X.assign(target=y).head(200), "target", name="bc200")
    full = run_comparison(data, ["logreg"], n_splits=3, progress=False)
    rest = run_comparison(data, ["logreg"], n_splits=3, progress=False, skip={(0, "logreg")})
    assert [r.split for r in rest.records] == [1, 2]
    assert [r.auc for r in rest.records] == [r.auc for r in full.records[1:]]
