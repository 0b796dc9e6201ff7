"""``automl-hyper pretrain``: pretrain (or resume pretraining) the MotherNet hypernetwork.

Example: ``automl-hyper pretrain --config small --minutes 120 --out runs/mn --eval-data DIR``;
resume with ``automl-hyper pretrain --resume runs/mn --minutes 60 --out runs/mn``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from automl_hyper.cli.usage import UsageError


def init_weights(trainer, checkpoint: str) -> None:
    """Copy verified shipped weights into a fresh trainer's model (architectures must match) and
    record where they came from, so the new run's provenance includes the earlier training."""
    from automl_hyper.models.mothernet.registry import load_model

    model, meta = load_model(checkpoint)
    trainer.model.load_state_dict(model.state_dict())
    earlier = [dict(entry) for entry in meta.get("lineage", [])]
    earlier.append(
        {
            "source": str(checkpoint),
            "sha256": meta.get("sha256", ""),
            "config": (meta.get("config") or {}).get("name", ""),
            "steps": int(meta.get("steps", 0)),
            "synthetic_datasets_seen": int(meta.get("synthetic_datasets_seen", 0)),
            "train_wall_seconds": float(meta.get("train_wall_seconds", 0.0)),
            "hardware": meta.get("hardware", ""),
        }
    )
    trainer.lineage = earlier


def override_train(config, batch_size: int | None, total_steps: int | None):
    """The named config with ``--batch-size`` / ``--total-steps`` applied (fresh runs only; the
    result is what config.json records, so a resumed run keeps it)."""
    import dataclasses

    changes = {}
    if batch_size is not None:
        changes["batch_size"] = batch_size
    if total_steps is not None:
        changes["total_steps"] = total_steps
    if not changes:
        return config
    return dataclasses.replace(config, train=dataclasses.replace(config.train, **changes))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", default="small", help="named configuration (small, small-gpu, tiny, gpu)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="synthetic tasks per step (default: the config's; fresh runs only)",
    )
    parser.add_argument(
        "--total-steps",
        type=int,
        default=None,
        help="cosine schedule length (default: the config's; fresh runs only)",
    )
    parser.add_argument("--minutes", type=float, default=60.0, help="wall-clock budget of this run")
    parser.add_argument(
        "--max-steps", type=int, default=None, help="stop after this many steps (default: no limit)"
    )
    parser.add_argument("--resume", default=None, help="checkpoint file or run directory to resume")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--out", default="pretrain_run", help="directory for checkpoints")
    parser.add_argument("--seed", type=int, default=0, help="prior seed (fresh runs only)")
    parser.add_argument(
        "--init-from",
        default=None,
        help="fresh run starting from these weights (a shipped name such as mothernet-small, or a "
        "path; sha256-verified) with a new optimizer and schedule: continues pretraining when only "
        "the shipped checkpoint, not the full training state, is at hand",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)"
    )
    parser.add_argument(
        "--checkpoint-minutes",
        type=float,
        default=4.0,
        help="save the full training state (resumable) to OUT/checkpoint.pt this often",
    )
    parser.add_argument(
        "--checkpoint-steps",
        type=int,
        default=None,
        help="also save the full training state every this many steps (default: by time only)",
    )
    parser.add_argument(
        "--snapshot-minutes",
        type=float,
        default=20.0,
        help="also keep a numbered copy of the checkpoint this often",
    )
    parser.add_argument(
        "--eval-minutes",
        type=float,
        default=5.0,
        help="evaluate on held-out synthetic tasks (and --eval-data) this often",
    )
    parser.add_argument(
        "--eval-data",
        default=None,
        help="directory of CSVs (last column 'target') for real-data evaluation",
    )
    parser.add_argument("--tracking-uri", default="sqlite:///mlflow.db", help="MLflow tracking URI")
    parser.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")
    parser.add_argument("--log-every", type=int, default=50, help="steps between log lines")


class _NoTracking:
    def log(self, metrics: dict, step: int) -> None:
        pass

    def close(self) -> None:
        pass


def open_tracker(uri: str | None, trainer):
    """The MLflow pretraining tracker, or one that logs nothing (``--no-mlflow``, or MLflow not
    installed, as on a lent GPU machine: the log file still has every number)."""
    if uri is None:
        return _NoTracking()
    try:
        from automl_hyper.integrations.mlflow import PretrainingTracker
    except ImportError as err:
        print(f"warning: MLflow disabled: {err}", file=sys.stderr)
        return _NoTracking()
    return PretrainingTracker(uri, trainer)


def main(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from automl_hyper.models.mothernet.configs import get_config
    from automl_hyper.models.mothernet.evaluate import real_eval, synthetic_eval
    from automl_hyper.models.mothernet.pretrain import StopFlag, Trainer
    from automl_hyper.models.torch_utils import resolve_device

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True  # fp32 parts (loss, child) on tensor cores
        torch.backends.cudnn.allow_tf32 = True
    out = Path(args.out)
    if args.resume and (args.batch_size or args.total_steps):
        raise UsageError(
            "--batch-size/--total-steps apply to fresh runs; a resume keeps its config"
        )
    if args.resume:
        trainer = Trainer.resume(args.resume, device)
        print(f"resumed at step {trainer.step} ({trainer.tasks_seen} tasks seen)", flush=True)
    else:
        config = override_train(get_config(args.config), args.batch_size, args.total_steps)
        trainer = Trainer(config, device=device, prior_seed=args.seed)
        if args.init_from:
            init_weights(trainer, args.init_from)
            print(f"initialised from {args.init_from}", flush=True)
    n_params = sum(p.numel() for p in trainer.model.parameters())
    print(f"config {trainer.config.name}: {n_params / 1e6:.2f}M parameters on {device}", flush=True)
    tracker = open_tracker(None if args.no_mlflow else args.tracking_uri, trainer)

    def evaluate() -> dict:
        metrics = synthetic_eval(trainer.model, trainer.config.prior, device=device)
        if args.eval_data:
            metrics.update(real_eval(trainer.model, args.eval_data))
        tracker.log(metrics, trainer.step)
        summary = " ".join(f"{k}={v:.4f}" for k, v in metrics.items())
        print(f"eval step {trainer.step} tasks {trainer.tasks_seen}: {summary}", flush=True)
        return metrics

    start = time.monotonic()
    deadline = start + 60 * args.minutes
    last_ckpt = last_eval = last_snapshot = start
    window_loss, window_n, window_start, window_tasks = 0.0, 0, time.monotonic(), trainer.tasks_seen
    total = trainer.config.train.total_steps
    bar = tqdm(total=total, initial=trainer.step, mininterval=10, disable=not sys.stderr.isatty())
    if trainer.step == 0:
        evaluate()
    with StopFlag() as flag:
        while not flag.stop and time.monotonic() < deadline:
            if args.max_steps is not None and trainer.step >= args.max_steps:
                break
            t0 = time.monotonic()
            loss = trainer.train_step()
            trainer.train_seconds += time.monotonic() - t0
            window_loss += loss
            window_n += 1
            bar.update(1)
            now = time.monotonic()
            if trainer.step % args.log_every == 0:
                rate = (trainer.tasks_seen - window_tasks) / (now - window_start)
                lr = trainer.scheduler.get_last_lr()[0]
                metrics = {"train_loss": window_loss / window_n, "lr": lr, "datasets_per_s": rate}
                tracker.log(metrics, trainer.step)
                bar.set_postfix(loss=f"{metrics['train_loss']:.4f}", ds_s=f"{rate:.0f}")
                print(
                    f"step {trainer.step} tasks {trainer.tasks_seen} loss {metrics['train_loss']:.4f} "
                    f"lr {lr:.2e} datasets/s {rate:.1f}",
                    flush=True,
                )
                window_loss, window_n, window_start, window_tasks = 0.0, 0, now, trainer.tasks_seen
            if now - last_eval > 60 * args.eval_minutes:
                evaluate()
                last_eval = time.monotonic()
            every = args.checkpoint_steps
            if now - last_ckpt > 60 * args.checkpoint_minutes or (
                every and trainer.step % every == 0
            ):
                trainer.save(out)
                last_ckpt = time.monotonic()
            if now - last_snapshot > 60 * args.snapshot_minutes:
                trainer.save(out, f"checkpoint_step{trainer.step}.pt")
                last_snapshot = time.monotonic()
    bar.close()
    path = trainer.save(out)
    reason = "signal" if flag.stop else "budget"
    print(
        f"stopped ({reason}) at step {trainer.step}, {trainer.tasks_seen} tasks; saved {path}",
        flush=True,
    )
    if not flag.stop:
        evaluate()
    tracker.close()
    return 0
