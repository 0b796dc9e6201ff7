"""UNF child-quality predictor vs. two baselines on held-out tasks of a child bank (issue 10).

    python benchmarks/unf_predictor.py --bank BANK_DIR [BANK_DIR ...] --out benchmarks/results/unf_predictor_X.md

Tasks of the bank are split at random into training and held-out tasks (``--holdout``). On the
held-out tasks it reports Kendall tau between predicted and real held-out scores, *within task*
(mean over tasks of the tau among that task's children: what ranking candidates needs) and
*across tasks* (all held-out children pooled). Predictors:

* ``unf``: :class:`ChildQualityPredictor` (equivariant layers, invariant pooling, MLP head);
* ``statnn``: per-tensor statistics (mean, variance, quantiles 0/25/50/75/100, L1/L2 norms, log size; one
  slot per tensor name) + a small gradient-boosted regressor (the "weight statistics" baseline of
  Unterthiner et al. 2020 and the NFN paper);
* ``deepsets``: a Deep Sets model over the hidden neurons of the child (each neuron described by
  its bias and the mean/std/RMS of its incoming and outgoing weights), trained with the same loss
  and epochs as the UNF;
* for SMASH banks also the hypernetwork's own signals, which need no training: ``proxy`` (score
  of the generated weights on validation rows, what SMASH ranks by) and ``generated`` (their
  score on the test rows); and ``n_params`` (parameter count alone);
* ``--shipped NAME``: a shipped predictor (e.g. ``unf-smash``) on the same held-out tasks, the
  reference for a re-ship decision;
* for banks built with ``--real-seeds`` >= 2: ``ceiling (seed 0 vs seed 1)``, the tau between
  two trainings' real scores of the same architectures: the best any predictor can reach against
  one-seed labels (the test rows are shared, so it is an upper bound). Every predictor is also
  scored against the seed-0 label alone (column "vs seed-0 label"), comparable with it.
  With >= 4 trainings also ``ceiling (mean of trainings 0-1 vs 2-3)`` (two independent 2-training
  labels; its Spearman-Brown step to 4 trainings in the JSON) and every predictor against the
  2-training label (column "vs mean of trainings 0-1").

Every learned predictor also reads the task's meta-features (log rows, log features, classes).
``--objective`` trains all three learned predictors on the same target: the score (``regression``)
or the score centred per task (``within_task``; see ``automl_hyper.weightspace.predictor``);
``--predictors`` runs a subset (e.g. only the cheap baselines). For SMASH banks each learned
predictor is also combined with the parameter count ("X + n_params": mean of the two within-task
ranks; its across-task tau is left blank, ranks are per task).
Inference time per child is measured for the UNF on one CPU thread.

Options for over-fitting checks (v7; all off by default): ``--report-train`` also scores every
learned predictor on its own training tasks; ``--val-tasks N`` moves the last N training tasks
into a validation slice (no predictor trains on them) on which the UNF's within-task tau is read
after every epoch, and the UNF keeps its best epoch's weights (early stopping); ``--load PATH``
scores a saved UNF instead of training one (use it with the split it was trained on).

Options for the UNF + statistics hybrid (v9; off by default): ``--stat-features`` trains the UNF
with ``ChildQualityPredictor(stat_features=True)`` (StatNN's per-tensor statistics next to its
pooled features, before the head); ``statmlp`` in ``--predictors`` is its control without the
UNF: the same statistics, sizes and meta-features through an MLP of the UNF head's shape, trained
with the UNF's loss and epochs; ``--ensembles`` adds "X + Y" (mean of within-task ranks) for
every pair of learned predictors run.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from automl_hyper.weightspace.bank import ChildCollection
from automl_hyper.weightspace.predictor import (
    INPUT_NORMS,
    OBJECTIVES,
    ChildQualityPredictor,
    _tasks_from,
    kendall_taus,
    meta_features,
    new_predictor,
    split_tasks,
    standardised_targets,
    target_scale,
)
from automl_hyper.weightspace.specs import smash_universe

QUANTILES = (0.0, 0.25, 0.5, 0.75, 1.0)


# -- StatNN -----------------------------------------------------------------------------------------
def stat_features(space, arrays, names: list[str], scales: dict) -> np.ndarray:
    feats = []
    for name in names:
        if name not in arrays:
            feats += [0.0] * (4 + len(QUANTILES)) + [0.0]
            continue
        x = (arrays[name].double() / scales.get(name, 1.0)).reshape(-1)
        q = torch.quantile(x, torch.tensor(QUANTILES, dtype=x.dtype)).tolist()
        feats += [float(x.mean()), float(x.var(unbiased=False)), *q]
        feats += [float(x.abs().mean()), float(x.pow(2).mean().sqrt()), 1.0]
    return np.r_[feats, size_features(space, names)]


def size_features(space, names: list[str]) -> np.ndarray:
    """log size of each tensor slot (0 when absent): the same size information the UNF's
    pooling carries, so that no predictor is blind to widths the others see."""
    present = {t.name: math.log1p(math.prod(t.shape)) / 10.0 for t in space.tensors}
    return np.array([present.get(n, 0.0) for n in names])


def fit_statnn(train, names, scales, seed, objective="regression"):
    """Fit the StatNN baseline on ``train`` tasks; returns ``predict(tasks) -> [scores per task]``.
    ``within_task``: the regressor fits the score centred on its task's mean (squared error)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    def design(tasks):
        X, y = [], []
        for children, scores, meta in tasks:
            target = standardised_targets(scores, objective, 0.0, 1.0)  # trees: no scale needed
            for (space, arrays), s, m in zip(children, target, meta):
                X.append(np.r_[stat_features(space, arrays, names, scales), meta_features(*m)])
                y.append(s)
        return np.array(X), np.array(y)

    X, y = design(train)
    model = HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, random_state=seed)
    model.fit(X, y)
    return lambda tasks: [model.predict(design([t])[0]) for t in tasks]


def run_statnn(train, held, names, scales, seed, objective="regression"):
    return fit_statnn(train, names, scales, seed, objective)(held)


# -- Deep Sets over neurons -----------------------------------------------------------------------------
def neuron_features(space, arrays, scales) -> torch.Tensor:
    """(n_neurons, 8): bias; mean/std/RMS along the other axis for tensors where the neuron's
    symbol is axis 0 and where it is axis 1; relative depth of its layer."""
    hidden = [s for s in space.permuted_symbols if s.startswith("h")]
    rows = []
    for k, s in enumerate(hidden, start=1):
        n = space.sizes[s]
        buckets = {"bias": [], 0: [], 1: []}
        for t in space.tensors:
            if s not in t.symbols:
                continue
            x = arrays[t.name].double() / scales.get(t.name, 1.0)
            if x.dim() == 1:
                buckets["bias"].append(x[:, None])
                continue
            axis = t.symbols.index(s)
            x = x if axis == 0 else x.T  # (n, other)
            stats = torch.stack([x.mean(1), x.std(1, unbiased=False), x.pow(2).mean(1).sqrt()], 1)
            buckets[axis].append(stats)
        parts = [
            torch.stack(buckets["bias"]).mean(0) if buckets["bias"] else torch.zeros(n, 1),
            torch.stack(buckets[0]).mean(0) if buckets[0] else torch.zeros(n, 3),
            torch.stack(buckets[1]).mean(0) if buckets[1] else torch.zeros(n, 3),
            torch.full((n, 1), k / len(hidden)),
        ]
        rows.append(torch.cat(parts, 1))
    return torch.cat(rows).float()


class DeepSets(nn.Module):
    def __init__(self, d_in: int = 8, hidden: int = 64, d_meta: int = 3) -> None:
        super().__init__()
        self.phi = nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        self.rho = nn.Sequential(
            nn.Linear(hidden + d_meta, hidden), nn.ReLU(), nn.Linear(hidden, 1)
        )

    def forward(self, sets: list[torch.Tensor], meta: torch.Tensor) -> torch.Tensor:
        pooled = torch.stack([torch.relu(self.phi(s)).mean(0) for s in sets])
        return self.rho(torch.cat([pooled, meta], 1)).squeeze(1)


def rank_mse_loss(pred, target, rank_weight=1.0):
    mse = torch.mean((pred - target) ** 2)
    pairs = (target[:, None] - target[None, :]) > 1e-6
    if len(pred) < 2 or not pairs.any():
        return mse
    diff = pred[:, None] - pred[None, :]
    return mse + rank_weight * nn.functional.softplus(-diff[pairs]).mean()


def fit_deepsets(train, scales, names, epochs, seed, mean, std, lr=1e-3, objective="regression"):
    """Train the Deep Sets baseline on ``train`` tasks; returns ``predict(tasks) -> [scores]``."""
    torch.manual_seed(seed)

    def prepare(tasks):
        return [
            (
                [neuron_features(sp, a, scales) for sp, a in children],
                torch.tensor(
                    np.array(
                        [
                            np.r_[meta_features(*m), size_features(sp, names)]
                            for (sp, _), m in zip(children, meta)
                        ]
                    ),
                    dtype=torch.float32,
                ),
                torch.as_tensor(
                    standardised_targets(scores, objective, mean, std), dtype=torch.float32
                ),
            )
            for children, scores, meta in tasks
        ]

    tr = prepare(train)
    model = DeepSets(d_meta=3 + len(names))
    train_per_task(
        model,
        len(tr),
        lambda i: rank_mse_loss(model(tr[i][0], tr[i][1]), tr[i][2]),
        epochs,
        lr,
        seed,
    )

    @torch.no_grad()
    def predict(tasks):
        return [model(sets, meta).double().numpy() * std + mean for sets, meta, _ in prepare(tasks)]

    return predict


def train_per_task(model, n_tasks, loss_at, epochs, lr, seed) -> None:
    """The baselines' shared loop: AdamW + cosine schedule, one step per training task (its loss
    ``loss_at(i)``), tasks in a seeded random order each epoch; leaves ``model`` in eval mode."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs * n_tasks))
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for i in rng.permutation(n_tasks):
            loss = loss_at(i)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()


# -- statistics through an MLP: the hybrid's control without the UNF ---------------------------------------
def fit_statmlp(
    train, names, scales, epochs, seed, mean, std, lr=1e-3, objective="regression", hidden=64
):
    """StatNN's features (+ meta-features), standardised over the training children, through a
    3-layer MLP (the UNF head's shape) with the UNF's loss; returns ``predict(tasks)``."""
    torch.manual_seed(seed)

    def design(tasks):
        return [
            torch.tensor(
                np.array(
                    [
                        np.r_[stat_features(sp, a, names, scales), meta_features(*m)]
                        for (sp, a), m in zip(children, meta)
                    ]
                ),
                dtype=torch.float32,
            )
            for children, _, meta in tasks
        ]

    xs = design(train)
    pooled = torch.cat(xs)
    mu, sd = pooled.mean(0), pooled.std(0).clamp_min(1e-3)
    norm = lambda x: ((x - mu) / sd).clamp(-10, 10)  # noqa: E731
    targets = [
        torch.as_tensor(standardised_targets(s, objective, mean, std), dtype=torch.float32)
        for _, s, _ in train
    ]
    d = pooled.shape[1]
    model = nn.Sequential(
        nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1)
    )
    train_per_task(
        model,
        len(xs),
        lambda i: rank_mse_loss(model(norm(xs[i])).squeeze(1), targets[i]),
        epochs,
        lr,
        seed,
    )

    @torch.no_grad()
    def predict(tasks):
        return [model(norm(x)).squeeze(1).double().numpy() * std + mean for x in design(tasks)]

    return predict


def run_deepsets(
    train, held, scales, names, epochs, seed, mean, std, lr=1e-3, objective="regression"
):
    return fit_deepsets(train, scales, names, epochs, seed, mean, std, lr, objective)(held)


def rank_mean(a: list[np.ndarray], b: list[np.ndarray]) -> list[np.ndarray]:
    """Per task, the mean of the two predictors' ranks (ties averaged)."""
    from scipy.stats import rankdata

    return [(rankdata(x) + rankdata(y)) / 2 for x, y in zip(a, b)]


# -- label noise ------------------------------------------------------------------------------------
def label_ceiling(colls) -> dict:
    """Over *all* tasks of the banks: the within-task std of the real score, and the Kendall
    tau between the real scores of two trainings (seed 0, seed 1) of the same architectures."""
    seed0, seed1, mean, stds = [], [], [], []
    for c in colls:
        for _, rows in c.table.groupby("task"):
            rows = rows[np.isfinite(rows["score"])]
            seed0.append(rows["score_seed0"].to_numpy(dtype=float))
            seed1.append(rows["score_seed1"].to_numpy(dtype=float))
            mean.append(rows["score"].to_numpy(dtype=float))
            stds.append(float(np.std(mean[-1])))
    out = {
        "tasks": len(seed0),
        "children": int(sum(len(r) for r in seed0)),
        "within_task_score_std_mean": float(np.mean(stds)),
        "within_task_seed0_std_mean": float(np.mean([np.std(r) for r in seed0])),
        "seed0_vs_seed1": kendall_taus(seed1, seed0),
        "seed_abs_diff_mean": float(np.mean(np.abs(np.concatenate(seed0) - np.concatenate(seed1)))),
    }
    tables = [c.table for c in colls]
    if all("score_seed3" in t for t in tables):
        rows = [r[np.isfinite(r["score"])] for t in tables for _, r in t.groupby("task")]
        out["halves"] = half_ceiling(*half_means(rows))
    return out


def half_means(held_rows) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per task, the mean of trainings 0-1 and the mean of trainings 2-3 (two independent
    2-training labels of the same children)."""
    a = [r[["score_seed0", "score_seed1"]].to_numpy(dtype=float).mean(1) for r in held_rows]
    b = [r[["score_seed2", "score_seed3"]].to_numpy(dtype=float).mean(1) for r in held_rows]
    return a, b


def half_ceiling(a: list[np.ndarray], b: list[np.ndarray]) -> dict:
    """Kendall tau between two independent 2-training labels, and its Spearman-Brown step to
    4 trainings. Kendall tau is moved to a Pearson r by Greiner's relation r = sin(pi tau / 2)
    (exact for bivariate normal scores), r_4 = 2 r / (1 + r), then back: ``tau_4_vs_4`` is the
    expected tau between two independent 4-training labels, ``tau_true_vs_4`` that of the
    noise-free score against one 4-training label (the most a perfect predictor can show)."""
    taus = kendall_taus(b, a)
    to_tau = lambda r: float(2 / np.pi * np.arcsin(r))  # noqa: E731
    for key in ("tau_within_task", "tau_across_tasks"):
        r = float(np.sin(np.pi * taus[key] / 2))
        r4 = 2 * r / (1 + r) if r > -1 else float("nan")
        taus[key.replace("tau_", "tau_4_vs_4_")] = to_tau(r4)
        taus[key.replace("tau_", "tau_true_vs_4_")] = to_tau(np.sqrt(max(r4, 0.0)))
    return taus


# -- summary over runs ------------------------------------------------------------------------------
LEARNED = ("unf", "statnn", "deepsets", "statmlp")


def summarise(paths: list[str]) -> str:
    """A markdown table over several runs' JSON reports (split seeds x objectives): within- and
    across-task tau per predictor and objective, per split seed and the mean over split seeds.
    Predictors that learn nothing (proxy, n_params, ceiling, shipped) appear once."""
    runs = [json.loads(Path(x).read_text()) for x in paths]
    seeds = sorted({r["seed"] for r in runs})
    cells: dict[tuple[str, str], dict[int, dict]] = {}
    for r in runs:
        objective = r.get("objective", "regression")
        for name, v in r["results"].items():
            learned = name.split(" + ")[0] in LEARNED
            cells.setdefault((name, objective if learned else "-"), {})[r["seed"]] = v

    def fmt(x) -> str:
        return "" if x is None or not np.isfinite(x) else f"{x:.3f}"

    head = ["predictor", "objective"]
    head += [f"within s{s}" for s in seeds] + ["**within mean**"]
    head += [f"across s{s}" for s in seeds] + ["within vs seed-0 label, mean"]
    four = any("vs_mean01" in v for r in runs for v in r["results"].values())
    head += ["within vs mean of trainings 0-1, mean"] if four else []
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def order(key):  # learned predictors first, each with both objectives, then the rest
        name, objective = key
        base = name.split(" + ")[0]
        return (LEARNED.index(base) if base in LEARNED else 9, "+" in name, objective)

    for (name, objective), by_seed in sorted(cells.items(), key=lambda kv: order(kv[0])):
        w = [by_seed.get(s, {}).get("tau_within_task") for s in seeds]
        a = [by_seed.get(s, {}).get("tau_across_tasks") for s in seeds]
        v = [by_seed.get(s, {}).get("vs_seed0", {}).get("tau_within_task") for s in seeds]
        mean = float(np.mean(w)) if None not in w else None
        vmean = float(np.mean(v)) if None not in v else None
        row = [name, objective, *map(fmt, w), f"**{fmt(mean)}**", *map(fmt, a), fmt(vmean)]
        if four:
            h = [by_seed.get(s, {}).get("vs_mean01", {}).get("tau_within_task") for s in seeds]
            row.append(fmt(float(np.mean(h))) if None not in h else "")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def arm_table(paths: list[str], names: tuple[str, ...] = LEARNED + ("n_params",)) -> str:
    """One row per run (its JSON files grouped by name without the ``_sN`` split-seed suffix) and
    predictor: held-out within-task tau per split seed and their mean, the same on the training
    tasks (runs with ``--report-train``), X + n_params, parameters, training s, UNF CPU ms."""
    groups: dict[str, dict[int, dict]] = {}
    for x in paths:
        r = json.loads(Path(x).read_text())
        groups.setdefault(Path(x).stem.rsplit("_s", 1)[0], {})[r["seed"]] = r
    seeds = sorted({s for g in groups.values() for s in g})
    head = ["run", "predictor", *(f"held s{s}" for s in seeds), "**held mean**"]
    head += [*(f"train s{s}" for s in seeds), "train - held", "+ n_params, mean"]
    head += ["train tasks", "UNF parameters", "train s", "UNF CPU ms / child"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def get(r, name, *keys):
        v = r["results"].get(name, {})
        for k in keys:
            v = v.get(k, {}) if isinstance(v, dict) else {}
        return v if isinstance(v, float) else float("nan")

    for run, by_seed in groups.items():
        rs = [by_seed.get(s) for s in seeds]
        for name in names:
            if not all(r and name in r["results"] for r in rs):
                continue
            held = [get(r, name, "tau_within_task") for r in rs]
            train = [get(r, name, "train_tasks", "tau_within_task") for r in rs]
            plus = [get(r, f"{name} + n_params", "tau_within_task") for r in rs]
            unf = name == "unf"
            row = [run, name, *(f"{x:.3f}" for x in held), f"**{np.mean(held):.3f}**"]
            row += [*(f"{x:.3f}" for x in train), f"{np.mean(train) - np.mean(held):.3f}"]
            row += [f"{np.mean(plus):.3f}" if name != "n_params" else ""]
            row += ["/".join(str(r["train_tasks"]) for r in rs)]
            row += [str(rs[0]["unf_parameters"]) if unf else ""]
            row += ["/".join(f"{r['train_seconds'].get(name, float('nan')):.0f}" for r in rs)]
            cpu = "/".join(f"{r['unf_inference_cpu_ms_per_child_median']:.2f}" for r in rs)
            row += [cpu if unf else ""]
            lines.append("| " + " | ".join(row).replace("nan", "") + " |")
    return "\n".join(lines)


# -- main -------------------------------------------------------------------------------------------
def fresh_heldout(
    train_ids: list, held_ids: list, n_old: int, n: int, seed: int
) -> tuple[list, list]:
    """Hold out ``n`` tasks drawn by ``seed`` from the tasks after the first ``n_old`` of
    ``train_ids`` (those of --train-bank); every other task, ``held_ids`` included, trains."""
    pool = train_ids[n_old:]
    if not 0 < n < len(pool):
        raise ValueError(f"--fresh-heldout {n}: choose 1 to {len(pool) - 1} of {len(pool)} tasks")
    pick = set(np.random.default_rng(seed).permutation(len(pool))[:n].tolist())
    rest = [t for i, t in enumerate(pool) if i not in pick]
    return train_ids[:n_old] + held_ids + rest, [pool[i] for i in sorted(pick)]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bank", nargs="+", help="bank directories (pooled)")
    p.add_argument(
        "--summarise",
        nargs="+",
        metavar="JSON",
        help="instead of a run: one table over these runs' JSON reports (objectives x split seeds)",
    )
    p.add_argument(
        "--arms",
        nargs="+",
        metavar="JSON",
        help="instead of a run: one row per run (split seeds grouped by file name) and predictor",
    )
    p.add_argument("--shipped", default=None, help="also score this shipped predictor")
    p.add_argument(
        "--save",
        default=None,
        help="save the UNF trained here (training tasks only) with its sha256 sidecar, "
        "for `automl-hyper unf ship`",
    )
    p.add_argument("--holdout", type=float, default=0.3)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate of UNF and Deep Sets")
    p.add_argument("--channels", default="16,16")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--train-bank",
        nargs="+",
        default=[],
        help="more bank directories whose tasks all go to training (after the split's training "
        "tasks); the held-out tasks are drawn from --bank alone, so they stay those of a run "
        "without this option",
    )
    p.add_argument(
        "--fresh-heldout",
        type=int,
        default=0,
        help="hold out N tasks drawn (by --seed) from the --train-bank tasks instead of --bank's "
        "split, and train on every other task (--bank's held-out ones included): a held-out "
        "draw no run without this option evaluated on (default 0: off)",
    )
    p.add_argument(
        "--train-tasks",
        type=int,
        default=None,
        help="train on only the first N training tasks of the split (same held-out tasks); "
        "for data-scaling checks (default: all)",
    )
    p.add_argument(
        "--objective",
        choices=OBJECTIVES,
        default="regression",
        help="target of UNF, StatNN and Deep Sets: the score, or the score centred per task",
    )
    p.add_argument(
        "--input-norm",
        choices=INPUT_NORMS,
        default="name",
        help="UNF input scaling: one scale per tensor name, or each child's tensor over its own "
        "RMS (log RMS given to the head); the baselines are unaffected",
    )
    p.add_argument(
        "--predictors",
        default="unf,statnn,deepsets",
        help="learned predictors to train (comma-separated subset of unf,statnn,deepsets,statmlp)",
    )
    p.add_argument(
        "--stat-features",
        action="store_true",
        help="the UNF + statistics hybrid: ChildQualityPredictor(stat_features=True)",
    )
    p.add_argument(
        "--ensembles",
        action="store_true",
        help='also "X + Y" (mean of within-task ranks) for every pair of learned predictors run',
    )
    p.add_argument(
        "--ceiling-only",
        action="store_true",
        help="only the label-noise ceiling over all tasks (banks built with --real-seeds >= 2)",
    )
    p.add_argument(
        "--report-train",
        action="store_true",
        help="also the within-task tau of every learned predictor on its own training tasks",
    )
    p.add_argument(
        "--val-tasks",
        type=int,
        default=0,
        help="early stopping: the last N training tasks become a validation slice (no predictor "
        "trains on them); the UNF keeps the epoch with the best within-task tau on it",
    )
    p.add_argument(
        "--load",
        default=None,
        help="score this saved UNF instead of training one (give the split it was trained on)",
    )
    p.add_argument("--out", help="markdown report (a .json twin is written too)")
    args = p.parse_args(argv)
    if args.summarise:
        print(summarise(args.summarise))
        return 0
    if args.arms:
        print(arm_table(args.arms))
        return 0
    if not args.bank or not args.out:
        p.error("--bank and --out are required (unless --summarise)")
    torch.set_num_threads(1)

    colls = [ChildCollection(b) for b in args.bank]
    if args.ceiling_only:
        report = {"bank": args.bank, "bank_config": [c.config for c in colls]}
        report.update(label_ceiling(colls), command="python " + " ".join(sys.argv))
        text = json.dumps(report, indent=1, default=float)
        Path(args.out).with_suffix(".json").write_text(text + "\n")
        print(text)
        return 0
    coll = colls[0]
    family = coll.config["family"]
    train_ids, held_ids = split_tasks(colls, args.holdout, args.seed)
    n_old = len(train_ids)  # --bank's training tasks; those of --train-bank follow
    if args.train_bank:  # appended after the split, so --bank's held-out draw is unchanged
        more = [ChildCollection(b) for b in args.train_bank]
        train_ids += [(c, int(t)) for c in more for t in sorted(c.table["task"].unique())]
        colls += more
    if args.fresh_heldout:  # re-use of --seed: a new draw is also a new model seed
        if not args.train_bank:
            p.error("--fresh-heldout needs --train-bank")
        train_ids, held_ids = fresh_heldout(
            train_ids, held_ids, n_old, args.fresh_heldout, args.seed
        )
    n_children = sum(len(c) for c in colls)
    n_tasks = sum(c.table["task"].nunique() for c in colls)
    if args.train_tasks is not None:  # a prefix of the split's order, so N = all is the full run
        train_ids = train_ids[: args.train_tasks]
    val_ids = []
    if args.val_tasks:  # the last tasks (of --train-bank when given), so the split is untouched
        train_ids, val_ids = train_ids[: -args.val_tasks], train_ids[-args.val_tasks :]
    train, held = _tasks_from(colls, train_ids), _tasks_from(colls, held_ids)
    val = _tasks_from(colls, val_ids)
    train_real = [s for _, s, _ in train]
    real = [s for _, s, _ in held]
    depth = max(int(c.config.get("max_depth", 4)) for c in colls)
    extra = smash_universe(depth) if family == "smash" else []
    results, seconds = {}, {}

    learned = args.predictors.split(",")
    if not set(learned) <= set(LEARNED) or (args.save and "unf" not in learned):
        p.error(
            "--predictors: a subset of unf,statnn,deepsets,statmlp (with unf when --save is given)"
        )
    t0 = time.perf_counter()
    torch.manual_seed(args.seed)
    channels = tuple(int(c) for c in args.channels.split(","))
    # built even when not trained: its per-tensor scales are the baselines' input scales
    unf = new_predictor(
        train,
        channels,
        meta=True,
        extra_spaces=extra,
        objective=args.objective,
        input_norm=args.input_norm,
        stat_features=args.stat_features,
    )
    stored, train_taus, val_curve = {}, {}, []
    if args.load:  # a saved UNF replaces the one built above (its scales and spaces are its own)
        unf = ChildQualityPredictor.load(args.load)
    best = {"tau": -math.inf, "epoch": None, "state": None}

    def early_stop(epoch: int) -> None:
        tau = kendall_taus([unf.predict(ch, m) for ch, _, m in val], [s for _, s, _ in val])
        val_curve.append(round(tau["tau_within_task"], 4))
        print(f"unf epoch {epoch + 1}: validation tau {val_curve[-1]:.3f}", flush=True)
        if val_curve[-1] > best["tau"]:
            best.update(tau=val_curve[-1], epoch=epoch + 1)
            best["state"] = copy.deepcopy(unf.net.state_dict())

    if "unf" in learned:
        if not args.load:
            unf.fit(
                train,
                epochs=args.epochs,
                learning_rate=args.lr,
                seed=args.seed,
                log=lambda m: print("unf", m, flush=True),
                on_epoch=early_stop if val else None,
            )
            if best["state"] is not None:
                unf.net.load_state_dict(best["state"])
            seconds["unf"] = time.perf_counter() - t0
        stored["unf"] = [unf.predict(ch, m) for ch, _, m in held]
        results["unf"] = kendall_taus(stored["unf"], real)
        if args.report_train:
            train_taus["unf"] = [unf.predict(ch, m) for ch, _, m in train]

    names = sorted({n for children, _, _ in train + held for sp, _ in children for n in sp.names})
    if "statnn" in learned:
        t0 = time.perf_counter()
        f = fit_statnn(train, names, unf.config.scales, args.seed, args.objective)
        stored["statnn"] = f(held)
        results["statnn"] = kendall_taus(stored["statnn"], real)
        if args.report_train:
            train_taus["statnn"] = f(train)
        seconds["statnn"] = time.perf_counter() - t0

    if "deepsets" in learned:
        t0 = time.perf_counter()
        mean, std = target_scale([s for _, s, _ in train], args.objective)
        f = fit_deepsets(
            train,
            unf.config.scales,
            names,
            args.epochs,
            args.seed,
            mean,
            std,
            args.lr,
            args.objective,
        )
        stored["deepsets"] = preds = f(held)
        results["deepsets"] = kendall_taus(preds, real)
        if args.report_train:
            train_taus["deepsets"] = f(train)
        seconds["deepsets"] = time.perf_counter() - t0

    if "statmlp" in learned:
        t0 = time.perf_counter()
        mean, std = target_scale([s for _, s, _ in train], args.objective)
        f = fit_statmlp(
            train,
            names,
            unf.config.scales,
            args.epochs,
            args.seed,
            mean,
            std,
            args.lr,
            args.objective,
        )
        stored["statmlp"] = f(held)
        results["statmlp"] = kendall_taus(stored["statmlp"], real)
        if args.report_train:
            train_taus["statmlp"] = f(train)
        seconds["statmlp"] = time.perf_counter() - t0

    if args.shipped:
        shipped = ChildQualityPredictor.load(args.shipped)
        label = f"{args.shipped} (shipped)"
        stored[label] = [shipped.predict(ch, m) for ch, _, m in held]
        results[label] = kendall_taus(stored[label], real)

    # per held-out task, its table rows in the order _tasks_from reads them (finite scores)
    held_rows = [
        c.table[(c.table["task"] == t) & np.isfinite(c.table["score"])]
        for c, t in held_ids
        if np.isfinite(c.table.loc[c.table["task"] == t, "score"]).any()
    ]
    predictions = {}
    if family == "smash":
        for col, label in (
            ("proxy_score", "proxy"),
            ("generated_score", "generated"),
            ("n_params", "n_params"),
        ):
            predictions[label] = [r[col].to_numpy(dtype=float) for r in held_rows]
            results[label] = kendall_taus(predictions[label], real)
        if args.report_train:  # same order as _tasks_from: finite scores of each training task
            train_rows = [
                c.table[(c.table["task"] == t) & np.isfinite(c.table["score"])]
                for c, t in train_ids
            ]
            train_taus["n_params"] = [
                r["n_params"].to_numpy(dtype=float) for r in train_rows if len(r)
            ]
        for name in [n for n in LEARNED if n in stored]:
            label = f"{name} + n_params"
            predictions[label] = rank_mean(stored[name], predictions["n_params"])
            results[label] = kendall_taus(predictions[label], real)
            results[label]["tau_across_tasks"] = float("nan")  # ranks are per task
    if args.ensembles:  # pairs of learned predictors: mean of their within-task ranks
        done = [n for n in LEARNED if n in stored]
        for i, a in enumerate(done):
            for b in done[i + 1 :]:
                label = f"{a} + {b}"
                predictions[label] = rank_mean(stored[a], stored[b])
                results[label] = kendall_taus(predictions[label], real)
                results[label]["tau_across_tasks"] = float("nan")  # ranks are per task
    for name, preds in train_taus.items():  # over-fitting check: tau on the tasks it trained on
        results[name]["train_tasks"] = kendall_taus(preds, train_real)
    seeded = all({"score_seed0", "score_seed1"} <= set(r) for r in held_rows)
    if seeded:  # the labels' own noise: what one training's score says about another's
        seed0 = [r["score_seed0"].to_numpy(dtype=float) for r in held_rows]
        seed1 = [r["score_seed1"].to_numpy(dtype=float) for r in held_rows]
        ceiling = "ceiling (seed 0 vs seed 1)"
        results[ceiling] = kendall_taus(seed1, seed0)
        predictions[ceiling] = seed1
        results[ceiling]["vs_seed0"] = dict(results[ceiling])
        for name in results:
            if name == ceiling:
                continue
            preds = predictions.get(name) or stored.get(name)
            if preds is not None:
                results[name]["vs_seed0"] = kendall_taus(preds, seed0)
                if " + " in name:
                    results[name]["vs_seed0"]["tau_across_tasks"] = float("nan")
    if seeded and all("score_seed3" in r for r in held_rows):
        # 4 trainings: the 2-training half-labels' agreement (+ Spearman-Brown to 4), and every
        # predictor against the 2-training label (mean of trainings 0-1), i.e. the older label
        first, second = half_means(held_rows)
        halves = "ceiling (mean of trainings 0-1 vs 2-3)"
        results[halves] = half_ceiling(first, second)
        predictions[halves] = second
        for name in results:
            preds = predictions.get(name) or stored.get(name)
            if preds is not None and not name.startswith("ceiling"):  # they hold a half's trainings
                results[name]["vs_mean01"] = kendall_taus(preds, first)
                if " + " in name:
                    results[name]["vs_mean01"]["tau_across_tasks"] = float("nan")

    # inference time per child on one thread (after a warm-up call per weight space)
    sample = [c for children, _, _ in held for c in children][: 30 if "unf" in learned else 0]
    metas = [m for _, _, meta in held for m in meta][:30]
    for c, m in zip(sample, metas):
        unf.predict([c], [m])
    times, cpu = [], []
    for c, m in zip(sample, metas):
        t0, c0 = time.perf_counter(), time.process_time()
        unf.predict([c], [m])
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    infer_ms = 1000 * float(np.median(times)) if times else float("nan")
    infer_cpu_ms = (
        1000 * float(np.median(cpu)) if cpu else float("nan")
    )  # without the wait for a core on a busy machine

    n_params = sum(p.numel() for p in unf.net.parameters())
    report = {
        "bank": [str(b) for b in args.bank],
        "train_bank": [str(b) for b in args.train_bank],
        "family": family,
        "bank_config": [c.config for c in colls],
        "children": n_children,
        "tasks": n_tasks,
        "train_tasks": len(train),
        "heldout_tasks": len(held),
        "heldout_children": int(sum(len(r) for r in real)),
        # "bank index:task id", so runs with different --train-tasks can be checked to share tasks
        "train_task_ids": [f"{colls.index(c)}:{t}" for c, t in train_ids],
        "heldout_task_ids": [f"{colls.index(c)}:{t}" for c, t in held_ids],
        "epochs": args.epochs,
        "lr": args.lr,
        "channels": list(channels),
        "seed": args.seed,
        "objective": args.objective,
        "input_norm": args.input_norm,
        "stat_features": args.stat_features,
        "val_task_ids": [f"{colls.index(c)}:{t}" for c, t in val_ids],
        "val_tau_per_epoch": val_curve,
        "best_epoch": best["epoch"],
        "loaded": args.load,
        "predictors": learned,
        "results": results,
        "train_seconds": {k: round(v, 1) for k, v in seconds.items()},
        "unf_inference_ms_per_child_median": round(infer_ms, 2),
        "unf_inference_cpu_ms_per_child_median": round(infer_cpu_ms, 2),
        "unf_parameters": n_params,
        "within_task_score_std_mean": float(np.mean([np.std(r) for r in real])),
        "label_ceiling_all_tasks": label_ceiling(colls) if seeded else None,
        "bank_build_seconds_per_task_mean": float(
            np.mean([s for c in colls for s in c.table.groupby("task")["task_seconds"].first()])
        ),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "command": "python " + " ".join(sys.argv),
    }
    four = any("vs_mean01" in r for r in results.values())
    lines = [
        f"# UNF child-quality predictor: {family} bank",
        "",
        f"`{report['command']}`",
        "",
        f"{n_children} children on {n_tasks} prior tasks; {len(train)} tasks "
        f"train, {len(held)} held out ({report['heldout_children']} children). Mean within-task "
        f"std of the real held-out score: {report['within_task_score_std_mean']:.3f}. "
        f"Objective of the learned predictors: `{args.objective}`; split seed {args.seed}.",
        "",
        "| predictor | Kendall tau within task | Kendall tau across tasks | tasks ranked | train s"
        + (" | within, vs seed-0 label | across, vs seed-0 label |" if seeded else " |")
        + (" within, vs mean of trainings 0-1 |" if four else ""),
        "|---|---|---|---|---|" + ("---|---|" if seeded else "") + ("---|" if four else ""),
    ]
    for name, r in results.items():
        s = seconds.get(name)
        line = (
            f"| {name} | {r['tau_within_task']:.3f} | {r['tau_across_tasks']:.3f} | "
            f"{r['n_tasks_ranked']} | {'' if s is None else f'{s:.1f}'} |"
        )
        if seeded:
            v = r.get("vs_seed0", {})
            line += f" {v.get('tau_within_task', float('nan')):.3f} |"
            line += f" {v.get('tau_across_tasks', float('nan')):.3f} |"
        if four:
            line += f" {r.get('vs_mean01', {}).get('tau_within_task', float('nan')):.3f} |"
        lines.append(line)
    lines += [
        "",
        f"UNF inference: {infer_ms:.2f} ms wall, {infer_cpu_ms:.2f} ms CPU per child (median, "
        f"one CPU thread, batch of 1; "
        f"{n_params} parameters). Bank build: "
        f"{report['bank_build_seconds_per_task_mean']:.1f} s per task (mean). Peak RSS "
        f"{report['peak_rss_mb']:.0f} MB.",
        "",
    ]
    if args.save:
        unf.config.info = {"families": [family], "heldout_results": results["unf"]}
        provenance = {
            "banks": [{"family": family, "config": c.config, "children": len(c)} for c in colls],
            "training": {
                "by": report["command"],
                "epochs": args.epochs,
                "learning_rate": args.lr,
                "seed": args.seed,
                "holdout_tasks": args.holdout,
                "train_tasks": len(train),
                "heldout_tasks": len(held),
                "heldout": {k: v for k, v in results.items() if k in LEARNED},
            },
        }
        report["saved"] = str(unf.save(args.save, provenance))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    out.with_suffix(".json").write_text(json.dumps(report, indent=1, default=float) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
