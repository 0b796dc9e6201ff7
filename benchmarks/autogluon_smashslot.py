"""Compare two gbdt+ours runs of ``autogluon_uplift.py`` that differ only in SMASH's slot.

Pairs the runs' gbdt+ours rows on dataset x split (complete pairs only), prints the decision
rule of ``results/autogluon_uplift_selection_smashslot.md`` (mean of per-dataset differences
> 0 and > 1 SE; no dataset below noise), how often SMASH / XGBoost / CatBoost were fitted in each
run, SMASH's weight and fit time. With ``--gbdt`` (a CSV with gbdt rows, e.g. the committed
``autogluon_uplift_cc18_5splits.csv``) each run's uplift over those gbdt rows is added.

    python benchmarks/autogluon_smashslot.py --base A.csv --other B.csv [--gbdt C.csv]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from autogluon_uplift import below_noise, family_columns  # noqa: E402

IDX = ["dataset", "split"]


def arm_rows(path: Path, arm: str, splits: set[int] | None = None) -> pd.DataFrame:
    """A CSV's successful rows of ``arm``, the last one per dataset x split, on ``splits``."""
    t = pd.read_csv(path, keep_default_na=False, na_values=[""])
    t = t[(t["arm"] == arm) & t["auc"].notna()].drop_duplicates(IDX, keep="last")
    t = t.assign(split=t["split"].astype(int))
    return t if splits is None else t[t["split"].isin(splits)]


def ours_rows(path: Path, splits: set[int] | None = None) -> pd.DataFrame:
    """A CSV's successful gbdt+ours rows, one per dataset x split, with fitted-model flags."""
    t = arm_rows(path, "gbdt+ours", splits)
    fitted = t["models_fit"].astype(str).str.split(";")
    for model in ("CatBoost", "XGBoost"):
        t[f"fit_{model}"] = fitted.apply(lambda names, m=model: m in names)
    derived = pd.DataFrame(
        [family_columns(w, m) for w, m in zip(t["weights"], t["models_fit"])], index=t.index
    )
    t = pd.concat([t.drop(columns=derived.columns, errors="ignore"), derived], axis=1)
    return t.set_index(IDX)


def _mean_se(x: pd.Series) -> tuple[float, float]:
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else np.nan


def compare(base: pd.DataFrame, other: pd.DataFrame, names=("current", "candidate")) -> str:
    """Markdown: paired difference (other - base), the decision rule, fit counts."""
    common = base.index.intersection(other.index)
    a, b = base.loc[common], other.loc[common]
    gap = b["auc"] - a["auc"]
    noise = below_noise(gap)
    mean, se = _mean_se(noise["mean"])
    below = noise.index[noise["below_noise"]].tolist()
    adopt = mean > 0 and mean > se and not below
    na, nb = names
    lines = [
        f"{common.get_level_values('dataset').nunique()} datasets, {len(common)} complete "
        f"dataset x split pairs",
        "",
        f"| | {na} | {nb} |",
        "|---|---|---|",
        f"| mean test AUC | {a['auc'].mean():.4f} | {b['auc'].mean():.4f} |",
        f"| median fit s | {a['fit_s'].median():.1f} | {b['fit_s'].median():.1f} |",
    ]
    for col, label in (
        ("fit_smash", "SMASH fitted"),
        ("fit_XGBoost", "XGBoost fitted"),
        ("fit_CatBoost", "CatBoost fitted"),
    ):
        lines.append(f"| {label} | {int(a[col].sum())}/{len(a)} | {int(b[col].sum())}/{len(b)} |")
    lines += [
        f"| SMASH kept (weight > 0) | {(a['w_smash'] > 0).sum()}/{len(a)} "
        f"| {(b['w_smash'] > 0).sum()}/{len(b)} |",
        f"| SMASH mean weight | {a['w_smash'].mean():.3f} | {b['w_smash'].mean():.3f} |",
        f"| median load (1 min) | {a['load_avg_1m'].median():.1f} "
        f"| {b['load_avg_1m'].median():.1f} |",
        "",
        f"paired {nb} - {na} over dataset means: {mean:+.4f}, SE {se:.4f} (n={len(noise)}); "
        f"over runs: {gap.mean():+.4f}; better on {(gap > 0).sum()}, equal on "
        f"{(gap == 0).sum()}, worse on {(gap < 0).sum()} of {len(gap)}",
        f"datasets below noise (mean < -max(0.005, 2 SE)): {', '.join(below) or 'none'}",
        f"rule (mean > 0 and > 1 SE, none below noise): {'ADOPT' if adopt else 'keep current'}",
        "",
        f"| dataset | split | {na} | {nb} | {nb} - {na} | SMASH fit {na} / {nb} "
        f"| w smash {na} / {nb} | XGB fit {na} / {nb} | CAT fit {na} / {nb} |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    yn = {True: "y", False: "n"}
    for key in common:
        ra, rb = a.loc[key], b.loc[key]
        lines.append(
            f"| {key[0]} | {key[1]} | {ra['auc']:.4f} | {rb['auc']:.4f} | {gap[key]:+.4f} "
            f"| {yn[bool(ra['fit_smash'])]} / {yn[bool(rb['fit_smash'])]} "
            f"| {ra['w_smash']:.3f} / {rb['w_smash']:.3f} "
            f"| {yn[bool(ra['fit_XGBoost'])]} / {yn[bool(rb['fit_XGBoost'])]} "
            f"| {yn[bool(ra['fit_CatBoost'])]} / {yn[bool(rb['fit_CatBoost'])]} |"
        )
    lines += ["", "per dataset (mean over its complete pairs):", ""]
    lines += [
        "| dataset | n | mean diff | min diff | SE | below noise |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in noise.iterrows():
        lines.append(
            f"| {name} | {int(r['n'])} | {r['mean']:+.4f} | {r['min']:+.4f} | {r['se']:.4f} "
            f"| {'yes' if r['below_noise'] else ''} |"
        )
    return "\n".join(lines) + "\n"


def uplift(gbdt_csv: Path, runs: dict[str, pd.DataFrame], splits: set[int] | None) -> str:
    """Markdown: each run's gbdt+ours minus the gbdt rows of ``gbdt_csv``, on pairs common to all."""
    g = arm_rows(gbdt_csv, "gbdt", splits).set_index(IDX)["auc"]
    common = g.index
    for t in runs.values():
        common = common.intersection(t.index)
    lines = [
        f"uplift over the gbdt rows of `{gbdt_csv.name}` on {len(common)} complete "
        f"dataset x split pairs (mean gbdt AUC {g.loc[common].mean():.4f})",
        "",
        "| gbdt+ours run | mean AUC | uplift | SE | better / equal / worse | below noise |",
        "|---|---|---|---|---|---|",
    ]
    for name, t in runs.items():
        d = t.loc[common, "auc"] - g.loc[common]
        mean, se = _mean_se(d)
        noise = below_noise(d)
        below = ", ".join(noise.index[noise["below_noise"]]) or "none"
        lines.append(
            f"| {name} | {t.loc[common, 'auc'].mean():.4f} | {mean:+.4f} | {se:.4f} "
            f"| {(d > 0).sum()} / {(d == 0).sum()} / {(d < 0).sum()} | {below} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="CSV of the current setting")
    parser.add_argument("--other", required=True, help="CSV of the candidate")
    parser.add_argument("--names", default="current,candidate")
    parser.add_argument("--gbdt", default=None, help="CSV with the gbdt rows to pair with")
    parser.add_argument("--only-splits", default=None, help="comma list of split ids")
    args = parser.parse_args(argv)
    splits = {int(s) for s in args.only_splits.split(",")} if args.only_splits else None
    names = tuple(args.names.split(","))
    base = ours_rows(Path(args.base), splits)
    other = ours_rows(Path(args.other), splits)
    print(compare(base, other, names))
    if args.gbdt:
        print(uplift(Path(args.gbdt), dict(zip(names, (base, other))), splits))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
