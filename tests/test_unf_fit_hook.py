"""``ChildQualityPredictor.fit(on_epoch=...)``: the opt-in per-epoch hook that
``benchmarks/unf_predictor.py --val-tasks`` uses for early stopping (v7)."""

from __future__ import annotations

import numpy as np
import torch

from automl_hyper.weightspace.predictor import new_predictor
from automl_hyper.weightspace.specs import mlp_space


def _tasks(seed: int = 0, n_tasks: int = 3, per_task: int = 4) -> list:
    rng = np.random.default_rng(seed)
    space = mlp_space((3, 5, 2), permute_io=True)
    tasks = []
    for _ in range(n_tasks):
        children = [
            (space, {t.name: torch.tensor(rng.normal(0, 0.2, t.shape)) for t in space.tensors})
            for _ in range(per_task)
        ]
        tasks.append((children, rng.uniform(0.6, 0.9, per_task), [(100, 3, 2)] * per_task))
    return tasks


def test_hook_runs_once_per_epoch_and_changes_nothing():
    tasks = _tasks()
    torch.manual_seed(0)
    plain = new_predictor(tasks, channels=(4,), meta=True)
    torch.manual_seed(0)
    hooked = new_predictor(tasks, channels=(4,), meta=True)
    seen = []

    def hook(epoch: int) -> None:  # predicts, as early stopping does, between epochs
        seen.append(epoch)
        hooked.predict(*zip(*[(c, m) for ch, _, meta in tasks for c, m in zip(ch, meta)]))

    a = plain.fit(tasks, epochs=3, seed=0)
    b = hooked.fit(tasks, epochs=3, seed=0, on_epoch=hook)
    assert seen == [0, 1, 2]
    np.testing.assert_allclose(a, b)  # same losses: the hook does not disturb training
    assert hooked.net.training is False  # fit still ends in eval mode
