"""Fit-time ratios of INN settings, measured interleaved in one process (issue 13: INN defaults).

Benchmark runs of different settings run minutes apart on a shared machine, so their ``fit_s``
means mix in the load of their period. Here each dataset's split-0 training rows are fitted with
every setting in turn (order rotated per repeat), one torch thread, so that the ratio to the
baseline sees the same load. Parameters: the zoo's small budget, then each setting's overrides.

    python benchmarks/inn_retime.py --data-dir ../shared/datasets --datasets Satellite,phoneme \
        --setting base= --setting b32=batch_size=32 --repeats 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from automl_hyper import zoo
from automl_hyper.benchmark import load_suite_dataset
from automl_hyper.compare import family_params
from automl_hyper.data.splits import paper_splits


def parse_setting(text: str) -> tuple[str, dict[str, object]]:
    """``name=P=V,P=V`` -> (name, {P: V}); values as Python literals where they parse."""
    name, _, rest = text.partition("=")
    overrides: dict[str, object] = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        try:
            overrides[key] = int(value)
        except ValueError:
            try:
                overrides[key] = float(value)
            except ValueError:
                overrides[key] = value
    return name, overrides


def retime(
    data_dir: str, datasets: list[str], settings: dict[str, dict], repeats: int
) -> pd.DataFrame:
    """One row per fit: dataset, repeat, setting, fit_s, epochs."""
    rows = []
    names = list(settings)
    for dataset in datasets:
        data = load_suite_dataset(dataset, data_dir)
        train, _ = paper_splits(data.y, n_splits=1, seed=0)[0]
        X, y = data.X.iloc[train], data.y.iloc[train]
        for r in range(repeats):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                params = family_params("inn", "small", 0, settings[name])
                estimator = zoo.get("inn").make("classification", **params)
                start = time.perf_counter()
                estimator.fit(X, y)
                seconds = time.perf_counter() - start
                rows.append(
                    {
                        "dataset": dataset,
                        "repeat": r,
                        "setting": name,
                        "fit_s": seconds,
                        "epochs": estimator.n_epochs_,
                    }
                )
                print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--datasets", required=True, help="comma-separated")
    parser.add_argument("--setting", action="append", required=True, help="name=P=V,P=V")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", help="CSV of every fit")
    args = parser.parse_args(argv)
    settings = dict(parse_setting(s) for s in args.setting)
    frame = retime(args.data_dir, args.datasets.split(","), settings, args.repeats)
    per = frame.groupby(["dataset", "setting"]).fit_s.median().unstack()
    base = per[next(iter(settings))]
    ratios = per.div(base, axis=0)
    print(ratios.round(2).to_string())
    print("geometric mean ratio:", np.exp(np.log(ratios).mean()).round(2).to_dict())
    print("mean fit s ratio:", (per.mean() / base.mean()).round(2).to_dict())
    if args.out:
        frame.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
