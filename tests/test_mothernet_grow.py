"""Growing a trained MotherNet into a larger architecture keeps its function (grow.py)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from automl_hyper.cli.usage import UsageError
from automl_hyper.models.mothernet.configs import get_config
from automl_hyper.models.mothernet.grow import grow, growth_problems
from automl_hyper.models.mothernet.model import ModelConfig, MotherNet, task_loss
from automl_hyper.models.mothernet.pretrain import Trainer
from automl_hyper.models.mothernet.registry import load_model
from automl_hyper.priors import sample_batch


def _task(config: ModelConfig, n: int = 60, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    X = torch.zeros(2, n, config.max_features)
    X[:, :, :7] = torch.randn(2, n, 7, generator=g)
    y = torch.randint(0, 3, (2, n), generator=g)
    return X, y, torch.tensor([7, 7])


def _assert_same_children(a: MotherNet, b: MotherNet, config: ModelConfig) -> None:
    X, y, n_features = _task(config)
    with torch.no_grad():
        wa, wb = a.generate(X, y, n_features), b.generate(X, y, n_features)
    for name in ("W1", "b1", "W2", "b2"):
        torch.testing.assert_close(getattr(wb, name), getattr(wa, name), rtol=1e-5, atol=1e-5)


def test_the_shipped_weights_grow_into_large_v2_with_the_same_children():
    shipped, _ = load_model(None)
    target = get_config("large-v2").model
    assert growth_problems(shipped.config, target) == []
    large = grow(shipped, target)
    assert large.config == target
    assert sum(p.numel() for p in large.parameters()) > 2 * sum(
        p.numel() for p in shipped.parameters()
    )
    _assert_same_children(shipped, large, target)


@pytest.mark.parametrize(
    "changes", [{"n_layers": 3}, {"decoder_hidden": 96}, {"n_layers": 4, "decoder_hidden": 128}]
)
def test_layers_alone_width_alone_and_both(changes):
    small_config = ModelConfig(
        embed_dim=16, n_layers=2, n_heads=2, ff_dim=32, decoder_hidden=64, child_hidden=24, rank=4
    )
    torch.manual_seed(1)
    small = MotherNet(small_config)
    large = grow(small, dataclasses.replace(small_config, **changes), seed=3)
    _assert_same_children(small, large, large.config)


def test_the_grown_model_trains_every_new_weight():
    """The zeroed projections and outgoing weights get gradients at once (not a dead end)."""
    small_config = ModelConfig(
        embed_dim=16, n_layers=1, n_heads=2, ff_dim=32, decoder_hidden=32, child_hidden=16, rank=4
    )
    torch.manual_seed(0)
    large = grow(
        MotherNet(small_config), dataclasses.replace(small_config, n_layers=2, decoder_hidden=64)
    )
    prior = get_config("tiny").prior
    batch = sample_batch(prior, 4, 0)
    task_loss(large, batch).backward()
    grads = {n: p.grad for n, p in large.named_parameters()}
    for name in ("encoder.layers.1.linear2.weight", "encoder.layers.1.self_attn.out_proj.weight"):
        assert grads[name].abs().sum() > 0, name
    assert grads["first_layer_head.weight"][:, 32:].abs().sum() > 0
    assert grads["class_head.2.weight"][:, 16:].abs().sum() > 0


def test_what_cannot_grow_is_refused_with_each_difference():
    small = ModelConfig(embed_dim=16, n_layers=2, n_heads=2, ff_dim=32, decoder_hidden=64)
    other = dataclasses.replace(small, embed_dim=32, n_layers=1, rank=8)
    problems = growth_problems(small, other)
    assert any(p.startswith("embed_dim 16 -> 32") for p in problems)
    assert any(p.startswith("rank 32 -> 8") for p in problems)
    assert any(p.startswith("n_layers 2 -> 1") for p in problems)
    with pytest.raises(ValueError, match="only add encoder layers and decoder width"):
        grow(MotherNet(small), other)


def test_init_from_grows_and_records_it_in_the_lineage():
    from automl_hyper.cli.pretrain import init_weights

    config = dataclasses.replace(get_config("large-v2"), name="large-v2")
    trainer = Trainer(config, device=torch.device("cpu"), prior_seed=0)
    init_weights(trainer, "mothernet-small")
    assert trainer.lineage[-1]["grown_into"] == "large-v2"
    _assert_same_children(load_model(None)[0], trainer.model, config.model)
    tiny = Trainer(get_config("tiny"), device=torch.device("cpu"), prior_seed=0)
    with pytest.raises(UsageError, match="embed_dim 128 -> 32"):
        init_weights(tiny, "mothernet-small")
