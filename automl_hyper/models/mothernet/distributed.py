"""Data-parallel pretraining: process group, task split across ranks, agreed stopping, launcher.

The global batch of each step is drawn as ``seed_streams`` sub-batches ("shards"), shard ``k`` of
micro-step ``m`` from seed ``batch_seed(prior_seed, m * seed_streams + k)``. ``seed_streams`` is
fixed when a run starts (the world size then, 1 for a single process: exactly the old stream) and
kept in the checkpoint, so the tasks of a step do not depend on how many processes train it: each
rank takes its contiguous ``global / world_size`` tasks of that list. When the world size divides
the stream count (the usual case) each rank draws only its own shards; otherwise (say a
single-process run resumed on 2 ranks) a rank draws a whole shard and keeps its part.
"""

from __future__ import annotations

import datetime
import os
import signal
import socket
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (rank 0 of 1 when not distributed)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @classmethod
    def from_env(cls) -> World:
        """The world ``torchrun`` (or any launcher setting RANK/WORLD_SIZE/LOCAL_RANK) describes."""
        env = os.environ
        return cls(
            rank=int(env.get("RANK", 0)),
            size=int(env.get("WORLD_SIZE", 1)),
            local_rank=int(env.get("LOCAL_RANK", 0)),
        )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def init(world: World, device: torch.device, init_method: str | None = None) -> None:
    """Join the process group: nccl between GPUs, gloo on CPU. ``init_method`` None reads
    MASTER_ADDR/MASTER_PORT from the environment (torchrun sets them)."""
    backend = "nccl" if device.type == "cuda" else "gloo"
    # Rank 0 evaluates and checkpoints while the others wait in the next collective: allow for a
    # slow evaluation on real data before a rank gives up.
    dist.init_process_group(
        backend,
        init_method=init_method or "env://",
        rank=world.rank,
        world_size=world.size,
        timeout=datetime.timedelta(minutes=60),
    )


def shutdown(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.barrier()  # nobody leaves before rank 0 has written the last checkpoint
        dist.destroy_process_group()


def check_divisible(global_batch: int, world_size: int, seed_streams: int) -> None:
    """Refuse a split that would give ranks or shards unequal numbers of tasks."""
    if global_batch % world_size:
        raise ValueError(
            f"the global batch of {global_batch} tasks does not split evenly over {world_size} "
            f"processes: choose a --batch-size that is a multiple of {world_size}"
        )
    if global_batch % seed_streams:
        raise ValueError(
            f"the global batch of {global_batch} tasks does not split into {seed_streams} "
            "seed streams of equal size"
        )


def pieces(global_batch: int, seed_streams: int, world: World) -> list[tuple[int, int, int, float]]:
    """This rank's part of one micro-step's tasks as ``(shard, start, stop, weight)``: tasks
    ``start:stop`` of shard ``shard``; ``weight`` scales the piece's mean loss so that the mean
    over ranks (what DDP's gradient averaging computes) is the mean over the whole global batch.
    """
    shard_size = global_batch // seed_streams
    per_rank = global_batch // world.size
    lo, hi = world.rank * per_rank, (world.rank + 1) * per_rank
    out = []
    for shard in range(lo // shard_size, (hi - 1) // shard_size + 1):
        start = max(lo, shard * shard_size) - shard * shard_size
        stop = min(hi, (shard + 1) * shard_size) - shard * shard_size
        out.append((shard, start, stop, (stop - start) * world.size / global_batch))
    return out


def agree(world: World, device: torch.device, loss: float, signalled: bool, timed_out: bool):
    """The global batch's loss and whether any rank must stop (signal, or its clock past the
    budget): one all_reduce per step, so every rank leaves the loop after the same step."""
    if not world.distributed:
        return loss, signalled, timed_out
    buf = torch.tensor([loss, float(signalled), float(timed_out)], dtype=torch.float64)
    buf = buf.to(device)
    dist.all_reduce(buf)
    loss_sum, n_signalled, n_timed_out = buf.tolist()
    return loss_sum / world.size, n_signalled > 0, n_timed_out > 0


def launch(worker, nproc: int, args: tuple) -> int:
    """Run ``worker(local_rank, nproc, port, *args)`` in ``nproc`` spawned processes (one machine)
    and wait for them. SIGTERM/SIGINT here are passed on, so every rank checkpoints and stops;
    if one rank fails, torch.multiprocessing stops the others and the exit status is 1."""
    import torch.multiprocessing as mp

    port = free_port()
    context = mp.start_processes(
        worker, args=(nproc, port, *args), nprocs=nproc, join=False, start_method="spawn"
    )

    def forward(signum, frame) -> None:
        for process in context.processes:
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not context.join():
            pass
    except mp.ProcessExitedException as err:
        print(
            f"error: pretraining process {err.error_index} exited with {err.exit_code}",
            file=sys.stderr,
        )
        return err.exit_code if err.exit_code and err.exit_code > 0 else 1
    except mp.ProcessRaisedException as err:
        print(f"error: a pretraining process failed:\n{err}", file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
