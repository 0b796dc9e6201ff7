"""``automl-hyper pretrain``: pretrain (or resume pretraining) the MotherNet hypernetwork.

Example: ``automl-hyper pretrain --config small --minutes 120 --out runs/mn --eval-data DIR``;
resume with ``automl-hyper pretrain --resume runs/mn --minutes 60 --out runs/mn``.
Data-parallel: ``--nproc N`` spawns N local processes, or run under ``torchrun`` (it sets
RANK/WORLD_SIZE/LOCAL_RANK); see docs/mothernet_pretraining.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from automl_hyper.cli.usage import UsageError


def init_weights(trainer, checkpoint: str) -> None:
    """Copy verified shipped weights into a fresh trainer's model and record where they came
    from, so the new run's provenance includes the earlier training. A larger architecture (more
    encoder layers, a wider decoder: ``grow.growth_problems``) is grown from them, starting at
    the same function; any other difference is refused."""
    from automl_hyper.models.mothernet.grow import grow
    from automl_hyper.models.mothernet.pretrain import lineage_entry
    from automl_hyper.models.mothernet.registry import load_model

    model, meta = load_model(checkpoint)
    target = trainer.model.config
    grown = model.config != target
    if grown:
        try:
            model = grow(model, target)
        except ValueError as exc:
            raise UsageError(f"--init-from {checkpoint}: {exc}") from None
        print(f"grown from {checkpoint} (same function, new capacity): {model.config}", flush=True)
    trainer.model.load_state_dict(model.state_dict())
    earlier = [dict(entry) for entry in meta.get("lineage", [])]
    entry = lineage_entry(str(checkpoint), meta)
    if grown:
        entry["grown_into"] = trainer.config.name
    earlier.append(entry)
    trainer.lineage = earlier


def override_train(
    config, batch_size: int | None, total_steps: int | None, lr: float | None = None
):
    """The named config with ``--batch-size`` / ``--total-steps`` / ``--lr`` applied (fresh runs
    only; the result is what config.json records, so a resumed run keeps it)."""
    import dataclasses

    changes = {}
    if batch_size is not None:
        changes["batch_size"] = batch_size
    if total_steps is not None:
        changes["total_steps"] = total_steps
    if lr is not None:
        if not lr > 0:
            raise UsageError(f"--lr must be positive, got {lr}")
        changes["lr"] = lr
    if not changes:
        return config
    return dataclasses.replace(config, train=dataclasses.replace(config.train, **changes))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        default="small",
        help="named configuration (small, small-gpu, large-v2, tiny, gpu, ...)",
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
    parser.add_argument(
        "--lr",
        type=float,
        default=None,
        help="peak learning rate of the schedule (default: the config's; fresh runs only)",
    )
    parser.add_argument(
        "--real-data",
        default=None,
        metavar="DIR",
        help="continue on tasks cut from real datasets too: a folder of <name>.csv files (target "
        "column 'target', CATEGORICAL.json); fresh runs only",
    )
    parser.add_argument(
        "--real-names",
        default=None,
        metavar="A,B,...",
        help="the datasets of --real-data to cut tasks from (keep out those the checkpoint is "
        "chosen or reported on, and their near-copies)",
    )
    parser.add_argument(
        "--real-share",
        type=float,
        default=None,
        help="share of the steps whose batch is real tasks (default 0.5 with --real-data)",
    )
    parser.add_argument(
        "--real-encoding",
        choices=("onehot", "mixed"),
        default=None,
        help="categoricals of a real task: one-hot (default), or one-hot or ordinal per task "
        "('mixed', as inference alternates them over members)",
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
    parser.add_argument(
        "--nproc",
        type=int,
        default=1,
        help="data-parallel processes on this machine (DDP: gloo on CPU, nccl on GPUs, one per "
        "GPU); the global --batch-size is split over them. Under torchrun, leave at 1",
    )
    parser.add_argument(
        "--seed-streams",
        type=int,
        default=None,
        help="draw each step's tasks as this many sub-batches (default: the number of processes; "
        "fresh runs only). A single process with --seed-streams N trains on the same tasks as N "
        "processes",
    )
    parser.add_argument(
        "--metrics-file",
        default=None,
        help="also append every logged metric as a JSON line (full precision) to this file",
    )


class _JsonLines:
    """Metrics as JSON lines: full precision, no MLflow needed (a lent machine, tests)."""

    def __init__(self, path: str, inner) -> None:
        self.path, self.inner = Path(path), inner

    def log(self, metrics: dict, step: int) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps({"step": step, **metrics}) + "\n")
        self.inner.log(metrics, step)

    def close(self) -> None:
        self.inner.close()


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


def global_config(args: argparse.Namespace):
    """The run's configuration: the resumed run's config.json, or the named one with overrides."""
    from automl_hyper.models.mothernet.configs import PretrainConfig, get_config
    from automl_hyper.models.mothernet.pretrain import CONFIG

    if args.resume:
        run = Path(args.resume)
        run = run if run.is_dir() else run.parent
        return PretrainConfig.from_dict(json.loads((run / CONFIG).read_text()))
    config = override_train(get_config(args.config), args.batch_size, args.total_steps, args.lr)
    return override_real(
        config, args.real_data, args.real_names, args.real_share, args.real_encoding
    )


def override_real(
    config,
    folder: str | None,
    names: str | None,
    share: float | None,
    encoding: str | None = None,
):
    """The config with ``--real-data DIR --real-names a,b --real-share P --real-encoding E``
    (fresh runs only; config.json records them, so a checkpoint says which real datasets it was
    trained on)."""
    import dataclasses

    from automl_hyper.models.mothernet.configs import RealDataConfig

    if folder is None and names is None and share is None and encoding is None:
        return config
    if not (folder and names):
        raise UsageError("--real-data and --real-names go together")
    listed = tuple(n.strip() for n in names.split(",") if n.strip())
    missing = [n for n in listed if not (Path(folder) / f"{n}.csv").exists()]
    if missing:
        raise UsageError(f"--real-names: no {', '.join(missing)} in {folder} (<name>.csv)")
    try:
        real = RealDataConfig(
            str(Path(folder).resolve()),
            listed,
            0.5 if share is None else share,
            encoding or "onehot",
        )
    except ValueError as err:
        raise UsageError(str(err)) from None
    return dataclasses.replace(config, real=real)


def _check_arguments(args: argparse.Namespace, world_size: int) -> None:
    from automl_hyper.models.mothernet.distributed import check_divisible

    fresh_only = (
        args.batch_size,
        args.total_steps,
        args.lr,
        args.seed_streams,
        args.real_data,
        args.real_names,
        args.real_share,
        args.real_encoding,
    )
    if args.resume and any(v is not None for v in fresh_only):
        raise UsageError(
            "--batch-size/--total-steps/--lr/--seed-streams/--real-data apply to fresh runs; a resume "
            "keeps its config"
        )
    if args.nproc < 1 or (args.seed_streams is not None and args.seed_streams < 1):
        raise UsageError("--nproc and --seed-streams must be at least 1")
    try:
        config = global_config(args)
    except (OSError, KeyError) as err:
        raise UsageError(f"cannot read the run's configuration: {err}") from None
    streams = args.seed_streams or world_size
    try:
        check_divisible(config.train.batch_size, world_size, 1 if args.resume else streams)
    except ValueError as err:
        raise UsageError(str(err)) from None


def main(args: argparse.Namespace) -> int:
    from automl_hyper.models.mothernet.distributed import World, launch

    world = World.from_env()
    if args.nproc > 1:
        if world.distributed:
            raise UsageError("--nproc spawns the processes itself: leave it at 1 under torchrun")
        _check_arguments(args, args.nproc)
        return launch(_spawned, args.nproc, (args,))
    _check_arguments(args, world.size)
    return run(args, world)


def _spawned(local_rank: int, nproc: int, port: int, args: argparse.Namespace) -> None:
    """One rank of ``--nproc``: a process spawned by torch.multiprocessing on this machine."""
    from automl_hyper.models.mothernet.distributed import World

    world = World(rank=local_rank, size=nproc, local_rank=local_rank)
    try:
        code = run(args, world, init_method=f"tcp://127.0.0.1:{port}")
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        code = 2
    if code:
        sys.exit(code)


def run(args: argparse.Namespace, world, init_method: str | None = None) -> int:
    """Train as rank ``world.rank`` of ``world.size`` (one process: the plain loop)."""
    import torch
    from tqdm import tqdm

    from automl_hyper.models.mothernet import distributed
    from automl_hyper.models.mothernet.evaluate import real_eval, synthetic_eval
    from automl_hyper.models.mothernet.pretrain import StopFlag, Trainer
    from automl_hyper.models.torch_utils import resolve_device

    if args.threads:
        torch.set_num_threads(args.threads)
    elif world.distributed:
        torch.set_num_threads(1)  # ranks share the CPU cores: one thread each
    device = resolve_device(args.device)
    if device.type == "cuda":
        if world.distributed:
            if world.local_rank >= torch.cuda.device_count():
                raise UsageError(
                    f"process {world.local_rank} on this machine has no GPU of its own "
                    f"({torch.cuda.device_count()} GPUs): one process per GPU"
                )
            device = torch.device("cuda", world.local_rank)  # one GPU per process
            torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True  # fp32 parts (loss, child) on tensor cores
        torch.backends.cudnn.allow_tf32 = True
    if world.distributed:
        distributed.init(world, device, init_method)
    main_rank = world.is_main
    say = print if main_rank else (lambda *a, **k: None)
    out = Path(args.out)
    if args.resume:
        trainer = Trainer.resume(args.resume, device, world)
        say(f"resumed at step {trainer.step} ({trainer.tasks_seen} tasks seen)", flush=True)
    else:
        config = global_config(args)
        streams = args.seed_streams or world.size
        trainer = Trainer(
            config, device=device, prior_seed=args.seed, world=world, seed_streams=streams
        )
        if args.init_from:
            init_weights(trainer, args.init_from)
            say(f"initialised from {args.init_from}", flush=True)
    n_params = sum(p.numel() for p in trainer.model.parameters())
    say(f"config {trainer.config.name}: {n_params / 1e6:.2f}M parameters on {device}", flush=True)
    if world.distributed:
        say(f"data-parallel: {trainer.hardware()}", flush=True)
    tracker = _NoTracking()
    if main_rank:  # rank 0 alone logs and checkpoints; the others hold the same state
        tracker = open_tracker(None if args.no_mlflow else args.tracking_uri, trainer)
        if args.metrics_file:
            tracker = _JsonLines(args.metrics_file, tracker)

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
    bar = tqdm(
        total=total,
        initial=trainer.step,
        mininterval=10,
        disable=not (main_rank and sys.stderr.isatty()),
    )
    if trainer.step == 0 and main_rank:
        evaluate()
    with StopFlag() as flag:
        # Every rank stops after the same step: the stop (a signal to any rank, or any rank's
        # clock past the budget) is agreed on in the all_reduce that averages each step's loss.
        _, signalled, timed_out = distributed.agree(
            world, device, 0.0, flag.stop, time.monotonic() >= deadline
        )
        while not (signalled or timed_out):
            if args.max_steps is not None and trainer.step >= args.max_steps:
                break
            t0 = time.monotonic()
            loss = trainer.train_step()
            trainer.train_seconds += time.monotonic() - t0
            loss, signalled, timed_out = distributed.agree(
                world, device, loss, flag.stop, time.monotonic() >= deadline
            )
            window_loss += loss
            window_n += 1
            bar.update(1)
            if not main_rank:
                continue
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
    if main_rank:
        path = trainer.save(out)
        reason = "signal" if signalled else "budget"
        print(
            f"stopped ({reason}) at step {trainer.step}, {trainer.tasks_seen} tasks; saved {path}",
            flush=True,
        )
        if not signalled:
            evaluate()
        tracker.close()
    distributed.shutdown(world)
    return 0
