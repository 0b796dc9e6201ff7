"""Why a family loses to tuned XGBoost on a dataset: preprocessing facts and input ablations.

Per dataset x paper split (the protocol's, ``automl_hyper.data.splits.paper_splits``, seed 0, as
``automl-hyper benchmark`` draws them) this records what the shared preprocessing does to the
training rows (columns before/after encoding, columns dropped, constant outputs, levels pooled as
infrequent, missing cells, class imbalance, skewed numeric columns, cells MotherNet's z-score
clip cuts) and, per family and input variant, the test ROC AUC. A variant rewrites the raw table
before the estimator sees it (fitted on the training rows only), so the same ablation reaches
every family through its unchanged input path:

* ``default``: the table as ``automl-hyper benchmark`` gives it;
* ``missing_ind``: one 0/1 column per column with missing training cells (imputation alone
  merges "missing" into the median / most frequent level);
* ``cat_missing``: a categorical column's missing cells as a level of their own, numeric
  columns unchanged (what ``TabularPreprocessor(categorical_missing="level")`` does);
* ``cat_numeric``: categorical columns whose levels are all numbers (``press``, ``caliper``...)
  read as numbers instead of one-hot;
* ``log1p``: non-negative numeric columns with skew > 2 replaced by log1p (heavy-tailed counts);
* ``balanced``: minority classes' training rows repeated up to the majority count (no family
  weights classes; AUC is threshold-free, but the training loss is not).

Tuned XGBoost is not re-run: its per-split AUC comes from the committed full run
(``benchmarks/results/benchmark_full_cc18-30/runs.csv``, same splits, seed 0, budget small),
next to the committed AUCs of our families (which ran on the code of that run: ``default`` here
is today's code, so the two differ where a family's defaults changed since). Every family here
gets ``random_state=0`` on every split (``automl-hyper benchmark`` gives ``seed + split``): the
comparisons are paired within this script, both arms with the same seed.

    nice -n 5 python benchmarks/gap_diagnosis.py --datasets cylinder-bands,pc1 \\
        --families mothernet,inn --variants default,missing_ind --out results/gap_diagnosis.csv
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA_DIR, committed_aucs, markdown  # noqa: E402

from automl_hyper.benchmark import load_suite_dataset  # noqa: E402
from automl_hyper.compare import evaluate, family_params  # noqa: E402
from automl_hyper.data.preprocess import MISSING_LEVEL, TabularPreprocessor  # noqa: E402
from automl_hyper.data.splits import paper_splits  # noqa: E402
from automl_hyper.models.mothernet import MotherNetClassifier  # noqa: E402

GAP_DATASETS = ("cylinder-bands", "dresses-sales", "pc1", "pc3", "pc4")
VARIANTS = ("default", "missing_ind", "cat_missing", "cat_numeric", "log1p", "balanced")
SKEW = 2.0  # log1p: columns skewed beyond this
MOTHERNET_CLIP = MotherNetClassifier._clip  # z-scores beyond it are cut
MOTHERNET_FEATURES = 100  # the shipped checkpoint's input width


def facts(X: pd.DataFrame, y: pd.Series) -> dict:
    """What the shared preprocessing does to these training rows (one-hot, as INN/SMASH/XGBoost
    see them; MotherNet's z-scores for the clip)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pre = TabularPreprocessor(numeric_transform="standard", clip=None).fit(X)
        Z = pre.transform(X)
    encoder = None
    if pre.categorical_columns_:
        encoder = pre.column_transformer_.named_transformers_["cat"].named_steps["encode"]
    infrequent = getattr(encoder, "infrequent_categories_", None) or []
    pooled = sum(len(c) for c in infrequent if c is not None)
    counts = y.value_counts()
    minority = (y != counts.index[0]).to_numpy()
    clipped = np.abs(Z) > MOTHERNET_CLIP
    num = pre.numeric_columns_
    skew = X[num].astype(float).skew().abs() if num else pd.Series(dtype=float)
    return {
        "n_train": len(X),
        "cols_in": X.shape[1],
        "cat_cols": len(pre.categorical_columns_),
        "cols_out": Z.shape[1],
        "over_mothernet_limit": max(0, Z.shape[1] - MOTHERNET_FEATURES),
        "dropped_cols": len(pre.dropped_columns_),
        "constant_out": int((Z.std(0) == 0).sum()),
        "levels_pooled": pooled,
        "missing_cells": float(X.isna().to_numpy().mean()),
        "rows_with_missing": float(X.isna().any(axis=1).mean()),
        "minority_share": float(1 - counts.iloc[0] / len(y)),
        "skewed_num_cols": int((skew > SKEW).sum()),
        "clip_cells": float(clipped.mean()),
        "clip_rows_minority": float(clipped[minority].any(1).mean()),
        "clip_rows_majority": float(clipped[~minority].any(1).mean()),
    }


def apply_variant(
    variant: str, X_tr: pd.DataFrame, y_tr: pd.Series, X_te: pd.DataFrame, categorical: list
) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """The raw train/test tables rewritten by ``variant``, learnt on the training rows only."""
    if variant == "default":
        return X_tr, y_tr, X_te
    if variant == "missing_ind":
        cols = [c for c in X_tr.columns if X_tr[c].isna().any()]
        add = lambda X: X.assign(**{f"{c}__missing": X[c].isna().astype(float) for c in cols})  # noqa: E731
        return add(X_tr), y_tr, add(X_te)
    if variant == "cat_missing":
        cols = [c for c in categorical if X_tr[c].isna().any()]
        fill = lambda X: X.assign(  # noqa: E731
            **{
                c: X[c].astype(str).where(X[c].notna(), MISSING_LEVEL).astype("category")
                for c in cols
            }
        )
        return fill(X_tr), y_tr, fill(X_te)
    if variant == "cat_numeric":
        cols = [
            c
            for c in categorical
            if pd.to_numeric(X_tr[c].astype(object), errors="coerce").notna().sum()
            == X_tr[c].notna().sum()
        ]
        num = lambda X: X.assign(  # noqa: E731
            **{c: pd.to_numeric(X[c].astype(object), errors="coerce") for c in cols}
        )
        return num(X_tr), y_tr, num(X_te)
    if variant == "log1p":
        num = [c for c in X_tr.columns if c not in categorical]
        cols = [c for c in num if X_tr[c].min() >= 0 and abs(X_tr[c].astype(float).skew()) > SKEW]
        log = lambda X: X.assign(**{c: np.log1p(X[c].astype(float).clip(lower=0)) for c in cols})  # noqa: E731
        return log(X_tr), y_tr, log(X_te)
    if variant == "balanced":
        rng = np.random.RandomState(0)
        counts = y_tr.value_counts()
        rows = [np.arange(len(y_tr))]
        for label, count in counts.items():
            extra = counts.iloc[0] - count
            if extra > 0:
                rows.append(rng.choice(np.flatnonzero((y_tr == label).to_numpy()), extra))
        idx = np.concatenate(rows)
        return X_tr.iloc[idx], y_tr.iloc[idx], X_te
    raise ValueError(f"unknown variant {variant!r}; known: {VARIANTS}")


def run(
    datasets,
    families,
    variants,
    n_splits: int,
    out: Path,
    data_dir: Path,
    suffix: str = "",
    overrides: dict | None = None,
) -> pd.DataFrame:
    """Every (dataset, split, family, variant) not yet in ``out``; ``suffix`` tags the variant
    names (e.g. ``+level`` for rows run with ``--categorical-missing level``)."""
    done = pd.read_csv(out) if out.is_file() else pd.DataFrame()
    key = set()
    if len(done):
        key = set(zip(done.dataset, done.split, done.family, done.variant))
    rows = done.to_dict("records")
    for name in datasets:
        ds = load_suite_dataset(name, str(data_dir))
        for split, (tr, te) in enumerate(paper_splits(ds.y, n_splits=n_splits, seed=0)):
            X_tr, y_tr = ds.X.iloc[tr], ds.y.iloc[tr]
            X_te, y_te = ds.X.iloc[te], ds.y.iloc[te]
            base = facts(X_tr, y_tr)
            for variant in variants:
                Xv, yv, Xt = apply_variant(variant, X_tr, y_tr, X_te, ds.categorical)
                for family in families:
                    if (name, split, family, variant + suffix) in key:
                        continue
                    params = family_params(family, "small", 0, overrides)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        record, _ = evaluate(family, params, Xv, yv, Xt, y_te)
                    row = {"dataset": name, "split": split, "family": family}
                    row["variant"] = variant + suffix
                    row |= {"auc": record.auc, "fit_s": record.fit_s, **base}
                    rows.append(row)
                    print(f"{name} {split} {family:13s} {row['variant']:12s} auc {record.auc:.4f}")
                    pd.DataFrame(rows).to_csv(out, index=False)  # resumable
    return pd.DataFrame(rows)


def decision(frame: pd.DataFrame, n_datasets: int, arm: str, base: str) -> pd.DataFrame:
    """Per family: the paired difference ``arm - base`` per dataset (mean over its splits), then
    its mean and standard error over ``n_datasets`` datasets, those not run counting as 0 (the
    two arms give them identical inputs), and the ratio of median fit times."""
    wide = frame.pivot_table(
        index=["family", "dataset", "split"], columns="variant", values=["auc", "fit_s"]
    )
    rows = {}
    for family, part in wide.groupby(level="family"):
        per_set = (part["auc"][arm] - part["auc"][base]).groupby(level="dataset").mean()
        values = np.concatenate([per_set.to_numpy(), np.zeros(n_datasets - len(per_set))])
        rows[family] = {
            "datasets run": len(per_set),
            "mean diff": round(float(values.mean()), 4),
            "SE": round(float(values.std(ddof=1) / np.sqrt(len(values))), 4),
            "diff on those run": round(float(per_set.mean()), 4),
            "fit time ratio": round(
                float(part["fit_s"][arm].median() / part["fit_s"][base].median()), 2
            ),
        }
    return pd.DataFrame(rows).T


def summarise(frame: pd.DataFrame) -> str:
    """Markdown: facts per dataset (split means), then mean AUC per family x variant next to the
    committed run's (ours and tuned XGBoost, same splits)."""
    fact_cols = [
        c for c in frame.columns if c not in ("split", "family", "variant", "auc", "fit_s")
    ]
    facts_table = frame.groupby("dataset")[fact_cols[1:]].mean().round(4)
    committed = committed_aucs().reset_index()
    committed = committed[committed.dataset.isin(frame.dataset.unique())]
    pairs = frame[["dataset", "split"]].drop_duplicates()
    committed = committed.merge(pairs, on=["dataset", "split"])
    auc = frame.pivot_table(index=["dataset", "family"], columns="variant", values="auc")
    ref = committed.groupby("dataset").mean(numeric_only=True)
    auc["committed"] = [ref[f].get(d, np.nan) if f in ref else np.nan for d, f in auc.index]
    auc["xgboost-tuned"] = [ref["xgboost-tuned"].get(d, np.nan) for d, _ in auc.index]
    # Paired difference (variant - default) over splits, with its standard error.
    diffs = []
    wide = frame.pivot_table(index=["dataset", "family", "split"], columns="variant", values="auc")
    base = "default+most_frequent" if "default+most_frequent" in wide else "default"
    for variant in [v for v in wide.columns if v != base] if base in wide else []:
        d = (wide[variant] - wide[base]).dropna().groupby(["dataset", "family"])
        diffs.append(
            (d.mean().round(4).astype(str) + " ± " + d.sem().round(4).astype(str)).rename(
                f"{variant} - {base}"
            )
        )
    diff_table = pd.concat(diffs, axis=1) if diffs else pd.DataFrame()
    return "\n\n".join(
        [
            "### Preprocessing facts (training rows, mean over splits)",
            markdown(facts_table.T.reset_index()),
            "### Mean test AUC per variant (committed: the full run's, same splits)",
            markdown(auc.round(4).reset_index()),
            "### Paired difference over splits (mean ± standard error)",
            markdown(diff_table.reset_index()) if len(diff_table) else "(no variants)",
        ]
    )


def _value(text: str):
    """A --set value: a number, None, or text."""
    if text == "None":
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", default=",".join(GAP_DATASETS))
    ap.add_argument("--families", default="mothernet,inn")
    ap.add_argument("--variants", default="default")
    ap.add_argument("--splits", type=int, default=5)
    ap.add_argument("--data-dir", type=Path, default=DATA_DIR)
    ap.add_argument("--out", type=Path, required=True, help="CSV (resumable)")
    ap.add_argument("--summary", type=Path, help="write the markdown summary here")
    ap.add_argument(
        "--categorical-missing",
        choices=("most_frequent", "level"),
        help="every family's TabularPreprocessor(categorical_missing=...) for this run "
        "(default: the package's); rows are tagged '+<setting>' when given",
    )
    ap.add_argument(
        "--decide",
        type=int,
        metavar="N",
        help="add the decision table (default+level vs default+most_frequent) over N datasets",
    )
    ap.add_argument("--set", help="PARAM=VALUE[,...] for every family run (tags the rows)")
    args = ap.parse_args(argv)
    suffix = ""
    if args.categorical_missing:
        from automl_hyper.models.base import _TabularBase

        _TabularBase._categorical_missing = args.categorical_missing
        suffix = f"+{args.categorical_missing}"
    overrides = None
    if args.set:
        overrides = dict(kv.split("=", 1) for kv in args.set.split(","))
        overrides = {k: _value(v) for k, v in overrides.items()}
        suffix += "+" + args.set
    frame = run(
        args.datasets.split(","),
        args.families.split(","),
        args.variants.split(","),
        args.splits,
        args.out,
        args.data_dir,
        suffix,
        overrides,
    )
    text = summarise(frame)
    if args.decide:
        table = decision(frame, args.decide, "default+level", "default+most_frequent")
        text += f"\n\n### Decision table (over {args.decide} datasets)\n\n" + markdown(
            table.reset_index()
        )
    print(text)
    if args.summary:
        args.summary.write_text(text + "\n")


if __name__ == "__main__":
    main()
