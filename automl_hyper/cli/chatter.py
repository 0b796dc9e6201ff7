"""Keep the libraries' chatter (MLflow, alembic, Optuna, AutoGluon, warnings, native code) off the
terminal while a long job runs, so that its progress bar and results are all the user sees.

Redirects file descriptor 2 itself rather than Python's loggers: MLflow prints some messages with
``print`` to stderr, and native libraries (XGBoost, torch) write to the descriptor directly, so
only the descriptor catches everything. The caller gets a stream on the real terminal for its own
progress bar.

Our own warnings (``AutomlHyperWarning`` and its subclasses such as ``BadInputWarning``: unseen
categories, clipped values, a fallback or limit applied, a model not saved) are about the user's
data and results, not chatter:
:class:`WarningRelay` also prints them on the terminal, once per message per dataset and family,
while they and everything else still go to the log.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from automl_hyper.warning_types import AutomlHyperWarning


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


def own_warning_categories() -> tuple[type[Warning], ...]:
    """``AutomlHyperWarning`` and its subclasses (``BadInputWarning``, any added later)."""
    found: list[type[Warning]] = []
    stack: list[type[Warning]] = [AutomlHyperWarning]
    while stack:
        category = stack.pop()
        if category not in found:
            found.append(category)
            stack.extend(category.__subclasses__())
    return tuple(found)


def _ignored(category: type[Warning]) -> bool:
    """Whether the warning filters in force drop ``category`` wherever it is raised: the first
    filter that matches it for every message and module says "ignore"."""
    for action, message, cls, module, lineno in warnings.filters:
        if not issubclass(category, cls):
            continue
        anywhere = (message is None or message.pattern == "") and (
            module is None or module.pattern == ""
        )
        if anywhere and lineno == 0:
            return action == "ignore"
    return False


class WarningRelay:
    """Prints our own warnings on ``stream`` (None: this process's stdout, looked up when
    printing, so the relay works in benchmark worker processes too) once per message per label
    (dataset and family), and hands every warning on to where warnings went before (the log).

    Picklable: it travels to ``automl-hyper benchmark``'s worker processes inside the store."""

    def __init__(self, stream: TextIO | None = None, *, prefix: str = "") -> None:
        self.stream = stream
        self.prefix = prefix  # "\n" where a progress bar holds the current line
        self.seen: set[tuple[str, str, str]] = set()

    def __getstate__(self) -> dict[str, Any]:
        return {"stream": None, "prefix": self.prefix, "seen": set()}

    @contextlib.contextmanager
    def scope(self, label: str) -> Iterator[None]:
        """While the block runs, our warnings are shown (on the terminal and in the log) once
        per message under ``label``; other warnings follow the filters as before."""
        ours = own_warning_categories()
        # A class the user silenced (-W ignore::..., PYTHONWARNINGS) stays silent, also where
        # a parent class of it is relayed: decided on the user's filters before any is added,
        # applied parents first so that a subclass's own setting lands in front of its
        # parent's. "always": every occurrence reaches show(), which deduplicates.
        actions = {c: "ignore" if _ignored(c) else "always" for c in ours}
        with warnings.catch_warnings():
            for category in sorted(ours, key=lambda c: len(c.__mro__)):
                warnings.simplefilter(actions[category], category)
            before = warnings.showwarning
            passthrough = getattr(before, "relay_passthrough", before)  # not a relay twice

            def show(message, category, filename, lineno, file=None, line=None):
                if issubclass(category, AutomlHyperWarning):
                    key = (label, category.__name__, str(message))
                    if key in self.seen:
                        return
                    self.seen.add(key)
                    print(
                        f"{self.prefix}warning: [{label}] {category.__name__}: {message}",
                        file=self.stream or sys.stdout,
                        flush=True,
                    )
                passthrough(message, category, filename, lineno, file, line)

            show.relay_passthrough = passthrough
            warnings.showwarning = show
            yield


class RelayingTracker:
    """A ``run_comparison`` tracker that relays our warnings raised during each family's runs
    (and the champion's refit), labelled ``<dataset> <family>``; the rest is ``tracker``'s."""

    def __init__(self, tracker: Any, relay: WarningRelay, dataset: str) -> None:
        self.tracker, self.relay, self.dataset = tracker, relay, dataset

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or "tracker" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["tracker"], name)

    @contextlib.contextmanager
    def family_run(self, family: str, split: int, params: dict[str, Any]) -> Iterator[Any]:
        with self.relay.scope(f"{self.dataset} {family}"):
            with self.tracker.family_run(family, split, params) as run:
                yield run

    @contextlib.contextmanager
    def champion_run(self, family: str, params: dict[str, Any]) -> Iterator[Any]:
        with self.relay.scope(f"{self.dataset} {family}"):
            with self.tracker.champion_run(family, params) as run:
                yield run


class RelayingStore:
    """A benchmark store whose trackers are :class:`RelayingTracker`; the rest is ``store``'s."""

    def __init__(self, store: Any, relay: WarningRelay) -> None:
        self.store, self.relay = store, relay

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or "store" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["store"], name)

    @contextlib.contextmanager
    def tracker(self, plan: Any, dataset: str, **kwargs: Any) -> Iterator[RelayingTracker]:
        with self.store.tracker(plan, dataset, **kwargs) as tracker:
            yield RelayingTracker(tracker, self.relay, dataset)
