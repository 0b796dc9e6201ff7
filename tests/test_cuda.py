"""The CUDA path of pretraining: skipped without a GPU (CI has none); run on a lent GPU with
``PYTHONPATH=. python -m pytest -q tests/test_cuda.py``."""

from __future__ import annotations

import argparse

import pytest
import torch

from automl_hyper.models.mothernet.configs import get_config
from automl_hyper.models.mothernet.pretrain import Trainer
from automl_hyper.priors import sample_batch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
CUDA = torch.device("cuda")


def test_prior_on_cuda_is_reproducible_and_well_formed():
    cfg = get_config("small-gpu").prior
    a = sample_batch(cfg, 32, seed=7, device=CUDA)
    b = sample_batch(cfg, 32, seed=7, device=CUDA)
    assert a.X.is_cuda and torch.equal(a.X, b.X) and torch.equal(a.y, b.y)
    assert torch.isfinite(a.X).all()
    assert (a.y < a.n_classes[:, None]).all()
    assert a.X.abs().max() <= cfg.clip


def test_resume_on_cuda_is_exact(tmp_path):
    uninterrupted = Trainer(get_config("tiny"), device=CUDA, prior_seed=5)
    losses = [uninterrupted.train_step() for _ in range(4)]
    first = Trainer(get_config("tiny"), device=CUDA, prior_seed=5)
    first.train_step(), first.train_step()
    first.save(tmp_path)
    resumed = Trainer.resume(tmp_path, CUDA)
    assert resumed.step == 2
    assert [resumed.train_step(), resumed.train_step()] == pytest.approx(losses[2:], rel=1e-5)


def test_pretrain_cli_on_cuda_checkpoints_and_records_hardware(tmp_path):
    from automl_hyper.cli import pretrain as pretrain_cli

    parser = argparse.ArgumentParser()
    pretrain_cli.add_arguments(parser)
    args = parser.parse_args(
        ["--config", "tiny", "--device", "cuda", "--max-steps", "3", "--no-mlflow"]
        + ["--out", str(tmp_path / "run"), "--batch-size", "8", "--total-steps", "10"]
    )
    assert pretrain_cli.main(args) == 0
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True, map_location="cpu")
    assert state["step"] == 3 and state["tasks_seen"] == 24
    assert torch.cuda.get_device_name(0) in state["hardware"]
