"""Small torch helpers shared by the families."""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Iterator

import numpy as np
import torch
from sklearn.utils import check_random_state


def resolve_device(device: str | None) -> torch.device:
    """``"auto"``/None picks CUDA when available; otherwise the named device."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def seed_from(random_state) -> int:
    """An int seed from an sklearn-style random_state (None, int or RandomState)."""
    if isinstance(random_state, numbers.Integral):
        return int(random_state)
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


def derived_seed(base: int, index: int) -> int:
    """The ``index``-th seed derived from ``base`` (a SeedSequence draw below 2**31): independent
    streams for an ensemble's members or a search's refits, reproducible from ``base`` alone."""
    return int(np.random.SeedSequence([base % 2**32, index]).generate_state(1)[0] % 2**31)


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run a block with torch's global RNG seeded, restoring the caller's RNG state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def torch_threads(n: int = 1) -> Iterator[None]:
    """Limit torch's intra-op threads for a block, restoring the caller's setting afterwards.

    The families train small networks (batches of 64 rows, widths of a few hundred), which gain
    nothing from intra-op parallelism and lose a lot to it on a busy machine: INN on diabetes
    took 14.2 s with torch's default threads and 4.3 s with one, on 2 loaded cores.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def averaging_window(kept: int, multiple: float) -> tuple[int, int]:
    """Weight averaging after early stopping (SMASH's ``refit_average``, MotherNet's
    ``finetune_average``): the run on all rows lasts ``int(multiple * kept)`` epochs or steps and
    averages the weights after each of them from ceil(kept / 2) on. Returns (length, first)."""
    return int(multiple * kept), (kept + 1) // 2
