"""Turn a pretraining checkpoint into a shipped one: fp16 weights, sha256, manifest entry.

    python -m automl_hyper.models.mothernet.ship --from RUN/checkpoint.pt [--eval-data DIR]

writes ``automl_hyper/weights/<name>.pt`` and its entry in ``automl_hyper/weights/MANIFEST.json``
(``--out DIR`` writes elsewhere; the entry is then also written beside the file as
``<name>.pt.json`` so ``MotherNetClassifier(checkpoint=DIR/<name>.pt)`` verifies it).
With ``--eval-data DIR --if-better`` it writes only when the estimator's mean AUC (default
ensemble, generation only, on the selection set ``automl_hyper.data.benchmark_sets.SELECTION_SET``
x ``SELECTION_SPLITS`` paper splits; never on the 30 reported CC18 datasets) beats the shipped
checkpoint's by more than ``--margin-se`` (default 1) standard errors of the per-dataset
differences (exit status 1 otherwise). The margin was fixed before the next candidate was seen:
cont5 shipped on +0.0004 at 0.8 SE, a gain the selection set cannot tell from noise.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from automl_hyper.models.mothernet.configs import recorded_real_share
from automl_hyper.models.mothernet.registry import DEFAULT_NAME, MANIFEST, sha256_of, weights_dir

MAX_BYTES = 30 * 1024 * 1024
DEFAULT_MARGIN_SE = 1.0


class NotBetter(Exception):
    """The candidate checkpoint does not beat the shipped one on the real-data evaluation."""


def ship(
    source: Path,
    out_dir: Path,
    name: str,
    eval_data: str | None = None,
    *,
    only_if_better: bool = False,
    margin_se: float = DEFAULT_MARGIN_SE,
) -> dict:
    source = Path(source)
    if source.is_dir():
        source = source / "checkpoint.pt"
    state = torch.load(source, map_location="cpu", weights_only=True)
    config = json.loads((source.parent / "config.json").read_text())
    weights = {k: v.half() if v.is_floating_point() else v for k, v in state["model"].items()}
    manifest_path = out_dir / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    lineage = json.loads(state.get("lineage", "[]"))
    entry = {
        "file": f"{name}.pt",
        "dtype": "float16",
        "config": config,
        "steps": int(state["step"]),
        "synthetic_datasets_seen": int(state["tasks_seen"]),
        "train_wall_seconds": round(float(state["train_seconds"]), 1),
        # Checkpoints written before the trainer recorded its hardware came from the CPU run.
        "hardware": state.get("hardware")
        or f"{platform.machine()} CPU x{os.cpu_count()} shared with other jobs "
        f"(torch threads 1, nice 15), torch {torch.__version__}",
        "prior_seed": int(state["prior_seed"]),
        # Earlier runs these weights were initialised from (--init-from), oldest first, and the
        # totals over the whole history.
        "lineage": lineage,
        "total_steps_all_runs": int(state["step"]) + sum(int(e["steps"]) for e in lineage),
        "total_synthetic_datasets_seen": int(state["tasks_seen"])
        + sum(int(e["synthetic_datasets_seen"]) for e in lineage),
        # The task counts above include tasks cut from real datasets (config "real": the
        # folder, the datasets' names, the share of the steps); this names that share.
        **({"real_tasks_share": share} if (share := recorded_real_share(config)) else {}),
        "source": str(source),
        "shipped_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    with tempfile.TemporaryDirectory() as tmp_dir:
        # Written (with its hash) to a temporary folder first, so the estimator can evaluate it.
        candidate = Path(tmp_dir) / entry["file"]
        torch.save(weights, candidate)
        entry["sha256"] = sha256_of(candidate)
        entry["bytes"] = candidate.stat().st_size
        if entry["bytes"] > MAX_BYTES:
            raise ValueError(f"checkpoint would be {entry['bytes']} bytes, over the 30 MB limit")
        (Path(tmp_dir) / f"{candidate.name}.json").write_text(json.dumps(entry))
        if eval_data:
            _evaluate(
                entry, candidate, manifest.get(name), out_dir, eval_data, only_if_better, margin_se
            )
        elif only_if_better:
            raise ValueError("--if-better needs --eval-data to compare checkpoints")
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / entry["file"]
        shutil.copyfile(candidate, target.with_suffix(".tmp"))
        os.replace(target.with_suffix(".tmp"), target)
    manifest[name] = entry
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    if out_dir.resolve() != weights_dir().resolve():
        (out_dir / f"{target.name}.json").write_text(json.dumps(entry, indent=1) + "\n")
    return entry


def beats_shipped(
    candidate: dict[str, float], shipped: dict[str, float], margin_se: float = DEFAULT_MARGIN_SE
) -> tuple[bool, str]:
    """The ship rule on two ``estimator_eval`` results: the mean of the paired per-dataset AUC
    differences must be positive and above ``margin_se`` standard errors of those differences
    (with one dataset there is no standard error, and strictly better is all it can show)."""
    names = sorted(k for k in candidate if k != "auc_mean" and k in shipped)
    if not names:
        raise ValueError("no dataset scored for both checkpoints; nothing to compare")
    diff = np.array([candidate[k] - shipped[k] for k in names])
    se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0
    better = bool(diff.mean() > 0 and diff.mean() > margin_se * se)
    summary = (
        f"mean AUC {np.mean([candidate[k] for k in names]):.4f} vs the shipped checkpoint's "
        f"{np.mean([shipped[k] for k in names]):.4f} over {len(names)} real datasets: "
        f"{diff.mean():+.4f} (SE {se:.4f}, better on {int((diff > 0).sum())}); the rule asks "
        f"for more than 0 and more than {margin_se:g} SE"
    )
    return better, summary


def _evaluate(
    entry, candidate, shipped, out_dir, eval_data, only_if_better, margin_se=DEFAULT_MARGIN_SE
) -> None:
    from automl_hyper.data.benchmark_sets import SELECTION_SET, SELECTION_SPLITS
    from automl_hyper.models.mothernet.evaluate import estimator_eval

    # The selection set only: the number the ship rule reads. (Entries shipped before 2026-12-05
    # also carry "eval_auc_generation_only", the pretraining curve's raw-model AUC on five of
    # the reported CC18 datasets; it decided nothing, and a report dataset has no place here.)
    wide = estimator_eval(candidate, eval_data, SELECTION_SET, SELECTION_SPLITS)
    entry["eval_auc_estimator_default"] = {k: round(v, 4) for k, v in wide.items()}
    if not only_if_better or shipped is None:
        return
    # Re-measured rather than read from the manifest: the estimator may have changed since the
    # shipped checkpoint's numbers were recorded, and only the same code on both is a fair test.
    previous = estimator_eval(out_dir / shipped["file"], eval_data, SELECTION_SET, SELECTION_SPLITS)
    better, summary = beats_shipped(wide, previous, margin_se)
    entry["ship_rule"] = summary
    if not better:
        raise NotBetter(f"{summary}; nothing written")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--from", dest="source", required=True, help="training checkpoint or run dir"
    )
    parser.add_argument("--out", default=None, help="directory (default: the package's weights/)")
    parser.add_argument("--name", default=DEFAULT_NAME)
    parser.add_argument("--eval-data", default=None, help="CSV directory for the real-data AUCs")
    parser.add_argument(
        "--if-better",
        action="store_true",
        help="write only if the real-data mean AUC beats the shipped checkpoint's",
    )
    parser.add_argument(
        "--margin-se",
        type=float,
        default=DEFAULT_MARGIN_SE,
        help="with --if-better: the gain must exceed this many standard errors of the "
        "per-dataset differences (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out) if args.out else weights_dir()
    try:
        entry = ship(
            Path(args.source),
            out,
            args.name,
            args.eval_data,
            only_if_better=args.if_better,
            margin_se=args.margin_se,
        )
    except NotBetter as err:
        print(err)
        return 1
    print(json.dumps({k: v for k, v in entry.items() if k != "config"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
