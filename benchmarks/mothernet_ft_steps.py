"""Adam steps and fit time of mothernet-ft settings, fitted back to back on each split.

The benchmark store has each setting's AUC and wall time, but not the work fine-tuning did: the
internal 80/20 split runs the full ``finetune_steps`` on every child, then the full-data child
runs the early-stopped count. This refits the benchmark protocol's splits (same seeds, same
parameters as ``automl-hyper benchmark --budget small``), the settings alternating on each split
so that they see the same machine load, and writes per fit: children, Adam steps, fit seconds, AUC.

    python benchmarks/mothernet_ft_steps.py --suite selection --splits 3 \
        --setting "" --setting "finetune_lr=0.003,finetune_steps=100" \
        --out benchmarks/results/mothernet_ft_selection2.steps.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from automl_hyper.benchmark import load_suite_dataset, resolve_suite
from automl_hyper.compare import evaluate, family_params
from automl_hyper.data.splits import paper_splits


def parse_setting(text: str) -> dict[str, float | int]:
    """``"finetune_lr=0.003,finetune_steps=100"`` -> overrides (ints stay ints); "" = defaults."""
    out: dict[str, float | int] = {}
    for item in filter(None, text.split(",")):
        key, value = item.split("=")
        out[key] = int(value) if value.isdigit() else float(value)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="selection")
    parser.add_argument("--data-dir", default="../shared/datasets")
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--setting", action="append", required=True, help="'' = defaults")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    suite = resolve_suite(args.suite, args.data_dir)
    rows = []
    for name in suite.datasets:
        data = load_suite_dataset(name, suite.data_dir)
        for split, (train, test) in enumerate(paper_splits(data.y, n_splits=args.splits, seed=0)):
            parts = (data.X.iloc[train], data.y.iloc[train], data.X.iloc[test], data.y.iloc[test])
            for text in args.setting:
                params = family_params("mothernet-ft", "small", split, parse_setting(text))
                record, est = evaluate("mothernet-ft", params, *parts)
                best = est.finetune_best_steps_
                rows.append(
                    {
                        "dataset": name,
                        "split": split,
                        "setting": text or "defaults",
                        "children": len(best),
                        # 80/20 split: the cap on every child; full data: the chosen count.
                        "adam_steps": len(best) * est.finetune_steps + sum(best),
                        "mean_best_step": sum(best) / max(len(best), 1),
                        "fit_s": record.fit_s,
                        "auc": record.auc,
                    }
                )
            print(name, split, flush=True)
        pd.DataFrame(rows).to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
