"""Ctrl-C that stops a long job cleanly: never in the middle of a tracking write, never lost.

Python raises KeyboardInterrupt wherever the main thread is when SIGINT arrives. Two places make
that harmful, both seen in ``compare``:

* inside a write to the tracking store: a SQLite transaction abandoned half-way keeps the
  database locked, so the runs cannot be ended KILLED afterwards ("database is locked");
* inside a callback from native code (XGBoost's data iterator, through ctypes): the exception
  cannot propagate, is printed as "Exception ignored on calling ctypes callback function" and
  lost, and the fit goes on.

:func:`ctrl_c_handling` (installed by the CLI around a job, main thread only) fixes both: code
inside :func:`deferred` (the MLflow tracker wraps each store call in it) gets its Ctrl-C when the
block ends, and a KeyboardInterrupt lost in a callback (it reaches ``sys.unraisablehook``) is
delivered again 0.1 s later. Native code that lost the exception often fails at once with an
error of its own (XGBoost: "Check failed: x.has_value()"); :func:`native_errors_after_ctrl_c`
turns such an error into the KeyboardInterrupt it stands for, so that a Ctrl-C is never recorded
as a failed fit. Without :func:`ctrl_c_handling`, :func:`deferred` changes nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator

_state = {"installed": False, "depth": 0, "pending": False, "swallowed": False}
# Guards "swallowed" between the main thread and the re-delivery timer: a swallowed Ctrl-C is
# either delivered again by the timer or taken by native_errors_after_ctrl_c, never both.
_lock = threading.Lock()


def _on_sigint(signum, frame) -> None:
    if _state["depth"] > 0:
        _state["pending"] = True  # raised when the deferred block ends
        return
    raise KeyboardInterrupt


def _redeliver() -> None:
    with _lock:
        if not _state["swallowed"]:
            return  # taken by native_errors_after_ctrl_c in the meantime
        _state["swallowed"] = False
        os.kill(os.getpid(), signal.SIGINT)


def _on_unraisable(previous):
    def hook(unraisable) -> None:
        previous(unraisable)
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            with _lock:
                _state["swallowed"] = True
            threading.Timer(0.1, _redeliver).start()

    return hook


def _take_swallowed() -> bool:
    """True (once) if a Ctrl-C that native code swallowed waits to be delivered again; the
    timer then no longer delivers it."""
    with _lock:
        taken, _state["swallowed"] = _state["swallowed"], False
    return taken


@contextlib.contextmanager
def native_errors_after_ctrl_c() -> Iterator[None]:
    """An exception that leaves the block while a swallowed Ctrl-C waits to be delivered again
    is that Ctrl-C's doing: KeyboardInterrupt is raised in its place (chained to it)."""
    try:
        yield
    except Exception as err:
        if _take_swallowed():
            raise KeyboardInterrupt from err
        raise


@contextlib.contextmanager
def ctrl_c_handling() -> Iterator[None]:
    """Within the block, Ctrl-C waits for :func:`deferred` blocks to end and is re-delivered when
    native code swallowed it. The previous SIGINT handler and unraisable hook come back after.

    A process that started with SIGINT ignored (``nohup``, or ``job &`` from a shell without job
    control, so that a Ctrl-C typed at the terminal is not meant for it) keeps ignoring it: the
    block then changes nothing."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        yield
        return
    previous_handler = signal.signal(signal.SIGINT, _on_sigint)
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _on_unraisable(previous_hook)
    _state.update(installed=True, depth=0, pending=False, swallowed=False)
    try:
        yield
    finally:
        _state.update(installed=False, depth=0, pending=False, swallowed=False)
        sys.unraisablehook = previous_hook
        signal.signal(signal.SIGINT, previous_handler)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """A block that Ctrl-C does not cut in two (under :func:`ctrl_c_handling`): a Ctrl-C that
    arrives inside raises KeyboardInterrupt when the outermost such block ends."""
    _state["depth"] += 1
    try:
        yield
    finally:
        _state["depth"] -= 1
        if _state["depth"] == 0 and _state["pending"] and _state["installed"]:
            _state["pending"] = False
            raise KeyboardInterrupt
