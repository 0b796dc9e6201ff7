"""Peak fit memory of MotherNet, INN and SMASH next to the AutoGluon estimate (zoo ag_memory).

Each case runs in a fresh process: the family is imported and fitted once on 40 rows (code and
weights loaded), then fitted on random data of the given shape; the peak RSS rise of that fit is
what ``ZooModel._estimate_memory_usage_static`` has to cover.

    nice -n 5 python benchmarks/autogluon_memory.py --out benchmarks/results/autogluon_memory.md
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

CASES = [(f, n, d) for f in ("mothernet", "inn", "smash") for n, d in ((1000, 20), (20000, 100))]
PARAMS = {
    "mothernet": {"finetune_steps": 10},
    "inn": {"max_epochs": 2},
    "smash": {"n_candidates": 50, "hyper_time_budget": 3.0, "time_limit": 15.0, "max_epochs": 3},
}

# argv: family, rows, columns, fit parameters (JSON), and optionally the fitted estimator's
# encoder attribute whose output width to report (benchmarks/smash_encoding_memory.py).
CHILD = """
import json, resource, sys, time, warnings
import numpy as np, pandas as pd, torch
torch.set_num_threads(1)
from automl_hyper import zoo
family, n, d, params = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
attr = sys.argv[5] if len(sys.argv) > 5 else None
rng = np.random.default_rng(0)
X = pd.DataFrame(rng.standard_normal((n, d)).astype(np.float32), columns=[f"c{i}" for i in range(d)])
y = (X.iloc[:, 0] + rng.standard_normal(n) > 0).astype(int)
warnings.simplefilter("ignore")
zoo.get(family).make("classification", **params).fit(X.iloc[:40], y.iloc[:40])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
start = time.perf_counter()
fitted = zoo.get(family).make("classification", **params).fit(X, y)
seconds = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
enc = getattr(fitted, attr, None) if attr else None
width = d if enc is None else int(enc.n_features_out_)
from automl_hyper.integrations.autogluon import model_class
est = model_class(family).estimate_memory_usage_static(X=X, y=y, hyperparameters=params)
print(json.dumps({"rise": after - before, "estimate": est, "width": width, "s": seconds}))
"""


def child_json(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter (so each peak RSS starts clean) with ``args`` and
    return the JSON object its last line prints."""
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/autogluon_memory.md")
    args = parser.parse_args(argv)
    rows = ["| family | rows x features | peak RSS rise (MiB) | AutoGluon estimate (MiB) |"]
    rows.append("|---|---|---|---|")
    for family, n, d in CASES:
        out = child_json(CHILD, family, str(n), str(d), json.dumps(PARAMS[family]))
        rows.append(
            f"| {family} | {n} x {d} | {out['rise'] / 2**20:.0f} | {out['estimate'] / 2**20:.0f} |"
        )
        print(rows[-1], flush=True)
    text = "\n".join(
        [
            "# Peak fit memory vs the AutoGluon estimate",
            "",
            "Command:",
            "",
            "    nice -n 5 python benchmarks/autogluon_memory.py " + " ".join(sys.argv[1:]),
            "",
            f"Fit parameters: {json.dumps(PARAMS)}. Random float data; rise of ru_maxrss over a",
            "process that already fitted the family on 40 rows (torch, code and weights loaded).",
            "",
            *rows,
            "",
        ]
    )
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
