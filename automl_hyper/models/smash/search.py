"""One-shot architecture search: train the hypernetwork, rank many architectures by the score their
generated weights reach on validation data, refine the best by mutation, train the top few for
real and keep the one with the best real validation score.

Sampling is uniform random by default; ``sampler="optuna"`` lets an Optuna TPE study propose the
architectures instead (the ArchSpec dimensions become ``suggest_*`` calls, the proxy score is the
objective), asked and told in batches so scoring stays batched.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from automl_hyper.models.smash.architecture import ArchSpec, LayerSpec, SearchSpace
from automl_hyper.models.smash.hypernet import WeightGenerator, train_hypernet
from automl_hyper.models.smash.network import ArchNet, forward
from automl_hyper.models.smash.training import score_outputs, train_network

SAMPLERS = ("random", "optuna")


@dataclass
class SearchConfig:
    n_candidates: int = 500
    n_mutations: int = 100
    n_parents: int = 5
    top_k: int = 3
    sampler: str = "random"
    proxy_metric: str = "neg_log_loss"
    real_metric: str = "auc"
    max_params: int | None = None
    # hypernetwork
    hyper_time_budget: float | None = 60.0
    hyper_max_epochs: int = 60  # the best-measured setting (benchmarks/smash_correlation.py)
    hyper_hidden: int = 128
    hyper_rank: int = 4
    # Higher than a plain MLP's: the base blocks are scaled by 1/sqrt(fan_in) on their way to
    # the weights, so the same step moves the generated weights about ten times less.
    hyper_learning_rate: float = 1e-2
    hyper_archs_per_step: int = 1
    # real training of the finalists (not searched: tuned afterwards with Optuna)
    learning_rate: float = 1e-3
    weight_decay: float = 1e-5
    dropout: float = 0.0
    max_epochs: int = 100
    batch_size: int = 128
    patience: int = 10
    init_from_hypernet: bool = False

    def check(self) -> None:
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {self.sampler!r}")
        for name in (
            "n_candidates",
            "n_parents",
            "top_k",
            "hyper_max_epochs",
            "hyper_archs_per_step",
            "max_epochs",
            "batch_size",
        ):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("n_mutations", "patience"):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")
        if self.learning_rate <= 0 or self.hyper_learning_rate <= 0:
            raise ValueError("learning rates must be > 0")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.hyper_time_budget is not None and self.hyper_time_budget <= 0:
            raise ValueError(f"hyper_time_budget must be > 0 or None, got {self.hyper_time_budget}")


@dataclass
class Candidate:
    spec: ArchSpec
    stage: str  # "sampled" or "mutated"
    proxy: float
    n_params: int
    real: float | None = None
    net: ArchNet | None = None
    epochs: int | None = None


@dataclass
class SearchOutcome:
    candidates: list[Candidate]
    best: Candidate
    hyper_losses: list[float]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def trained(self) -> list[Candidate]:
        """Finalists trained for real, best real score first."""
        done = [c for c in self.candidates if c.real is not None]
        return sorted(done, key=lambda c: (-c.real, -c.proxy))

    def table(self) -> pd.DataFrame:
        rows = [
            {
                "spec": c.spec.to_json(),
                "summary": c.spec.describe(),
                "stage": c.stage,
                "n_params": c.n_params,
                "proxy_score": c.proxy,
                "real_score": c.real if c.real is not None else np.nan,
                "epochs": c.epochs if c.epochs is not None else np.nan,
            }
            for c in self.candidates
        ]
        table = pd.DataFrame(rows)
        return table.sort_values("proxy_score", ascending=False, ignore_index=True)

    def kendall_tau(self) -> float:
        """Rank agreement between proxy and real scores over the finalists (NaN below 3)."""
        from scipy.stats import kendalltau

        done = self.trained
        if len(done) < 3:
            return float("nan")
        return float(kendalltau([c.proxy for c in done], [c.real for c in done]).statistic)


@torch.no_grad()
def proxy_scores(
    gen: WeightGenerator,
    specs: list[ArchSpec],
    X_val: torch.Tensor,
    y_val: np.ndarray,
    task: str,
    metric: str,
    chunk: int = 32,
) -> list[float]:
    """Validation score of every spec under generated weights (conditioning batched per chunk)."""
    gen.eval()
    scores: list[float] = []
    for i in range(0, len(specs), chunk):
        batch = specs[i : i + chunk]
        for spec, params in zip(batch, gen.generate_many(batch)):
            out = forward(spec, params, X_val)
            score = score_outputs(out, y_val, task, metric)
            scores.append(score if np.isfinite(score) else -np.inf)
    return scores


def suggest_spec(trial, space: SearchSpace) -> ArchSpec:
    """The ArchSpec dimensions as Optuna ``suggest_*`` calls (edges are 0/1 categoricals)."""
    depth = trial.suggest_int("depth", 1, space.max_depth)
    layers = []
    for k in range(1, depth + 1):
        width = trial.suggest_categorical(f"width_{k}", space.widths)
        activation = trial.suggest_categorical(f"activation_{k}", space.activations)
        norm = trial.suggest_categorical(f"norm_{k}", space.norms)
        extra = [s for s in range(k - 1) if trial.suggest_categorical(f"edge_{k}_{s}", (0, 1))]
        layers.append(LayerSpec(int(width), str(activation), str(norm), (*extra, k - 1)))
    head = [s for s in range(depth) if trial.suggest_categorical(f"head_{s}", (0, 1))]
    return ArchSpec(tuple(layers), (*head, depth))


class _Scorer:
    """Scores specs once each (duplicates reuse the first score) and records them."""

    def __init__(self, gen, X_val, y_val, task, metric, n_features, n_outputs):
        self.gen, self.X_val, self.y_val = gen, X_val, y_val
        self.task, self.metric = task, metric
        self.n_features, self.n_outputs = n_features, n_outputs
        self.seen: dict[ArchSpec, Candidate] = {}

    def __call__(self, specs: list[ArchSpec], stage: str) -> list[float]:
        new = list(dict.fromkeys(s for s in specs if s not in self.seen))
        for spec, score in zip(
            new, proxy_scores(self.gen, new, self.X_val, self.y_val, self.task, self.metric)
        ):
            self.seen[spec] = Candidate(
                spec, stage, score, spec.n_params(self.n_features, self.n_outputs)
            )
        return [self.seen[s].proxy for s in specs]


def _sample_random(scorer, space, config, rng, deadline, n_features, n_outputs) -> None:
    attempts, chunk = 0, 64
    while len(scorer.seen) < config.n_candidates and attempts < 20 * config.n_candidates:
        want = min(chunk, config.n_candidates - len(scorer.seen))
        specs = []
        for _ in range(want):
            spec = space.sample_within(rng, n_features, n_outputs, config.max_params)
            attempts += 1
            if spec not in scorer.seen and spec not in specs:
                specs.append(spec)
        scorer(specs, "sampled")
        if deadline is not None and time.perf_counter() > deadline:
            break


def _sample_optuna(scorer, space, config, seed, deadline, n_features, n_outputs) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=max(10, min(100, config.n_candidates // 5))
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    done, batch = 0, 32
    while done < config.n_candidates:
        trials = [study.ask() for _ in range(min(batch, config.n_candidates - done))]
        specs = [suggest_spec(t, space) for t in trials]
        too_big = [
            config.max_params is not None and s.n_params(n_features, n_outputs) > config.max_params
            for s in specs
        ]
        scores = scorer([s for s, big in zip(specs, too_big) if not big], "sampled")
        it = iter(scores)
        for trial, big in zip(trials, too_big):
            if big:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                study.tell(trial, next(it))
        done += len(trials)
        if deadline is not None and time.perf_counter() > deadline:
            break


def _local_search(scorer, space, config, rng, deadline, n_features, n_outputs) -> None:
    """Two rounds of mutations around the current best few (the second round sees the first)."""
    per_round = [config.n_mutations // 2, config.n_mutations - config.n_mutations // 2]
    for n_children in per_round:
        if n_children == 0 or (deadline is not None and time.perf_counter() > deadline):
            continue
        ranked = sorted(scorer.seen.values(), key=lambda c: -c.proxy)[: config.n_parents]
        children = []
        for i in range(n_children):
            child = space.mutate(ranked[i % len(ranked)].spec, rng)
            fits = (
                config.max_params is None
                or child.n_params(n_features, n_outputs) <= config.max_params
            )
            if fits and child not in scorer.seen and child not in children:
                children.append(child)
        scorer(children, "mutated")


def run_search(
    X: torch.Tensor,
    y: torch.Tensor,
    X_val: torch.Tensor,
    y_val: torch.Tensor,
    task: str,
    n_outputs: int,
    space: SearchSpace,
    config: SearchConfig,
    seed: int,
    deadline: float | None = None,
) -> SearchOutcome:
    """The whole SMASH procedure on prepared tensors (fit rows and validation rows)."""
    config.check()
    rng = np.random.default_rng(seed)
    n_features = X.shape[1]
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    gen = WeightGenerator(space, n_features, n_outputs, config.hyper_hidden, config.hyper_rank)
    budget = config.hyper_time_budget
    if deadline is not None:  # the hypernetwork may use at most half of what is left
        half = max(0.05, 0.5 * (deadline - t0))
        budget = half if budget is None else min(budget, half)
    losses = train_hypernet(
        gen,
        X,
        y,
        task,
        rng=rng,
        time_budget=budget,
        max_epochs=config.hyper_max_epochs,
        batch_size=config.batch_size,
        learning_rate=config.hyper_learning_rate,
        dropout=config.dropout,
        max_params=config.max_params,
        archs_per_step=config.hyper_archs_per_step,
    )
    timings["hypernet_s"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    y_val_np = y_val.numpy()
    scorer = _Scorer(gen, X_val, y_val_np, task, config.proxy_metric, n_features, n_outputs)
    # Sampling and local search may use half of what is left; the finalists get the rest.
    search_deadline = None if deadline is None else t1 + 0.5 * max(0.0, deadline - t1)
    if config.sampler == "optuna":
        _sample_optuna(scorer, space, config, seed, search_deadline, n_features, n_outputs)
    else:
        _sample_random(scorer, space, config, rng, search_deadline, n_features, n_outputs)
    timings["sampling_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    _local_search(scorer, space, config, rng, search_deadline, n_features, n_outputs)
    timings["local_search_s"] = time.perf_counter() - t2

    t3 = time.perf_counter()
    candidates = list(scorer.seen.values())
    finalists = sorted(candidates, key=lambda c: -c.proxy)[: config.top_k]
    for i, cand in enumerate(finalists):
        if i > 0 and deadline is not None and time.perf_counter() > deadline:
            break  # the best proxy candidate is always trained; the others only in time
        train_candidate(cand, gen, X, y, X_val, y_val_np, task, n_outputs, config, rng, deadline)
    timings["finalists_s"] = time.perf_counter() - t3
    timings["total_s"] = time.perf_counter() - t0
    trained = [c for c in candidates if c.real is not None]
    best = max(trained, key=lambda c: (c.real, c.proxy))
    return SearchOutcome(candidates, best, losses, timings)


def train_candidate(
    cand: Candidate,
    gen: WeightGenerator | None,
    X: torch.Tensor,
    y: torch.Tensor,
    X_val: torch.Tensor,
    y_val: np.ndarray,
    task: str,
    n_outputs: int,
    config: SearchConfig,
    rng: np.random.Generator,
    deadline: float | None,
) -> None:
    """Train one candidate for real (from scratch, or from its generated weights) and score it."""
    init = None
    if config.init_from_hypernet and gen is not None:
        with torch.no_grad():
            init = gen(cand.spec)
    net = ArchNet(cand.spec, X.shape[1], n_outputs, dropout=config.dropout, init=init)
    result = train_network(
        net,
        X,
        y,
        X_val,
        torch.as_tensor(y_val),
        task,
        rng=rng,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        max_epochs=config.max_epochs,
        batch_size=config.batch_size,
        patience=config.patience,
        deadline=deadline,
    )
    with torch.no_grad():
        cand.real = score_outputs(net(X_val), y_val, task, config.real_metric)
    cand.net, cand.epochs = net, result.epochs
