"""A weight soup: the element-wise mean of MotherNet checkpoints that share a history.

Models trained onwards from one set of weights tend to stay in one basin of the loss, and the mean of
their weights often scores above each of them ("model soups", Wortsman et al. 2022; stochastic
weight averaging, Izmailov et al. 2018), at no inference cost. The ingredients are training
checkpoints (``RUN/checkpoint.pt`` with ``config.json``) or shipped weights (a manifest name such as
``mothernet-small``); they must have the same architecture and descend from one checkpoint (their
histories share an entry), or the mean has no reason to be a model at all.

The soup is written as a training checkpoint (``checkpoint.pt`` + ``config.json``), so ``ship``,
the estimator and ``prior_ablation.py`` read it as they read a run. It has no optimizer state (it
is not resumed; continue it with ``pretrain --init-from`` once shipped). Its lineage is the
ingredients' shared history followed by what each ingredient added to it, so a shipped entry's
totals count every training step once; ``config.json`` names the ingredients under ``"soup"``.

    python -m automl_hyper.models.mothernet.soup --from RUN_A --from RUN_B [--from mothernet-small] --out DIR
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from automl_hyper.checkpoints import load_state, read_manifest, sha256_of, weights_dir
from automl_hyper.models.mothernet.configs import recorded_real_share
from automl_hyper.models.mothernet.pretrain import CHECKPOINT, CONFIG, atomic_write, lineage_entry


def _ingredient(source: str) -> dict:
    """A checkpoint's weights (float32), config, prior seed and full history (its lineage plus an
    entry for itself, in ``init_weights``' format)."""
    shipped = read_manifest().get(source)
    if shipped is not None:
        weights = load_state(weights_dir() / shipped["file"], shipped["sha256"])  # verified
        own = lineage_entry(source, shipped)
        config, seed = shipped["config"], int(shipped["prior_seed"])
        lineage = shipped.get("lineage", [])
    else:
        path = Path(source)
        path = path / CHECKPOINT if path.is_dir() else path
        if not (path.exists() and (path.parent / CONFIG).exists()):
            raise FileNotFoundError(
                f"{source}: neither a shipped name nor a training checkpoint with {CONFIG} beside it"
            )
        state = torch.load(path, map_location="cpu", weights_only=True)
        config = json.loads((path.parent / CONFIG).read_text())
        weights, seed = state["model"], int(state["prior_seed"])
        lineage = json.loads(state.get("lineage", "[]"))
        figures = {
            "sha256": sha256_of(path),
            "config": config,
            "steps": state["step"],
            "synthetic_datasets_seen": state["tasks_seen"],
            "train_wall_seconds": state["train_seconds"],
            "hardware": state.get("hardware", ""),
        }
        if share := recorded_real_share(config):
            figures["real_tasks_share"] = share
        own = lineage_entry(str(path), figures)
    weights = {k: v.float() if v.is_floating_point() else v for k, v in weights.items()}
    return {
        "source": source,
        "weights": weights,
        "config": config,
        "prior_seed": seed,
        "history": [dict(e) for e in lineage] + [own],
    }


def _shared_prefix(histories: list[list[dict]]) -> int:
    """How many leading history entries all ingredients share (the same checkpoint hash)."""
    n = 0
    while all(len(h) > n for h in histories) and len({h[n]["sha256"] for h in histories}) == 1:
        n += 1
    return n


def make_soup(sources: list[str], out_dir: str | Path) -> Path:
    """Write the mean of ``sources``' weights to ``out_dir/checkpoint.pt`` (see the module doc)."""
    if len(sources) < 2:
        raise ValueError("a soup needs at least two checkpoints")
    parts = [_ingredient(s) for s in sources]
    first = parts[0]
    for part in parts[1:]:
        if part["config"]["model"] != first["config"]["model"]:
            raise ValueError(
                f"{part['source']} has another architecture than {first['source']}: "
                f"{part['config']['model']} vs {first['config']['model']}"
            )
    histories = [p["history"] for p in parts]
    if len({h[-1]["sha256"] for h in histories}) < len(histories):
        raise ValueError("the same checkpoint is named twice")
    shared = _shared_prefix(histories)
    if shared == 0:
        raise ValueError(
            "the checkpoints share no history (no common ancestor in their lineage): the mean of "
            "unrelated weights is not a model"
        )
    # The shared history once, then each ingredient's own steps after it.
    lineage = histories[0][:shared] + [e for h in histories for e in h[shared:]]
    mean = {
        k: torch.stack([p["weights"][k] for p in parts]).mean(0) if v.is_floating_point() else v
        for k, v in first["weights"].items()
    }
    state = {
        "model": mean,
        "step": 0,
        "tasks_seen": 0,
        "train_seconds": 0.0,
        "prior_seed": first["prior_seed"],
        "hardware": f"weight mean of {len(parts)} checkpoints (no training)",
        "lineage": json.dumps(lineage),
    }
    config = dict(first["config"])
    config["soup"] = [{"source": h[-1]["source"], "sha256": h[-1]["sha256"]} for h in histories]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(out_dir / CONFIG, lambda f: f.write(json.dumps(config, indent=1).encode()))
    atomic_write(out_dir / CHECKPOINT, lambda f: torch.save(state, f))
    return out_dir / CHECKPOINT


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--from",
        dest="sources",
        action="append",
        required=True,
        help="a training checkpoint (file or run directory) or a shipped name; repeat",
    )
    parser.add_argument("--out", required=True, help="directory for checkpoint.pt and config.json")
    args = parser.parse_args(argv)
    path = make_soup(args.sources, args.out)
    print(f"soup of {len(args.sources)} checkpoints written to {path}")


if __name__ == "__main__":
    main()
