"""Where MotherNet's fit+predict time goes, on one thread (issue 13's speed goal).

``--profile``: ``MotherNetClassifier`` (defaults plus ``--params``) fitted on split 0 of the paper
splits (train = min(1000, n/2) rows, as many test rows, seed 0) of a few selection datasets, then
predicting the test rows. The estimator's steps are timed by wrapping its methods in this process
(CPU time of the process, one torch and one BLAS thread; each wrapper adds microseconds), and the
table gives each step's share of fit+predict, median over ``--repeats`` fits:

* shared preprocessor: ``TabularPreprocessor.fit_transform`` at fit, ``transform`` at predict;
* member transforms: categorical projections, quantile/power fits, each member's inputs
  (contract, transform, z-score, clip), at fit; the members' inputs again at predict;
* transformer forward: ``MotherNet.pool`` (embedding, encoder, class means);
* decoder: the rest of ``MotherNet.generate`` (context MLP, weight heads, bases);
* batching: padding members into one batch and back (``_generate`` minus ``generate``);
* child weights + member weighting: copying the weights into members, each member's log loss on
  its training rows (``member_selection="train"``), the ensemble weights;
* child forward at predict: ``Member.logits`` (float64) and the softmax/average;
* export: ``export_child`` (the numpy child built for every ``predict_proba``);
* other: what is left (validation, checkpoint lookup, label encoding, ...).

    nice python benchmarks/mothernet_speed.py --profile
    nice python benchmarks/mothernet_speed.py --profile --params precision=bfloat16
    python benchmarks/mothernet_speed.py --decide benchmarks/results/mothernet_bf16_selection.csv
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA_DIR, evaluate_split0, load_shared  # noqa: E402

# Selection datasets of different shapes (training rows after the paper split in brackets):
# categorical and 5 classes (449), 10 classes (742), all-categorical (1,000), 5 numeric columns
# (1,000), 57 numeric columns (1,000), mixed columns (1,000).
PROFILE_SETS = ("anneal", "yeast", "kr-vs-kp", "phoneme", "spambase", "sick")

STEPS = (
    "shared preprocessor",
    "member transforms",
    "transformer forward",
    "decoder",
    "batching",
    "child weights + member weighting",
    "child forward (predict)",
    "export child (predict)",
    "other",
)


class Timer:
    """Inclusive CPU time per wrapped function (outermost call only, so recursion counts once)."""

    def __init__(self):
        self.total: dict[str, float] = defaultdict(float)
        self.depth: dict[str, int] = defaultdict(int)
        self.saved: list[tuple[object, str, object]] = []

    def wrap(self, owner, attr: str, key: str) -> None:
        original = owner.__dict__[attr]
        is_static = isinstance(original, staticmethod)
        func = original.__func__ if is_static else original

        @functools.wraps(func)
        def timed(*args, **kwargs):
            self.depth[key] += 1
            t0 = time.process_time()
            try:
                return func(*args, **kwargs)
            finally:
                self.depth[key] -= 1
                if self.depth[key] == 0:
                    self.total[key] += time.process_time() - t0

        self.saved.append((owner, attr, original))
        setattr(owner, attr, staticmethod(timed) if is_static else timed)

    def restore(self) -> None:
        for owner, attr, original in reversed(self.saved):
            setattr(owner, attr, original)
        self.saved.clear()


def profile_once(data, params: dict) -> dict[str, float]:
    """One fit + predict on split 0: CPU seconds per step (STEPS) and the totals."""
    from automl_hyper.data.splits import paper_splits
    from automl_hyper.models.mothernet import MotherNetClassifier, child
    from automl_hyper.models.mothernet.model import MotherNet

    tr, te = paper_splits(data.y, n_splits=1, seed=0)[0]
    timer = Timer()
    C = MotherNetClassifier
    for owner, attr, key in (
        (C, "_fit_preprocessor", "pre"),
        (C, "_transform", "pre_t"),
        (C, "_projection", "proj"),
        (C, "_rank_features", "proj"),
        (C, "_fit_transform", "tfit"),
        (child.Member, "inputs", "inputs"),
        (child.Member, "logits", "logits"),
        (MotherNet, "pool", "pool"),
        (MotherNet, "generate", "generate"),
        (C, "_generate", "_generate"),
        (C, "_set_weights", "set_weights"),
        (C, "_weight_members", "weight_members"),
        (C, "_build_members", "build"),
        (C, "export_child", "export"),
    ):
        owner = next(k for k in owner.__mro__ if attr in k.__dict__)  # the defining class
        timer.wrap(owner, attr, key)
    try:
        clf = C(random_state=0, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.process_time()
            clf.fit(data.X.iloc[tr], data.y.iloc[tr])
            t1 = time.process_time()
            fit_parts = dict(timer.total)
            timer.total.clear()
            clf.predict_proba(data.X.iloc[te])
            t2 = time.process_time()
            pred_parts = dict(timer.total)
    finally:
        timer.restore()
    f, p = defaultdict(float, fit_parts), defaultdict(float, pred_parts)
    # Logits at fit belong to the train-loss weighting (inside _set_weights).
    member_fit = f["proj"] + f["tfit"] + f["inputs"]
    decoder = f["generate"] - f["pool"]
    out = {
        "shared preprocessor": f["pre"] + p["pre_t"],
        "member transforms": member_fit + p["inputs"],
        "transformer forward": f["pool"],
        "decoder": decoder,
        "batching": f["_generate"] - f["generate"],
        "child weights + member weighting": f["set_weights"] + f["weight_members"],
        "child forward (predict)": (t2 - t1) - p["pre_t"] - p["export"] - p["inputs"],
        "export child (predict)": p["export"],
        "fit": t1 - t0,
        "predict": t2 - t1,
        "_build_rest": f["build"] - f["tfit"] - f["inputs"] - f["_generate"] - f["set_weights"],
        "members": len(clf.members_),
        "rows": len(tr),
    }
    out["other"] = (t2 - t0) - sum(out[s] for s in STEPS[:-1])
    return out


def profile_table(names: list[str], params: dict, repeats: int, data_dir: Path) -> str:
    lines = [
        "| dataset | rows x cols | members | fit+predict ms | " + " | ".join(STEPS) + " |",
        "|---|---|---|---|" + "---|" * len(STEPS),
    ]
    shares = []
    totals = []
    for name in names:
        data = load_shared(name, data_dir)
        profile_once(data, params)  # warm-up: checkpoint load, imports, first-call caches
        runs = [profile_once(data, params) for _ in range(repeats)]
        med = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
        total = med["fit"] + med["predict"]
        totals.append((total, med["fit"], med["predict"]))
        share = [med[s] / total for s in STEPS]
        shares.append(share)
        lines.append(
            f"| {name} | {int(med['rows'])} x {data.X.shape[1]} | {int(med['members'])} | "
            f"{1e3 * total:.0f} ({1e3 * med['fit']:.0f} + {1e3 * med['predict']:.0f}) | "
            + " | ".join(f"{100 * s:.1f}% ({1e3 * med[k]:.1f})" for s, k in zip(share, STEPS))
            + " |"
        )
    t = np.array(totals)
    lines.append(
        f"| mean | | | {1e3 * t[:, 0].mean():.0f} ({1e3 * t[:, 1].mean():.0f} + "
        f"{1e3 * t[:, 2].mean():.0f}) | "
        + " | ".join(f"{100 * s:.1f}%" for s in np.mean(shares, axis=0))
        + " |"
    )
    return "\n".join(lines)


def decide(
    csv: Path, base: str, time_tolerance: float = 0.05, drop: float = 0.005, speed: float = 0.8
) -> str:
    """The rule of benchmarks/results/mothernet_bf16_selection.md on a ``mothernet_inference.py
    --csv`` file, per variant against ``base``: the AUC change per dataset (mean over splits),
    its mean and standard error over datasets, the datasets down by more than ``drop``, and the
    mean fit+predict CPU ms against ``base``'s. An arm with more members than ``base`` (rule b)
    needs a gain > 0 and > 1 SE, at most 2 datasets down by more than ``drop`` and a time within
    ``1 + time_tolerance``; an arm with the same members (rule a, a speed option) needs a change
    >= -max(SE, 0.0005), at most 2 datasets down by more than ``drop`` and a time <= ``speed``."""
    import pandas as pd

    runs = pd.read_csv(csv)
    runs["total_ms"] = runs.fit_ms + runs.predict_ms
    per = runs.groupby(["variant", "dataset"])[["auc", "total_ms", "members"]].mean()
    ref = per.loc[base]
    lines = [
        f"against {base!r}: {len(ref)} datasets x {runs.split.nunique()} splits; AUC change per "
        "dataset is the mean over splits; SE over datasets; time = mean over datasets of "
        "fit+predict CPU ms",
        "",
        "| variant | mean AUC | change | SE | datasets up / down | down > "
        f"{drop} | fit+predict ms | vs {base} | members | rule | adopt? |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for variant in dict.fromkeys(runs.variant):
        mine = per.loc[variant].reindex(ref.index)
        diff = mine.auc - ref.auc
        se = diff.std(ddof=1) / np.sqrt(len(diff))
        worst = diff[diff < -drop]
        ratio = mine.total_ms.mean() / ref.total_ms.mean()
        if np.isclose(mine.members.mean(), ref.members.mean()):
            rule = "a"
            adopt = diff.mean() >= -max(se, 0.0005) and len(worst) <= 2 and ratio <= speed
        else:
            rule = "b"
            adopt = (
                diff.mean() > 0
                and diff.mean() > se
                and len(worst) <= 2
                and ratio <= 1 + time_tolerance
            )
        lines.append(
            f"| {variant} | {mine.auc.mean():.4f} | {diff.mean():+.5f} | {se:.5f} | "
            f"{(diff > 1e-9).sum()} / {(diff < -1e-9).sum()} | {len(worst)}"
            + (f" ({', '.join(f'{n} {d:+.4f}' for n, d in worst.items())})" if len(worst) else "")
            + f" | {mine.total_ms.mean():.0f} | {ratio:.2f}x | {mine.members.mean():.1f} | "
            + ("-" if variant == base else rule)
            + f" | {'-' if variant == base else ('yes' if adopt else 'no')} |"
        )
    lines += ["", "per dataset AUC (mean over splits):", ""]
    variants = list(dict.fromkeys(runs.variant))
    lines.append("| dataset | " + " | ".join(variants) + " |")
    lines.append("|---|" + "---|" * len(variants))
    for name in ref.index:
        lines.append(
            f"| {name} | " + " | ".join(f"{per.loc[(v, name), 'auc']:.4f}" for v in variants) + " |"
        )
    return "\n".join(lines)


def time_against(reference: Path, names: list[str], params: dict, repeats: int, data_dir) -> str:
    """Fit CPU ms of today's estimator (``params``) and of an older ``estimator.py`` (its
    defaults; e.g. ``git show SHA:automl_hyper/models/mothernet/estimator.py``), alternated in
    this process on split 0, median of ``repeats``; and whether their members and test
    probabilities are bitwise equal."""
    import importlib.util

    from automl_hyper.data.splits import paper_splits
    from automl_hyper.models.mothernet import MotherNetClassifier

    spec = importlib.util.spec_from_file_location("reference_estimator", reference)
    old = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(old)
    lines = [
        f"fit CPU ms, median of {repeats} (alternated): reference {reference.name} vs today "
        f"{params or ''}",
        "",
        "| dataset | reference fit ms | today fit ms | saved | identical members + probabilities |",
        "|---|---|---|---|---|",
    ]
    for name in names:
        data = load_shared(name, data_dir)
        tr, te = paper_splits(data.y, n_splits=1, seed=0)[0]
        times = {"ref": [], "new": []}
        fitted = {}
        for _ in range(repeats + 1):  # the first round warms up
            for key, cls, extra in (
                ("ref", old.MotherNetClassifier, {}),
                ("new", MotherNetClassifier, params),
            ):
                clf = cls(random_state=0, **extra)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t0 = time.process_time()
                    clf.fit(data.X.iloc[tr], data.y.iloc[tr])
                    times[key].append(time.process_time() - t0)
                fitted[key] = clf
        a, b = fitted["ref"], fitted["new"]
        same = all(
            np.array_equal(getattr(x, k), getattr(y, k))
            for x, y in zip(a.members_, b.members_)
            for k in ("W1", "b1", "W2", "b2")
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            same = same and np.array_equal(
                a.predict_proba(data.X.iloc[te]), b.predict_proba(data.X.iloc[te])
            )
        r, n = (1e3 * float(np.median(times[k][1:])) for k in ("ref", "new"))
        lines.append(
            f"| {name} | {r:.0f} | {n:.0f} | {r - n:+.0f} ms ({(r - n) / r:+.1%}) | {same} |"
        )
    return "\n".join(lines)


# Tuned XGBoost as issue 13's protocol states it: 20 Optuna trials (the zoo's default time budget,
# 120 s, so that the trial count, not the clock, ends the search on these sets).
XGB_PARAMS = {"n_trials": 20, "time_budget": 120.0}
VS_XGB_ARMS = {
    "xgboost-tuned": ("xgboost-tuned", XGB_PARAMS),
    "mothernet float32": ("mothernet", {"precision": "float32"}),
    "mothernet auto": ("mothernet", {"precision": "auto"}),
}


def vs_xgboost(names: list[str], csv: Path, data_dir: Path) -> str:
    """Split 0 (paper splits, seed 0) of each dataset: tuned XGBoost and MotherNet generation
    (float32, and the default precision) one after the other in this process through
    ``compare.evaluate`` (the benchmark protocol's fit and predict), rows appended to ``csv``
    (datasets already there are skipped: resumable); then per arm the mean AUC and the median
    over datasets of MotherNet's fit+predict time / tuned XGBoost's, wall and process CPU."""
    import pandas as pd

    from automl_hyper import zoo
    from automl_hyper.compare import family_params

    def zoo_make(family, params):
        return zoo.get(family).make("classification", **params)

    done = set(pd.read_csv(csv).dataset) if csv.exists() else set()
    warm = load_shared(names[0], data_dir)  # untimed: checkpoint load, imports, first kernels
    for family, extra in VS_XGB_ARMS.values():
        if family != "xgboost-tuned":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                zoo_make(family, family_params(family, "small", 0, extra)).fit(warm.X, warm.y)
    for name in names:
        if name in done:
            continue
        data = load_shared(name, data_dir)
        rows = []
        for arm, (family, extra) in VS_XGB_ARMS.items():
            record, est, cpu = evaluate_split0(family, extra, data)
            rows.append(
                f"{name},{arm},{record.auc:.6f},{record.fit_s + record.predict_s:.4f},{cpu:.4f},"
                f"{getattr(est, 'precision_', '')}"
            )
            print(f"# {name:<28} {arm:<18} auc {record.auc:.4f} {cpu:.2f} s cpu", file=sys.stderr)
        new = not csv.exists()
        with csv.open("a") as f:
            if new:
                f.write("dataset,arm,auc,wall_s,cpu_s,precision\n")
            f.write("\n".join(rows) + "\n")
    runs = pd.read_csv(csv)
    runs = runs[runs.dataset.isin(names)]
    wide = runs.pivot(index="dataset", columns="arm")
    xgb = "xgboost-tuned"
    lines = [
        f"{wide.shape[0]} datasets x split 0; tuned XGBoost: {XGB_PARAMS}; times: fit+predict "
        "(wall as compare.evaluate measures it; CPU of this process)",
        "",
        "| arm | mean AUC | vs tuned XGBoost | median time ratio wall (x faster) | median time "
        "ratio CPU (x faster) | mean fit+predict wall s |",
        "|---|---|---|---|---|---|",
    ]
    for arm in VS_XGB_ARMS:
        auc = wide["auc"][arm]
        diff = auc - wide["auc"][xgb]
        rw = (wide["wall_s"][arm] / wide["wall_s"][xgb]).median()
        rc = (wide["cpu_s"][arm] / wide["cpu_s"][xgb]).median()
        se = diff.std(ddof=1) / np.sqrt(len(diff)) if arm != xgb else 0.0
        lines.append(
            f"| {arm} | {auc.mean():.4f} | {diff.mean():+.4f} (SE {se:.4f}) | {rw:.4f} "
            f"({1 / rw:.0f}x) | {rc:.4f} ({1 / rc:.0f}x) | {wide['wall_s'][arm].mean():.3f} |"
        )
    a, b = "mothernet auto", "mothernet float32"
    diff = wide["auc"][a] - wide["auc"][b]
    lines += [
        "",
        f"{a} vs {b}: AUC change {diff.mean():+.5f} (SE "
        f"{diff.std(ddof=1) / np.sqrt(len(diff)):.5f}, largest drop {diff.min():+.4f}); "
        f"fit+predict time ratio median wall {(wide['wall_s'][a] / wide['wall_s'][b]).median():.2f}"
        f", CPU {(wide['cpu_s'][a] / wide['cpu_s'][b]).median():.2f}; precision chosen by auto: "
        f"{', '.join(sorted(set(runs[runs.arm == a].precision.astype(str))))}",
    ]
    return "\n".join(lines)


def parse_params(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, value = item.split("=", 1)
        try:
            out[key] = int(value)
        except ValueError:
            try:
                out[key] = float(value)
            except ValueError:
                out[key] = value
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--datasets", nargs="*", default=list(PROFILE_SETS), help="names, or cc18-30 for the 30"
    )
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--params", nargs="*", default=[], help="key=value estimator parameters")
    parser.add_argument(
        "--decide", type=Path, default=None, help="a mothernet_inference.py --csv file: the rule"
    )
    parser.add_argument("--base", default="float32 n=4", help="--decide's reference variant")
    parser.add_argument(
        "--vs-xgboost",
        type=Path,
        default=None,
        help="CSV: MotherNet vs tuned XGBoost on split 0 of --datasets (e.g. the 30 CC18)",
    )
    parser.add_argument(
        "--time-against", type=Path, default=None, help="an older estimator.py: fit times vs it"
    )
    args = parser.parse_args(argv)

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    if args.decide is not None:
        print(decide(args.decide, args.base))
        return 0
    if args.datasets == ["cc18-30"]:  # the 30 report datasets (report only)
        from automl_hyper.data.benchmark_sets import REPORT_SET

        args.datasets = list(REPORT_SET)
    params = parse_params(args.params)
    if args.vs_xgboost is not None:
        print(vs_xgboost(args.datasets, args.vs_xgboost, args.data_dir))
        return 0
    if args.time_against is not None:
        with threadpool_limits(1):
            print(
                time_against(args.time_against, args.datasets, params, args.repeats, args.data_dir)
            )
    if args.profile:
        with threadpool_limits(1):
            print(
                f"MotherNet fit+predict profile, params {params or 'defaults'}: split 0, CPU ms "
                f"(median of {args.repeats}); each step's share of fit+predict (its ms)"
            )
            print(profile_table(args.datasets, params, args.repeats, args.data_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
