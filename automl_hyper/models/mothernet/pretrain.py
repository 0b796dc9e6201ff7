"""The pretraining loop: resumable, time-boxed, checkpointing on a timer and on SIGTERM/SIGINT.

Exact resume: every batch is drawn from the prior with its own seed, ``prior_seed`` mixed with the
batch index, so a resumed run sees the same tasks an uninterrupted one would; the checkpoint holds
model, optimizer, scheduler, step and torch RNG states.

Data-parallel training (``world`` of several ranks, see ``distributed.py``) splits each step's
tasks over the ranks under DistributedDataParallel; the checkpoint holds only global state (step,
tasks seen, seed streams; DDP keeps the model and optimizer identical on every rank), so a run
resumes on any number of processes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import platform
import random
import signal
from dataclasses import dataclass, field
from pathlib import Path

import torch

from automl_hyper.models.mothernet import distributed
from automl_hyper.models.mothernet.configs import PretrainConfig
from automl_hyper.models.mothernet.model import MotherNet, task_loss
from automl_hyper.priors import sample_batch

CHECKPOINT = "checkpoint.pt"
CONFIG = "config.json"


def hardware_description(device: torch.device) -> str:
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        return f"{name} (bf16 autocast), torch {torch.__version__}"
    return (
        f"{platform.machine()} CPU x{os.cpu_count()}, torch threads {torch.get_num_threads()}, "
        f"torch {torch.__version__}"
    )


def batch_seed(prior_seed: int, batch_index: int) -> int:
    return prior_seed * 1_000_003 + batch_index


def lr_lambda_for(cfg) -> callable:
    def factor(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.total_steps - cfg.warmup_steps))
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


@dataclass
class Trainer:
    config: PretrainConfig
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    prior_seed: int = 0
    step: int = 0
    tasks_seen: int = 0
    train_seconds: float = 0.0
    mlflow_run_id: str | None = None
    # Where the starting weights came from (``--init-from``): earlier runs' steps, tasks and
    # hardware, so a shipped checkpoint's provenance covers its whole training history.
    lineage: list[dict] = field(default_factory=list)
    world: distributed.World = field(default_factory=distributed.World)
    # Sub-batches each step's global batch is drawn as (see distributed.py); fixed for a run.
    seed_streams: int = 1

    def __post_init__(self) -> None:
        distributed.check_divisible(
            self.config.train.batch_size, self.world.size, self.seed_streams
        )
        self._ddp = None
        self._real_source = None  # loaded at the first real-data batch
        torch.manual_seed(self.prior_seed)
        self.model = MotherNet(self.config.model).to(self.device)
        t = self.config.train
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=t.lr, weight_decay=t.weight_decay
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_lambda_for(t))

    # -- one optimizer step ---------------------------------------------------------------------
    def _forward_module(self) -> torch.nn.Module:
        """The model, wrapped in DDP on several ranks (lazily: after resume/--init-from loads)."""
        if not self.world.distributed:
            return self.model
        if self._ddp is None:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self._ddp = DistributedDataParallel(self.model, device_ids=ids)
        return self._ddp

    def _batch(self, size: int, seed: int):
        """The prior's batch for ``seed``, or (``config.real``'s share of the seeds, chosen by
        the seed, so a resumed run draws the same) one cut from the real datasets."""
        real = self.config.real
        if real.share > 0 and random.Random(seed).random() < real.share:
            if self._real_source is None:
                from automl_hyper.models.mothernet.real_tasks import RealTaskSource

                self._real_source = RealTaskSource(
                    real.folder, real.names, self.config.prior, real.encoding
                )
            return self._real_source.sample(size, seed).to(self.device)
        return sample_batch(self.config.prior, size, seed, self.device)

    def train_step(self) -> float:
        """One optimizer step; returns this rank's share of the loss (the loss itself on one
        process; on several, ``distributed.agree`` averages the shares into the global loss)."""
        t = self.config.train
        module = self._forward_module()
        self.optimizer.zero_grad(set_to_none=True)
        parts = distributed.pieces(t.batch_size, self.seed_streams, self.world)
        shard_size = t.batch_size // self.seed_streams
        total = 0.0
        n_backward = t.accumulation * len(parts)
        for micro in range(t.accumulation):
            index = self.step * t.accumulation + micro
            for j, (shard, start, stop, weight) in enumerate(parts):
                seed = batch_seed(self.prior_seed, index * self.seed_streams + shard)
                batch = self._batch(shard_size, seed)
                if stop - start < shard_size:
                    batch = _tasks(batch, start, stop)
                # DDP all-reduces gradients on the step's last backward only.
                last = micro * len(parts) + j == n_backward - 1
                sync = (
                    contextlib.nullcontext() if last or module is self.model else module.no_sync()
                )
                with sync:
                    with torch.autocast(
                        "cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda"
                    ):
                        loss = task_loss(module, batch)
                        if weight != 1.0:  # one process, one stream: the loss exactly as before
                            loss = loss * weight
                        loss = loss / t.accumulation
                    loss.backward()
                total += loss.item()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), t.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        self.tasks_seen += t.batch_size * t.accumulation
        return total

    # -- checkpoints ----------------------------------------------------------------------------
    def state(self) -> dict:
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "step": self.step,
            "tasks_seen": self.tasks_seen,
            "train_seconds": self.train_seconds,
            "prior_seed": self.prior_seed,
            "torch_rng": torch.get_rng_state(),
            "mlflow_run_id": self.mlflow_run_id or "",
            "hardware": self.hardware(),
            "lineage": json.dumps(self.lineage),
            # Global, not per-rank: a resume on another number of processes continues the same
            # tasks (global batch size is in config.json).
            "seed_streams": self.seed_streams,
        }
        if self.device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        return state

    def hardware(self) -> str:
        one = hardware_description(self.device)
        if not self.world.distributed:
            return one
        backend = "nccl" if self.device.type == "cuda" else "gloo"
        return f"{self.world.size} DDP processes ({backend}), each {one}"

    def save(self, out_dir: Path, name: str = CHECKPOINT) -> Path:
        """Write the checkpoint (and config.json) atomically: to a temporary file, flushed to
        disk (fsync), then renamed over the old one, so that a kill or power loss at any moment
        leaves either the previous complete file or the new complete file, never a torn one."""
        out_dir.mkdir(parents=True, exist_ok=True)
        config = json.dumps(self.config.to_dict(), indent=1)
        config_path = out_dir / CONFIG
        if not config_path.exists() or config_path.read_text() != config:
            atomic_write(config_path, lambda f: f.write(config.encode()))
        path = out_dir / name
        atomic_write(path, lambda f: torch.save(self.state(), f))
        return path

    @classmethod
    def resume(
        cls, path: str | Path, device: torch.device, world: distributed.World | None = None
    ) -> Trainer:
        path = Path(path)
        if path.is_dir():
            path = path / CHECKPOINT
        config = PretrainConfig.from_dict(json.loads((path.parent / CONFIG).read_text()))
        state = torch.load(path, map_location=device, weights_only=True)
        trainer = cls(
            config,
            device=device,
            prior_seed=int(state["prior_seed"]),
            world=world or distributed.World(),
            seed_streams=int(state.get("seed_streams", 1)),  # older checkpoints: one stream
        )
        trainer.model.load_state_dict(state["model"])
        trainer.optimizer.load_state_dict(state["optimizer"])
        trainer.scheduler.load_state_dict(state["scheduler"])
        trainer.step = int(state["step"])
        trainer.tasks_seen = int(state["tasks_seen"])
        trainer.train_seconds = float(state["train_seconds"])
        trainer.mlflow_run_id = state.get("mlflow_run_id") or None
        trainer.lineage = json.loads(state.get("lineage", "[]"))
        torch.set_rng_state(state["torch_rng"].cpu())
        if device.type == "cuda" and "cuda_rng" in state:
            torch.cuda.set_rng_state(state["cuda_rng"].cpu(), device)
        return trainer


def _tasks(batch, start: int, stop: int):
    """Tasks ``start:stop`` of a batch (they share its rows and split)."""
    return dataclasses.replace(
        batch,
        X=batch.X[start:stop],
        y=batch.y[start:stop],
        n_features=batch.n_features[start:stop],
        n_classes=batch.n_classes[start:stop],
    )


def lineage_entry(source: str, meta: dict) -> dict:
    """One earlier run in a checkpoint's lineage (``pretrain --init-from``, soups), from a shipped
    manifest entry or a training checkpoint's figures under the same keys."""
    return {
        "source": source,
        "sha256": meta.get("sha256", ""),
        "config": (meta.get("config") or {}).get("name", ""),
        "steps": int(meta.get("steps", 0)),
        "synthetic_datasets_seen": int(meta.get("synthetic_datasets_seen", 0)),
        "train_wall_seconds": float(meta.get("train_wall_seconds", 0.0)),
        "hardware": meta.get("hardware", ""),
        **({"real_tasks_share": meta["real_tasks_share"]} if "real_tasks_share" in meta else {}),
    }


def atomic_write(path: Path, write) -> None:
    """``write(file)`` into ``<path>.tmp``, fsync, ``os.replace`` onto ``path``, fsync the folder."""
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    with contextlib.suppress(OSError):  # the rename itself durable (not possible everywhere)
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class StopFlag:
    """Set by SIGTERM/SIGINT so the loop can checkpoint and exit cleanly."""

    def __init__(self) -> None:
        self.stop = False
        self._previous = {}

    def __enter__(self) -> StopFlag:
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.stop = True

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
