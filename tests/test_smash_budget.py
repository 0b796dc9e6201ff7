"""SMASH's time budget counts CPU seconds: time the fitting thread does not run does not count.

No timing asserts that a loaded machine could break: a sleeping thread uses (almost) no CPU,
and a fit's CPU time does not grow with the machine's load.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from conftest import SMASH_TINY
from sklearn.datasets import make_classification

from automl_hyper.models.smash import ArchSpec, SmashClassifier
from automl_hyper.models.smash.budget import Budget, cpu_clock, passed
from automl_hyper.models.smash.network import ArchNet
from automl_hyper.models.smash.search import Candidate, ensemble_members
from automl_hyper.models.smash.training import train_network

TINY = SMASH_TINY


def test_the_cpu_budget_does_not_run_while_the_thread_sleeps():
    cpu, wall = Budget(0.2, clock=time.thread_time), Budget(None, wall_seconds=0.2)
    time.sleep(0.5)
    assert not cpu.past() and cpu.used()[0] < 0.2
    assert wall.past() and passed(wall)
    assert not passed(None) and passed(time.perf_counter() - 1.0)  # a perf_counter deadline
    assert cpu_clock(1) is time.thread_time and cpu_clock(2) is time.process_time


def test_a_share_takes_part_of_what_is_left_on_each_clock():
    parent = Budget(10.0, wall_seconds=100.0)
    child = parent.share(0.5, cap_cpu=2.0)
    assert child.cpu_seconds == 2.0 and 49.0 < child.wall_seconds <= 50.0
    assert parent.share(0.5).cpu_seconds <= 5.0
    assert Budget(None).share(0.5, cap_cpu=3.0).cpu_seconds == 3.0  # hyper_time_budget alone
    spent = Budget(0.0)  # nothing left: a share of it is spent at once (floor 0)
    assert spent.past() and spent.share(0.5, floor=0.0).past()


class _Sleepy(torch.nn.Module):
    """A network whose every forward pass waits 10 ms, as if the machine were busy elsewhere."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(0.01)
        return self.net(x)


def _train_sleepy(deadline: Budget) -> tuple[int, str]:
    X, y = make_classification(40, 4, random_state=0)
    X, y = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)
    torch.manual_seed(0)
    net = _Sleepy(ArchNet(ArchSpec.plain((8,)), 4, 2))
    # 30 epochs x 2 forward passes x 10 ms: >= 0.6 s of wall time, a few ms of CPU.
    result = train_network(
        net,
        X,
        y,
        X,
        y,
        "classification",
        rng=np.random.default_rng(0),
        max_epochs=30,
        patience=1000,
        deadline=deadline,
    )
    return result.epochs, result.stopped_by


def test_waiting_stops_training_on_the_wall_clock_only():
    torch.optim.AdamW([torch.zeros(1, requires_grad=True)])  # pay torch._dynamo's import first
    assert _train_sleepy(Budget(2.0, clock=time.thread_time)) == (30, "max_epochs")
    epochs, stopped_by = _train_sleepy(Budget(None, wall_seconds=0.2))
    assert stopped_by == "time" and epochs < 30


def test_a_fit_sets_its_threads_and_restores_the_callers():
    X, y = make_classification(200, 6, random_state=0)
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        clf = SmashClassifier(**TINY, time_limit=60.0, wall_time_limit=600.0).fit(X, y)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)
    timings = clf.search_timings_
    assert 0 < timings["total_cpu_s"] and clf.n_threads == 1
    assert set(clf.search_results_.stopped_by.dropna()) <= {"patience", "max_epochs", "time"}


def _cand(name: str, real: float, epochs: int, stopped_by: str) -> Candidate:
    cand = Candidate(ArchSpec.plain((len(name) * 8,)), "sampled", 0.0, 1, real=real)
    cand.epochs, cand.stopped_by = epochs, stopped_by
    return cand


def test_members_cut_short_by_the_budget_leave_the_average():
    best = _cand("a", 0.9, 60, "patience")
    converged = _cand("bb", 0.8, 20, "patience")  # fewer epochs, but it stopped by itself
    cut = _cand("ccc", 0.85, 20, "time")  # a third of the winner's epochs when time ran out
    long_cut = _cand("dddd", 0.7, 45, "time")
    trained = [best, cut, converged, long_cut]
    assert ensemble_members(trained, best, 4) == trained
    assert ensemble_members(trained, best, 4, 0.5) == [best, converged, long_cut]
    assert ensemble_members(trained, best, 4, 0.8) == [best, converged]


def test_a_busy_neighbour_does_not_change_the_fit():
    # Two CPU-bound processes beside the fit (the machine's cores are shared): the fit runs slower
    # in wall time, but its CPU-second budget, and so its result, are the same.
    import subprocess
    import sys

    X, y = make_classification(300, 6, random_state=0)
    params = {**TINY, "max_epochs": 30, "time_limit": 20.0}
    quiet = SmashClassifier(**params).fit(X, y).predict_proba(X)
    spin = [sys.executable, "-c", "while True: pass"]
    busy = [subprocess.Popen(spin) for _ in range(2)]
    try:
        loaded = SmashClassifier(**params).fit(X, y).predict_proba(X)
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
    np.testing.assert_array_equal(quiet, loaded)


def test_the_autogluon_hooks_floor_budget_still_gives_a_fitted_model():
    # AutoGluon's hook passes at least 0.1 s (CPU and wall) when little of its limit is left: the
    # search then trains at least its best-ranked candidate for MIN_EPOCHS, and the model predicts.
    from automl_hyper.models.smash.training import MIN_EPOCHS

    X, y = make_classification(200, 6, random_state=0)
    params = {**TINY, "max_epochs": 100, "patience": 100, "random_state": 0}
    clf = SmashClassifier(**params, time_limit=0.1, wall_time_limit=0.1).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (200, 2) and np.allclose(proba.sum(axis=1), 1.0)
    trained = clf.search_results_.dropna(subset=["real_score"])
    assert len(trained) >= 1 and (trained["epochs"] >= MIN_EPOCHS).all()
