"""``benchmarks/unf_predictor.py``'s label-noise ceiling for banks with 4 trainings per label:
half labels (mean of trainings 0-1 vs 2-3) and the Spearman-Brown step to 4 trainings."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("unf_predictor", "unf_predictor_bench")


def _task(task: int, seeds: np.ndarray) -> pd.DataFrame:
    table = pd.DataFrame({f"score_seed{r}": seeds[:, r] for r in range(seeds.shape[1])})
    return table.assign(task=task, score=seeds.mean(1))


def test_half_labels_and_spearman_brown(bench):
    rng = np.random.default_rng(0)
    seeds = rng.random((6, 4))
    a, b = bench.half_means([_task(0, seeds)])
    np.testing.assert_allclose(a[0], seeds[:, :2].mean(1))
    np.testing.assert_allclose(b[0], seeds[:, 2:].mean(1))
    # halves that rank alike: every tau is 1
    same = bench.half_ceiling([np.arange(5.0)], [np.arange(5.0) * 2])
    assert same["tau_within_task"] == pytest.approx(1.0)
    assert same["tau_4_vs_4_within_task"] == pytest.approx(1.0)
    assert same["tau_true_vs_4_within_task"] == pytest.approx(1.0)
    # tau 1/3 -> r = sin(pi/6) = 1/2 -> r_4 = 2/3 (Spearman-Brown), back through arcsin
    x = np.array([0.0, 1, 2])
    third = bench.half_ceiling([x], [np.array([1.0, 0, 2])])
    assert third["tau_within_task"] == pytest.approx(1 / 3)
    assert third["tau_4_vs_4_within_task"] == pytest.approx(2 / math.pi * math.asin(2 / 3))
    want = 2 / math.pi * math.asin(math.sqrt(2 / 3))
    assert third["tau_true_vs_4_within_task"] == pytest.approx(want)


def test_label_ceiling_adds_the_halves_only_with_four_trainings(bench):
    rng = np.random.default_rng(1)
    four = pd.concat([_task(t, rng.random((5, 4))) for t in range(3)], ignore_index=True)
    two = four.drop(columns=["score_seed2", "score_seed3"])
    assert "halves" in bench.label_ceiling([SimpleNamespace(table=four)])
    assert "halves" not in bench.label_ceiling([SimpleNamespace(table=two)])


def test_fresh_heldout_draws_only_train_bank_tasks_and_trains_on_the_rest(bench):
    old_train, old_held = [("a", 0), ("a", 1)], [("a", 2)]
    new = [("b", t) for t in range(6)]
    train, held = bench.fresh_heldout(old_train + new, old_held, 2, 2, seed=0)
    assert len(held) == 2 and set(held) <= set(new)
    assert sorted(train + held) == sorted(old_train + old_held + new)
    assert not set(train) & set(held)
    assert bench.fresh_heldout(old_train + new, old_held, 2, 2, seed=0)[1] == held
    with pytest.raises(ValueError, match="fresh-heldout"):
        bench.fresh_heldout(old_train + new, old_held, 2, 6, seed=0)
