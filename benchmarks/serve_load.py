"""Load test of a served model: a registered family model behind `mlflow models serve` on 127.0.0.1.

    python benchmarks/serve_load.py --workers 2 [--family mothernet] [--requests 2000]
        [--rows 20] [--concurrency 8] [--malformed 0.01] [--time-limit 300] [--output FILE]

Fits the family on wdbc (scikit-learn's breast_cancer, OpenML 1510), logs and registers it as
@champion in a throwaway SQLite store, serves it with ``serve_model(workers=...)`` (the same path
as the recipe: ``mlflow models serve --env-manager local``), then sends ``--requests`` POSTs of
``--rows`` rows each from ``--concurrency`` client threads over keep-alive connections; a share
``--malformed`` of them are bad on purpose (a missing column, text in a numeric column, broken
JSON), and must come back 4xx. The run stops by itself after ``--time-limit`` seconds whatever is
left. Prints and appends to ``--output``: the command, the machine's load, req/s, p50/p99
latency, and the counts of 2xx/4xx/5xx and connection errors (a malformed request answered 2xx,
or a good one answered 4xx, is counted as wrong).

Because req/s depends on what else the machine runs, it also states CPU per request, which does
not: the server's CPU seconds (every process of its group, from psutil) and the client's over
the run, divided by the requests; and ``--profile N`` in-process ``pyfunc.predict`` calls of
``--rows`` rows on the loaded model (CPU time, one thread), before serving.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shlex
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from sklearn.datasets import load_breast_cancer


def bodies(X, n: int, rows: int, malformed: float, seed: int) -> list[tuple[bytes, bool]]:
    """(request body, is_malformed) for every request, built before the clock starts."""
    rng = np.random.default_rng(seed)
    bad = set(rng.choice(n, size=round(n * malformed), replace=False).tolist())
    out = []
    for i in range(n):
        chunk = X.iloc[rng.choice(len(X), size=rows, replace=False)]
        split = json.loads(chunk.to_json(orient="split", index=False))
        if i in bad:
            kind = len([b for b in bad if b < i]) % 3
            if kind == 0:  # a column missing
                split["columns"] = split["columns"][1:]
                split["data"] = [r[1:] for r in split["data"]]
            elif kind == 1:  # text in a numeric column
                split["data"][0][0] = "not a number"
            else:  # broken JSON
                out.append((b'{"dataframe_split": {"columns": [', True))
                continue
        out.append((json.dumps({"dataframe_split": split}).encode(), i in bad))
    return out


def fire(url: str, work: list[tuple[bytes, bool]], concurrency: int, time_limit: float) -> dict:
    """Send every body from ``concurrency`` threads (one keep-alive connection each)."""
    target = urlparse(url)
    lock = threading.Lock()
    next_index = [0]
    results: list[tuple[float, int, bool]] = []  # (seconds, status or -1, malformed)
    deadline = time.monotonic() + time_limit

    def worker() -> None:
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        while time.monotonic() < deadline:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= len(work):
                break
            body, malformed = work[i]
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/invocations", body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                status = -1
                conn.close()
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            with lock:
                results.append((time.perf_counter() - t0, status, malformed))
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    lat = np.array([r[0] for r in results]) * 1000
    status = np.array([r[1] for r in results])
    malformed = np.array([r[2] for r in results])
    ok = (status >= 200) & (status < 300)
    c4 = (status >= 400) & (status < 500)
    return {
        "sent": len(results),
        "planned": len(work),
        "wall_s": wall,
        "req_s": len(results) / wall,
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
        "2xx": int(ok.sum()),
        "4xx": int(c4.sum()),
        "5xx": int((status >= 500).sum()),
        "errors": int((status == -1).sum()),
        "malformed_sent": int(malformed.sum()),
        "wrong": int((ok & malformed).sum() + (c4 & ~malformed).sum()),
        "stopped_by_time_limit": len(results) < len(work),
    }


def server_cpu_seconds(port: int) -> float:
    """CPU seconds (user + system) used so far by the model server: every process in the
    process group of the one listening on ``port`` (serve_model starts it in its own group)."""
    import psutil

    listening = {
        c.pid
        for c in psutil.net_connections(kind="tcp")
        if c.pid and c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN
    }
    groups = {os.getpgid(pid) for pid in listening}
    total = 0.0
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) in groups:
                times = proc.cpu_times()
                total += times.user + times.system
        except (psutil.Error, OSError):
            continue  # ended meanwhile
    return total


def profile_in_process(uri: str, X, rows: int, n: int, seed: int) -> dict:
    """CPU ms per call of the loaded pyfunc's predict on ``rows`` rows (as requests carry them),
    and of the serving object's predict_proba alone, over ``n`` calls."""
    import mlflow
    from mlflow.pyfunc.scoring_server import invocations

    from automl_hyper.integrations.mlflow import as_request_frame

    model = mlflow.pyfunc.load_model(uri)
    serving = model.unwrap_python_model().serving
    schema = model.metadata.get_input_schema()
    rng = np.random.default_rng(seed + 1)
    frames = [as_request_frame(X.iloc[rng.choice(len(X), rows, replace=False)]) for _ in range(n)]
    bodies = [
        json.dumps({"dataframe_split": json.loads(f.to_json(orient="split", index=False))})
        for f in frames
    ]
    calls = {
        # the server's whole answer but HTTP: JSON -> frame (cast per column), schema, predict, JSON
        "invocations": (lambda b: invocations(b, "application/json", model, schema), bodies),
        "pyfunc": (model.predict, frames),  # schema enforcement + our predict_frame
        "predict_proba": (serving.predict_proba, frames),  # the serving object alone
    }
    out = {}
    for name, (call, inputs) in calls.items():
        call(inputs[0])
        start = time.process_time()
        for item in inputs:
            call(item)
        out[name] = (time.process_time() - start) / n * 1000
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--family", default="mothernet")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="server processes")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--malformed", type=float, default=0.01)
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds of sending")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None, help="append the report to this file")
    parser.add_argument(
        "--profile", type=int, default=1000, help="in-process predict calls timed (0: none)"
    )
    args = parser.parse_args()
    output = Path(args.output).resolve() if args.output else None
    home = os.getcwd()

    from automl_hyper import zoo
    from automl_hyper.integrations.mlflow import configure_tracking, log_family_model, serve_model

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    y = y.map({0: "malignant", 1: "benign"})
    work = bodies(X, args.requests, args.rows, args.malformed, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # the store's artifacts (./mlruns) go to the throwaway folder too
        tracking = configure_tracking(f"sqlite:///{Path(tmp) / 'mlflow.db'}", experiment="load")
        model = zoo.get(args.family).make(random_state=0).fit(X, y)
        log_family_model(
            model, name=args.family, registered_model_name="wdbc", alias="champion",
            X_sample=X, family=args.family, quiet=True,
        )  # fmt: skip
        cpu = {}
        if args.profile:
            cpu = profile_in_process("models:/wdbc@champion", X, args.rows, args.profile, args.seed)
        with serve_model(
            "models:/wdbc@champion", tracking_uri=tracking, workers=args.workers, timeout=300
        ) as url:
            fire(url, work[:20], min(args.concurrency, 4), 60)  # warm every worker up
            port = urlparse(url).port
            load_before = os.getloadavg()
            server_before, client_before = server_cpu_seconds(port), time.process_time()
            result = fire(url, work, args.concurrency, args.time_limit)
            server_cpu = server_cpu_seconds(port) - server_before
            client_cpu = time.process_time() - client_before
            load_after = os.getloadavg()
        os.chdir(home)

    command = "python benchmarks/serve_load.py " + " ".join(map(shlex.quote, sys.argv[1:]))
    lines = [
        f"$ {command}",
        f"date {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; {os.cpu_count()} cores; load average "
        f"(1/5/15 min) before {' '.join(f'{v:.2f}' for v in load_before)}, after "
        f"{' '.join(f'{v:.2f}' for v in load_after)}",
        f"family {args.family} on wdbc, {args.workers} server worker(s), {result['planned']} "
        f"requests x {args.rows} rows, concurrency {args.concurrency}, "
        f"{result['malformed_sent']} malformed sent",
        f"sent {result['sent']} in {result['wall_s']:.1f} s"
        + (" (stopped by the time limit)" if result["stopped_by_time_limit"] else ""),
        f"req/s {result['req_s']:.1f}  p50 {result['p50_ms']:.1f} ms  p99 {result['p99_ms']:.1f} ms"
        f"  2xx {result['2xx']}  4xx {result['4xx']}  5xx {result['5xx']}  "
        f"connection errors {result['errors']}  wrong status {result['wrong']}",
        f"CPU per request: server {server_cpu / result['sent'] * 1000:.1f} ms (all its "
        f"processes), client {client_cpu / result['sent'] * 1000:.1f} ms; together they would cap "
        f"{os.cpu_count()} idle cores at "
        f"{os.cpu_count() / ((server_cpu + client_cpu) / result['sent']):.0f} req/s",
    ]
    if cpu:
        lines.append(
            f"in process ({args.profile} calls of {args.rows} rows, CPU per call): MLflow's "
            f"invocations {cpu['invocations']:.2f} ms, pyfunc.predict {cpu['pyfunc']:.2f} ms, "
            f"serving object's predict_proba {cpu['predict_proba']:.2f} ms"
        )
    report = "\n".join(lines)
    print(report)
    if output:
        with open(output, "a") as f:
            f.write(report + "\n\n")


if __name__ == "__main__":
    main()
