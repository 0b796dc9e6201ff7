"""An Optuna worker killed mid-trial (SIGKILL, no mocks): nothing completed is lost.

A study made by ``create_study(..., heartbeat_interval=1, grace_period=3, max_retry=2)``, on SQLite
and on PostgreSQL (tests/pg.py), three times each. A worker process (this file run as a script)
completes ``VICTIM_COMPLETES`` trials, starts another and blocks in it; once that trial's heartbeat
is in the storage the process gets ``os.kill(pid, SIGKILL)``. A second worker (the test process
itself, so that only the victim pays Python's imports) then runs the study to ``N_COMPLETE``
completed trials. Once the grace period has passed, the next trial it starts marks the dead trial
FAIL and the retry callback re-queues it; the worker runs it with the same parameters.

Timing is deterministic by construction: every trial sleeps ``TRIAL_SECONDS`` (1 s) and the
surviving worker starts after the kill, so its k-th trial starts at least k - 1 seconds after the
kill; it needs ``N_COMPLETE - VICTIM_COMPLETES`` = 6 trials, so its 5th starts at least 4 s after
the kill, when the dead trial's last heartbeat is older than the 3 s grace period even at SQLite's
one-second timestamp resolution. Being slower under load only helps. Waits poll, with generous
timeouts.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HEARTBEAT_S = 1
GRACE_S = 3
MAX_RETRY = 2
VICTIM_COMPLETES = 1
N_COMPLETE = 7
TRIAL_SECONDS = 1.0
STUDY = "faults"
_DB_NUMBERS = itertools.count()


def _study(url: str):
    from automl_hyper.integrations.optuna import create_study

    return create_study(
        STUDY,
        storage=url,
        heartbeat_interval=HEARTBEAT_S,
        grace_period=GRACE_S,
        max_retry=MAX_RETRY,
    )


def _objective(victim_marker: str | None):
    def objective(trial) -> float:
        x = trial.suggest_float("x", -5.0, 5.0)
        if victim_marker and trial.number >= VICTIM_COMPLETES:
            tmp = Path(victim_marker + ".tmp")
            tmp.write_text(
                json.dumps({"number": trial.number, "trial_id": trial._trial_id, "x": x})
            )
            tmp.replace(victim_marker)  # atomic: the test never reads half a file
            time.sleep(600)  # killed here
        time.sleep(TRIAL_SECONDS)
        return -((x - 1.0) ** 2)

    return objective


def _optimize(study, victim_marker: str | None, completed: list[dict]) -> None:
    import optuna

    def report(study, trial) -> None:  # what this worker saw completed, to compare with storage
        if trial.state == optuna.trial.TrialState.COMPLETE:
            completed.append({"number": trial.number, "value": trial.value})
            if victim_marker:
                print(json.dumps(completed[-1]), flush=True)

    study.optimize(
        _objective(victim_marker),
        callbacks=[
            report,
            optuna.study.MaxTrialsCallback(N_COMPLETE, states=(optuna.trial.TrialState.COMPLETE,)),
        ],
    )


def _wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(
                f"worker exited ({proc.returncode}) while waiting for {what}: "
                f"{proc.stderr.read()[-3000:]}"
            )
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _has_heartbeat(url: str, trial_id: int) -> bool:
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sqlalchemy.text("SELECT COUNT(*) FROM trial_heartbeats WHERE trial_id = :t"),
                {"t": trial_id},
            ).scalar_one()
    finally:
        engine.dispose()
    return rows > 0


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'optuna.db'}"
    server = request.getfixturevalue("postgres")
    return server.create_database(f"faults_{next(_DB_NUMBERS)}")


@pytest.mark.parametrize("repetition", range(3))
def test_killed_worker_trial_fails_is_retried_and_nothing_completed_is_lost(
    storage_url, tmp_path, repetition
):
    import optuna

    study = _study(storage_url)  # the study and its tables exist before the victim starts
    marker = tmp_path / f"victim-{repetition}.json"
    victim = subprocess.Popen(
        [sys.executable, __file__, storage_url, str(marker)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"},
    )
    try:
        _wait_for(marker.exists, 300, "the victim's trial to start", victim)
        dead = json.loads(marker.read_text())
        _wait_for(
            lambda: _has_heartbeat(storage_url, dead["trial_id"]), 60, "its heartbeat", victim
        )
        os.kill(victim.pid, signal.SIGKILL)
        victim_out, _ = victim.communicate(timeout=60)
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()
    assert victim.returncode == -signal.SIGKILL
    completed = [json.loads(line) for line in victim_out.splitlines() if line.startswith("{")]
    assert len(completed) == VICTIM_COMPLETES

    _optimize(study, None, completed)  # the surviving worker

    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    states = {n: t.state for n, t in trials.items()}
    # The dead trial was marked failed, never completed.
    assert states[dead["number"]] == optuna.trial.TrialState.FAIL
    # Its retry ran once, with the same parameters, and completed.
    retries = [t for t in trials.values() if t.system_attrs.get("failed_trial") == dead["number"]]
    assert len(retries) == 1, retries
    assert retries[0].state == optuna.trial.TrialState.COMPLETE
    assert retries[0].params == {"x": dead["x"]}
    # Nothing is left running or waiting, and the study reached its count.
    unfinished = (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)
    assert not [n for n, s in states.items() if s in unfinished]
    complete = {n for n, s in states.items() if s == optuna.trial.TrialState.COMPLETE}
    assert len(complete) == N_COMPLETE
    # Every trial a worker (the killed one included) completed is recorded once, with its value.
    assert sorted(r["number"] for r in completed) == sorted(complete)
    for r in completed:
        assert trials[r["number"]].value == r["value"]
    assert study.best_value == max(trials[n].value for n in complete)


if __name__ == "__main__":  # the victim worker: URL MARKER
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    _optimize(_study(sys.argv[1]), sys.argv[2], [])
