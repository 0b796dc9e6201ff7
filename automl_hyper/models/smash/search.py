"""One-shot architecture search: train the hypernetwork, rank many architectures by the score their
generated weights reach on validation data, refine the best by mutation, train the top few for
real and keep the one with the best real validation score.

The finalists are the top ``top_k`` under ``ranker``: the proxy (validation score under generated
weights), the UNF predictor's predicted held-out score of the generated weights
(:mod:`automl_hyper.weightspace.uses`), or the average of both ranks. Once trained, the best
``ensemble_top_k`` finalists can be averaged, and ``tune_trials`` Optuna trials can retrain the
winner with other learning rates, dropouts and weight decays: the best of these trainings by
validation score (the untuned one included) takes the winner's place in the average, or, with
``tune_ensemble``, all of them join it.

Sampling is uniform random by default; ``sampler="optuna"`` lets an Optuna TPE study propose the
architectures instead (the ArchSpec dimensions become ``suggest_*`` calls, the proxy score is the
objective), asked and told in batches so scoring stays batched.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np
import pandas as pd
import torch

from automl_hyper.models.smash.architecture import ArchSpec, LayerSpec, SearchSpace
from automl_hyper.models.smash.budget import Budget, passed
from automl_hyper.models.smash.context import REFIT_AVERAGES, SearchConfig, SearchContext
from automl_hyper.models.smash.hypernet import WeightGenerator, train_hypernet
from automl_hyper.models.smash.network import ArchNet, forward
from automl_hyper.models.smash.training import (
    MIN_EPOCHS,
    score_outputs,
    train_for_epochs,
    train_network,
)
from automl_hyper.models.torch_utils import averaging_window, derived_seed, seeded


@dataclass
class Candidate:
    spec: ArchSpec
    stage: str  # "sampled" or "mutated"
    proxy: float
    n_params: int
    real: float | None = None
    net: ArchNet | None = None
    epochs: int | None = None
    unf: float | None = None  # the UNF predictor's predicted held-out score (rankers unf, both)
    rank_score: float | None = None  # what the finalists were chosen by (higher is better)
    stopped_by: str | None = None  # why its real training ended: patience, max_epochs or time
    best_epoch: int | None = None  # the epoch early stopping kept
    refitted: bool = False  # net retrained on every training row (SearchConfig.refit)
    extra_refits: list[ArchNet] = field(default_factory=list)  # SearchConfig.refit_seeds > 1


@dataclass
class SearchOutcome:
    candidates: list[Candidate]
    best: Candidate
    hyper_losses: list[float]
    timings: dict[str, float] = field(default_factory=dict)
    # the trained candidates whose predictions are averaged (best first; [best] without ensembling)
    members: list[Candidate] = field(default_factory=list)
    tuning: list[dict] = field(default_factory=list)  # one record per tuning trial
    tuned: list[Candidate] = field(default_factory=list)  # the tuning trials, trial order

    def ensemble(self) -> tuple[list[ArchNet], list[str]]:
        """The averaged nets, the winner first, and where each comes from: ``finalist:i`` (i-th
        of :attr:`trained`, untuned) or ``trial:j`` (j-th tuning trial), then each member's
        further refits (``SearchConfig.refit_seeds``) as ``refitR:<its origin>``."""
        source = {id(c): f"finalist:{i}" for i, c in enumerate(self.trained)}
        source.update({id(c): f"trial:{j}" for j, c in enumerate(self.tuned)})
        nets = [m.net for m in self.members]
        origins = [source[id(m)] for m in self.members]
        for member in self.members:
            for r, net in enumerate(member.extra_refits, start=1):
                nets.append(net)
                origins.append(f"refit{r}:{source[id(member)]}")
        return nets, origins

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
                "unf_score": c.unf if c.unf is not None else np.nan,
                "rank_score": c.rank_score if c.rank_score is not None else np.nan,
                "real_score": c.real if c.real is not None else np.nan,
                "epochs": c.epochs if c.epochs is not None else np.nan,
                "stopped_by": c.stopped_by,
            }
            for c in self.candidates
        ]
        table = pd.DataFrame(rows)
        return table.sort_values("proxy_score", ascending=False, ignore_index=True)

    def kendall_tau(self, score: str = "proxy") -> float:
        """Rank agreement between a ranking score ("proxy", "unf" or "rank_score") and the real
        scores over the finalists (NaN below 3, or where that score was not computed)."""
        from scipy.stats import kendalltau

        done = [c for c in self.trained if getattr(c, score) is not None]
        if len(done) < 3:
            return float("nan")
        return float(
            kendalltau([getattr(c, score) for c in done], [c.real for c in done]).statistic
        )


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

    def __init__(self, gen: WeightGenerator, ctx: SearchContext) -> None:
        self.gen, self.ctx = gen, ctx
        self.seen: dict[ArchSpec, Candidate] = {}

    def __call__(self, specs: list[ArchSpec], stage: str) -> list[float]:
        ctx = self.ctx
        new = list(dict.fromkeys(s for s in specs if s not in self.seen))
        scores = proxy_scores(
            self.gen, new, ctx.X_val, ctx.y_val_np, ctx.task, ctx.config.proxy_metric
        )
        for spec, score in zip(new, scores):
            self.seen[spec] = Candidate(
                spec, stage, score, spec.n_params(ctx.n_features, ctx.n_outputs)
            )
        return [self.seen[s].proxy for s in specs]


def _within_budget(ctx: SearchContext, spec: ArchSpec) -> bool:
    limit = ctx.config.max_params
    return limit is None or spec.n_params(ctx.n_features, ctx.n_outputs) <= limit


def _sample_random(
    ctx: SearchContext, space: SearchSpace, scorer: _Scorer, deadline: Budget | None
) -> None:
    n_candidates = ctx.config.n_candidates
    attempts, chunk = 0, 64
    while len(scorer.seen) < n_candidates and attempts < 20 * n_candidates:
        want = min(chunk, n_candidates - len(scorer.seen))
        specs = []
        for _ in range(want):
            spec = space.sample_within(
                ctx.rng, ctx.n_features, ctx.n_outputs, ctx.config.max_params
            )
            attempts += 1
            if spec not in scorer.seen and spec not in specs:
                specs.append(spec)
        scorer(specs, "sampled")
        if passed(deadline):
            break


def _sample_optuna(
    ctx: SearchContext, space: SearchSpace, scorer: _Scorer, deadline: Budget | None
) -> None:
    import optuna

    n_candidates = ctx.config.n_candidates
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(
        seed=ctx.seed, n_startup_trials=max(10, min(100, n_candidates // 5))
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    done, batch = 0, 32
    while done < n_candidates:
        trials = [study.ask() for _ in range(min(batch, n_candidates - done))]
        specs = [suggest_spec(t, space) for t in trials]
        too_big = [not _within_budget(ctx, s) for s in specs]
        scores = scorer([s for s, big in zip(specs, too_big) if not big], "sampled")
        it = iter(scores)
        for trial, big in zip(trials, too_big):
            if big:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                study.tell(trial, next(it))
        done += len(trials)
        if passed(deadline):
            break


def _local_search(
    ctx: SearchContext, space: SearchSpace, scorer: _Scorer, deadline: Budget | None
) -> None:
    """Two rounds of mutations around the current best few (the second round sees the first)."""
    n_mutations = ctx.config.n_mutations
    per_round = [n_mutations // 2, n_mutations - n_mutations // 2]
    for n_children in per_round:
        if n_children == 0 or passed(deadline):
            continue
        ranked = sorted(scorer.seen.values(), key=lambda c: -c.proxy)[: ctx.config.n_parents]
        children = []
        for i in range(n_children):
            child = space.mutate(ranked[i % len(ranked)].spec, ctx.rng)
            if _within_budget(ctx, child) and child not in scorer.seen and child not in children:
                children.append(child)
        scorer(children, "mutated")


def build_pool(
    ctx: SearchContext, space: SearchSpace, timings: dict[str, float]
) -> tuple[WeightGenerator, list[Candidate], list[float]]:
    """Train the hypernetwork, sample and mutate architectures, score each by the proxy."""
    config = ctx.config
    t0 = time.perf_counter()
    gen = WeightGenerator(
        space, ctx.n_features, ctx.n_outputs, config.hyper_hidden, config.hyper_rank
    )
    # hyper_time_budget counts on the fit's CPU clock; the hypernetwork may also use at most
    # half of what is left of the fit's budget.
    if ctx.deadline is not None:
        budget = ctx.deadline.share(0.5, cap_cpu=config.hyper_time_budget)
    elif config.hyper_time_budget is not None:
        budget = Budget(config.hyper_time_budget, clock=ctx.clock)
    else:
        budget = None
    losses = train_hypernet(
        gen,
        ctx.X_fit,
        ctx.y_fit,
        ctx.task,
        rng=ctx.rng,
        time_budget=None,
        budget=budget,
        max_epochs=config.hyper_max_epochs,
        batch_size=config.batch_size,
        learning_rate=config.hyper_learning_rate,
        dropout=config.dropout,
        max_params=config.max_params,
        archs_per_step=config.hyper_archs_per_step,
    )
    timings["hypernet_s"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    scorer = _Scorer(gen, ctx)
    # Sampling and local search may use half of what is left; the finalists get the rest.
    search_deadline = None if ctx.deadline is None else ctx.deadline.share(0.5, floor=0.0)
    sample = _sample_optuna if config.sampler == "optuna" else _sample_random
    sample(ctx, space, scorer, search_deadline)
    timings["sampling_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    _local_search(ctx, space, scorer, search_deadline)
    timings["local_search_s"] = time.perf_counter() - t2
    return gen, list(scorer.seen.values()), losses


@lru_cache(maxsize=4)
def load_predictor(name: str | None):
    """The UNF child-quality predictor: a file or shipped name (None: the shipped "unf-smash")."""
    from automl_hyper.weightspace.predictor import ChildQualityPredictor

    return ChildQualityPredictor.load("unf-smash" if name is None else name)


@torch.no_grad()
def unf_scores(
    ctx: SearchContext,
    gen: WeightGenerator,
    specs: list[ArchSpec],
    predictor,
    chunk: int = 16,
    deadline: Budget | None = None,
) -> np.ndarray:
    """The predictor's predicted held-out score of each spec's generated weights (of the first
    specs only, chunk by chunk, where ``deadline`` passes first). The first chunk is always
    scored: a ``ranker="unf"`` with no scores at all would rank every candidate last, silently."""
    from automl_hyper.weightspace.uses import score_architectures

    gen.eval()
    out = []
    for i in range(0, len(specs), chunk):
        if i > 0 and passed(deadline):
            break
        batch = specs[i : i + chunk]
        params = gen.generate_many(batch)
        out.append(
            score_architectures(
                batch, params, ctx.n_features, ctx.n_outputs, len(ctx.y_fit), predictor
            )
        )
    return np.concatenate(out) if out else np.zeros(0)


def _dense(space: SearchSpace, depth: int) -> ArchSpec:
    """The architecture of ``depth`` layers with every connection (all weight tensors of that depth)."""
    w, act, norm = min(space.widths), space.activations[0], space.norms[0]
    layers = tuple(LayerSpec(w, act, norm, tuple(range(k))) for k in range(1, depth + 1))
    return ArchSpec(layers, tuple(range(depth + 1)))


def check_predictor_covers(ctx: SearchContext, space: SearchSpace, predictor) -> None:
    """Refuse, before any work, a predictor that cannot read the space's deepest architectures
    (a UNF knows the weight-tensor pairs of the architectures it was built for)."""
    from automl_hyper.models.smash.network import fan_in_init
    from automl_hyper.weightspace.uses import score_architectures

    def reads(depth: int) -> bool:
        spec = _dense(space, depth)
        params = [list(zip(*fan_in_init(spec, ctx.n_features, ctx.n_outputs)))]
        try:
            score_architectures([spec], params, ctx.n_features, ctx.n_outputs, 100, predictor)
        except KeyError:
            return False
        return True

    if reads(space.max_depth):
        return
    known = next((d for d in range(space.max_depth - 1, 0, -1) if reads(d)), 0)
    name = ctx.config.unf_predictor or "unf-smash"
    raise ValueError(
        f"ranker={ctx.config.ranker!r}: the UNF predictor {name!r} reads architectures of at most "
        f"{known} layers, but max_depth is {space.max_depth}; set max_depth<={known}, "
        "ranker='proxy', or train a predictor on deeper ones (automl-hyper unf build/train)"
    )


def rank_candidates(
    ctx: SearchContext,
    gen: WeightGenerator,
    candidates: list[Candidate],
    ranker: str,
    predictor=None,
    deadline: Budget | None = None,
) -> list[Candidate]:
    """Candidates best first under ``ranker``; sets ``unf`` (where computed) and ``rank_score``.

    ``"both"`` averages the two rank positions (ties broken by the proxy). The UNF scores the
    candidates in proxy order; those left unscored when ``deadline`` passes rank last."""
    from scipy.stats import rankdata

    proxy = np.array([c.proxy for c in candidates], dtype=np.float64)
    if ranker == "proxy":
        score = proxy
    else:
        todo = sorted((c for c in candidates if c.unf is None), key=lambda c: -c.proxy)
        if todo:
            predictor = predictor or load_predictor(ctx.config.unf_predictor)
            specs = [c.spec for c in todo]
            for c, u in zip(todo, unf_scores(ctx, gen, specs, predictor, deadline=deadline)):
                c.unf = float(u)
        unf = np.array([np.nan if c.unf is None else c.unf for c in candidates])
        unf = np.where(np.isfinite(unf), unf, -np.inf)
        if ranker == "unf":
            score = unf
        else:
            score = 0.5 * (rankdata(proxy) + rankdata(unf)) / max(1, len(candidates))
    for c, v in zip(candidates, score):
        c.rank_score = float(v)
    order = sorted(range(len(candidates)), key=lambda i: (-score[i], -proxy[i]))
    return [candidates[i] for i in order]


# The training settings the search leaves out, tuned on the winner (log scale where marked).
TUNING_RANGES = {
    "learning_rate": (1e-4, 1e-2, True),
    "dropout": (0.0, 0.5, False),
    "weight_decay": (1e-7, 1e-2, True),
}


def tune_winner(
    ctx: SearchContext,
    winner: Candidate,
    gen: WeightGenerator | None,
    n_trials: int,
    trials: list[Candidate] | None = None,
) -> tuple[Candidate, list[dict]]:
    """Retrain the winner with ``n_trials`` Optuna TPE settings of learning rate, dropout and
    weight decay; the best real validation score wins (the untuned winner included, and kept on
    ties). ``trials``, where given, receives every trial's trained candidate in trial order."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=ctx.seed)
    )
    best, records = winner, []
    for _ in range(n_trials):
        if passed(ctx.deadline):
            break
        trial = study.ask()
        params = {
            name: trial.suggest_float(name, low, high, log=log)
            for name, (low, high, log) in TUNING_RANGES.items()
        }
        cand = Candidate(winner.spec, "tuned", winner.proxy, winner.n_params)
        cand.unf, cand.rank_score = winner.unf, winner.rank_score
        t, cpu = time.perf_counter(), ctx.clock()
        train_candidate(ctx, cand, gen, replace(ctx.config, **params))
        real = cand.real if np.isfinite(cand.real) else -np.inf
        study.tell(trial, real)
        records.append(
            {
                **params,
                "real_score": cand.real,
                "epochs": cand.epochs,
                "seconds": time.perf_counter() - t,
                "cpu_seconds": ctx.clock() - cpu,
            }
        )
        if trials is not None:
            trials.append(cand)
        if real > best.real:
            best = cand
    return best, records


def ensemble_members(
    trained: list[Candidate], best: Candidate, k: int, min_epoch_share: float = 0.0
) -> list[Candidate]:
    """``best`` and the next best trained finalists by real score, ``k`` in all. A finalist the
    time budget stopped before ``min_epoch_share`` of the winner's epochs is left out."""

    def trained_enough(c: Candidate) -> bool:
        if c.stopped_by != "time" or not (best.epochs and c.epochs is not None):
            return True
        return c.epochs >= min_epoch_share * best.epochs

    others = [
        c for c in trained if c.spec != best.spec and np.isfinite(c.real) and trained_enough(c)
    ]
    return [best, *others[: k - 1]]


def run_search(ctx: SearchContext, space: SearchSpace) -> SearchOutcome:
    """The whole SMASH procedure on prepared tensors (fit rows and validation rows)."""
    config = ctx.config
    timings: dict[str, float] = {}
    t0, cpu0 = time.perf_counter(), ctx.clock()
    if config.ranker != "proxy":
        check_predictor_covers(ctx, space, load_predictor(config.unf_predictor))
    gen, candidates, losses = build_pool(ctx, space, timings)

    t1 = time.perf_counter()
    # UNF scoring may use half of what is left, like sampling; the finalists get the rest.
    rank_deadline = None if ctx.deadline is None else ctx.deadline.share(0.5, floor=0.0)
    ranked = rank_candidates(ctx, gen, candidates, config.ranker, deadline=rank_deadline)
    timings["ranking_s"] = time.perf_counter() - t1

    t3 = time.perf_counter()
    finalist_deadline = ctx.deadline
    if ctx.deadline is not None and config.tune_trials > 0:  # leave half to the tuning
        finalist_deadline = ctx.deadline.share(0.5, floor=0.0)
    for i, cand in enumerate(ranked[: config.top_k]):
        if i > 0 and passed(finalist_deadline):
            break  # the best ranked candidate is always trained; the others only in time
        train_candidate(ctx, cand, gen)
    timings["finalists_s"] = time.perf_counter() - t3
    trained = sorted(
        (c for c in candidates if c.real is not None), key=lambda c: (-c.real, -c.proxy)
    )
    best = trained[0]

    tuning: list[dict] = []
    untuned, tuned = best, []
    if config.tune_trials > 0:
        t4, cpu4 = time.perf_counter(), ctx.clock()
        best, tuning = tune_winner(ctx, best, gen, config.tune_trials, trials=tuned)
        timings["tuning_s"] = time.perf_counter() - t4
        timings["tuning_cpu_s"] = ctx.clock() - cpu4
    members = ensemble_members(
        trained, best, config.ensemble_top_k, config.ensemble_min_epoch_share
    )
    if config.tune_ensemble:  # the winner's other trainings join the average too
        members += [c for c in (untuned, *tuned) if c is not best and np.isfinite(c.real)]
    if config.refit and ctx.refit_rows is not None:
        t5 = time.perf_counter()
        # The finalists only (by their place among the trained): a tuning trial's member was
        # trained with its own settings.
        finalists = [(i, c) for i, c in enumerate(trained) if any(c is m for m in members)]
        refit_members(ctx, finalists, gen)
        timings["refit_s"] = time.perf_counter() - t5
    timings["total_s"] = time.perf_counter() - t0
    timings["total_cpu_s"] = ctx.clock() - cpu0
    return SearchOutcome(candidates, best, losses, timings, members, tuning, tuned)


def train_candidate(
    ctx: SearchContext,
    cand: Candidate,
    gen: WeightGenerator | None = None,
    config: SearchConfig | None = None,
) -> None:
    """Train one candidate for real (from scratch, or from its generated weights) and score it.

    ``config`` overrides the context's settings (the tuning trials' learning rates etc.)."""
    config = config or ctx.config
    net = _new_net(ctx, cand, gen, config)
    result = train_network(
        net,
        ctx.X_fit,
        ctx.y_fit,
        ctx.X_val,
        ctx.y_val,
        ctx.task,
        rng=ctx.rng,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        max_epochs=config.max_epochs,
        batch_size=config.batch_size,
        patience=config.patience,
        deadline=ctx.deadline,
        min_epochs=min(config.max_epochs, MIN_EPOCHS),
    )
    with torch.no_grad():
        cand.real = score_outputs(net(ctx.X_val), ctx.y_val_np, ctx.task, config.real_metric)
    cand.net, cand.epochs, cand.stopped_by = net, result.epochs, result.stopped_by
    cand.best_epoch = result.best_epoch


def refit_members(
    ctx: SearchContext,
    members: list[tuple[int, Candidate]],
    gen: WeightGenerator | None = None,
) -> None:
    """Retrain each ``(i, member)`` (``i``: its place among the trained finalists) from a fresh
    start on every training row (``ctx.refit_rows``) for the epochs its early-stopped training
    kept (at least one), in order, best first (``cand.refitted`` marks them). Each refit draws
    from its own seed (the fit's and ``i``), so it does not depend on what the search drew
    before it (tuning trials, ranking). Once the fit's deadline has passed, the rest keep their
    holdout-trained nets, and so does a member whose refit the deadline interrupts (at most one
    epoch over). Their validation scores stay those of the holdout training: the refitted nets
    have seen the validation rows. With ``config.refit_seeds`` > 1, further rounds retrain every
    refitted member again with other seeds (``cand.extra_refits``), after all first refits."""
    config = ctx.config
    for r in range(config.refit_seeds):
        for i, cand in members:
            if r > 0 and not cand.refitted:
                continue  # a further refit only beside a first one
            if passed(ctx.deadline):
                return
            seed = derived_seed(ctx.seed, i)
            net = _refit_net(ctx, cand, gen, seed if r == 0 else derived_seed(seed, r))
            if net is None:
                return
            if r == 0:
                cand.net, cand.refitted = net, True
            else:
                cand.extra_refits.append(net)


def _refit_net(
    ctx: SearchContext, cand: Candidate, gen: WeightGenerator | None, seed: int
) -> ArchNet | None:
    """``cand``'s architecture trained from ``seed`` on every training row for its kept epochs;
    None if the deadline interrupted it."""
    X, y = ctx.refit_rows
    config = ctx.config
    kept = max(1, cand.best_epoch or 0)
    epochs, average_from = kept, None
    if config.refit_average is not None:
        epochs, average_from = averaging_window(kept, REFIT_AVERAGES[config.refit_average])
    with seeded(seed):
        net = _new_net(ctx, cand, gen, config)
        complete = train_for_epochs(
            net,
            X,
            y,
            ctx.task,
            rng=np.random.default_rng(seed),
            epochs=epochs,
            learning_rate=config.learning_rate,
            weight_decay=config.weight_decay,
            batch_size=config.batch_size,
            deadline=ctx.deadline,
            average_from=average_from,
        )
    return net if complete else None


def _new_net(
    ctx: SearchContext, cand: Candidate, gen: WeightGenerator | None, config: SearchConfig
) -> ArchNet:
    """An untrained network of ``cand``'s architecture (from its generated weights when
    ``init_from_hypernet``)."""
    init = None
    if config.init_from_hypernet and gen is not None:
        with torch.no_grad():
            init = gen(cand.spec)
    return ArchNet(cand.spec, ctx.n_features, ctx.n_outputs, dropout=config.dropout, init=init)
