"""Where this copy of automl-hyper comes from: its version, and its git commit when it runs from a
checkout. Recorded with registered models and printed by ``automl-hyper --version``."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import automl_hyper


def package_version() -> str:
    return automl_hyper.__version__


@functools.cache
def git_commit() -> str | None:
    """The checkout's commit (``+dirty`` when the package's files differ from it), or None when
    the package was not installed from a git checkout or git is missing."""
    root = Path(automl_hyper.__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        clean = subprocess.run(
            ["git", "-C", str(root), "diff", "--quiet", "HEAD", "--", "automl_hyper", "integrations"],
            capture_output=True, timeout=10,
        ).returncode == 0  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return head if clean else f"{head}+dirty"


def describe() -> str:
    """``0.1.0`` or ``0.1.0 (git 54e001a)``."""
    commit = git_commit()
    return package_version() + (
        f" (git {commit[:7]}{'+dirty' if commit.endswith('+dirty') else ''})" if commit else ""
    )
