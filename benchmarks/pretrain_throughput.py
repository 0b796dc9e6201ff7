"""Pretraining throughput: synthetic datasets per second, and the prior's share of step time.

python benchmarks/pretrain_throughput.py --config small --steps 30 --threads 1
"""

from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="small")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    import torch

    from automl_hyper.models.mothernet.configs import get_config
    from automl_hyper.models.mothernet.model import MotherNet, task_loss
    from automl_hyper.priors import sample_batch

    torch.set_num_threads(args.threads)
    cfg = get_config(args.config)
    device = torch.device(args.device)
    model = MotherNet(cfg.model).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    B = cfg.train.batch_size
    prior_s = step_s = 0.0
    tasks = 0
    for seed in range(args.steps + 2):
        t0 = time.perf_counter()
        batch = sample_batch(cfg.prior, B, seed, device)
        t1 = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = task_loss(model, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        t2 = time.perf_counter()
        if seed >= 2:  # warm-up steps excluded
            prior_s += t1 - t0
            step_s += t2 - t0
            tasks += B
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"config {args.config} ({n_params / 1e6:.2f}M params), batch {B}, device {device}, "
        f"threads {args.threads}"
    )
    print("| datasets/s | prior only datasets/s | prior share of step |")
    print(f"| {tasks / step_s:.1f} | {tasks / prior_s:.1f} | {prior_s / step_s:.1%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
