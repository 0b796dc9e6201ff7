"""Checkpoint registry: shipped weights, sha256 verification, and loading user checkpoints.

A shipped checkpoint is an fp16 ``state_dict`` saved with ``torch.save`` (loaded with
``weights_only=True``) plus an entry in ``automl_hyper/weights/MANIFEST.json`` that records its
sha256, model config and training provenance. A user's checkpoint ``my.pt`` written by
``python -m automl_hyper.models.mothernet.ship --from RUN/checkpoint.pt --out DIR`` has the same
entry next to it as ``my.pt.json``; its hash is verified the same way. A raw training checkpoint
(``checkpoint.pt`` with ``config.json`` beside it) has no recorded hash: it loads with a warning
giving the hash computed now, so that it can be pinned.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch

# The hashing and manifest rules are shared with every shipped model (see automl_hyper/checkpoints.py).
from automl_hyper.checkpoints import (  # noqa: F401 -- re-exported: ChecksumError, sha256_of, ...
    MANIFEST,
    ChecksumError,
    read_manifest,
    sha256_of,
    verify,
    weights_dir,
)
from automl_hyper.checkpoints import entry_for as _entry_for
from automl_hyper.models.mothernet.model import ModelConfig, MotherNet
from automl_hyper.warning_types import AutomlHyperWarning

DEFAULT_NAME = "mothernet-small"


def resolve(checkpoint: str | Path | None) -> Path:
    if checkpoint is None:
        entry = read_manifest().get(DEFAULT_NAME)
        if entry is None:
            raise FileNotFoundError(
                f"no shipped checkpoint {DEFAULT_NAME!r} in {weights_dir()}; pass checkpoint=PATH "
                "or ship one with `python -m automl_hyper.models.mothernet.ship`"
            )
        return weights_dir() / entry["file"]
    shipped = read_manifest().get(str(checkpoint))
    if shipped is not None:  # a shipped name such as "mothernet-small"
        return weights_dir() / shipped["file"]
    path = Path(checkpoint)
    if path.is_dir():
        path = path / "checkpoint.pt"
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    return path


_CACHE: dict[tuple[str, str], tuple[MotherNet, dict]] = {}


def load_model(checkpoint: str | Path | None = None) -> tuple[MotherNet, dict]:
    """A verified model in eval mode (float32, CPU) and its metadata; cached per path and hash."""
    path = resolve(checkpoint)
    entry = _entry_for(path)
    if entry is not None and "sha256" in entry:
        digest = verify(path, entry["sha256"])
        config = ModelConfig(**entry["config"]["model"])
        meta = dict(entry)
    else:
        config_file = path.parent / "config.json"
        if not config_file.exists():
            raise FileNotFoundError(
                f"{path} has no recorded sha256 and config (no {path.name}.json, no MANIFEST entry, "
                "no config.json beside it); convert it with `python -m "
                "automl_hyper.models.mothernet.ship --from PATH --out DIR`"
            )
        digest = sha256_of(path)
        warnings.warn(
            f"checkpoint {path} has no recorded sha256; loading it unverified (sha256 now: {digest})",
            AutomlHyperWarning,
            stacklevel=3,
        )
        config = ModelConfig(**json.loads(config_file.read_text())["model"])
        meta = {"file": path.name, "sha256": digest}
    key = (str(path.resolve()), digest)
    if key not in _CACHE:
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("model", state) if isinstance(state.get("model"), dict) else state
        model = MotherNet(config)
        try:
            model.load_state_dict({k: v.float() for k, v in state.items()})
        except RuntimeError as err:
            raise ValueError(
                f"checkpoint {path} does not fit this version's MotherNet architecture "
                f"(written by an older version?): {str(err).splitlines()[0]}"
            ) from None
        model.eval()
        _CACHE[key] = (model, meta)
    return _CACHE[key]
