"""INN's explanations against SHAP: deletion curves and seconds per explained row.

Per dataset (one paper split, seed 0): INN (zoo defaults, ``small`` budget; also with the paper's
weight penalty 0.1) and tuned XGBoost (``small`` budget: 15 Optuna trials or 30 s) are fitted on
the training rows; ``--rows`` test rows (stratified, every class present) are explained by INN's
own ``w * x``, ``shap.KernelExplainer`` on the same INN, a random order, and ``shap.TreeExplainer``
on XGBoost (and a random order on XGBoost). See ``automl_hyper/explain.py`` for the masking.
Writes, after every dataset, benchmarks/results/inn_faithfulness.{csv,curves.csv,md,png}.

    nice -n 5 python benchmarks/inn_faithfulness.py
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA_DIR, ROOT, markdown  # noqa: E402

DEFAULT = (
    "diabetes,banknote-authentication,blood-transfusion-service-center,balance-scale,"
    "breast-w,vehicle,cmc,climate-model-simulation-crashes"
)
OUT = ROOT / "benchmarks" / "results" / "inn_faithfulness"
LABELS = {  # (model, explainer) -> column name in the tables
    ("inn", "inn"): "INN own",
    ("inn", "kernelshap"): "KernelSHAP on INN",
    ("inn", "random"): "random on INN",
    ("inn-l0.1", "inn"): "INN(l=0.1) own",
    ("inn-l0.1", "kernelshap"): "KernelSHAP on INN(l=0.1)",
    ("inn-l0.1", "random"): "random on INN(l=0.1)",
    ("xgboost-tuned", "treeshap"): "TreeSHAP on XGB",
    ("xgboost-tuned", "random"): "random on XGB",
}


def explained_rows(y: pd.Series, test: np.ndarray, n_rows: int, seed: int) -> np.ndarray:
    """``n_rows`` test rows, stratified with every class present (the paper-split allocation)."""
    from automl_hyper.data.splits import paper_splits

    picked = paper_splits(y.iloc[test], 1, seed, max_train=n_rows)[0][0]
    return test[picked]


def run_dataset(name: str, args) -> tuple[list[dict], list[dict]]:
    from automl_hyper import zoo
    from automl_hyper.benchmark import load_suite_dataset
    from automl_hyper.compare import family_params
    from automl_hyper.data.splits import paper_splits
    from automl_hyper.explain import measure_inn, measure_xgb

    data = load_suite_dataset(name, str(args.data_dir))
    X, y = data.X, data.y
    train, test = paper_splits(y, 1, args.seed)[0]
    rows = explained_rows(y, test, args.rows, args.seed)
    X_train, y_train, X_rows = X.iloc[train], y.iloc[train], X.iloc[rows]
    results, fit_s = [], {}
    for penalty in args.penalties:
        model = "inn" if penalty == 1.0 else f"inn-l{penalty:g}"
        params = {**family_params("inn", "small", args.seed), "weight_penalty": penalty}
        start = time.perf_counter()
        inn = zoo.get("inn").make(**params).fit(X_train, y_train)
        fit_s[model] = time.perf_counter() - start
        y_idx = np.searchsorted(inn.classes_, y.iloc[rows].to_numpy())
        for r in measure_inn(
            inn,
            X_train,
            X_rows,
            y_idx,
            nsamples=args.nsamples,
            n_background=args.background,
            seed=args.seed,
        ):
            r.model = model
            results.append((r, inn._transform(X_rows[:1]).shape[1]))
    start = time.perf_counter()
    xgb = zoo.get("xgboost-tuned").make(**family_params("xgboost-tuned", "small", args.seed))
    xgb.fit(X_train, y_train)
    fit_s["xgboost-tuned"] = time.perf_counter() - start
    y_idx = np.searchsorted(xgb.classes_, y.iloc[rows].to_numpy())
    n_xgb = xgb._transform(X_rows[:1]).shape[1]
    results += [(r, n_xgb) for r in measure_xgb(xgb, X_train, X_rows, y_idx, seed=args.seed)]

    table, curves = [], []
    for r, n_features in results:
        table.append(
            {
                "dataset": name,
                "classes": int(y.nunique()),
                "features": n_features,
                "rows": len(rows),
                "model": r.model,
                "explainer": r.explainer,
                "auc_unmasked": float(r.curve[0]),
                "deletion_area": r.area,
                "seconds_per_row": r.seconds_per_row,
                "batch_seconds_per_row": r.extra.get("batch_seconds_per_row", np.nan),
                "contrib_sum_std": r.extra.get("contrib_sum_std", np.nan),
                "bias_std": r.extra.get("bias_std", np.nan),
                "nsamples": r.extra.get("nsamples", np.nan),
                "background": r.extra.get("background", np.nan),
                "fit_s": fit_s[r.model],
            }
        )
        curves += [
            {
                "dataset": name,
                "model": r.model,
                "explainer": r.explainer,
                "k": k,
                "x": k / n_features,
                "auc": float(v),
            }
            for k, v in enumerate(r.curve)
        ]
    return table, curves


def wide(table: pd.DataFrame) -> pd.DataFrame:
    """dataset x explainer: deletion area; then seconds per row and the time ratios."""
    key = list(zip(table.model, table.explainer))
    frame = table.assign(column=[LABELS.get(k, f"{k[1]} on {k[0]}") for k in key])
    first = table.groupby("dataset", sort=False)[["classes", "features"]].first()
    area = frame.pivot_table(index="dataset", columns="column", values="deletion_area", sort=False)
    area = area.reindex(columns=[c for c in LABELS.values() if c in area.columns])
    secs = frame.pivot_table(
        index="dataset", columns="column", values="seconds_per_row", sort=False
    )
    out = first.join(area)
    for model, label in (("inn", "INN"), ("inn-l0.1", "INN(l=0.1)")):
        own, kern = LABELS[(model, "inn")], LABELS[(model, "kernelshap")]
        if own in secs and kern in secs:
            out[f"s/row {label}"] = secs[own]
            out[f"s/row KernelSHAP {label}"] = secs[kern]
            out[f"KernelSHAP/{label} time"] = secs[kern] / secs[own]
            batch = frame[frame.column == own].set_index("dataset").batch_seconds_per_row
            out[f"KernelSHAP/{label} batch time"] = secs[kern] / batch
            spread = frame[frame.column == own].set_index("dataset")
            out[f"{label} bias std / w*x std"] = spread.bias_std / spread.contrib_sum_std
    if LABELS[("xgboost-tuned", "treeshap")] in secs:
        out["s/row TreeSHAP"] = secs[LABELS[("xgboost-tuned", "treeshap")]]
    out = out.reindex(table.dataset.unique())
    mean = out.drop(columns=["classes", "features"]).mean()
    out.loc["mean"] = mean
    return out


def verdict(out: pd.DataFrame, model: str, label: str) -> str:
    own, kern = LABELS[(model, "inn")], LABELS[(model, "kernelshap")]
    if own not in out or kern not in out:
        return ""
    per = out.drop(index="mean")
    steeper = int((per[own] <= per[kern]).sum())
    ratio = per[f"KernelSHAP/{label} time"]
    batch = per[f"KernelSHAP/{label} batch time"]
    met = steeper == len(per) and bool((ratio >= 100).all())
    return (
        f"- {label}: deletion area <= KernelSHAP's on {steeper} of {len(per)} datasets "
        f"(mean {per[own].mean():.4f} vs {per[kern].mean():.4f}; random "
        f"{per[LABELS[(model, 'random')]].mean():.4f}); KernelSHAP takes {ratio.min():.0f}x to "
        f"{ratio.max():.0f}x INN's time per row explained one at a time (median "
        f"{ratio.median():.0f}x), {batch.min():.0f}x to {batch.max():.0f}x INN's explaining all "
        f"rows in one call (median {batch.median():.0f}x). "
        f"Goal (as steep as KernelSHAP on every dataset, >= 100x faster): "
        f"**{'met' if met else 'not met'}**."
    )


def plot(curves: pd.DataFrame, path: Path) -> None:
    """Mean deletion curves (each dataset's curve interpolated on x = k/F), one panel per model."""
    from matplotlib.figure import Figure

    grid = np.linspace(0, 1, 41)
    models = [m for m in ("inn", "inn-l0.1", "xgboost-tuned") if m in set(curves.model)]
    fig = Figure(figsize=(4.2 * len(models), 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(models), sharey=True))
    colours = {"inn": "#1f77b4", "kernelshap": "#d62728", "treeshap": "#2ca02c", "random": "0.5"}
    n = curves.dataset.nunique()
    for ax, model in zip(axes, models):
        mine = curves[curves.model == model]
        for explainer, group in mine.groupby("explainer", sort=False):
            mean = np.mean(
                [np.interp(grid, g.x, g.auc) for _, g in group.groupby("dataset")], axis=0
            )
            area = float(np.sum((mean[1:] + mean[:-1]) / 2 * np.diff(grid)))
            label = LABELS.get((model, explainer), explainer)
            ax.plot(grid, mean, color=colours[explainer], label=f"{label} ({area:.3f})")
        title = {"inn": "INN (default, weight penalty 1)", "inn-l0.1": "INN (weight penalty 0.1)"}
        ax.set_title(f"{title.get(model, model)}: mean of {n} datasets", fontsize=10)
        ax.set_xlabel("fraction of top-attributed features masked (k/F)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="lower left")
    axes[0].set_ylabel("ROC AUC on the explained rows")
    fig.suptitle("Deletion curves (lower area = more faithful)", fontsize=11)
    fig.savefig(path, dpi=110)


def write(table: pd.DataFrame, curves: pd.DataFrame, args, command: str, started: float) -> None:
    out_stem = args.out
    table.to_csv(out_stem.with_suffix(".csv"), index=False)
    curves.to_csv(out_stem.with_suffix(".curves.csv"), index=False)
    plot(curves, out_stem.with_suffix(".png"))
    out = wide(table)
    lines = [
        "# INN's explanations against SHAP: deletion curves",
        "",
        f"Command: `{command}` ({time.time() - started:.0f} s wall, niced, on 2 shared cores).",
        "",
        f"One paper split (seed {args.seed}), {args.rows} stratified test rows explained per "
        "dataset. A row's top-k features by |attribution| (ties: column order) are set to their "
        "training mean in the model's input space; the curve is ROC AUC on the explained rows "
        "for k = 0..F, its area over k/F in [0, 1] the score (lower = more faithful). Binary: "
        "the positive-class logit is explained; multiclass: the logit of the predicted class. "
        f"KernelSHAP: {args.background} k-means background points, nsamples={args.nsamples}, "
        "no L1 selection, on INN's logits in its preprocessed input space. TreeSHAP: "
        "path-dependent, margin output, on tuned XGBoost (its own model and input space, so its "
        "areas compare with `random on XGB`, not with INN's). CPU seconds per explained row on "
        "one thread (CPU time: the machine was shared), explainers built beforehand: INN row by row (all rows in one call: `batch_seconds_per_row` in the CSV), "
        "KernelSHAP and TreeSHAP over all rows divided by their count. INN: zoo defaults, "
        f"`small` budget, weight penalties {', '.join(f'{v:g}' for v in args.penalties)} "
        "(1.0: the default; 0.1: the paper's, `l=0.1`).",
        "",
        "## Deletion area per dataset (and seconds per explained row)",
        "",
        markdown(out, ".4g", index="dataset", rule=" --- |"),
        "",
        "## Goal",
        "",
        verdict(out, "inn", "INN"),
        verdict(out, "inn-l0.1", "INN(l=0.1)"),
        "",
        f"Curves: `{out_stem.name}.curves.csv`; plot: `{out_stem.name}.png`; long table: "
        f"`{out_stem.name}.csv`.",
        "",
    ]
    out_stem.with_suffix(".md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default=DEFAULT, help="suite name, folder or NAME,NAME,...")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--rows", type=int, default=100, help="explained test rows per dataset")
    parser.add_argument("--nsamples", type=int, default=500, help="KernelSHAP coalitions per row")
    parser.add_argument("--background", type=int, default=50, help="KernelSHAP k-means points")
    parser.add_argument("--penalties", default="1.0,0.1", help="INN weight penalties to explain")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT, help="output path without suffix")
    args = parser.parse_args(argv)
    args.penalties = [float(p) for p in args.penalties.split(",")]

    from automl_hyper.benchmark import resolve_suite

    warnings.filterwarnings("ignore")
    command = shlex.join(["python", "benchmarks/inn_faithfulness.py", *sys.argv[1:]])
    started = time.time()
    suite = resolve_suite(args.suite, args.data_dir)
    tables, curves = [], []
    for name in suite.datasets:
        start = time.perf_counter()
        try:
            table, curve = run_dataset(name, args)
        except Exception as err:  # noqa: BLE001 - one dataset's failure must not stop the rest
            print(f"{name}: FAILED {type(err).__name__}: {err}", flush=True)
            continue
        tables += table
        curves += curve
        print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)
        write(pd.DataFrame(tables), pd.DataFrame(curves), args, command, started)
    print(args.out.with_suffix(".md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
