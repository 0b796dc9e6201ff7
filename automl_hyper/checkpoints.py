"""Verified checkpoint files, shared by every shipped model (MotherNet, the UNF predictor).

The rules: a checkpoint is a ``state_dict`` written with ``torch.save`` and read with
``torch.load(weights_only=True)``; its sha256 is recorded either in
``automl_hyper/weights/MANIFEST.json`` (shipped files, keyed by name) or in a sidecar
``<file>.json`` next to a user's file; a file whose bytes do not match its recorded hash is
refused. Moved here from ``models/mothernet/registry.py`` so that one implementation serves all.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

MANIFEST = "MANIFEST.json"


class ChecksumError(RuntimeError):
    """A checkpoint's bytes do not match the sha256 recorded for it."""


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_dir() -> Path:
    return Path(str(resources.files("automl_hyper.weights")))


def read_manifest(directory: Path | None = None) -> dict:
    path = (directory or weights_dir()) / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {}


def entry_for(path: Path) -> dict | None:
    """The recorded metadata of a checkpoint file: sidecar JSON, else its directory's manifest."""
    sidecar = path.with_name(path.name + ".json")
    if sidecar.exists():
        return json.loads(sidecar.read_text())
    return read_manifest(path.parent).get(path.stem)


_VERIFIED: dict[tuple[str, int, int], str] = {}


def cached_sha256(path: Path) -> str:
    """sha256 of a file, recomputed whenever its size or modification time changes."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _VERIFIED:
        _VERIFIED[key] = sha256_of(path)
    return _VERIFIED[key]


def verify(path: Path, expected: str) -> str:
    actual = cached_sha256(path)
    if actual != expected:
        raise ChecksumError(
            f"checkpoint {path} has sha256 {actual} but {expected} is recorded for it: the file was "
            "modified or corrupted; refusing to load it"
        )
    return actual


def load_state(path: Path, expected_sha256: str) -> dict:
    """The verified ``state_dict`` of a checkpoint (CPU tensors, ``weights_only=True``)."""
    import torch

    verify(path, expected_sha256)
    return torch.load(path, map_location="cpu", weights_only=True)
