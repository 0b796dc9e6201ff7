"""Data-parallel pretraining (issue 12.3): 2 CPU processes on gloo against one process.

Each step's tasks are drawn as ``seed_streams`` sub-batches from their own seeds (see
``distributed.py``), so one process with ``--seed-streams 2`` trains on exactly the tasks that
2 ranks split between them. DDP averages the ranks' gradients where one process accumulates
``0.5 * grad`` of each half: with 2 ranks both are exact in float32 (halving and a two-term sum
are order-free), and the measured per-step losses, weights and Adam moments were bitwise equal.
A one-stream run resumed on 2 ranks computes each half-batch's loss on its own (other float
reduction order): per-step losses then agreed to 1e-7 relative, weights to 3e-8, except in the
directions that get no gradient in exact arithmetic (``_free_directions``). Asserted: 1e-6
relative on losses, 1e-6 absolute on weights and Adam moments (free directions excluded), 1e-6
relative on the loss of a fixed batch.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from automl_hyper.models.mothernet.distributed import World, pieces

FIRST, STEPS = 4, 6


def _command(out: Path, *extra: str, resume: bool = False) -> list[str]:
    start = ["--resume", str(out)] if resume else ["--config", "tiny", "--seed", "3"]
    return ["pretrain", *start, "--out", str(out), "--log-every", "1", "--no-mlflow",
            "--eval-minutes", "1000", "--snapshot-minutes", "1000", "--minutes", "5",
            "--metrics-file", str(out) + ".jsonl", *extra]  # fmt: skip


def _cli(cmd: list[str]) -> int:
    """The CLI in this process (a process start costs more CPU than a tiny run)."""
    from automl_hyper.cli import main

    threads = torch.get_num_threads()
    try:
        return main(cmd)
    finally:
        torch.set_num_threads(threads)


def _env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _losses(out: Path) -> dict[int, float]:
    lines = [json.loads(line) for line in Path(str(out) + ".jsonl").read_text().splitlines()]
    return {m["step"]: m["train_loss"] for m in lines if "train_loss" in m}


def _state(out: Path) -> dict:
    return torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)


def _free_directions(name: str, value: torch.Tensor) -> torch.Tensor:
    """``value`` with the entries that get a zero gradient in exact arithmetic set to 0: the
    attention key bias (softmax over keys ignores a shift shared by all keys) and the class
    head's last bias (it shifts every class's output alike). Their float gradients are rounding
    noise, which Adam scales up to lr-sized steps, so they differ (by up to ~1e-3 after 7 steps)
    whenever the reduction order does, without changing any output."""
    value = value.clone()
    if value.dim() == 0:  # Adam's step count
        return value
    if name.endswith("self_attn.in_proj_bias"):
        third = value.shape[0] // 3
        value[third : 2 * third] = 0
    elif name == "class_head.2.bias":
        value.zero_()
    return value


def _assert_same_run(run: Path, reference: Path, steps: range) -> None:
    from automl_hyper.models.mothernet.model import task_loss
    from automl_hyper.models.mothernet.pretrain import Trainer
    from automl_hyper.priors import sample_batch

    got, want = _losses(run), _losses(reference)
    assert [got[s] for s in steps] == pytest.approx([want[s] for s in steps], rel=1e-6)
    a, b = _state(run), _state(reference)
    assert a["step"] == b["step"] and a["tasks_seen"] == b["tasks_seen"]
    assert a["seed_streams"] == b["seed_streams"]
    for name, value in b["model"].items():
        torch.testing.assert_close(
            _free_directions(name, a["model"][name]),
            _free_directions(name, value),
            rtol=0,
            atol=1e-6,
            msg=name,
        )
    # Adam's moments too: the optimizer state is the same on every rank, so rank 0's is global.
    trainers = [Trainer.resume(out, torch.device("cpu")) for out in (run, reference)]
    names = [name for name, _ in trainers[0].model.named_parameters()]
    for key, moments in b["optimizer"]["state"].items():
        for moment, value in moments.items():
            torch.testing.assert_close(
                _free_directions(names[key], a["optimizer"]["state"][key][moment]),
                _free_directions(names[key], value),
                rtol=0,
                atol=1e-6,
            )
    # And the function the weights compute: the loss on a fixed batch of 16 other tasks.
    batch = sample_batch(trainers[0].config.prior, 16, 12345)
    with torch.no_grad():
        losses = [float(task_loss(t.model.eval(), batch)) for t in trainers]
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """One process, global batch 4 drawn as 2 seed streams: checkpoints at FIRST and STEPS."""
    root = tmp_path_factory.mktemp("reference")
    out = root / "run"
    assert _cli(_command(out, "--seed-streams", "2", "--max-steps", str(FIRST))) == 0
    shutil.copytree(out, root / "at_first")
    shutil.copy(str(out) + ".jsonl", str(root / "at_first") + ".jsonl")
    assert _cli(_command(out, "--max-steps", str(STEPS), resume=True)) == 0
    return root


@pytest.mark.parametrize(("batch", "streams", "size"), [(4, 1, 1), (4, 2, 2), (4, 1, 2),
                                                        (4, 2, 1), (6, 2, 3), (12, 4, 3)])  # fmt: skip
def test_pieces_cover_the_global_batch_once(batch, streams, size):
    covered = []
    for rank in range(size):
        parts = pieces(batch, streams, World(rank=rank, size=size))
        # Each rank's weights sum to 1: DDP's mean over ranks is the mean over all tasks.
        assert sum(weight for *_, weight in parts) == pytest.approx(1.0)
        covered += [(shard, task) for shard, start, stop, _ in parts for task in range(start, stop)]
    shard_size = batch // streams
    assert sorted(covered) == [(s, t) for s in range(streams) for t in range(shard_size)]


def test_two_processes_follow_one_and_resume_on_one(reference, tmp_path):
    """2 ranks (spawned by --nproc) for FIRST steps, then 1 process: the reference's losses,
    weights and Adam state at every point."""
    run = tmp_path / "run"
    assert _cli(_command(run, "--nproc", "2", "--max-steps", str(FIRST))) == 0
    assert "2 DDP processes (gloo)" in _state(run)["hardware"]
    _assert_same_run(run, reference / "at_first", range(1, FIRST + 1))
    assert _cli(_command(run, "--max-steps", str(STEPS), resume=True)) == 0
    _assert_same_run(run, reference / "run", range(1, STEPS + 1))


def test_one_process_resumes_on_two_and_sigterm_stops_every_rank(tmp_path):
    """A single-stream run (the plain single-process default) resumed by 2 ranks (each draws the
    one shard and keeps its half), stopped by SIGTERM to the launcher: all ranks stop after the
    same step, rank 0 checkpoints, and the result is the single-process run of as many steps."""
    run = tmp_path / "run"
    assert _cli(_command(run, "--max-steps", str(FIRST))) == 0
    assert _state(run)["seed_streams"] == 1
    reference = tmp_path / "reference"
    shutil.copytree(run, reference)
    shutil.copy(str(run) + ".jsonl", str(reference) + ".jsonl")

    cmd = [sys.executable, "-m", "automl_hyper.cli"]
    cmd += _command(run, "--nproc", "2", "--max-steps", "200", resume=True)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=_env())  # fmt: skip
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("step ") and int(line.split()[1]) >= FIRST + 2:
                proc.send_signal(signal.SIGTERM)
                break
        lines += proc.stdout.readlines()
        assert proc.wait(timeout=120) == 0, "".join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert any(line.startswith("stopped (signal)") for line in lines), "".join(lines)
    stopped = _state(run)["step"]
    assert FIRST + 2 <= stopped < 200

    assert _cli(_command(reference, "--max-steps", str(stopped), resume=True)) == 0
    _assert_same_run(run, reference, range(1, stopped + 1))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun not on PATH")
def test_under_torchrun(reference, tmp_path):
    """``torchrun --nproc-per-node 2 -m automl_hyper.cli pretrain``: RANK/WORLD_SIZE from the
    environment, rendezvous on torchrun's free port; the same run as one process."""
    run = tmp_path / "run"
    cmd = ["torchrun", "--standalone", "--nproc-per-node", "2", "-m", "automl_hyper.cli"]
    cmd += _command(run, "--max-steps", str(FIRST))
    done = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    _assert_same_run(run, reference / "at_first", range(1, FIRST + 1))


def test_uneven_split_and_nproc_under_torchrun_are_usage_errors(tmp_path, capsys, monkeypatch):
    # The tiny config's global batch is 4: 3 processes would get unequal shares.
    assert _cli(_command(tmp_path / "a", "--nproc", "3")) == 2
    assert "does not split evenly over 3 processes" in capsys.readouterr().err
    assert _cli(_command(tmp_path / "b", "--batch-size", "6", "--seed-streams", "4")) == 2
    assert "4 seed streams" in capsys.readouterr().err
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert _cli(_command(tmp_path / "c", "--nproc", "2")) == 2
    assert "under torchrun" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "c").exists()
