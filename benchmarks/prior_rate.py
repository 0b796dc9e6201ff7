"""Prior-only throughput: synthetic tasks/s of named configs' priors, timed interleaved.

    python benchmarks/prior_rate.py small-cont small-v2-tree small-v2 [--batches 12]

Each batch (16 tasks, rows drawn as in pretraining) is timed alone; configs alternate batch by
batch so that load from other jobs on a shared machine falls on all of them alike.
"""

from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="+")
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    import torch

    from automl_hyper.models.mothernet.configs import get_config
    from automl_hyper.priors import sample_batch

    torch.set_num_threads(1)
    priors = {name: get_config(name).prior for name in args.configs}
    seconds = dict.fromkeys(priors, 0.0)
    for i in range(args.batches):
        for name, prior in priors.items():
            t0 = time.perf_counter()
            sample_batch(prior, args.batch_size, 1000 + i, args.device)
            seconds[name] += time.perf_counter() - t0
    tasks = args.batches * args.batch_size
    print("| config | prior-only tasks/s |")
    print("|---|---|")
    for name, s in seconds.items():
        print(f"| {name} | {tasks / s:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
