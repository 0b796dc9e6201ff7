"""The shipped UNF predictors on real data: the 30 report datasets, 2 paper splits (issue 10).

Three parts, each a ``part`` value of one long CSV (``<out>.csv``), summarised in ``<out>.md``:

* ``children``: per dataset x split, the members of four MotherNet ensembles written by the
  shipped checkpoint (``VARIANTS``: 4 members mixed transforms, the same + 50 fine-tuning steps,
  2 members quantile, 2 members power: 12 children, no two alike). For each child: the shipped
  ``unf-mothernet`` predictor's score of its weights and its *real* test AUC on the split's test
  rows (the member alone). Kendall tau between them within each dataset-split and pooled, next
  to a baseline that reads data instead of weights: minus the member's log loss on the rows it
  was generated from (what ``member_selection="train"`` weights by). The StatNN and Deep Sets
  baselines of ``unf_predictor.py`` are trained inside that script on a bank that is not kept,
  so there is no trained artifact of them to apply here: they are left out.
* ``smash``: ``SmashClassifier`` at the ``--budget small`` settings (``hyper_time_budget`` 10 s,
  ``time_limit`` 30 s wall) with ``ranker="proxy"`` and ``"unf"``: winner test AUC and fit time.
  Only ``SMASH_SUBSET`` (every other report dataset, fixed before any result was seen): all 30
  x 2 splits x 2 rankers would take over an hour of the shared CPU. ``--smash-all`` adds the
  other 15 (run after the subset, as time allowed); the summary keeps the subset's own rows.
* ``members``: ``MotherNetClassifier()`` test AUC with ``member_selection`` "train" (the
  default), None (equal weights, variant "equal": pandas would read "None" as missing) and "unf".

Resumable: groups (part, dataset, split) already in the CSV are skipped; each new group is
appended as soon as it is done.

    nice -n 10 python benchmarks/unf_real_data.py --parts children,members --out benchmarks/results/unf_real_data
    nice -n 10 python benchmarks/unf_real_data.py --parts smash --out benchmarks/results/unf_real_data
    python benchmarks/unf_real_data.py --summarise --out benchmarks/results/unf_real_data

``--compare-predictors A B --bank DIR --bank-heldout DIR --out FILE.md`` compares UNF predictors
on prior-task child banks (``automl-hyper unf build``): what decides whether a retrained
predictor ships, since the report datasets decide nothing.
"""

from __future__ import annotations

import argparse
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

from automl_hyper import zoo  # noqa: E402
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
]


def _split_arrays(data, tr, te):
    y = data.y.to_numpy()
    return data.X.iloc[tr], data.y.iloc[tr], data.X.iloc[te], y[te]


# -- part (a): children ---------------------------------------------------------------------------
def children_rows(name: str, split: int, data, tr, te, predictor=None) -> list[dict]:
    """One row per member of each ``VARIANTS`` ensemble: predicted score, real test AUC, and the
    member's log loss on its generation rows."""
    from automl_hyper.models.mothernet import MotherNetClassifier
    from automl_hyper.models.mothernet.child import combine, softmax
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
                }
            )
    return rows


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
def smash_rows(name: str, split: int, data, tr, te) -> list[dict]:
    family = zoo.get("smash")
    X_tr, y_tr, X_te, y_te = _split_arrays(data, tr, te)
    rows = []
    for ranker in RANKERS:
        est = family.make(**family.budgets["small"], ranker=ranker, random_state=split)
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
) -> pd.DataFrame:
    """Compute every (part, dataset, split) group not yet in ``out`` (a CSV), appending each."""
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
                rows = RUNNERS[part](name, split, data, tr, te)
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
        out.append(
            {
                "dataset": name,
                "split": split,
                "children": len(g),
                "tau_unf": _tau(g.predicted_auc, g.test_auc),
                "tau_train_loss": _tau(-g.train_log_loss, g.test_auc),
                "test_auc_std": float(g.test_auc.std(ddof=0)),
            }
        )
    return pd.DataFrame(out)


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
        for label, col, pooled in (
            ("UNF `unf-mothernet` predicted AUC", "tau_unf", children.predicted_auc),
            ("baseline: - train log loss (reads data)", "tau_train_loss", -children.train_log_loss),
        ):
            t = taus[col].dropna()
            lines.append(
                f"| {label} | {t.mean():.3f} | {t.median():.3f} | {(t > 0).mean():.2f} "
                f"({(t > 0).sum()}/{len(t)}) | {_tau(pooled, children.test_auc):.3f} |"
            )
        generated = children[children.finetune_steps == 0]  # without the fine-tuning effect
        gen = child_taus(generated)
        t = gen.tau_unf.dropna()
        lines.append(
            f"| UNF, generated children only ({int(gen.children.mean())} per split, no "
            f"fine-tuning) | {t.mean():.3f} | {t.median():.3f} | {(t > 0).mean():.2f} "
            f"({(t > 0).sum()}/{len(t)}) | {_tau(generated.predicted_auc, generated.test_auc):.3f} |"
        )
        lines += [
            "",
            f"Mean within-split std of the children's real test AUC: {taus.test_auc_std.mean():.4f}"
            " (the spread a within-task ranking has to resolve).",
            "StatNN and Deep Sets: not run here (no trained artifact exists; `unf_predictor.py` "
            "trains them on a prior-task bank that is not kept).",
            "",
            "Per dataset (tau within, mean over splits):",
            "",
            "| dataset | tau UNF | tau train loss | test AUC std |",
            "|---|---|---|---|",
        ]
        per = taus.groupby("dataset", sort=False)[["tau_unf", "tau_train_loss", "test_auc_std"]]
        for name, r in per.mean().iterrows():
            lines.append(
                f"| {name} | {r.tau_unf:.3f} | {r.tau_train_loss:.3f} | {r.test_auc_std:.4f} |"
            )
        lines.append("")
    for part, ref, title in (
        ("smash", "proxy", "## (b) SMASH: ranker unf vs proxy (budget small)"),
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
    lines.append(f"Peak RSS of the summarising process: {peak_rss_mb():.0f} MB.")
    return "\n".join(lines) + "\n"


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
        run(parts, datasets, args.splits, csv, args.data_dir, stop_at, args.smash_all)
    text = summarise(read_results(csv), command)
    md.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
