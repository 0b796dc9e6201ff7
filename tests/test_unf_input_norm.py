"""``input_norm="tensor"``: per-child, per-tensor RMS normalisation of the UNF's input (v5 arm)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from automl_hyper.weightspace.predictor import ChildQualityPredictor, PredictorConfig, new_predictor
from automl_hyper.weightspace.specs import mlp_space


def _tasks(seed: int = 0, n_tasks: int = 3, per_task: int = 4):
    """Tiny synthetic tasks of plain MLP children of two depths, random weights and scores."""
    rng = np.random.default_rng(seed)
    spaces = [mlp_space((3, 5, 2), permute_io=True), mlp_space((3, 4, 6, 2), permute_io=True)]
    tasks = []
    for _ in range(n_tasks):
        children = []
        for j in range(per_task):
            space = spaces[j % 2]
            arrays = {
                t.name: torch.tensor(rng.normal(0, 0.1 * (1 + j), t.shape)) for t in space.tensors
            }
            children.append((space, arrays))
        meta = [(100, 3, 2)] * per_task
        tasks.append((children, rng.uniform(0.6, 0.9, per_task), meta))
    return tasks


def test_default_is_per_name_scaling_and_old_configs_load():
    predictor = new_predictor(_tasks(), channels=(4,), meta=True)
    assert predictor.config.input_norm == "name"
    assert predictor.net.extra_features == 3
    config = {k: v for k, v in predictor.config.__dict__.items() if k != "input_norm"}
    assert ChildQualityPredictor(PredictorConfig(**config)).config.input_norm == "name"
    with pytest.raises(ValueError, match="input_norm"):
        new_predictor(_tasks(), channels=(4,), input_norm="child")


def test_tensor_norm_ignores_scale_inside_layers_and_stays_invariant():
    torch.manual_seed(0)
    tasks = _tasks()
    predictor = new_predictor(tasks, channels=(4,), meta=True, input_norm="tensor")
    n_slots = len(predictor.net.pool.slots)
    assert predictor.net.extra_features == 3 + n_slots
    space, arrays = tasks[0][0][1]
    normed, logs = predictor._normalised(space, arrays)
    # each tensor has unit RMS; the log RMS of absent slots is 0
    for x in normed.values():
        assert float(x.pow(2).mean().sqrt()) == pytest.approx(1.0, abs=1e-5)
    assert logs.shape == (n_slots,)
    # scaling a tensor leaves the equivariant layers' input unchanged and moves only its log RMS
    scaled = dict(arrays, W1=arrays["W1"] * 3.0)
    normed3, logs3 = predictor._normalised(space, scaled)
    torch.testing.assert_close(normed3["W1"], normed["W1"])
    moved = logs3 - logs
    i = predictor.net.pool.slots.index("W1")
    assert float(moved[i]) == pytest.approx(np.log(3.0), abs=1e-5)
    assert float(moved.abs().sum()) == pytest.approx(np.log(3.0), abs=1e-5)
    # invariant: permuting hidden units does not change the prediction
    rng = np.random.default_rng(1)
    perms = {s: p for s, p in space.random_permutations(rng).items() if s not in space.fixed}
    permuted = space.permute({n: a[None] for n, a in arrays.items()}, perms, lead=1)
    permuted = {n: a[0] for n, a in permuted.items()}
    meta = [(100, 3, 2)]
    a = predictor.predict([(space, arrays)], meta)
    b = predictor.predict([(space, permuted)], meta)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_tensor_norm_trains_and_round_trips(tmp_path):
    tasks = _tasks()
    torch.manual_seed(0)
    predictor = new_predictor(tasks, channels=(4,), meta=True, input_norm="tensor")
    before = predictor.evaluate_loss(tasks)
    predictor.fit(tasks, epochs=40, learning_rate=1e-2, seed=0)
    assert predictor.evaluate_loss(tasks) < before
    path = predictor.save(tmp_path / "p.pt")
    assert json.loads((tmp_path / "p.pt.json").read_text())["config"]["input_norm"] == "tensor"
    loaded = ChildQualityPredictor.load(path)
    children = [c for ch, _, _ in tasks for c in ch]
    meta = [m for _, _, ms in tasks for m in ms]
    np.testing.assert_allclose(loaded.predict(children, meta), predictor.predict(children, meta))
