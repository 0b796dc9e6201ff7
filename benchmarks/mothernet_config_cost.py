"""CPU fit+predict cost of MotherNet model sizes, before any of them is trained (issue 13.3).

A larger pretraining config may ship only if ``MotherNetClassifier`` with it keeps fit+predict under
0.5 s for 1,000 training rows, default members, one thread. The cost does not depend on the
weights' values, so each size is timed with a randomly initialised model
(``MotherNetClassifier(checkpoint=MotherNet(ModelConfig(...)))``): estimator defaults, 1,000 rows
to fit on and 1,000 to predict, random numeric data of a few shapes, one torch and one BLAS thread,
median of ``--repeats`` fits after one warm-up fit. Parameters and the size of the fp16 weights
file are reported with it (a shipped checkpoint must stay under 30 MB; files brought back from the
lent GPU machine under 16 MiB each).

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/mothernet_config_cost.py \
        --out benchmarks/results/mothernet_config_cost.md
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from automl_hyper.models.mothernet import MotherNetClassifier
from automl_hyper.models.mothernet.configs import CONFIGS
from automl_hyper.models.mothernet.model import ModelConfig, MotherNet

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import markdown  # noqa: E402

BUDGET_S = 0.5
# (rows to fit, rows to predict, features, classes)
SHAPES = ((1000, 1000, 20, 2), (1000, 1000, 100, 2), (1000, 1000, 20, 10))


def candidates() -> dict[str, ModelConfig]:
    """The named configs' models plus sizes between the shipped one and ``gpu``."""
    out = {name: CONFIGS[name].model for name in ("small", "large-v2", "gpu") if name in CONFIGS}
    # The encoder (attention over the training rows) dominates the fit; the decoder runs once
    # per member, so a wider one costs little (``gpu`` against emb256-l6-dec512).
    out["emb192-l6"] = ModelConfig(embed_dim=192, n_layers=6, n_heads=6, ff_dim=384)
    out["emb256-l4"] = ModelConfig(embed_dim=256, n_layers=4, n_heads=8, ff_dim=512)
    out["emb256-l6-dec512"] = ModelConfig(embed_dim=256, n_layers=6, n_heads=8, ff_dim=512)
    out["emb128-l6-dec1024"] = ModelConfig(n_layers=6, decoder_hidden=1024)
    out["emb160-l5-dec1024"] = ModelConfig(
        embed_dim=160, n_layers=5, n_heads=5, ff_dim=320, decoder_hidden=1024
    )
    out["emb192-l4-dec1024"] = ModelConfig(
        embed_dim=192, n_layers=4, n_heads=6, ff_dim=384, decoder_hidden=1024
    )
    out["emb160-l5-dec1024-r64"] = ModelConfig(
        embed_dim=160, n_layers=5, n_heads=5, ff_dim=320, decoder_hidden=1024, rank=64
    )
    return out


def fp16_bytes(model: torch.nn.Module) -> int:
    buffer = io.BytesIO()
    torch.save({k: v.half() for k, v in model.state_dict().items()}, buffer)
    return buffer.tell()


def time_fit_predict(model: MotherNet, shape: tuple[int, int, int, int], repeats: int) -> float:
    n_fit, n_pred, d, k = shape
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.standard_normal((n_fit + n_pred, d)), columns=[f"c{i}" for i in range(d)])
    y = np.arange(n_fit + n_pred) % k
    rng.shuffle(y)
    X_fit, y_fit, X_pred = X.iloc[:n_fit], y[:n_fit], X.iloc[n_fit:]
    seconds = []
    for i in range(repeats + 1):  # the first is a warm-up (allocator, kernels)
        start = time.perf_counter()
        MotherNetClassifier(checkpoint=model, random_state=i).fit(X_fit, y_fit).predict_proba(
            X_pred
        )
        seconds.append(time.perf_counter() - start)
    return float(np.median(seconds[1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=None, help="candidate names")
    parser.add_argument("--out", type=Path, default=None, help="write the table here (markdown)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    rows = []
    for name, config in candidates().items():
        if args.only and name not in args.only:
            continue
        torch.manual_seed(0)
        model = MotherNet(config).eval()
        n_params = sum(p.numel() for p in model.parameters())
        times = [time_fit_predict(model, shape, args.repeats) for shape in SHAPES]
        row = {
            "model": name,
            "embed x layers (heads, ff)": f"{config.embed_dim} x {config.n_layers} "
            f"({config.n_heads}, {config.ff_dim})",
            "decoder / child hidden": f"{config.decoder_hidden} / {config.child_hidden}",
            "parameters (M)": round(n_params / 1e6, 2),
            "fp16 file (MB)": round(fp16_bytes(model) / 1e6, 1),
        }
        for shape, seconds in zip(SHAPES, times, strict=True):
            row[f"fit+predict s, {shape[2]} feat, {shape[3]} cls"] = round(seconds, 3)
        row[f"max <= {BUDGET_S} s"] = "yes" if max(times) <= BUDGET_S else "no"
        rows.append(row)
        print(row, flush=True)
    table = markdown(pd.DataFrame(rows))
    print(table)
    if args.out:
        header = (
            "# MotherNet model sizes: CPU fit+predict cost before training (issue 13.3)\n\n"
            f"Command: `OMP_NUM_THREADS=1 nice -n 5 python benchmarks/mothernet_config_cost.py "
            f"--out {args.out}` (torch {torch.__version__}, {os.cpu_count()} cores, one thread; "
            f"median of {args.repeats} fits after a warm-up; estimator defaults: 4 members, "
            "precision='auto'; 1,000 rows fitted, 1,000 predicted, random numeric data).\n\n"
        )
        args.out.write_text(header + table + "\n")


if __name__ == "__main__":
    main()
