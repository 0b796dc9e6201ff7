"""SMASH's time budget, counted in CPU seconds so that a busy machine slows a fit but does not
change what it learns.

A wall-clock limit made SMASH's result depend on the machine's load: at load ~9.5 on 2 cores every
fit of a 30 s limit stopped early and test AUC fell by up to 0.24 on one split against a refit at
load 2.5 (benchmarks/results/smash_defaults_cc18_5splits.md). Time the fitting thread is
descheduled does not count on a CPU clock.

Which CPU clock: with one torch thread (the estimators' default ``n_threads=1``) every operation
runs on the thread that calls ``fit``, so ``time.thread_time`` counts exactly the fit's work and
nothing else the process does (another thread's model, a progress bar, MLflow's logging). With
more torch threads the work is spread over torch's pool, which ``thread_time`` would miss, so
``time.process_time`` (all threads of the process) counts it instead.

An optional wall-clock limit is kept beside it for callers that must stop by a wall time
(AutoGluon's ``time_limit``); whichever clock runs out first ends the budget.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


def cpu_clock(n_threads: int | None) -> Callable[[], float]:
    """The CPU clock that counts a fit's work run with ``n_threads`` torch threads (see above)."""
    return time.thread_time if n_threads == 1 else time.process_time


class Budget:
    """Seconds left on a CPU clock and, optionally, on the wall clock, from construction on.

    ``cpu_seconds`` or ``wall_seconds`` None: that clock sets no limit."""

    def __init__(
        self,
        cpu_seconds: float | None,
        wall_seconds: float | None = None,
        clock: Callable[[], float] = time.thread_time,
    ) -> None:
        self.cpu_seconds, self.wall_seconds, self.clock = cpu_seconds, wall_seconds, clock
        self._cpu0, self._wall0 = clock(), time.perf_counter()

    def used(self) -> tuple[float, float]:
        """(CPU seconds, wall seconds) spent since the budget started."""
        return self.clock() - self._cpu0, time.perf_counter() - self._wall0

    def fraction_used(self) -> float:
        """The larger share spent of the two limits (0 where neither is set)."""
        cpu, wall = self.used()
        shares = [
            spent / limit if limit > 0 else math.inf
            for spent, limit in ((cpu, self.cpu_seconds), (wall, self.wall_seconds))
            if limit is not None
        ]
        return max(shares, default=0.0)

    def past(self) -> bool:
        return self.fraction_used() > 1.0

    def share(self, fraction: float, cap_cpu: float | None = None, floor: float = 0.05) -> Budget:
        """A budget starting now with ``fraction`` of what is left on each clock (at least
        ``floor`` seconds, so a phase always gets a step), its CPU seconds at most ``cap_cpu``."""
        cpu, wall = self.used()
        cpu_left = None if self.cpu_seconds is None else self.cpu_seconds - cpu
        wall_left = None if self.wall_seconds is None else self.wall_seconds - wall
        cpu_part = None if cpu_left is None else max(floor, fraction * cpu_left)
        if cap_cpu is not None:
            cpu_part = cap_cpu if cpu_part is None else min(cpu_part, cap_cpu)
        wall_part = None if wall_left is None else max(floor, fraction * wall_left)
        return Budget(cpu_part, wall_part, self.clock)


def passed(deadline: Budget | float | None) -> bool:
    """Whether ``deadline`` has run out: a Budget, or a ``time.perf_counter()`` value (wall)."""
    if deadline is None:
        return False
    if isinstance(deadline, Budget):
        return deadline.past()
    return time.perf_counter() > deadline
