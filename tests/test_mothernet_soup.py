"""Weight soups of MotherNet checkpoints (models/mothernet/soup.py)."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from automl_hyper.checkpoints import ChecksumError, read_manifest
from automl_hyper.cli.pretrain import init_weights
from automl_hyper.models.mothernet import soup
from automl_hyper.models.mothernet.configs import get_config
from automl_hyper.models.mothernet.pretrain import Trainer
from automl_hyper.models.mothernet.registry import load_model
from automl_hyper.models.mothernet.ship import ship


def _run(out, seed, init=None, config=None, steps=2):
    trainer = Trainer(config or get_config("tiny"), prior_seed=seed)
    if init is not None:
        init_weights(trainer, str(init))
    for _ in range(steps):
        trainer.train_step()
    trainer.save(out)
    return out


@pytest.fixture(scope="module")
def family(tmp_path_factory):
    """A shipped base (3 steps) and two runs continued from it on other seeds (2 steps each)."""
    root = tmp_path_factory.mktemp("soup")
    _run(root / "base", seed=1, steps=3)
    ship(root / "base" / "checkpoint.pt", root / "shipped", "tiny")
    base = root / "shipped" / "tiny.pt"
    return root, base, _run(root / "a", 2, init=base), _run(root / "b", 3, init=base)


def _weights(path):
    state = torch.load(path / "checkpoint.pt", weights_only=True)["model"]
    return {k: v.float() for k, v in state.items()}


def test_the_soup_is_the_mean_and_counts_every_step_once(family, tmp_path):
    root, _, a, b = family
    path = soup.make_soup([str(a), str(b)], tmp_path / "soup")
    mixed, wa, wb = _weights(tmp_path / "soup"), _weights(a), _weights(b)
    for k in wa:
        assert torch.allclose(mixed[k], (wa[k] + wb[k]) / 2)
    assert not torch.equal(
        wa["encoder.layers.0.linear1.weight"], wb["encoder.layers.0.linear1.weight"]
    )
    config = json.loads((tmp_path / "soup" / "config.json").read_text())
    assert [s["source"] for s in config["soup"]] == [
        str(a / "checkpoint.pt"),
        str(b / "checkpoint.pt"),
    ]
    # The estimator and ship read it as a run; the shipped totals: base 3 + 2 + 2 steps.
    model, _ = load_model(path)
    assert torch.allclose(model.state_dict()["decoder.0.weight"], mixed["decoder.0.weight"])
    entry = ship(path, tmp_path / "shipped_soup", "souped")
    assert entry["steps"] == 0 and entry["total_steps_all_runs"] == 7
    assert [e["steps"] for e in entry["lineage"]] == [3, 2, 2]


def test_a_shipped_ingredient_joins_by_name(family, tmp_path, monkeypatch):
    root, base, a, _ = family
    monkeypatch.setattr(soup, "read_manifest", lambda: read_manifest(base.parent))
    monkeypatch.setattr(soup, "weights_dir", lambda: base.parent)
    soup.make_soup(["tiny", str(a)], tmp_path / "soup")
    lineage = json.loads(
        torch.load(tmp_path / "soup" / "checkpoint.pt", weights_only=True)["lineage"]
    )
    assert [e["steps"] for e in lineage] == [3, 2]  # the shipped base once, then a's own steps
    shipped = {k: v.float() for k, v in torch.load(base, weights_only=True).items()}
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    (tampered / "tiny.pt").write_bytes(base.read_bytes()[:-10] + bytes(10))
    monkeypatch.setattr(soup, "weights_dir", lambda: tampered)
    with pytest.raises(ChecksumError, match="refusing"):  # shipped weights are verified
        soup.make_soup(["tiny", str(a)], tmp_path / "bad")
    mixed, wa = _weights(tmp_path / "soup"), _weights(a)
    assert all(torch.allclose(mixed[k], (shipped[k] + wa[k]) / 2) for k in wa)


def test_what_is_not_a_soup_is_refused(family, tmp_path):
    root, _, a, b = family
    unrelated = _run(tmp_path / "fresh", seed=9)
    with pytest.raises(ValueError, match="share no history"):
        soup.make_soup([str(a), str(unrelated)], tmp_path / "x")
    tiny = get_config("tiny")
    wider = dataclasses.replace(
        tiny, model=dataclasses.replace(tiny.model, embed_dim=tiny.model.embed_dim * 2)
    )
    other = _run(tmp_path / "wide", seed=4, config=wider, steps=1)
    with pytest.raises(ValueError, match="another architecture"):
        soup.make_soup([str(a), str(other)], tmp_path / "x")
    with pytest.raises(ValueError, match="named twice"):
        soup.make_soup([str(a), str(a / "checkpoint.pt")], tmp_path / "x")
    with pytest.raises(ValueError, match="at least two"):
        soup.make_soup([str(a)], tmp_path / "x")
    with pytest.raises(FileNotFoundError, match="neither a shipped name"):
        soup.make_soup([str(a), str(tmp_path / "nowhere")], tmp_path / "x")
    assert not (tmp_path / "x").exists()  # nothing written by a refusal
