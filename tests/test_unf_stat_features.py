"""``stat_features=True``: the UNF + weight statistics hybrid predictor (opt-in, default off)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from automl_hyper.models.smash import ArchSpec, LayerSpec
from automl_hyper.weightspace.predictor import ChildQualityPredictor, PredictorConfig, new_predictor
from automl_hyper.weightspace.specs import arch_space, mlp_space
from automl_hyper.weightspace.statistics import STATS_PER_TENSOR, tensor_statistics


def _smash(widths, pattern) -> ArchSpec:
    layers = []
    for k, w in enumerate(widths, start=1):
        inputs = (
            (k - 1,) if k == 1 else ((k - 2, k - 1) if pattern == "residual" else tuple(range(k)))
        )
        layers.append(LayerSpec(w, "relu", "none", inputs))
    return ArchSpec(tuple(layers), tuple(range(len(widths) + 1)) if pattern == "dense" else ())


SPACES = [
    mlp_space((3, 5, 2), permute_io=True),
    mlp_space((3, 4, 6, 2), permute_io=True),
    arch_space(_smash([4, 3, 5], "residual"), 3, 2, permute_io=True),
    arch_space(_smash([3, 5], "dense"), 3, 2, permute_io=True),
]


def _tasks(seed: int = 0, n_tasks: int = 3, per_task: int = 4):
    """Tiny synthetic tasks over the spaces above: random weights, random scores."""
    rng = np.random.default_rng(seed)
    tasks = []
    for _ in range(n_tasks):
        children = []
        for j in range(per_task):
            space = SPACES[j % len(SPACES)]
            arrays = {
                t.name: torch.tensor(rng.normal(0, 0.1 * (1 + j), t.shape)) for t in space.tensors
            }
            children.append((space, arrays))
        tasks.append((children, rng.uniform(0.6, 0.9, per_task), [(100, 3, 2)] * per_task))
    return tasks


def test_default_is_off_and_old_configs_load():
    predictor = new_predictor(_tasks(), channels=(4,), meta=True)
    assert not predictor.config.stat_features and predictor.config.stat_norm == []
    assert predictor.net.extra_features == 3
    old = {
        k: v
        for k, v in predictor.config.__dict__.items()
        if k not in ("stat_features", "stat_norm")
    }
    assert not ChildQualityPredictor(PredictorConfig(**old)).config.stat_features


def test_statistics_values():
    x = torch.tensor([[1.0, -3.0], [2.0, 0.0]], dtype=torch.float64)
    s = tensor_statistics(x)
    assert s.shape == (STATS_PER_TENSOR,)
    want = [0.0, 3.5, -3.0, -0.75, 0.5, 1.25, 2.0, 1.5, np.sqrt(3.5)]
    np.testing.assert_allclose(s.numpy(), want)


def test_hybrid_is_invariant_to_hidden_permutations_in_float64():
    torch.manual_seed(0)
    tasks = _tasks()
    predictor = new_predictor(tasks, channels=(4, 3), meta=True, stat_features=True)
    n_slots = len(predictor.net.pool.slots)
    assert predictor.net.extra_features == 3 + STATS_PER_TENSOR * n_slots
    means, stds = predictor.config.stat_norm
    assert len(means) == len(stds) == STATS_PER_TENSOR * n_slots
    predictor.net.double()
    rng = np.random.default_rng(1)
    for space in SPACES:
        arrays = {t.name: torch.tensor(rng.normal(0, 0.3, t.shape)) for t in space.tensors}
        perms = {s: p for s, p in space.random_permutations(rng).items() if s.startswith("h")}
        assert perms, "no hidden axis to permute"
        moved = space.permute({n: a[None] for n, a in arrays.items()}, perms, lead=1)
        moved = {n: a[0] for n, a in moved.items()}
        assert any(not torch.equal(moved[n], arrays[n]) for n in space.names)
        a = predictor.predict([(space, arrays)], [(100, 3, 2)])
        b = predictor.predict([(space, moved)], [(100, 3, 2)])
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
        # the statistics reach the prediction: scaling one tensor moves it
        first = space.names[0]
        c = predictor.predict([(space, {**arrays, first: arrays[first] * 3})], [(100, 3, 2)])
        assert abs(float(c[0] - a[0])) > 1e-9


def test_hybrid_trains_and_round_trips(tmp_path):
    tasks = _tasks()
    torch.manual_seed(0)
    predictor = new_predictor(tasks, channels=(4,), meta=True, stat_features=True)
    before = predictor.evaluate_loss(tasks)
    predictor.fit(tasks, epochs=40, learning_rate=1e-2, seed=0)
    assert predictor.evaluate_loss(tasks) < before
    loaded = ChildQualityPredictor.load(predictor.save(tmp_path / "p.pt"))
    assert loaded.config.stat_features and loaded.config.stat_norm == predictor.config.stat_norm
    children = [c for ch, _, _ in tasks for c in ch]
    meta = [m for _, _, ms in tasks for m in ms]
    np.testing.assert_allclose(loaded.predict(children, meta), predictor.predict(children, meta))


@pytest.mark.parametrize("stat_features", [False, True])
def test_float32_default_path_unchanged(stat_features):
    """The net stays float32 unless a caller casts it; predictions are finite either way."""
    predictor = new_predictor(_tasks(), channels=(4,), meta=True, stat_features=stat_features)
    children = [c for ch, _, _ in _tasks(1) for c in ch]
    out = predictor.predict(children, [(100, 3, 2)] * len(children))
    assert predictor._dtype == torch.float32 and np.isfinite(out).all()
