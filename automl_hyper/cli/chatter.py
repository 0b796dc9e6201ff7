"""Keep the libraries' chatter (MLflow, alembic, Optuna, AutoGluon, warnings, native code) off the
terminal while a long job runs, so that its progress bar and results are all the user sees.

Redirects file descriptor 2 itself rather than Python's loggers: MLflow prints some messages with
``print`` to stderr, and native libraries (XGBoost, torch) write to the descriptor directly, so
only the descriptor catches everything. The caller gets a stream on the real terminal for its own
progress bar.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


def default_log_path(job: str) -> Path:
    """``<tmp>/automl-hyper/<job>-<UTC time>.log``: out of the working folder, one per run."""
    import tempfile

    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return Path(tempfile.gettempdir()) / "automl-hyper" / f"{job}-{stamp}.log"


@contextlib.contextmanager
def stderr_to_file(path: Path) -> Iterator[TextIO]:
    """Send everything written to stderr into ``path`` (appended) until the block ends; yield a
    stream on the original stderr. Tracebacks raised out of the block reach the terminal, because
    the descriptor is restored before the exception propagates."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    terminal = os.fdopen(os.dup(saved), "w", buffering=1, encoding="utf-8", errors="replace")
    with open(path, "ab", buffering=0) as log:
        os.dup2(log.fileno(), 2)
        try:
            yield terminal
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            terminal.close()
