"""``benchmarks/unf_real_data.py``'s core on one small real dataset, one split, MotherNet children
only: the rows it writes, the Kendall taus it reports, and that a rerun resumes (adds nothing)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("unf_real_data")


def test_children_part_one_split(bench, shared_datasets_dir, tmp_path):
    out = tmp_path / "unf_real_data.csv"
    results = bench.run(["children"], ["breast-w"], 1, out, shared_datasets_dir)

    assert list(results.columns) == bench.COLUMNS
    n_children = sum(v[1] for v in bench.VARIANTS)
    assert len(results) == n_children
    assert set(results.part) == {"children"} and set(results.split) == {0}
    assert set(results.variant) == {v[0] for v in bench.VARIANTS}
    for col in ("predicted_auc", "train_log_loss", "test_auc"):
        assert np.isfinite(results[col]).all(), col
    assert results.test_auc.between(0, 1).all()
    # the fine-tuned members are other children than the generated ones
    assert results[["predicted_auc", "test_auc"]].drop_duplicates().shape[0] > n_children // 2

    taus = bench.child_taus(results)
    assert len(taus) == 1 and taus.children.iloc[0] == n_children
    for col in ("tau_unf", "tau_train_loss"):
        assert -1.0 <= taus[col].iloc[0] <= 1.0, col

    again = bench.run(["children"], ["breast-w"], 1, out, shared_datasets_dir)
    assert len(again) == n_children  # the done group is skipped, not appended twice
    text = bench.summarise(again, "python benchmarks/unf_real_data.py ...")
    assert "(a) MotherNet children" in text and "breast-w" in text


@pytest.mark.slow
def test_baselines_score_the_same_children(bench, shared_datasets_dir, tmp_path):
    """StatNN and Deep Sets trained on a (tiny) bank next to a UNF trained there score every real
    child; the summary puts them in the table and pairs them with the UNF."""
    from automl_hyper.weightspace.bank import BankConfig, build
    from automl_hyper.weightspace.predictor import train_from_banks

    bank = tmp_path / "bank"
    tiny = {"min_rows": 80, "max_rows": 120, "max_features": 6}
    variants = [["single", 1, "none", 0], ["mixed2", 2, "mixed", 0]]
    build(bank, BankConfig(family="mothernet", variants=variants, **tiny), 5, progress=False)
    unf = tmp_path / "unf.pt"
    train_from_banks([bank], unf, meta_features=True, epochs=1)

    scorers, report = bench.train_baselines(str(bank), str(unf), epochs=2)
    assert report["same_training_tasks_as_shipped"]  # the UNF's own training tasks
    assert set(report["heldout"]) == {"unf", "statnn", "deepsets"}
    # Deep Sets standardises its regression targets with its own training tasks' statistics
    # (mean and std over every child), not the UNF's: this UNF was trained on the default
    # "within_task" objective, whose target_std is the smaller within-task spread.
    from automl_hyper.weightspace.bank import ChildCollection
    from automl_hyper.weightspace.predictor import _tasks_from, split_tasks

    coll = ChildCollection(bank)
    train = _tasks_from([coll], split_tasks([coll], 0.2, 0)[0])
    scores = np.concatenate([s for _, s, _ in train])
    assert report["unf_target"]["objective"] == "within_task"
    assert report["deepsets_target"]["mean"] == pytest.approx(scores.mean())
    assert report["deepsets_target"]["std"] == pytest.approx(scores.std())
    assert report["unf_target"]["std"] < report["deepsets_target"]["std"]

    out = tmp_path / "children.csv"
    options = {"children": {"predictor": None, "scorers": scorers}}
    results = bench.run(["children"], ["breast-w"], 1, out, shared_datasets_dir, options=options)
    for col in ("statnn_auc", "deepsets_auc"):
        assert np.isfinite(results[col]).all(), col
    text = bench.summarise(results, "python benchmarks/unf_real_data.py ...")
    assert "StatNN" in text and "Deep Sets" in text and "| deepsets |" in text
