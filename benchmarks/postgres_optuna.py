"""One Optuna study, several worker processes: SQLite file against a local PostgreSQL server.

Each worker joins the study with ``create_study`` and runs ``--trials`` trials of a cheap objective
(a quadratic: the time is the storage's and the sampler's, not the model's), or with
``--objective logreg`` a 3-fold logistic regression (``make_objective``) on 200 rows of wdbc. The
workers import and connect first, then start together; the time is from that start to the last
worker's end. PostgreSQL is the throwaway server of tests/pg.py (initdb + pg_ctl on 127.0.0.1).

    python benchmarks/postgres_optuna.py --workers 4 --trials 50
    python benchmarks/postgres_optuna.py --workers 4 --trials 5 --objective logreg
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def worker(url: str, study_name: str, n_trials: int, objective: str, ready: str, go: str) -> None:
    import optuna

    from automl_hyper.integrations.optuna import create_study, make_objective

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = create_study(study_name, storage=url)
    if objective == "logreg":
        from sklearn.datasets import load_breast_cancer

        X, y = load_breast_cancer(return_X_y=True)
        func = make_objective("logreg", X[:200], y[:200], cv=3)
    else:

        def func(trial):
            x = trial.suggest_float("x", -5, 5)
            y = trial.suggest_float("y", -5, 5)
            return -((x - 1) ** 2) - (y + 2) ** 2

    Path(ready).touch()
    while not Path(go).exists():
        time.sleep(0.01)
    start, cpu = time.perf_counter(), time.process_time()
    study.optimize(func, n_trials=n_trials)
    elapsed = {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu}
    print(json.dumps(elapsed), flush=True)


def run(url: str, workers: int, trials: int, objective: str, folder: Path) -> dict:
    import optuna

    from automl_hyper.integrations.optuna import create_study

    name = f"bench-{objective}"
    create_study(name, storage=url)
    go = folder / f"go-{abs(hash(url))}"
    ready = [folder / f"ready-{abs(hash(url))}-{i}" for i in range(workers)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--worker",
                url,
                name,
                str(trials),
                objective,
                str(r),
                str(go),
            ],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for r in ready
    ]
    while not all(r.exists() for r in ready):
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("a worker died before starting")
        time.sleep(0.05)
    start = time.perf_counter()
    go.touch()
    per_worker = []
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"worker failed ({p.returncode})")
        per_worker.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.perf_counter() - start
    study = optuna.load_study(study_name=name, storage=url)
    trials_done = study.get_trials(deepcopy=False)
    numbers = sorted(t.number for t in trials_done)
    return {
        "wall_s": wall,
        "trials": len(trials_done),
        "unique_numbers": numbers == list(range(workers * trials)),
        "trials_per_s": len(trials_done) / wall,
        "worker_max_s": max(w["seconds"] for w in per_worker),
        "worker_cpu_s": sum(w["cpu"] for w in per_worker),
        "best": study.best_value,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--trials", type=int, default=50, help="trials per worker")
    parser.add_argument("--objective", choices=("quadratic", "logreg"), default="quadratic")
    parser.add_argument("--storages", default="sqlite,postgresql")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(HERE.parent / "tests"))
    import pg

    folder = Path(tempfile.mkdtemp(prefix="bench-optuna-"))
    rows = []
    server = None
    try:
        for storage in args.storages.split(","):
            if storage == "sqlite":
                url = f"sqlite:///{folder / 'optuna.db'}"
            else:
                server = server or pg.start_server()
                url = server.create_database(f"bench_{args.objective}")
            rows.append((storage, run(url, args.workers, args.trials, args.objective, folder)))
    finally:
        if server is not None:
            pg.stop_server(server)
    load = os.getloadavg()
    print(
        f"{args.workers} workers x {args.trials} trials, objective {args.objective}; "
        f"{os.cpu_count()} CPUs, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )
    print("(worker CPU s: the workers' own CPU time, summed; the PostgreSQL server's is not in it)")
    header = f"{'storage':<11}{'trials':>7}{'once':>6}{'wall s':>9}{'trials/s':>10}"
    print(header + f"{'worker CPU s':>14}{'best':>10}")
    for storage, r in rows:
        print(
            f"{storage:<11}{r['trials']:>7}{'yes' if r['unique_numbers'] else 'NO':>6}"
            f"{r['wall_s']:>9.2f}{r['trials_per_s']:>10.1f}{r['worker_cpu_s']:>14.1f}"
            f"{r['best']:>10.4f}"
        )
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _, _, url, name, n, objective, ready, go = sys.argv
        worker(url, name, int(n), objective, ready, go)
    else:
        sys.exit(main())
