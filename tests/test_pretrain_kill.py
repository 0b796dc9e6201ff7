"""Pretraining SIGKILLed at random moments resumes from a complete checkpoint (issue 11.1).

A real ``automl-hyper pretrain --config tiny`` subprocess checkpoints every step
(``--checkpoint-steps 1``, so kills often land inside a save), is SIGKILLed at 5 seeded random
moments and resumed each time. After every kill the checkpoint and config.json must load (never
torn), and the step never goes back. Resume is exact (per-batch prior seeds, RNG and optimizer
state in the checkpoint), so the killed run's final weights and loss on a fixed batch must equal
an uninterrupted run's of the same steps; tolerance 1e-6 on the loss (float32 noise; in
practice the two are identical).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

STEPS = 24
KILLS = 5


def _command(out: Path, resume: bool) -> list[str]:
    cmd = [sys.executable, "-m", "automl_hyper.cli", "pretrain"]
    cmd += ["--resume", str(out)] if resume else ["--config", "tiny", "--seed", "3"]
    return cmd + [
        "--out", str(out), "--max-steps", str(STEPS), "--checkpoint-steps", "1",
        "--log-every", "1", "--threads", "1", "--no-mlflow", "--minutes", "5",
        "--eval-minutes", "1000", "--snapshot-minutes", "1000",
    ]  # fmt: skip


def _cli(cmd: list[str]) -> int:
    from automl_hyper.cli import main

    return main(cmd[cmd.index("pretrain") :])


def _env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _checkpoint_step(out: Path) -> int:
    """The checkpoint's step; fails the test if it or config.json does not load."""
    json.loads((out / "config.json").read_text())
    state = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)
    return int(state["step"])


def _run_killed_at(out: Path, resume: bool, target: int, delay: float) -> None:
    """Start, wait until the process reports step >= target, wait ``delay`` s more, SIGKILL."""
    proc = subprocess.Popen(
        _command(out, resume),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
    )
    try:
        for line in proc.stdout:
            if line.startswith("step ") and int(line.split()[1]) >= target:
                break
        time.sleep(delay)  # the random moment inside the following step or save
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def _final_loss(out: Path) -> tuple[float, dict]:
    from automl_hyper.models.mothernet.pretrain import Trainer
    from automl_hyper.priors import sample_batch

    trainer = Trainer.resume(out, torch.device("cpu"))
    assert trainer.step == STEPS
    batch = sample_batch(trainer.config.prior, 8, 12345, torch.device("cpu"))
    from automl_hyper.models.mothernet.model import task_loss

    trainer.model.eval()
    with torch.no_grad():
        return float(task_loss(trainer.model, batch)), trainer.model.state_dict()


def test_pretraining_survives_sigkill_at_random_moments(tmp_path):
    rng = np.random.default_rng(11)
    killed = tmp_path / "killed"
    targets = np.sort(rng.choice(np.arange(2, STEPS - 2), size=KILLS, replace=False))
    last = 0
    for i, target in enumerate(targets):
        _run_killed_at(killed, resume=i > 0, target=int(target), delay=float(rng.uniform(0, 0.05)))
        step = _checkpoint_step(killed)  # loads: not torn
        assert last <= step <= STEPS
        last = step
    # The last resume and the uninterrupted run go through the same CLI entry point in this
    # process (a process start costs more CPU than the whole tiny run).
    threads = torch.get_num_threads()
    try:
        assert _cli(_command(killed, resume=True)) == 0
        assert _checkpoint_step(killed) == STEPS
        straight = tmp_path / "straight"
        assert _cli(_command(straight, resume=False)) == 0
    finally:
        torch.set_num_threads(threads)

    loss_killed, weights_killed = _final_loss(killed)
    loss_straight, weights_straight = _final_loss(straight)
    assert loss_killed == pytest.approx(loss_straight, abs=1e-6)
    for name, value in weights_straight.items():
        torch.testing.assert_close(weights_killed[name], value, rtol=0, atol=1e-6, msg=name)
