"""Quick faithfulness check of INN settings: INN's own deletion area, random order, bias spread.

The cheap part of ``benchmarks/inn_faithfulness.py`` (no KernelSHAP, no XGBoost): same datasets,
split, explained rows and masking (``automl_hyper.explain``), one INN per ``--variant`` (zoo
defaults at the ``small`` budget plus the variant's parameters). Lower deletion area = more
faithful; ``bias/w*x`` is the spread of the unattributed per-row bias over that of the summed
contributions (explain()'s ``bias`` column against the rest).

    nice -n 5 python benchmarks/inn_defaults_faithfulness.py \
        --variant old=bias_penalty=0 --variant new= --out benchmarks/results/inn_defaults_faithfulness
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from common import DATA_DIR
from inn_defaults_table import markdown
from inn_faithfulness import DEFAULT, explained_rows


def parse_variant(text: str) -> tuple[str, dict]:
    """``name=P=V,P=V`` -> (name, {P: V}); values parsed as int, float or kept as text."""
    name, _, rest = text.partition("=")
    params = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        for cast in (int, float):
            try:
                params[key] = cast(value)
                break
            except ValueError:
                continue
        else:
            params[key] = value
    return name, params


def run(names: list[str], variants: list[tuple[str, dict]], args) -> pd.DataFrame:
    from automl_hyper import zoo
    from automl_hyper.benchmark import load_suite_dataset
    from automl_hyper.compare import family_params
    from automl_hyper.data.splits import paper_splits
    from automl_hyper.explain import measure_inn

    rows = []
    for name in names:
        data = load_suite_dataset(name, str(args.data_dir))
        X, y = data.X, data.y
        train, test = paper_splits(y, 1, args.seed)[0]
        picked = explained_rows(y, test, args.rows, args.seed)
        for variant, extra in variants:
            params = {**family_params("inn", "small", args.seed), **extra}
            inn = zoo.get("inn").make(**params).fit(X.iloc[train], y.iloc[train])
            y_idx = np.searchsorted(inn.classes_, y.iloc[picked].to_numpy())
            found = measure_inn(
                inn, X.iloc[train], X.iloc[picked], y_idx, seed=args.seed, kernel=False
            )
            by = {r.explainer: r for r in found}
            own = by["inn"]
            rows.append(
                {
                    "dataset": name,
                    "variant": variant,
                    "auc_unmasked": float(own.curve[0]),
                    "own_area": own.area,
                    "random_area": by["random"].area,
                    "bias/w*x": own.extra["bias_std"] / own.extra["contrib_sum_std"],
                }
            )
            print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default=DEFAULT, help="NAME,NAME,...")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--rows", type=int, default=100, help="explained test rows per dataset")
    parser.add_argument("--variant", action="append", required=True, help="name=P=V,P=V")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="output path without suffix (.csv, .md)")
    args = parser.parse_args(argv)
    variants = [parse_variant(v) for v in args.variant]
    table = run(args.suite.split(","), variants, args)
    wide = table.pivot(index="dataset", columns="variant").swaplevel(axis=1).sort_index(axis=1)
    wide.loc["mean"] = wide.mean()
    wide.columns = [f"{v} {m}" for v, m in wide.columns]
    text = markdown(wide.reset_index())
    print(text)
    if args.out:
        table.to_csv(args.out.with_suffix(".csv"), index=False)
        command = "python benchmarks/inn_defaults_faithfulness.py " + " ".join(sys.argv[1:])
        args.out.with_suffix(".md").write_text(f"Command: `{command}`\n\n{text}\n")


if __name__ == "__main__":
    main()
