"""SMASH child banks with repeated real-score trainings (``real_seeds``): mean label, per-seed
columns, streams that leave seed 0 as a one-seed bank has it, and resuming older banks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from automl_hyper.cli import main as cli_main
from automl_hyper.weightspace.bank import BankConfig, ChildCollection, build

# hyper_epochs (not the time budget) stops the hypernetwork, so the build is deterministic
TINY = {
    "family": "smash",
    "min_rows": 80,
    "max_rows": 100,
    "max_features": 5,
    "n_archs": 3,
    "max_depth": 2,
    "widths": [2, 8],
    "hyper_seconds": 1e6,
    "hyper_epochs": 1,
    "real_epochs": 2,
}


def test_real_seeds_mean_label_and_seed_zero_stream(tmp_path):
    one = build(tmp_path / "one", BankConfig(**TINY), n_tasks=1, progress=False)
    two = build(tmp_path / "two", BankConfig(**TINY, real_seeds=2), n_tasks=1, progress=False)
    assert "score_seed0" not in one
    seeds = two[["score_seed0", "score_seed1"]].to_numpy()
    np.testing.assert_allclose(two["score"], seeds.mean(1))
    # seed 0 draws from the one-seed bank's streams; seed 1 is another training
    np.testing.assert_allclose(two["score_seed0"], one["score"])
    np.testing.assert_allclose(two["proxy_score"], one["proxy_score"])
    assert (seeds[:, 0] != seeds[:, 1]).any()


def test_cli_options_and_resume_of_a_bank_recorded_before_them(tmp_path, capsys):
    out = tmp_path / "bank"
    args = ["unf", "build", "--family", "smash", "--tasks", "1", "--out", str(out)]
    args += ["--archs", "2", "--hyper-seconds", "0.2", "--real-epochs", "1", "--no-progress"]
    args += ["--min-rows", "80", "--max-rows", "100", "--max-features", "5", "--max-depth", "2"]
    assert cli_main(args + ["--widths", "2,4", "--prior", "gp_fraction=1.0"]) == 0
    recorded = json.loads((out / "collection.json").read_text())["config"]
    assert recorded["widths"] == [2, 4] and recorded["prior"] == {"gp_fraction": 1.0}
    assert ChildCollection(out).table["arch"].str.contains('"width": 8').sum() == 0
    # a bank written before the newer fields existed resumes when they keep their defaults
    plain = tmp_path / "plain"
    assert cli_main(args[:7] + [str(plain)] + args[8:]) == 0
    meta = json.loads((plain / "collection.json").read_text())
    for key in ("real_seeds", "real_lr", "real_weight_decay", "prior", "patterns"):
        meta["config"].pop(key)
    (plain / "collection.json").write_text(json.dumps(meta))
    assert cli_main(args[:5] + ["2", "--out", str(plain)] + args[8:]) == 0
    assert ChildCollection(plain).table["task"].nunique() == 2
    # ... and refuses other settings (the CLI reports the ValueError, exit status 1)
    assert cli_main(args[:5] + ["2", "--out", str(plain)] + args[8:] + ["--archs", "3"]) == 1
    assert "other settings" in capsys.readouterr().err


def test_task_filter_keeps_only_tasks_where_capacity_pays():
    from automl_hyper.weightspace.bank import _kept_task

    wanted = {"min_reference_auc": 0.7, "min_nonlinear_gap": 0.0}
    config = BankConfig(**{**TINY, "min_rows": 150, "max_rows": 200}, task_filter=wanted)
    *_, info = _kept_task(config, 0)
    assert info["reference_boosted_auc"] >= 0.7
    assert info["reference_boosted_auc"] >= info["reference_linear_auc"]
    # no filter: the slot's first draw, exactly as before the filter existed
    plain = BankConfig(**{**TINY, "min_rows": 150, "max_rows": 200})
    assert _kept_task(plain, 0)[4] == {}
    impossible = BankConfig(**TINY, task_filter={"min_reference_auc": 1.01})
    with pytest.raises(RuntimeError, match="no task"):
        _kept_task(impossible, 0, max_attempts=2)


def test_children_and_labels_do_not_depend_on_where_the_hypernetwork_stopped(tmp_path):
    # a time budget stops the hypernetwork after a load-dependent number of epochs; two epoch
    # counts stand in for two loads: same architectures, same real scores, other generated weights
    short = build(tmp_path / "short", BankConfig(**TINY), n_tasks=1, progress=False)
    longer = BankConfig(**{**TINY, "hyper_epochs": 3})
    long = build(tmp_path / "long", longer, n_tasks=1, progress=False)
    assert list(short["arch"]) == list(long["arch"])
    np.testing.assert_allclose(short["score"], long["score"])
    assert (short["proxy_score"] != long["proxy_score"]).any()


def test_a_bank_started_with_the_first_procedure_resumes_with_it(tmp_path):
    out = tmp_path / "old"
    build(out, BankConfig(**TINY, procedure=1), n_tasks=1, progress=False)
    meta = json.loads((out / "collection.json").read_text())
    meta["config"].pop("procedure")  # as written before the field existed
    (out / "collection.json").write_text(json.dumps(meta))
    build(out, BankConfig(**TINY), n_tasks=2, progress=False)  # today's default: procedure 2
    assert json.loads((out / "collection.json").read_text())["config"].get("procedure", 1) == 1
    fresh = build(tmp_path / "fresh", BankConfig(**TINY, procedure=1), n_tasks=2, progress=False)
    resumed = ChildCollection(out).table.drop(columns="task_seconds")
    pd.testing.assert_frame_equal(resumed, fresh.drop(columns="task_seconds"), check_like=True)


def test_extending_a_bank_with_more_trainings_gives_the_labels_of_building_with_them(tmp_path):
    # two tasks at 1 training, extended to 2 and then 4, equal a bank built with 4 from the start
    out = tmp_path / "grown"
    build(out, BankConfig(**TINY), n_tasks=2, progress=False)
    build(out, BankConfig(**TINY, real_seeds=2), n_tasks=1, progress=False)
    grown = build(out, BankConfig(**TINY, real_seeds=4), n_tasks=3, progress=False)
    assert json.loads((out / "collection.json").read_text())["config"]["real_seeds"] == 4
    fresh = build(tmp_path / "fresh", BankConfig(**TINY, real_seeds=4), n_tasks=3, progress=False)
    seeds = [f"score_seed{r}" for r in range(4)]
    assert list(grown.columns[: len(fresh.columns)]) == list(fresh.columns)
    extended = grown["extend_seconds"].notna()
    assert list(grown.loc[extended, "task"].unique()) == [0, 1]  # task 2 was built with 4
    cols = ["child", "arch", "score", *seeds]
    pd.testing.assert_frame_equal(grown[cols], fresh[cols])
    # fewer trainings than recorded are refused
    with pytest.raises(ValueError, match="other settings"):
        build(out, BankConfig(**TINY, real_seeds=3), n_tasks=3, progress=False)


def test_extending_an_older_first_procedure_bank_keeps_its_children(tmp_path):
    out = tmp_path / "old"
    first = build(out, BankConfig(**TINY, procedure=1, real_seeds=2), n_tasks=1, progress=False)
    grown = build(out, BankConfig(**TINY, procedure=1, real_seeds=3), n_tasks=1, progress=False)
    same = ["child", "arch", "proxy_score", "score_seed0", "score_seed1"]
    pd.testing.assert_frame_equal(grown[same], first[same])
    np.testing.assert_allclose(grown["score"], grown[[f"score_seed{r}" for r in range(3)]].mean(1))
