"""The shipped UNF predictors on real data: the 30 report datasets, 2 paper splits (issue 10).

Three parts, each a ``part`` value of one long CSV (``<out>.csv``), summarised in ``<out>.md``:

* ``children``: per dataset x split, the members of four MotherNet ensembles written by the
  shipped checkpoint (``VARIANTS``: 4 members mixed transforms, the same + 50 fine-tuning steps,
  2 members quantile, 2 members power: 12 children, no two alike). For each child: the shipped
  ``unf-mothernet`` predictor's score of its weights and its *real* test AUC on the split's test
  rows (the member alone). Kendall tau between them within each dataset-split and pooled, next
  to a baseline that reads data instead of weights: minus the member's log loss on the rows it
  was generated from (what ``member_selection="train"`` weights by). With ``--baselines-bank
  DIR`` (the prior-task bank the shipped predictor was trained on) the StatNN and Deep Sets
  baselines of ``unf_predictor.py`` are first trained on that bank's training tasks (``unf
  train``'s split: 20 % held out, seed 0; weight scales and regression-target standardisation
  fitted on those tasks, as the shipped predictor's were) and score the same children (columns
  ``statnn_auc``, ``deepsets_auc``).
* ``smash``: ``SmashClassifier`` at the ``--budget small`` settings (``hyper_time_budget`` 10 s,
  ``time_limit`` 30 s wall), every parameter passed explicitly (``SMASH_PARAMS``), with each of
  ``--rankers`` (default proxy, unf): winner test AUC, fit time, and the Kendall tau of the
  proxy / UNF / ranking score against the finalists' real validation AUC within the fit.
  Only ``SMASH_SUBSET`` (every other report dataset, fixed before any result was seen): all 30
  x 2 splits x 2 rankers would take over an hour of the shared CPU. ``--smash-all`` adds the
  other 15 (run after the subset, as time allowed); the summary keeps the subset's own rows.
* ``members``: ``MotherNetClassifier()`` test AUC with ``member_selection`` "train" (the
  default), None (equal weights, variant "equal": pandas would read "None" as missing) and "unf".

Resumable: groups (part, dataset, split) already in the CSV are skipped; each new group is
appended as soon as it is done.

    nice -n 10 python benchmarks/unf_real_data.py --parts children,members --out benchmarks/results/unf_real_data
    nice -n 10 python benchmarks/unf_real_data.py --parts smash --out benchmarks/results/unf_real_data
    nice -n 10 python benchmarks/unf_real_data.py --parts children --baselines-bank /tmp/unf_banks/mothernet_v2 --out X
    nice -n 10 python benchmarks/unf_real_data.py --parts smash --smash-all --rankers proxy,unf,both --splits 1 --out Y
    python benchmarks/unf_real_data.py --summarise --out benchmarks/results/unf_real_data

``--compare-predictors A B --bank DIR --bank-heldout DIR --out FILE.md`` compares UNF predictors
on prior-task child banks (``automl-hyper unf build``): what decides whether a retrained
predictor ships, since the report datasets decide nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import kendalltau

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA_DIR, load_shared, peak_rss_mb  # noqa: E402

from automl_hyper.data.benchmark_sets import REPORT_SET  # noqa: E402
from automl_hyper.data.splits import paper_splits  # noqa: E402
from automl_hyper.metrics import auc_score  # noqa: E402

# (name, n_estimators, input_transform, finetune_steps). Members are deterministic in their index
# (rotation i/n of a turn, class shift i, transform), so a 1-member variant would repeat member 0
# of the 4-member one: every member below differs from every other.
VARIANTS = (
    ("n4-mixed", 4, "mixed", 0),
    ("n4-mixed-ft50", 4, "mixed", 50),
    ("n2-quantile", 2, "quantile", 0),
    ("n2-power", 2, "power", 0),
)
SMASH_SUBSET = REPORT_SET[::2]  # chosen before any result: every other report dataset
RANKERS = ("proxy", "unf")
# SmashClassifier's parameters at the "small" budget, all explicit (the defaults of 3 Dec 2026,
# 868751b; hyper_time_budget and time_limit from the zoo's "small" budget), so that a change of
# SMASH's defaults does not move these numbers; ranker and random_state are set per fit.
SMASH_PARAMS = {
    "n_candidates": 500,
    "top_k": 3,
    "n_mutations": 100,
    "hyper_time_budget": 10.0,
    "hyper_max_epochs": 60,
    "max_epochs": 100,
    "learning_rate": 1e-3,
    "dropout": 0.0,
    "weight_decay": 1e-5,
    "batch_size": 128,
    "patience": 10,
    "max_depth": 4,
    "widths": (16, 32, 64, 128, 256, 512),
    "max_params": None,
    "sampler": "random",
    "init_from_hypernet": False,
    "unf_predictor": "unf-smash",
    "ensemble_top_k": 2,
    "tune_trials": 0,
    "validation_fraction": 0.2,
    "time_limit": 30.0,
}
SELECTIONS = ("train", None, "unf")
PARTS = ("children", "members", "smash")
COLUMNS = [
    "part",
    "dataset",
    "split",
    "variant",
    "member",
    "transform",
    "finetune_steps",
    "predicted_auc",
    "train_log_loss",
    "test_auc",
    "fit_s",
    "fit_cpu_s",
    "n_train",
    "n_classes",
    "unf_scored",
    "winner",
    "statnn_auc",
    "deepsets_auc",
    "n_candidates",
    "ranking_s",
    "n_finalists",
    "tau_proxy",
    "tau_unf",
    "tau_rank",
]


def _split_arrays(data, tr, te):
    y = data.y.to_numpy()
    return data.X.iloc[tr], data.y.iloc[tr], data.X.iloc[te], y[te]


# -- part (a): children ---------------------------------------------------------------------------
def children_rows(
    name: str, split: int, data, tr, te, predictor=None, scorers: dict | None = None
) -> list[dict]:
    """One row per member of each ``VARIANTS`` ensemble: predicted score, real test AUC, and the
    member's log loss on its generation rows; ``scorers`` (column -> ``f(children, meta)``, the
    trained baselines) add a column each."""
    from automl_hyper.models.mothernet import MotherNetClassifier
    from automl_hyper.models.mothernet.child import combine, softmax
    from automl_hyper.weightspace.specs import child_members
    from automl_hyper.weightspace.uses import score_members

    X_tr, y_tr, X_te, y_te = _split_arrays(data, tr, te)
    rows = []
    for variant, n_est, transform, ft in VARIANTS:
        clf = MotherNetClassifier(
            n_estimators=n_est,
            input_transform=transform,
            finetune_steps=ft,
            member_selection="train",  # fills member_train_loss_ (the baseline)
            random_state=split,
        )
        c0, t0 = time.process_time(), time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X_tr, y_tr)
        fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
        child = clf.export_child()
        predicted = score_members(child, len(tr), predictor)
        extra = {}
        if scorers:  # the same (space, tensors) and meta-features score_members gives the UNF
            members = child_members(child, permute_io=True)
            meta = [(len(tr), int(np.shape(child.members[0].W1)[0]), len(child.classes_))]
            extra = {col: f(members, meta * len(members)) for col, f in scorers.items()}
        Xp = child.preprocessor.transform(X_te)
        labels = np.searchsorted(child.classes_, y_te)
        n_classes = len(child.classes_)
        for i, m in enumerate(child.members):
            if m.mode == "shift":  # a member alone scores every class (<= 10 classes)
                logits = m.logits(m.inputs(Xp, child.clip)) / child.temperature
                proba = combine([softmax(logits)], [replace(m, weight=1.0)], n_classes)
                auc = auc_score(labels, proba)
            else:
                auc = float("nan")
            rows.append(
                {
                    "variant": variant,
                    "member": i,
                    "transform": type(m.transform).__name__ if m.transform is not None else "none",
                    "finetune_steps": ft,
                    "predicted_auc": float(predicted[i]),
                    "train_log_loss": float(clf.member_train_loss_[i]),
                    "test_auc": auc,
                    "fit_s": fit_s,
                    "fit_cpu_s": fit_cpu,
                    "n_train": len(tr),
                    "n_classes": n_classes,
                    **{col: float(v[i]) for col, v in extra.items()},
                }
            )
    return rows


def train_baselines(
    bank: str, predictor_name: str = "unf-mothernet", epochs: int = 120, unseen: str | None = None
):
    """StatNN and Deep Sets (``unf_predictor.py``) trained on the training tasks of ``bank`` as
    ``unf train`` splits them (20 % held out, seed 0), with weight scales and a target
    standardisation fitted on those tasks (mean and std of every child's score: the baselines
    train on the "regression" objective). Returns (scorers, report): scorers
    map a column to ``f(children, meta) -> scores``; the report has their taus on the held-out
    tasks next to the shipped UNF's (and on every task of ``unseen``, another bank)."""
    from unf_predictor import fit_deepsets, fit_statnn

    from automl_hyper.weightspace.bank import ChildCollection
    from automl_hyper.weightspace.predictor import (
        ChildQualityPredictor,
        _tasks_from,
        kendall_taus,
        new_predictor,
        split_tasks,
    )

    unf = ChildQualityPredictor.load(predictor_name)
    coll = ChildCollection(bank)
    train_ids, held_ids = split_tasks([coll], 0.2, 0)
    train, held = _tasks_from([coll], train_ids), _tasks_from([coll], held_ids)
    # The baselines' own statistics, from their own training tasks: the UNF's equal them only
    # when it was trained on this bank with objective "regression" (a "within_task" UNF's
    # target_std is the within-task spread, far smaller than the regression targets' std).
    own = new_predictor(train, meta=True, objective="regression").config
    same = all(abs(own.scales[n] - v) < 1e-9 for n, v in unf.config.scales.items())
    same = same and abs(own.target_mean - unf.config.target_mean) < 1e-12
    names = sorted({n for children, _, _ in train + held for sp, _ in children for n in sp.names})
    t0 = time.perf_counter()
    statnn = fit_statnn(train, names, own.scales, 0)
    t1 = time.perf_counter()
    deepsets = fit_deepsets(train, own.scales, names, epochs, 0, own.target_mean, own.target_std)
    t2 = time.perf_counter()

    def taus(tasks):
        real = [s for _, s, _ in tasks]
        return {
            "unf": kendall_taus([unf.predict(ch, m) for ch, _, m in tasks], real),
            "statnn": kendall_taus(statnn(tasks), real),
            "deepsets": kendall_taus(deepsets(tasks), real),
        }

    report = {
        "bank": bank,
        "same_training_tasks_as_shipped": bool(same),
        "train_tasks": len(train),
        "heldout_tasks": len(held),
        "statnn_train_s": round(t1 - t0, 1),
        "deepsets_train_s": round(t2 - t1, 1),
        "deepsets_epochs": epochs,
        "deepsets_target": {"mean": own.target_mean, "std": own.target_std},
        "unf_target": {
            "mean": unf.config.target_mean,
            "std": unf.config.target_std,
            "objective": unf.config.objective,
        },
        "heldout": taus(held),
    }
    if unseen:
        other = ChildCollection(unseen)
        report["unseen_bank"] = unseen
        report["unseen"] = taus(
            _tasks_from([other], [(other, int(t)) for t in other.table.task.unique()])
        )

    def one_task(f):
        return lambda children, meta: f([(children, np.zeros(len(children)), meta)])[0]

    return {"statnn_auc": one_task(statnn), "deepsets_auc": one_task(deepsets)}, report


# -- part (c): member selection -------------------------------------------------------------------
def members_rows(name: str, split: int, data, tr, te) -> list[dict]:
    from automl_hyper.models.mothernet import MotherNetClassifier

    X_tr, y_tr, X_te, y_te = _split_arrays(data, tr, te)
    rows = []
    for selection in SELECTIONS:
        clf = MotherNetClassifier(member_selection=selection, random_state=split)
        c0, t0 = time.process_time(), time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X_tr, y_tr)
            proba = clf.predict_proba(X_te)
        rows.append(
            {
                "variant": "equal" if selection is None else selection,
                "test_auc": auc_score(np.searchsorted(clf.classes_, y_te), proba),
                "fit_s": time.perf_counter() - t0,
                "fit_cpu_s": time.process_time() - c0,
                "n_train": len(tr),
                "n_classes": len(clf.classes_),
            }
        )
    return rows


# -- part (b): SMASH rankers ----------------------------------------------------------------------
def smash_rows(name: str, split: int, data, tr, te, rankers=RANKERS) -> list[dict]:
    from automl_hyper.models.smash import SmashClassifier

    X_tr, y_tr, X_te, y_te = _split_arrays(data, tr, te)
    rows = []
    for ranker in rankers:
        est = SmashClassifier(**SMASH_PARAMS, ranker=ranker, random_state=split)
        c0, t0 = time.process_time(), time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X_tr, y_tr)
        fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
        proba = est.predict_proba(X_te)
        rows.append(
            {
                "variant": ranker,
                "test_auc": auc_score(np.searchsorted(est.classes_, y_te), proba),
                "fit_s": fit_s,
                "fit_cpu_s": fit_cpu,
                "n_train": len(tr),
                "n_classes": len(est.classes_),
                "unf_scored": int(est.search_results_["unf_score"].notna().sum()),
                "winner": est.best_spec_.describe(),
                "n_candidates": len(est.search_results_),
                "ranking_s": est.search_timings_.get("ranking_s", float("nan")),
                "n_finalists": int(est.search_results_["real_score"].notna().sum()),
                # within the fit, over its finalists (real = validation AUC; NaN below 3)
                "tau_proxy": est.ranker_kendall_taus_["proxy"],
                "tau_unf": est.ranker_kendall_taus_["unf"],
                "tau_rank": est.ranker_kendall_taus_[ranker],
            }
        )
    return rows


RUNNERS = {"children": children_rows, "members": members_rows, "smash": smash_rows}


# -- running and resuming -------------------------------------------------------------------------
def read_results(path: Path) -> pd.DataFrame:
    if path.exists():
        return pd.read_csv(path)
    return pd.DataFrame(columns=COLUMNS)


def run(
    parts,
    datasets,
    n_splits: int,
    out: Path,
    data_dir: Path = DATA_DIR,
    stop_at: float | None = None,
    smash_all: bool = False,
    options: dict | None = None,
) -> pd.DataFrame:
    """Compute every (part, dataset, split) group not yet in ``out`` (a CSV), appending each.
    ``options``: per part, keyword arguments of its runner."""
    done = read_results(out)
    seen = set(zip(done["part"], done["dataset"], done["split"].astype(int)))
    for part in parts:
        names = [d for d in datasets if part != "smash" or smash_all or d in SMASH_SUBSET]
        for split in range(n_splits):  # split-major: an early stop leaves whole splits
            for name in names:
                if (part, name, split) in seen:
                    continue
                if stop_at is not None and time.time() > stop_at:
                    print("stop time reached: stopping (rerun to resume)", flush=True)
                    return read_results(out)
                data = load_shared(name, data_dir)
                tr, te = paper_splits(data.y, n_splits=n_splits, seed=0, drop_singletons=True)[
                    split
                ]
                t = time.perf_counter()
                rows = RUNNERS[part](name, split, data, tr, te, **(options or {}).get(part, {}))
                frame = pd.DataFrame(
                    [{"part": part, "dataset": name, "split": split, **r} for r in rows]
                ).reindex(columns=COLUMNS)
                frame.to_csv(out, mode="a", header=not out.exists(), index=False)
                print(
                    f"{part} {name} split {split}: {len(rows)} rows "
                    f"[{time.perf_counter() - t:.1f} s]",
                    flush=True,
                )
    return read_results(out)


# -- summary --------------------------------------------------------------------------------------
def _tau(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return float("nan")
    return float(kendalltau(a[ok], b[ok]).statistic)


def child_taus(children: pd.DataFrame) -> pd.DataFrame:
    """Kendall tau within each dataset-split: UNF predicted score and the train-loss baseline
    (minus the log loss: higher = better) against the members' real test AUC."""
    out = []
    for (name, split), g in children.groupby(["dataset", "split"], sort=False):
        row = {
            "dataset": name,
            "split": split,
            "children": len(g),
            "tau_unf": _tau(g.predicted_auc, g.test_auc),
            "tau_train_loss": _tau(-g.train_log_loss, g.test_auc),
            "test_auc_std": float(g.test_auc.std(ddof=0)),
        }
        for col, label in BASELINE_COLUMNS.items():
            if col in g and g[col].notna().any():
                row[f"tau_{label}"] = _tau(g[col], g.test_auc)
        row["tau_unf+loss"] = _tau(combined_rank(g), g.test_auc)
        out.append(row)
    return pd.DataFrame(out)


BASELINE_COLUMNS = {"statnn_auc": "statnn", "deepsets_auc": "deepsets"}


def combined_rank(g: pd.DataFrame) -> np.ndarray:
    """UNF + train loss: the mean of the two ranks within ``g`` (weights 0.5 / 0.5, fixed)."""
    from scipy.stats import rankdata

    return 0.5 * (rankdata(g.predicted_auc) + rankdata(-g.train_log_loss))


def _paired(frame: pd.DataFrame, ref: str, other: str) -> dict:
    wide = frame.pivot_table(index=["dataset", "split"], columns="variant", values="test_auc")
    wide = wide.dropna(subset=[ref, other])
    d = (wide[other] - wide[ref]).to_numpy()
    per = (wide[other] - wide[ref]).groupby(level="dataset").mean()
    return {
        "pairs": len(d),
        "mean": float(np.mean(d)) if len(d) else float("nan"),
        "median": float(np.median(d)) if len(d) else float("nan"),
        "wtl": f"{(d > 1e-4).sum()}/{(abs(d) <= 1e-4).sum()}/{(d < -1e-4).sum()}",
        "datasets": f"{(per > 1e-4).sum()}/{(per < -1e-4).sum()}",
    }


def _variant_table(frame: pd.DataFrame, ref: str, label: str) -> list[str]:
    lines = [
        f"{frame.dataset.nunique()} datasets x {frame.split.nunique()} splits{label}. "
        f"Wins/ties/losses per split against `{ref}` (tie: |diff| <= 1e-4); datasets "
        "better/worse on the split mean.",
        "",
        f"| variant | mean test AUC | vs {ref} (mean) | median | w/t/l | datasets +/- | "
        "fit s (wall) | fit CPU s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for variant, g in frame.groupby("variant", sort=False):
        p = _paired(frame, ref, variant)
        lines.append(
            f"| {variant} | {g.test_auc.mean():.4f} | {p['mean']:+.4f} | {p['median']:+.4f} "
            f"| {p['wtl']} | {p['datasets']} | {g.fit_s.mean():.1f} | {g.fit_cpu_s.mean():.1f} |"
        )
    return lines + [""]


def summarise(results: pd.DataFrame, command: str) -> str:
    lines = [
        "# Shipped UNF predictors on real data (issue 10): 30 report datasets, paper splits",
        "",
        f"`{command}`",
        "",
        "Paper splits (train = min(1000, n/2) rows, as many test rows, seed 0); real scores are "
        "ROC AUC on the split's test rows (one-vs-one macro for multiclass). The report set "
        "decides nothing here: these are the product's shipped predictors and defaults, measured.",
        "",
    ]
    children = results[results.part == "children"]
    if len(children):
        taus = child_taus(children)
        lines += [
            "## (a) MotherNet children: predicted vs real test AUC",
            "",
            f"{len(children)} children (members of {', '.join(v[0] for v in VARIANTS)}) on "
            f"{len(taus)} dataset-splits ({taus.dataset.nunique()} datasets). Within: Kendall "
            "tau among one dataset-split's children (mean over dataset-splits, and the share "
            "with tau > 0); across: all children pooled.",
            "",
            "| score | tau within (mean) | median | share tau > 0 | tau across (pooled) |",
            "|---|---|---|---|---|",
        ]
        scores = [
            ("UNF `unf-mothernet` predicted AUC", "tau_unf", children.predicted_auc),
            ("StatNN (weight statistics + GBM)", "tau_statnn", children.get("statnn_auc")),
            ("Deep Sets over neurons", "tau_deepsets", children.get("deepsets_auc")),
            ("baseline: - train log loss (reads data)", "tau_train_loss", -children.train_log_loss),
            ("UNF + train loss (mean of the two ranks)", "tau_unf+loss", None),
        ]
        for label, col, pooled in scores:
            if col not in taus:
                continue
            t = taus[col].dropna()
            across = (
                "n/a (ranks within split)"
                if pooled is None
                else (f"{_tau(pooled, children.test_auc):.3f}")
            )
            lines.append(
                f"| {label} | {t.mean():.3f} | {t.median():.3f} | {(t > 0).mean():.2f} "
                f"({(t > 0).sum()}/{len(t)}) | {across} |"
            )
        generated = children[children.finetune_steps == 0]  # without the fine-tuning effect
        gen = child_taus(generated)
        for label, col, _ in scores:
            if col not in gen or (col != "tau_unf" and "tau_statnn" not in gen):
                continue  # older runs: the UNF's row only
            pooled = {
                "tau_unf": generated.predicted_auc,
                "tau_statnn": generated.get("statnn_auc"),
                "tau_deepsets": generated.get("deepsets_auc"),
                "tau_train_loss": -generated.train_log_loss,
            }.get(col)
            t = gen[col].dropna()
            across = "n/a" if pooled is None else f"{_tau(pooled, generated.test_auc):.3f}"
            lines.append(
                f"| {label.split(' (')[0].split(' `')[0]}, generated children only "
                f"({int(gen.children.mean())} per split, no fine-tuning) | {t.mean():.3f} | "
                f"{t.median():.3f} | {(t > 0).mean():.2f} ({(t > 0).sum()}/{len(t)}) | {across} |"
            )
        lines += [
            "",
            f"Mean within-split std of the children's real test AUC: {taus.test_auc_std.mean():.4f}"
            " (the spread a within-task ranking has to resolve).",
        ]
        others = [c for c in ("tau_statnn", "tau_deepsets", "tau_train_loss") if c in taus]
        if "tau_statnn" in taus:
            lines += [
                "",
                "UNF against each other score, paired per dataset-split (splits where both "
                "taus are defined): mean difference of within-split tau, and the splits where the "
                "UNF's tau is higher / equal / lower.",
                "",
                "| UNF vs | mean tau difference | UNF higher/equal/lower |",
                "|---|---|---|",
            ]
            for col in [*others, "tau_unf+loss"]:
                both = taus[["tau_unf", col]].dropna()
                d = both.tau_unf - both[col]
                lines.append(
                    f"| {col[4:]} | {d.mean():+.3f} | {(d > 1e-9).sum()}/"
                    f"{(d.abs() <= 1e-9).sum()}/{(d < -1e-9).sum()} |"
                )
        else:
            lines.append(
                "StatNN and Deep Sets: not run here (no trained artifact exists; "
                "`unf_predictor.py` trains them on a prior-task bank that is not kept)."
            )
        cols = ["tau_unf", *others, "test_auc_std"]
        lines += [
            "",
            "Per dataset (tau within, mean over splits):",
            "",
            "| dataset | " + " | ".join(f"tau {c[4:]}" for c in cols[:-1]) + " | test AUC std |",
            "|---" * len(cols) + "|---|",
        ]
        for name, r in taus.groupby("dataset", sort=False)[cols].mean().iterrows():
            vals = " | ".join(f"{r[c]:.3f}" for c in cols[:-1])
            lines.append(f"| {name} | {vals} | {r.test_auc_std:.4f} |")
        lines.append("")
    for part, ref, title in (
        ("smash", "proxy", "## (b) SMASH: rankers against proxy (budget small)"),
        ("members", "train", "## (c) MotherNet: member_selection"),
    ):
        frame = results[results.part == part]
        if not len(frame):
            continue
        lines += [title, ""]
        subsets = [("", frame)]
        if part == "smash":
            fixed = frame[frame.dataset.isin(SMASH_SUBSET)]
            subsets = [(" (the subset fixed in advance: every other report dataset)", fixed)]
            if len(fixed) < len(frame):
                subsets.append((" (all datasets run: the subset plus those added after)", frame))
        for label, sub in subsets:
            lines += _variant_table(sub, ref, label)
        if part == "smash":
            unf = frame[frame.variant == "unf"]
            lines += [
                f"UNF-scored candidates per unf fit: mean {unf.unf_scored.mean():.0f} (the "
                "ranking gets half of what is left of `time_limit`; unscored candidates rank last).",
                "",
            ]
            if "tau_proxy" in frame and frame.tau_proxy.notna().any():
                lines += _smash_tau_table(frame)
    lines.append(f"Peak RSS of the summarising process: {peak_rss_mb():.0f} MB.")
    return "\n".join(lines) + "\n"


def _smash_tau_table(frame: pd.DataFrame) -> list[str]:
    """Within-fit Kendall tau of each ranking score against the finalists' real validation AUC
    (mean over fits where it is defined, and how many fits that is)."""
    lines = [
        "Within-task Kendall tau against the finalists' real validation AUC (the search's "
        "`real_score`; each fit trains its own `top_k` finalists, so a tau is over at most 3 "
        "architectures and takes the values +-1/3, +-1): mean over fits (fits with a defined tau).",
        "",
        "| ranker of the fit | candidates | UNF-scored | ranking s | finalists | tau proxy | "
        "tau UNF | tau of its ranking score |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def cell(x: pd.Series) -> str:
        x = x.dropna()
        return f"{x.mean():+.3f} ({len(x)})" if len(x) else "-"

    for variant, g in frame.groupby("variant", sort=False):
        lines.append(
            f"| {variant} | {g.n_candidates.mean():.0f} | {g.unf_scored.mean():.0f} | "
            f"{g.ranking_s.mean():.1f} | {g.n_finalists.mean():.1f} | {cell(g.tau_proxy)} | "
            f"{cell(g.tau_unf)} | {cell(g.tau_rank)} |"
        )
    return lines + [""]


# -- optional: shipped vs retrained predictor on prior-task banks (decides; real data never does)
def bank_taus(predictors: list[str], banks: list[str], heldout_banks: list[str]) -> pd.DataFrame:
    """Kendall taus of each predictor (shipped name or file with sidecar) on every task of
    ``banks`` and on the held-out tasks of ``heldout_banks`` (``unf train``'s default split:
    20 %, seed 0), one row per (bank, predictor)."""
    from automl_hyper.weightspace.bank import ChildCollection
    from automl_hyper.weightspace.predictor import (
        ChildQualityPredictor,
        _tasks_from,
        kendall_taus,
        split_tasks,
    )

    loaded = {p: ChildQualityPredictor.load(p) for p in predictors}
    sets = []
    for bank in banks:
        coll = ChildCollection(bank)
        sets.append(
            (f"{bank} (all tasks)", coll, [(coll, int(t)) for t in coll.table.task.unique()])
        )
    for bank in heldout_banks:
        coll = ChildCollection(bank)
        sets.append((f"{bank} (held out)", coll, split_tasks([coll], 0.2, 0)[1]))
    rows = []
    for label, _, ids in sets:
        tasks = _tasks_from([ids[0][0]], ids)
        real = [s for _, s, _ in tasks]
        for name, predictor in loaded.items():
            preds = [predictor.predict(ch, m) for ch, _, m in tasks]
            per_task = [_tau(p, r) for p, r in zip(preds, real)]
            share = float(np.mean([t > 0 for t in per_task if np.isfinite(t)]))
            rows.append(
                {"bank": label, "predictor": name, **kendall_taus(preds, real), "share_pos": share}
            )
    return pd.DataFrame(rows)


def _check_smash_params() -> None:
    """Say which SmashClassifier parameters ``SMASH_PARAMS`` does not fix (a parameter added
    after it was written runs at its default)."""
    from automl_hyper.models.smash import SmashClassifier

    free = set(SmashClassifier().get_params()) - set(SMASH_PARAMS) - {"ranker", "random_state"}
    if free:
        print(f"SMASH parameters left at their defaults: {sorted(free)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--datasets", default=",".join(REPORT_SET))
    parser.add_argument("--splits", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument(
        "--out",
        required=True,
        help="prefix: <out>.csv (appended), <out>.md; a file with --compare-predictors",
    )
    parser.add_argument("--stop-at", default=None, help="UTC HH:MM after which no group starts")
    parser.add_argument("--summarise", action="store_true", help="only rewrite <out>.md")
    parser.add_argument("--smash-all", action="store_true", help="smash on all, not the subset")
    parser.add_argument("--compare-predictors", nargs="*", default=None, help="names or files")
    parser.add_argument("--bank", nargs="*", default=[], help="with --compare-predictors")
    parser.add_argument("--bank-heldout", nargs="*", default=[], help="its held-out tasks only")
    parser.add_argument(
        "--baselines-bank", default=None, help="children: train StatNN / Deep Sets on this bank"
    )
    parser.add_argument("--baselines-epochs", type=int, default=120, help="Deep Sets epochs")
    parser.add_argument("--baselines-unseen", default=None, help="a bank of unseen tasks to report")
    parser.add_argument("--rankers", default=",".join(RANKERS), help="smash: rankers to fit")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    command = "python benchmarks/unf_real_data.py " + " ".join(argv or sys.argv[1:])
    if args.compare_predictors:
        table = bank_taus(args.compare_predictors, args.bank, args.bank_heldout)
        lines = [
            f"`{command}`",
            "",
            "| bank | predictor | tau within | tau across | tasks | share > 0 |",
        ]
        lines.append("|---|---|---|---|---|---|")
        for r in table.itertuples():
            lines.append(
                f"| {r.bank} | {r.predictor} | {r.tau_within_task:.3f} | {r.tau_across_tasks:.3f} "
                f"| {r.n_tasks_ranked} | {r.share_pos:.2f} |"
            )
        text = "\n".join(lines) + "\n"
        Path(args.out).write_text(text)
        print(text)
        return 0
    csv, md = Path(f"{args.out}.csv"), Path(f"{args.out}.md")
    stop_at = None
    if args.stop_at:
        hh, mm = (int(x) for x in args.stop_at.split(":"))
        now = datetime.now(timezone.utc)
        stop_at = now.replace(hour=hh, minute=mm, second=0, microsecond=0).timestamp()
    if not args.summarise:
        parts = [p for p in args.parts.split(",") if p]
        unknown = set(parts) - set(PARTS)
        if unknown:
            parser.error(f"unknown parts {sorted(unknown)}; known: {PARTS}")
        datasets = args.datasets.split(",")
        options = {"smash": {"rankers": tuple(args.rankers.split(","))}}
        if "smash" in parts:
            _check_smash_params()
        if args.baselines_bank and "children" in parts:
            scorers, report = train_baselines(
                args.baselines_bank, epochs=args.baselines_epochs, unseen=args.baselines_unseen
            )
            Path(f"{args.out}.baselines.json").write_text(json.dumps(report, indent=1) + "\n")
            print(json.dumps(report, indent=1), flush=True)
            options["children"] = {"scorers": scorers}
        run(parts, datasets, args.splits, csv, args.data_dir, stop_at, args.smash_all, options)
    text = summarise(read_results(csv), command)
    md.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
