"""Adam steps and fit time of mothernet-ft settings, fitted back to back on each split.

The benchmark store has each setting's AUC and wall time, but not the work fine-tuning did: the
internal 80/20 split runs the full ``finetune_steps`` on every child, then the full-data child
runs the early-stopped count. This refits the benchmark protocol's splits (same seeds, same
parameters as ``automl-hyper benchmark --budget small``), the settings alternating on each split
so that they see the same machine load, and writes per fit: children, Adam steps, fit seconds, AUC.

    python benchmarks/mothernet_ft_steps.py --suite selection --splits 3 \
        --setting "" --setting "finetune_lr=0.003,finetune_steps=100" \
        --out benchmarks/results/mothernet_ft_selection2.steps.csv

Settings may name strings (``input_transform=power``) and ``None`` (``member_selection=None``).
``--out`` is resumed: datasets already in it are skipped. ``--shard k/n`` fits only the suite's
datasets k, k+n, k+2n, ... (two processes on two cores; every setting of a split still runs back
to back in one process). ``--summary`` prints the paired table of an existing ``--out`` (each
setting against the first one: mean AUC, gain, SE over datasets, fit and predict time; ``epochs``
in it is the Adam steps per fit) and fits nothing; with ``--xgboost RUNS_CSV`` (rows of setting
``xgboost-tuned``) it adds tuned XGBoost's median fit time over each setting's, on common splits.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from automl_hyper.benchmark import load_suite_dataset, resolve_suite
from automl_hyper.compare import evaluate, family_params
from automl_hyper.data.splits import paper_splits
from automl_hyper.models.torch_utils import averaging_window


def parse_setting(text: str) -> dict[str, float | int | str | None]:
    """``"finetune_lr=0.003,input_transform=power"`` -> overrides (ints stay ints, words stay
    strings, ``None`` is None); "" = defaults."""
    out: dict[str, float | int | str | None] = {}
    for item in filter(None, text.split(",")):
        key, value = item.split("=")
        if value == "None":
            out[key] = None
            continue
        try:
            out[key] = int(value) if value.isdigit() else float(value)
        except ValueError:
            out[key] = value
    return out


def shard(names: tuple[str, ...], spec: str | None) -> tuple[str, ...]:
    """``"k/n"`` -> the names at positions k, k+n, ...; None -> all."""
    if spec is None:
        return names
    k, n = map(int, spec.split("/"))
    if not 0 <= k < n:
        raise ValueError(f"--shard k/n needs 0 <= k < n, got {spec!r}")
    return names[k::n]


def xgboost_ratio(runs: pd.DataFrame, xgboost: pd.DataFrame) -> pd.Series:
    """Per setting: tuned XGBoost's median fit time / the setting's, on their common splits.
    ``xgboost``: rows of this script (column ``setting``) or a benchmark ``runs.csv`` (``family``)."""
    label = xgboost["setting" if "setting" in xgboost else "family"]
    xgb = xgboost[label == "xgboost-tuned"].set_index(["dataset", "split"]).fit_s
    out = {}
    for name, group in runs.groupby("setting"):
        g = group.set_index(["dataset", "split"]).fit_s
        common = g.index.intersection(xgb.index)
        out[name] = xgb.loc[common].median() / g.loc[common].median()
    return pd.Series(out)


def summary(path: Path, xgboost: Path | None = None, committed: Path | None = None) -> str:
    """Markdown table of ``path``: every setting paired with the first setting written; with
    ``committed`` (a benchmark ``runs.csv``), a second table of every setting against its
    ``xgboost-tuned`` rows on the same dataset x split."""
    from inn_defaults_table import against_committed, markdown, paired_table

    runs = pd.read_csv(path)
    runs["epochs"] = runs["adam_steps"]
    table = paired_table(runs, baseline=runs.setting.iloc[0])
    predict = runs.groupby("setting").predict_s.mean()
    table["predict_s"] = table.setting.map(predict)
    if xgboost is not None:
        table["xgb_median_ratio"] = table.setting.map(xgboost_ratio(runs, pd.read_csv(xgboost)))
    out = markdown(table.rename(columns={"epochs": "adam_steps"}))
    if committed is not None:
        out += "\n\n" + markdown(against_committed(runs, committed, ["xgboost-tuned"]))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="selection")
    parser.add_argument("--data-dir", default="../shared/datasets")
    parser.add_argument(
        "--datasets", help="comma list of datasets in --data-dir, instead of the suite's"
    )
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument(
        "--from-split", type=int, default=0, help="fit splits from this one (unseen splits only)"
    )
    parser.add_argument("--setting", action="append", default=[], help="'' = defaults")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--shard", help="k/n: only the suite's datasets k, k+n, ...")
    parser.add_argument("--summary", action="store_true", help="print the table of --out")
    parser.add_argument("--xgboost", type=Path, help="with --summary: runs with xgboost-tuned")
    parser.add_argument(
        "--committed", type=Path, help="with --summary: a benchmark runs.csv to pair AUCs with"
    )
    args = parser.parse_args(argv)
    if args.summary:
        print(summary(args.out, args.xgboost, args.committed))
        return
    suite = resolve_suite(args.suite, args.data_dir)
    rows = pd.read_csv(args.out).to_dict("records") if args.out.exists() else []
    done = {r["dataset"] for r in rows}
    names = tuple(args.datasets.split(",")) if args.datasets else suite.datasets
    for name in shard(names, args.shard):
        if name in done:
            continue
        data = load_suite_dataset(name, suite.data_dir)
        splits = paper_splits(data.y, n_splits=args.splits, seed=0)  # split i: seed (0, i)
        for split, (train, test) in enumerate(splits):
            if split < args.from_split:
                continue
            parts = (data.X.iloc[train], data.y.iloc[train], data.X.iloc[test], data.y.iloc[test])
            for text in args.setting:
                params = family_params("mothernet-ft", "small", split, parse_setting(text))
                record, est = evaluate("mothernet-ft", params, *parts)
                best = est.finetune_best_steps_
                # member_subsample: each child is tuned once, early-stopped on its member's
                # left-out rows (a tree's borrowing group child, rare, still splits: not counted).
                internal = 0 if getattr(est, "member_subsample", None) else 1
                # finetune_average: the full-data child runs a multiple of the chosen count.
                average = getattr(est, "finetune_average", None) or 1.0
                splits = getattr(est, "finetune_splits", 1)
                rows.append(
                    {
                        "dataset": name,
                        "split": split,
                        "setting": text or "defaults",
                        "children": len(best),
                        # 80/20 split: the cap on every child; full data: the chosen count.
                        # finetune_splits: one capped run per internal split.
                        "adam_steps": len(best) * est.finetune_steps * (splits if internal else 1)
                        + internal * sum(averaging_window(b, average)[0] for b in best),
                        "mean_best_step": sum(best) / max(len(best), 1),
                        "members": len(est.members_),
                        "fit_s": record.fit_s,
                        "predict_s": record.predict_s,
                        "checkpoint": (est.checkpoint_sha256_ or "")[:12],
                        "auc": record.auc,
                    }
                )
            print(name, split, flush=True)
        pd.DataFrame(rows).to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
