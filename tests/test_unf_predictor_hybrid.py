"""``benchmarks/unf_predictor.py``'s v9 options: ``statmlp`` (the hybrid's control without the UNF)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import load_benchmark

from automl_hyper.weightspace.specs import mlp_space


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("unf_predictor", "unf_predictor_hybrid")


def _tasks(n_tasks: int = 6, per_task: int = 5):
    """Children whose score rises with the scale of their weights: statistics can rank them."""
    rng = np.random.default_rng(0)
    space = mlp_space((3, 5, 2), permute_io=True)
    tasks = []
    for _ in range(n_tasks):
        scale = rng.uniform(0.1, 1.0, per_task)
        children = [
            (space, {t.name: torch.tensor(rng.normal(0, s, t.shape)) for t in space.tensors})
            for s in scale
        ]
        tasks.append((children, 0.5 + 0.3 * scale, [(100, 3, 2)] * per_task))
    return tasks


def test_statmlp_learns_a_statistic_and_is_deterministic(bench):
    tasks = _tasks(n_tasks=12)
    train, held = tasks[:10], tasks[10:]
    names = sorted({n for ch, _, _ in tasks for sp, _ in ch for n in sp.names})
    mean, std = bench.target_scale([s for _, s, _ in train], "within_task")
    args = (names, dict.fromkeys(names, 1.0), 30, 0, mean, std, 1e-2, "within_task")
    preds = bench.fit_statmlp(train, *args)(held)
    again = bench.fit_statmlp(train, *args)(held)
    np.testing.assert_array_equal(np.concatenate(preds), np.concatenate(again))
    assert bench.kendall_taus(preds, [s for _, s, _ in held])["tau_within_task"] > 0.3
