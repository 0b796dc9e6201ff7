"""AutoGluon uplift: does adding our families to the GBDT trio raise a TabularPredictor's test AUC?

Two arms at the same ``time_limit`` on the same paper splits (train = min(1000, n/2) rows, test the
same size): ``gbdt`` fits ``{GBM, CAT, XGB}``; ``gbdt+ours`` fits the same plus ``{MOTHERNET, INN,
SMASH}`` (the configurations of ``automl_hyper.integrations.autogluon.default_hyperparameters``
when that exists, else one default config each). Per dataset x split x arm: test ROC AUC (the
project's ``auc_score``: binary, one-vs-one macro for multiclass), the weights of the predictor's
final model (its weighted ensemble, or a single model at weight 1), fit and predict seconds.
Rows are appended to ``--out``; a row already there (same dataset, split, arm, time limit,
presets, config) is skipped, so the same command resumes. The summary (``--summary``, Markdown)
is rewritten from the whole CSV after every dataset.

    python benchmarks/autogluon_uplift.py --suite cc18-30 --splits 1 --time-limit 60
    python benchmarks/autogluon_uplift.py --suite diabetes,kc2 --splits 1 --time-limit 20
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA_DIR, ROOT, load_shared  # noqa: E402

GBDT = {"GBM": {}, "CAT": {}, "XGB": {}}
OUR_KEYS = ("MOTHERNET", "INN", "SMASH")
# AutoGluon model names are the family's ag_name plus a config's name_suffix ("MotherNetFT") or
# a counter ("_2"); longer prefixes first so that MotherNetFT is not counted as MotherNet.
OUR_NAMES = {
    "MotherNetFT": "mothernet_ft",
    "MotherNet": "mothernet",
    "INN": "inn",
    "SMASH": "smash",
}
FAMILIES = ("mothernet", "mothernet_ft", "inn", "smash")
ARMS = ("gbdt", "gbdt+ours")
KEY = ["dataset", "split", "arm", "time_limit", "presets", "ours_config"]
RESULTS = ROOT / "benchmarks" / "results"
NOTES = "## Notes\n"
# A dataset is "below noise" when its mean paired difference is below -max(NOISE_FLOOR, 2 x the
# standard error of its per-split differences); with one split, below -NOISE_FLOOR. The floor is
# the size of the GBDT-only run-to-run differences seen on a loaded machine (none of ours fitted).
NOISE_FLOOR = 0.005
_CODE_LABEL: list[str] = []  # code_state's first answer


def below_noise(diff: pd.Series) -> pd.DataFrame:
    """Per dataset: mean, minimum and standard error of the paired differences, and the flag."""
    by = diff.groupby(level="dataset")
    table = pd.DataFrame({"mean": by.mean(), "min": by.min(), "n": by.size()})
    table["se"] = by.std(ddof=1) / np.sqrt(table["n"])  # NaN with one split
    threshold = np.maximum(NOISE_FLOOR, 2 * table["se"].fillna(0.0))
    table["below_noise"] = table["mean"] < -threshold
    return table


def our_hyperparameters(override: dict | None = None) -> tuple[dict, str]:
    """Our families' AutoGluon configs, and which source they came from (a column of the CSV).
    ``override`` (``--ours``) replaces the configs of the keys it names."""
    from automl_hyper.integrations import autogluon as ag_integration

    factory = getattr(ag_integration, "default_hyperparameters", None)
    if factory is None:
        return {key: {} for key in OUR_KEYS}, "plain"
    ours = {k: v for k, v in factory().items() if k in OUR_KEYS}
    source = "default_hyperparameters"
    if override:
        ours, source = {**ours, **override}, "custom"
    # The configs' hash is part of the label (and of the resume key), so rows of another
    # priority/cap setting are neither skipped on resume nor mistaken for this one.
    digest = hashlib.sha1(json.dumps(ours, sort_keys=True, default=str).encode()).hexdigest()
    return ours, f"{source}:{digest[:8]}"


def family_of(model_name: str) -> str:
    """Our family a model of the ensemble belongs to, else AutoGluon's own name without suffix."""
    for prefix, family in OUR_NAMES.items():
        rest = model_name[len(prefix) :]
        if model_name.startswith(prefix) and (not rest or rest.startswith("_")):
            return family
    return model_name.split("_")[0]


def final_weights(predictor) -> dict[str, float]:
    """Weight of each base model in what the predictor predicts with (its best model)."""
    best = predictor.model_best
    model = predictor._trainer.load_model(best)
    if hasattr(model, "_get_model_weights"):
        return {name: float(w) for name, w in model._get_model_weights().items() if w > 0}
    return {best: 1.0}


def fit_arm(
    train: pd.DataFrame,
    test: pd.DataFrame,
    hyperparameters: dict,
    time_limit: float,
    presets: str,
    num_cpus: int,
    seed: int = 0,
    verbosity: int = 0,
) -> dict:
    """Fit one TabularPredictor in a temporary folder, score it on ``test``, delete it.

    ``verbosity`` is AutoGluon's (3 logs each model's time limit and "Skipping ... due to lack
    of time remaining"), for diagnosing a run; it changes no result."""
    from autogluon.tabular import TabularPredictor

    from automl_hyper.metrics import auc_score

    classes = sorted(train["target"].unique())
    metric = "roc_auc" if len(classes) == 2 else "roc_auc_ovo"
    folder = tempfile.mkdtemp(prefix="ag_uplift_")
    try:
        predictor = TabularPredictor(
            label="target", eval_metric=metric, path=folder, verbosity=verbosity
        )
        start = time.perf_counter()
        predictor.fit(
            train,
            hyperparameters=hyperparameters,
            time_limit=time_limit,
            presets=presets,
            num_cpus=num_cpus,
            num_gpus=0,
            ag_args_fit={"random_seed": seed},
        )
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        proba = predictor.predict_proba(test.drop(columns="target"))
        predict_s = time.perf_counter() - start
        # AutoGluon may drop very rare classes: give every training class a column.
        full = np.zeros((len(test), len(classes)))
        for i, label in enumerate(classes):
            if label in proba.columns:
                full[:, i] = proba[label].to_numpy()
        y_idx = np.array([classes.index(v) for v in test["target"]])
        weights = final_weights(predictor)
        fitted = predictor.model_names()
        best = predictor.model_best
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    row = {
        "auc": auc_score(y_idx, full),
        "fit_s": fit_s,
        "predict_s": predict_s,
        "best_model": best,
        "n_models_fit": len(fitted),
        "models_fit": ";".join(fitted),
        "weights": json.dumps({k: round(v, 4) for k, v in weights.items()}),
    }
    row.update(family_columns(row["weights"], row["models_fit"]))
    return row


def family_columns(weights: str, models_fit: str) -> dict:
    """Per family of ours: its weight in the final model and whether it was fitted at all."""
    weights = json.loads(weights) if isinstance(weights, str) and weights else {}
    fitted = models_fit.split(";") if isinstance(models_fit, str) else []
    row = {}
    for family in FAMILIES:
        row[f"w_{family}"] = sum(w for m, w in weights.items() if family_of(m) == family)
        row[f"fit_{family}"] = any(family_of(m) == family for m in fitted)
    return row


def code_state(label: str | None = None) -> str:
    """HEAD and whether tracked files differed from it: others edit the same working tree.

    Fixed at the first call: the process runs the code it imported at start, whatever is
    committed later. ``label`` (``--code``) names a frozen install outside this checkout instead.
    """
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    if not _CODE_LABEL:
        if not label:
            dirty = git(
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                "automl_hyper",
                "integrations",
            )
            label = git("rev-parse", "--short", "HEAD").strip() + (
                "+dirty" if dirty.strip() else ""
            )
        _CODE_LABEL.append(label)
    return _CODE_LABEL[0]


def run_dataset(
    name: str,
    splits: int,
    time_limit: float,
    presets: str,
    num_cpus: int,
    done: set,
    ours: dict,
    ours_config: str,
    dataset=None,
    arms: tuple[str, ...] = ARMS,
    only: set[int] | None = None,
    verbosity: int = 0,
) -> list[dict]:
    """``arms`` (both by default) on every split of one dataset (or the ``only`` ones), except
    the pairs in ``done``."""
    from automl_hyper.data.splits import paper_splits

    ds = dataset if dataset is not None else load_shared(name)
    frame = ds.X.copy()
    frame["target"] = ds.y.to_numpy()
    rows = []
    for split, (tr, te) in enumerate(paper_splits(ds.y, n_splits=splits, seed=0)):
        if only is not None and split not in only:
            continue
        for arm in arms:
            key = (name, split, arm, float(time_limit), presets, ours_config)
            if key in done:
                continue
            hp = dict(GBDT) if arm == "gbdt" else {**GBDT, **ours}
            row = dict(zip(KEY, key))
            row.update(
                n_train=len(tr),
                n_test=len(te),
                n_classes=int(ds.y.nunique()),
                num_cpus=num_cpus,
                code=code_state(),
                load_avg_1m=round(os.getloadavg()[0], 2),
            )
            try:
                fitted = fit_arm(
                    frame.iloc[tr],
                    frame.iloc[te],
                    hp,
                    time_limit,
                    presets,
                    num_cpus,
                    verbosity=verbosity,
                )
                row.update(fitted)
                row["error"] = ""
            except Exception as err:  # a failed arm is recorded and run again on resume
                row.update(auc=float("nan"), error=f"{type(err).__name__}: {err}"[:300])
            rows.append(row)
            print(
                f"{name} split {split} {arm:9s} auc {row['auc']:.4f} "
                f"fit {row.get('fit_s', float('nan')):.1f}s {row.get('weights', row['error'])}",
                flush=True,
            )
    return rows


def load_done(out: Path) -> tuple[pd.DataFrame, set]:
    """Rows already in the CSV and the keys of the successful ones (failed rows run again)."""
    if not out.exists():
        return pd.DataFrame(), set()
    table = pd.read_csv(out, keep_default_na=False, na_values=[""])
    ok = table[table["auc"].notna()]
    keys = {
        (r.dataset, int(r.split), r.arm, float(r.time_limit), r.presets, r.ours_config)
        for r in ok.itertuples()
    }
    return table, keys


def _mean_se(values: pd.Series) -> str:
    if len(values) == 0:
        return "none"
    se = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
    return f"{values.mean():+.4f} (SE {se:.4f}, n={len(values)})"


def _by_use(ok: pd.DataFrame, diff: pd.Series) -> list[str]:
    """The paired difference split by what the second arm did with our models.

    Where none of ours was fitted (the GBDTs used the time limit) or none got weight, both arms
    predict with GBDTs only: their difference is the run-to-run noise of time-limited GBDT fits
    on a loaded machine, the floor against which the rows that kept ours should be read.
    """
    ours = ok[ok["arm"] == "gbdt+ours"].set_index(["dataset", "split"]).reindex(diff.index)
    fitted = ours[[f"fit_{f}" for f in FAMILIES]].astype(bool).any(axis=1)
    kept = (ours[[f"w_{f}" for f in FAMILIES]].astype(float) > 0).any(axis=1)
    return [
        "",
        f"- ours kept (weight > 0): {_mean_se(diff[kept])}",
        f"- ours fitted, none kept: {_mean_se(diff[fitted & ~kept])}",
        f"- none of ours fitted within the time limit: {_mean_se(diff[~fitted])}",
        "",
        "(the last two predict with GBDTs only in both arms: their difference is the noise of",
        "time-limited GBDT fits on a loaded machine.)",
    ]


def _cell(diff: pd.Series, name: str, split: int) -> str:
    return f"{diff[(name, split)]:+.4f} | " if (name, split) in diff.index else "- | "


def _by_split(ok: pd.DataFrame, diff: pd.Series) -> list[str]:
    """With several splits: each split's mean difference and median fit/predict times per arm."""
    splits = diff.index.get_level_values("split")
    if splits.nunique() < 2:
        return []
    lines = ["", "per split (rows' code: the CSV's `code` column):", ""]
    ok = ok.assign(split=ok["split"].astype(int))
    for k in sorted(splits.unique()):
        rows = ok[ok["split"] == k]
        t = rows.groupby("arm")[["fit_s", "predict_s"]].median().reindex(list(ARMS))
        code = ", ".join(sorted(set(rows["code"].astype(str)))) if "code" in rows else "?"
        lines.append(
            f"- split {k}: {_mean_se(diff[splits == k])}; median fit s "
            + " / ".join(f"{arm} {t.loc[arm, 'fit_s']:.1f}" for arm in ARMS)
            + "; median predict s "
            + " / ".join(f"{arm} {t.loc[arm, 'predict_s']:.2f}" for arm in ARMS)
            + f"; code {code}"
        )
    return lines


def summarise(table: pd.DataFrame) -> str:
    """Markdown: mean AUC per arm, paired difference, worst dataset, how often ours are kept."""
    ok = table[table["auc"].notna()].drop_duplicates(KEY, keep="last").reset_index(drop=True)
    # Recomputed from the raw columns: rows written before MotherNetFT existed count it too.
    derived = pd.DataFrame([family_columns(w, m) for w, m in zip(ok["weights"], ok["models_fit"])])
    ok = pd.concat([ok.drop(columns=derived.columns, errors="ignore"), derived], axis=1)
    wide = ok.pivot_table(index=["dataset", "split"], columns="arm", values="auc")
    paired = wide.reindex(columns=list(ARMS)).dropna()  # an arm never fitted: no pairs
    lines = []
    if paired.empty:
        return "no dataset x split has both arms yet\n"
    diff = paired["gbdt+ours"] - paired["gbdt"]
    noise = below_noise(diff)
    per_ds = noise["mean"]
    se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
    times = ok.groupby("arm")[["fit_s", "predict_s"]].median()
    lines += [
        f"{paired.index.get_level_values('dataset').nunique()} datasets, {len(paired)} "
        "dataset x split pairs with both arms",
        "",
        "| arm | mean test AUC | median fit s | median predict s |",
        "|---|---|---|---|",
    ]
    for arm in ARMS:
        lines.append(
            f"| {arm} | {paired[arm].mean():.4f} | {times.loc[arm, 'fit_s']:.1f} "
            f"| {times.loc[arm, 'predict_s']:.2f} |"
        )
    worst = per_ds.idxmin()
    lines += [
        "",
        f"paired difference (gbdt+ours - gbdt): mean {diff.mean():+.4f}, standard error "
        f"{se:.4f}; better on {(diff > 0).sum()}, equal on {(diff == 0).sum()}, "
        f"worse on {(diff < 0).sum()} of {len(diff)}",
        f"per-dataset difference: min {per_ds.min():+.4f} ({worst}), max {per_ds.max():+.4f} "
        f"({per_ds.idxmax()}); minimum over single runs {diff.min():+.4f} "
        f"({diff.idxmin()[0]} split {diff.idxmin()[1]})",
        f"below noise (mean difference < -max({NOISE_FLOOR}, 2 x SE of its split differences)): "
        + (", ".join(noise.index[noise["below_noise"]]) or "none")
        + f" ({int(noise['below_noise'].sum())} of {len(noise)} datasets)",
        *_by_split(ok, diff),
        *_by_use(ok, diff),
        "",
        "our models in the final model of the gbdt+ours arm:",
        "",
        "| family | fitted (of runs) | kept (weight > 0) | mean weight when kept | "
        "mean weight overall |",
        "|---|---|---|---|---|",
    ]
    ours = ok[ok["arm"] == "gbdt+ours"]
    fit_cols = ours[[f"fit_{f}" for f in FAMILIES]].astype(str).apply(lambda c: c.str.lower())
    any_fit = fit_cols.eq("true").any(axis=1)
    any_kept = (ours[[f"w_{f}" for f in FAMILIES]].astype(float) > 0).any(axis=1)
    for family in FAMILIES:
        w = ours[f"w_{family}"].astype(float)
        fitted = ours[f"fit_{family}"].astype(str).str.lower().eq("true").sum()
        kept = w > 0
        when_kept = f"{w[kept].mean():.3f}" if kept.any() else "-"
        lines.append(
            f"| {family} | {fitted}/{len(ours)} | {kept.sum()}/{len(ours)} | {when_kept} "
            f"| {w.mean():.3f} |"
        )
    lines.append(
        f"| any of ours | {any_fit.sum()}/{len(ours)} | {any_kept.sum()}/{len(ours)} | - | - |"
    )
    lines += _per_model(ours)
    split_ids = sorted(diff.index.get_level_values("split").unique())
    several = len(split_ids) > 1  # then each split's difference gets a column too
    lines += [
        "",
        "per dataset (mean over splits; min: the worst split's difference):",
        "",
        "| dataset | gbdt | gbdt+ours | diff | "
        + "".join(f"diff split {k} | " for k in split_ids if several)
        + "min diff | below noise | "
        + " | ".join(f"w {f}" for f in FAMILIES)
        + " |",
        "|---|---|---|---|---|---|" + "---|" * (len(FAMILIES) + several * len(split_ids)),
    ]
    wmean = ours.groupby("dataset")[[f"w_{f}" for f in FAMILIES]].mean()
    means = paired.groupby(level="dataset").mean()
    for name in means.index:
        w = wmean.loc[name]
        lines.append(
            f"| {name} | {means.loc[name, 'gbdt']:.4f} | {means.loc[name, 'gbdt+ours']:.4f} "
            f"| {per_ds[name]:+.4f} | "
            + "".join(_cell(diff, name, k) for k in split_ids if several)
            + f"{noise.loc[name, 'min']:+.4f} "
            f"| {'yes' if noise.loc[name, 'below_noise'] else ''} | "
            + " | ".join(f"{w[f'w_{f}']:.3f}" for f in FAMILIES)
            + " |"
        )
    failed = table[table["auc"].isna()]
    if len(failed):
        lines += ["", f"{len(failed)} failed rows (run again on resume):", ""]
        lines += [f"- {r.dataset} split {r.split} {r.arm}: {r.error}" for r in failed.itertuples()]
    return "\n".join(lines) + "\n"


def _per_model(ours: pd.DataFrame) -> list[str]:
    """Kept count and mean weight of each of our AutoGluon models, for the families that had
    several (e.g. MotherNetFT and MotherNetFT_P, one row ``mothernet_ft`` in the table above)."""
    weights = [json.loads(w) if isinstance(w, str) and w else {} for w in ours["weights"]]
    names = sorted({m for w in weights for m in w if family_of(m) in FAMILIES})
    per_family = pd.Series([family_of(m) for m in names], dtype=object).value_counts()
    shared = [m for m in names if per_family[family_of(m)] > 1]
    if not shared:
        return []
    lines = ["", "models of ours sharing a family row above:", ""]
    lines += ["| model | family | kept (weight > 0) | mean weight when kept |", "|---|---|---|---|"]
    for m in shared:
        kept = [w[m] for w in weights if w.get(m, 0) > 0]
        lines.append(f"| {m} | {family_of(m)} | {len(kept)}/{len(ours)} | {np.mean(kept):.3f} |")
    return lines


def versus(base: pd.DataFrame, other: pd.DataFrame, names: tuple[str, str]) -> str:
    """Markdown: two runs that differ only in our configs, on their common dataset x splits.

    Per dataset the gbdt arm and both + ours arms, each one's difference to the gbdt arm, the
    difference between them and SMASH's weight in each; then the means, the paired difference
    (other - base) with its standard error, the worst per-dataset difference to the gbdt arm and
    how many datasets are below noise in each run.
    """
    idx = ["dataset", "split"]

    def arms(t: pd.DataFrame) -> pd.DataFrame:
        ok = t[t["auc"].notna()].drop_duplicates(KEY, keep="last")
        wide = ok.pivot_table(index=idx, columns="arm", values="auc")
        w = ok[ok["arm"] == "gbdt+ours"].set_index(idx)["weights"]
        smash = pd.Series([family_columns(x, "")["w_smash"] for x in w], index=w.index)
        return wide.reindex(columns=list(ARMS)).assign(w_smash=smash).dropna()

    a, b = arms(base), arms(other)
    common = a.index.intersection(b.index)
    a, b = a.loc[common], b.loc[common]
    d_a, d_b = a["gbdt+ours"] - a["gbdt"], b["gbdt+ours"] - b["gbdt"]
    gap = b["gbdt+ours"] - a["gbdt+ours"]
    na, nb = names
    ta, tb = below_noise(d_a), below_noise(d_b)
    se = gap.std(ddof=1) / np.sqrt(len(gap)) if len(gap) > 1 else float("nan")
    lines = [
        f"{common.get_level_values('dataset').nunique()} datasets, {len(common)} dataset x "
        f"splits in both runs; ours_config {na}: `{base['ours_config'].iloc[-1]}`, "
        f"{nb}: `{other['ours_config'].iloc[-1]}`",
        "",
        f"| | gbdt | + ours {na} | + ours {nb} |",
        "|---|---|---|---|",
        f"| mean test AUC | {a['gbdt'].mean():.4f} | {a['gbdt+ours'].mean():.4f} "
        f"| {b['gbdt+ours'].mean():.4f} |",
        f"| mean diff vs gbdt | | {d_a.mean():+.4f} | {d_b.mean():+.4f} |",
        f"| worst dataset diff vs gbdt | | {ta['mean'].min():+.4f} ({ta['mean'].idxmin()}) "
        f"| {tb['mean'].min():+.4f} ({tb['mean'].idxmin()}) |",
        f"| datasets below noise | | {int(ta['below_noise'].sum())} "
        f"| {int(tb['below_noise'].sum())} |",
        f"| SMASH mean weight | | {a['w_smash'].mean():.3f} | {b['w_smash'].mean():.3f} |",
        f"| SMASH kept (weight > 0) | | {(a['w_smash'] > 0).sum()}/{len(a)} "
        f"| {(b['w_smash'] > 0).sum()}/{len(b)} |",
        "",
        f"paired + ours {nb} - + ours {na}: mean {gap.mean():+.4f}, standard error {se:.4f}; "
        f"better on {(gap > 0).sum()}, equal on {(gap == 0).sum()}, worse on {(gap < 0).sum()}",
        "",
        f"| dataset | split | gbdt | + ours {na} | + ours {nb} | diff {na} | diff {nb} "
        f"| {nb} - {na} | w smash {na} | w smash {nb} |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (name, split), g in a["gbdt"].items():
        lines.append(
            f"| {name} | {split} | {g:.4f} | {a.loc[(name, split), 'gbdt+ours']:.4f} "
            f"| {b.loc[(name, split), 'gbdt+ours']:.4f} | {d_a[(name, split)]:+.4f} "
            f"| {d_b[(name, split)]:+.4f} | {gap[(name, split)]:+.4f} "
            f"| {a.loc[(name, split), 'w_smash']:.3f} | {b.loc[(name, split), 'w_smash']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def _arm_missing(table: pd.DataFrame, arm: str, splits: int) -> str | None:
    """Why ``table`` has no finished ``arm`` row for :func:`versus` (splits < ``splits``), or
    None when it has one."""
    if not {"arm", "auc", "split"} <= set(table.columns):
        return f"no finished {arm} rows (no rows at all)"
    ok = table[(table["arm"] == arm) & table["auc"].notna()]
    found = sorted({int(s) for s in ok["split"]})
    if any(s < splits for s in found):
        return None
    elsewhere = f" (it has them on splits {found}: raise --splits)" if found else ""
    return f"no finished {arm} rows on splits < {splits}{elsewhere}"


def versus_problems(
    base: pd.DataFrame,
    other: pd.DataFrame,
    where: tuple[str, str],
    splits: int,
    fitting: tuple[str, ...] = (),
) -> list[str]:
    """What :func:`versus` needs and the two tables (``--versus`` base, ``--out`` other) lack,
    each with how to add it: both arms finished in both, on at least one common dataset x
    split; an arm in ``fitting`` (this command fits it into ``other``) counts as there. An
    empty list when nothing is missing."""
    how = {
        ("gbdt", 0): f"copy another run's gbdt rows into it without fitting: --summarise-only "
        f"--out {where[0]} --gbdt-from OTHER.csv (same --suite, --splits, --time-limit, "
        f"--presets as its rows), or fit them: --arms gbdt --out {where[0]}",
        ("gbdt", 1): "add --gbdt-from OTHER.csv to this command (copies that run's gbdt rows "
        "of the same datasets, splits, time limit and presets, fitting nothing), or fit them "
        "(--arms gbdt, without --summarise-only)",
        ("gbdt+ours", 0): f"fit them: that run's command (its --ours) with --arms gbdt+ours "
        f"--out {where[0]}",
        ("gbdt+ours", 1): "fit them (--arms gbdt+ours, without --summarise-only)",
    }
    labels = (f"A (--versus {where[0]})", f"B (--out {where[1]})")
    problems = [
        f"{labels[i]}: {gap}; {how[(arm, i)]}"
        for i, table in enumerate((base, other))
        for arm in ARMS
        if not (i == 1 and arm in fitting) and (gap := _arm_missing(table, arm, splits))
    ]
    if problems or fitting:
        return problems

    def pairs(t: pd.DataFrame) -> set:
        ok = t[t["auc"].notna() & (t["split"].astype(int) < splits)]
        arms = ok.groupby([ok["dataset"], ok["split"].astype(int)])["arm"].agg(set)
        return {key for key, found in arms.items() if set(ARMS) <= found}

    a, b = pairs(base), pairs(other)
    if not a & b:
        return [
            f"no dataset x split (< {splits}) has finished gbdt and gbdt+ours rows in both "
            f"CSVs (A: {len(a)}, B: {len(b)} such pairs, none shared): fit the missing arm of "
            "the same datasets and splits in one of them (--arms, --only-splits)"
        ]
    return []


def print_versus(base: pd.DataFrame, table: pd.DataFrame, base_path: str, out: Path, splits: int):
    print(f"A: {base_path}, B: {out} (splits < {splits})")
    first = [t[t["split"].astype(int) < splits] for t in (base, table)]
    print(versus(*first, ("A", "B")))


def suite_names(suite: str) -> list[str]:
    from automl_hyper.data.benchmark_sets import REPORT_SET, SELECTION_SET

    if suite == "cc18-30":
        return list(REPORT_SET)
    if suite == "selection":
        return list(SELECTION_SET)
    return [n for n in suite.split(",") if n]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="cc18-30", help="cc18-30, selection or names,comma")
    parser.add_argument("--splits", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per predictor")
    parser.add_argument("--presets", default="medium_quality")
    parser.add_argument("--num-cpus", type=int, default=1, help="AutoGluon's num_cpus")
    parser.add_argument("--out", default=None, help="CSV (default results/autogluon_uplift_SUITE)")
    parser.add_argument("--summary", default=None, help="Markdown (default: --out as .md)")
    parser.add_argument(
        "--ours",
        type=json.loads,
        default=None,
        help='JSON replacing some of our keys\' configs, e.g. \'{"SMASH": [{"ag.use_val_data": false}]}\'',
    )
    parser.add_argument(
        "--arms", default=",".join(ARMS), help="comma list of arms to fit (default: both)"
    )
    parser.add_argument(
        "--only-splits",
        default=None,
        help="comma list of split ids to fit (each < --splits; paper splits are prefix-stable, "
        "so split i is the same for any --splits > i); default: all",
    )
    parser.add_argument(
        "--code",
        default=None,
        help="label for the CSV's code column when automl_hyper is imported from a frozen "
        "install outside this checkout (its git HEAD would say nothing about the code run)",
    )
    parser.add_argument(
        "--gbdt-from",
        default=None,
        help="CSV whose gbdt rows (same dataset, split, time limit, presets) are copied into --out "
        "instead of fitting that arm again (column gbdt_from); check first that they reproduce",
    )
    parser.add_argument(
        "--versus",
        default=None,
        help="print a comparison of --out (other) with this CSV (base), two runs that differ "
        "only in --ours: with --summarise-only from the CSVs as they are, else after fitting; "
        "both need finished gbdt and gbdt+ours rows (checked before anything is fitted)",
    )
    parser.add_argument(
        "--ag-verbosity",
        type=int,
        default=0,
        help="AutoGluon's verbosity for every fit (3: each model's time limit and skips); "
        "for diagnosis, results unchanged",
    )
    parser.add_argument(
        "--summarise-only",
        action="store_true",
        help="rewrite the Markdown from the CSV, fit nothing",
    )
    args = parser.parse_args(argv)
    only = {int(s) for s in args.only_splits.split(",")} if args.only_splits else None
    if only and max(only) >= args.splits:
        parser.error("--only-splits: every split id must be < --splits")

    label = args.suite if args.suite in ("cc18-30", "selection") else "custom"
    out = Path(args.out or RESULTS / f"autogluon_uplift_{label}.csv")
    summary = Path(args.summary or out.with_suffix(".md"))
    if args.versus:  # checked before anything is imported or fitted
        if not Path(args.versus).is_file():
            parser.error(f"--versus {args.versus}: no such file (the base run's CSV)")
        base = pd.read_csv(args.versus, keep_default_na=False, na_values=[""])
        other, done = load_done(out)
        if args.gbdt_from:  # what this command copies in before comparing
            other, _ = reuse_gbdt(
                other, done, Path(args.gbdt_from), suite_names(args.suite), args, "check"
            )
        fitting = () if args.summarise_only else tuple(a for a in args.arms.split(",") if a)
        where = (args.versus, str(out))
        problems = versus_problems(base, other, where, args.splits, fitting)
        if problems:
            parser.error("--versus needs both arms in both CSVs:\n  " + "\n  ".join(problems))
    warnings.filterwarnings("ignore")
    import autogluon.tabular  # noqa: F401  (fires automl_hyper's registration hook)

    ours, ours_config = our_hyperparameters(args.ours)
    code_state(args.code)  # the state this process imported, recorded on every row
    flags = [a for a in (argv or sys.argv[1:]) if a != "--summarise-only"]
    command = "python benchmarks/autogluon_uplift.py " + " ".join(flags)
    names = suite_names(args.suite)
    missing = [n for n in names if not (DATA_DIR / f"{n}.csv").exists()]
    if missing:
        parser.error(f"not in {DATA_DIR}: {', '.join(missing)}")
    table, done = load_done(out)
    arms = tuple(a for a in args.arms.split(",") if a)
    if set(arms) - set(ARMS):
        parser.error(f"--arms: unknown arm in {args.arms!r} (known: {', '.join(ARMS)})")
    if args.gbdt_from:
        n_before = len(table)
        table, done = reuse_gbdt(table, done, Path(args.gbdt_from), names, args, ours_config)
        if len(table) > n_before:  # kept even when this call fits nothing (--arms gbdt)
            save_table(table, out)
    if args.summarise_only:
        write_summary(summary, table, command, ours, ours_config)
        print(summarise(table))
        if args.versus:
            print_versus(base, table, args.versus, out, args.splits)
        return 0
    start = time.time()
    for name in names:
        rows = run_dataset(
            name,
            args.splits,
            args.time_limit,
            args.presets,
            args.num_cpus,
            done,
            ours,
            ours_config,
            arms=arms,
            only=only,
            verbosity=args.ag_verbosity,
        )
        if not rows:
            continue
        table = pd.concat([table, pd.DataFrame(rows)], ignore_index=True)
        save_table(table, out)
        write_summary(summary, table, command, ours, ours_config)
    if not table.empty:
        write_summary(summary, table, command, ours, ours_config)
        print(summarise(table))
    print(f"{time.time() - start:.0f} s")
    if args.versus:  # after fitting: the arms this command fitted are in the table now
        problems = versus_problems(base, table, where, args.splits)
        if problems:
            print("--versus: nothing to compare:\n  " + "\n  ".join(problems), file=sys.stderr)
            return 1
        print_versus(base, table, args.versus, out, args.splits)
    return 0


def save_table(table: pd.DataFrame, out: Path) -> None:
    # The whole table is rewritten (then renamed into place): columns added by a newer
    # version of this script stay aligned with rows written by an older one.
    table.to_csv(out.with_suffix(".tmp"), index=False)
    out.with_suffix(".tmp").replace(out)


def reuse_gbdt(
    table: pd.DataFrame, done: set, source: Path, names: list[str], args, ours_config: str
) -> tuple[pd.DataFrame, set]:
    """Copy ``source``'s successful gbdt rows of these datasets into the table under this run's
    ``ours_config`` (the gbdt arm does not depend on it), so two runs that differ only in our
    configs can pair with one GBDT arm. Rows already in the table stay as they are."""
    other = pd.read_csv(source, keep_default_na=False, na_values=[""])
    other = other[
        (other["arm"] == "gbdt")
        & other["auc"].notna()
        & other["dataset"].isin(names)
        & (other["time_limit"].astype(float) == float(args.time_limit))
        & (other["presets"] == args.presets)
        & (other["split"].astype(int) < args.splits)
    ].drop_duplicates(["dataset", "split"], keep="last")
    other = other.assign(ours_config=ours_config, gbdt_from=source.name)

    def key(r: dict) -> tuple:
        return (
            r["dataset"],
            int(r["split"]),
            "gbdt",
            float(r["time_limit"]),
            r["presets"],
            ours_config,
        )

    new = [r for r in other.to_dict("records") if key(r) not in done]
    if new:
        table = pd.concat([table, pd.DataFrame(new)], ignore_index=True)
        done = done | {key(r) for r in new}
    return table, done


def load_phrase(table: pd.DataFrame) -> str:
    """The 1-minute load the rows ran at (their ``load_avg_1m``), not the load at summary time."""
    if "load_avg_1m" not in table or table.load_avg_1m.isna().all():
        return "not recorded"
    load = table.load_avg_1m.dropna()
    return f"median {load.median():.1f}, range {load.min():.1f}-{load.max():.1f} over the rows"


def write_summary(path: Path, table: pd.DataFrame, command: str, ours: dict, config: str) -> None:
    header = [
        "# AutoGluon uplift: {GBM, CAT, XGB} vs the same + {MOTHERNET, INN, SMASH}",
        "",
        f"Command: `nice -n 5 {command}` (resumable: rows already in the CSV are skipped;",
        "the summary covers every row of the CSV).",
        f"Our configs (CSV `ours_config`): {', '.join(sorted(set(table.get('ours_config', []))))}"
        "; `plain` is one default config per family, `default_hyperparameters` is",
        "`automl_hyper.integrations.autogluon.default_hyperparameters()`"
        + (f", at this summary `{json.dumps(ours, default=str)}`." if config != "plain" else "."),
        "Test ROC AUC is `automl_hyper.metrics.auc_score` (binary; one-vs-one macro for",
        "multiclass), AutoGluon's eval_metric the same (`roc_auc` / `roc_auc_ovo`).",
        "Weights: the predictor's best model (its WeightedEnsemble, else one model at 1).",
        "Code: the CSV's `code` column is the commit the row ran on (`+dirty`: other engineers'",
        "uncommitted edits of automl_hyper/ or integrations/ were in the shared working tree).",
        "",
        "Timing caveat: this ran on a machine with 2 CPU cores shared with a niced background",
        "benchmark and other engineers' tests (load average per row in the CSV's `load_avg_1m`:",
        f"{load_phrase(table)}), so fit",
        "and predict times are comparable within a row only, and a time limit buys fewer models",
        "than on an idle machine.",
        "",
    ]
    # A hand-written "## Notes" section at the end of an earlier summary survives rewrites.
    old = path.read_text() if path.exists() else ""
    notes = old[old.index(NOTES) :] if NOTES in old else ""
    path.write_text("\n".join(header) + summarise(table) + ("\n" + notes if notes else ""))


if __name__ == "__main__":
    raise SystemExit(main())
