"""The one registry of model families.

A family is declared here once: its estimator classes (as import paths, so that importing the zoo
stays cheap), its defaults, its search space, and its AutoGluon metadata. AutoGluon, Optuna, MLflow
and the CLI all read this registry, so registering a family makes it appear everywhere.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from automl_hyper.space import Categorical, Dimension, Float, Int, defaults_of


@dataclass(frozen=True)
class Family:
    name: str
    classifier: str | None
    regressor: str | None = None
    space: dict[str, Dimension] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    # AutoGluon metadata; ag_key None keeps a family out of AutoGluon (e.g. reference baselines).
    ag_key: str | None = None
    ag_name: str | None = None
    ag_priority: int = 0
    # AutoGluon configs offered by ``integrations.autogluon.default_hyperparameters``, fastest
    # first (AutoGluon's own defaults list several configs per key with ``ag_args`` suffixes).
    ag_configs: tuple[dict[str, Any], ...] = ({},)
    # Peak fit memory for AutoGluon's memory checks: (MiB, bytes per cell of the encoded data[,
    # bytes per row]) on top of a process that has imported the family (peak RSS measured in the
    # issue 13.6 note and benchmarks/results/autogluon_memory.md).
    ag_memory: tuple[float, ...] = (64.0, 96.0)
    # Other estimates where a parameter widens the data: ((param, values, ag_memory), ...); the
    # first whose param takes one of its values (in the trial's hyperparameters, else the
    # family's defaults) replaces ``ag_memory``.
    ag_memory_when: tuple[tuple[str, tuple[Any, ...], tuple[float, ...]], ...] = ()
    # True when the estimator learns epoch by epoch through ``partial_fit`` (per-epoch pruning).
    iterative: bool = False
    # Optional define-by-run override for conditional spaces: trial -> params.
    suggest: Callable[[Any], dict[str, Any]] | None = None
    # Parameter overrides per `compare --budget` level ("small", "paper").
    budgets: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def problem_types(self) -> tuple[str, ...]:
        types = ("binary", "multiclass") if self.classifier else ()
        return types + (("regression",) if self.regressor else ())

    def estimator_class(self, task: str = "classification") -> type:
        path = self.classifier if task == "classification" else self.regressor
        if path is None:
            raise ValueError(f"family {self.name!r} has no {task} estimator")
        module, _, attr = path.partition(":")
        return getattr(importlib.import_module(module), attr)

    def make(self, task: str = "classification", **params: Any) -> Any:
        """A new, unfitted estimator: family defaults overridden by ``params``."""
        return self.estimator_class(task)(**{**self.defaults, **params})

    def default_params(self) -> dict[str, Any]:
        return {**defaults_of(self.space), **self.defaults}

    def memory_estimate(self, params: dict[str, Any] | None = None) -> tuple[float, ...]:
        """``ag_memory`` for a fit with ``params`` (over the defaults): the first matching
        ``ag_memory_when`` entry, else ``ag_memory``. (AutoGluon hands a search space over as
        its default value, and each HPO trial its own values.)"""
        chosen = {**self.default_params(), **(params or {})}
        for param, values, estimate in self.ag_memory_when:
            if chosen.get(param) in values:
                return estimate
        return self.ag_memory


FAMILIES: dict[str, Family] = {}
# Called with each newly registered family, so integrations that are already loaded (AutoGluon's
# model registry) pick up families added at run time, e.g. SMASH winners. The zoo imports none.
_REGISTER_HOOKS: list[Callable[[Family], None]] = []


def add_register_hook(hook: Callable[[Family], None]) -> None:
    if hook not in _REGISTER_HOOKS:
        _REGISTER_HOOKS.append(hook)


def register(family: Family) -> Family:
    """Add a family (idempotent for the same declaration; a different one under a taken name fails)."""
    existing = FAMILIES.get(family.name)
    if existing is not None and existing != family:
        raise ValueError(f"a different family is already registered as {family.name!r}")
    FAMILIES[family.name] = family
    if existing is None:
        for hook in _REGISTER_HOOKS:
            hook(family)
    return family


def get(name: str) -> Family:
    try:
        return FAMILIES[name.lower()]
    except KeyError:
        raise KeyError(f"unknown family {name!r}; known: {', '.join(sorted(FAMILIES))}") from None


def names(*, autogluon_only: bool = False) -> list[str]:
    return [n for n, f in FAMILIES.items() if f.ag_key or not autogluon_only]


# --- the families ----------------------------------------------------------------------------

register(
    Family(
        name="inn",
        classifier="automl_hyper.models.inn:INNClassifier",
        regressor="automl_hyper.models.inn:INNRegressor",
        description="Interpretable Mesomorphic Network: a TabResNet emits a linear model per row",
        space={
            # 3e-3: chosen on the selection set (benchmarks/results/inn_defaults_selection.md).
            "learning_rate": Float(1e-4, 3e-2, default=3e-3, log=True),
            "weight_decay": Float(1e-6, 1e-1, default=1e-2, log=True),
            "weight_penalty": Float(1e-3, 10.0, default=1.0, log=True),
            "hidden_width": Categorical((64, 128, 256), default=128),
            "n_blocks": Int(1, 4, default=2),
            "dropout": Float(0.0, 0.5, default=0.25),
            "numeric_transform": Categorical(("power", "quantile", "standard"), default="power"),
            # Opt-in, default None as the estimator's (inn_spline_selection.md: "spline" -0.0063,
            # "spline_raw" -0.0024 mean AUC on the selection set, but phoneme +0.024): searched.
            "trunk_encoding": Categorical((None, "spline", "spline_raw"), default=None),
            # "auto" picks 0 or 3 per fit on the holdout (inn_variation_auto_selection.md).
            "variation_penalty": Categorical(("auto", 0.0, 1.0, 3.0), default="auto"),
        },
        ag_key="INN",
        ag_name="INN",
        # Cost order (integrations/autogluon.py): after MotherNet, before LightGBM (90); capped
        # at a quarter of the time left so that it cannot starve the GBDTs fitted after it.
        ag_priority=95,
        # One member with variation_penalty 0 inside AutoGluon: the AutoGluon uplift was measured
        # so; "auto" would choose on AutoGluon's holdout, the rows its ensemble is weighted on, and
        # 3 members there gained +0.0006 (autogluon_uplift_selection_lever3.md, not adopted).
        ag_configs=(
            {
                "variation_penalty": 0.0,
                "n_estimators": 1,
                "ag_args_fit": {"max_time_limit_ratio": 0.25},
            },
        ),
        # +32 MiB at 5,000 x 100, +168 MiB at 20,000 x 100 (2 epochs; snapshots grow with cells).
        ag_memory=(32.0, 96.0),
        # A spline trunk encoding widens each numeric column to ~9 (no width cap): +346 MiB at
        # 20,000 x 100, +438 at 50,000 x 50 (autogluon_memory.md, INN section).
        ag_memory_when=(("trunk_encoding", ("spline", "spline_raw"), (64.0, 192.0)),),
        iterative=True,
        budgets={"small": {"max_epochs": 40}, "paper": {"max_epochs": 200}},
    )
)

register(
    Family(
        name="mothernet",
        classifier="automl_hyper.models.mothernet:MotherNetClassifier",
        description="MotherNet: a pretrained transformer writes an MLP from the training set",
        # Fit is one forward pass per ensemble member (plus optional fine-tuning steps).
        space={
            "n_estimators": Int(1, 16, default=4, log=True),
            "finetune_steps": Int(0, 200, default=0),
            "input_transform": Categorical(("mixed", "none", "quantile", "power"), default="mixed"),
            "temperature": Float(0.5, 1.5, default=1.0),
            # Issue 13.4, measured in benchmarks/results/mothernet_inference_*.txt.
            "member_selection": Categorical(("train", None, "unf"), default="train"),
            "many_classes": Categorical(("tree", "codes", "ovr"), default="tree"),
            # Not `precision`: a speed setting (the arithmetic of the forward pass), not a model
            # choice for a search to weigh against accuracy.
        },
        ag_key="MOTHERNET",
        ag_name="MotherNet",
        # First of all (AutoGluon's LightGBM is 90): generation ~1 s, + fine-tuning a few s.
        ag_priority=100,
        # Generation only (one forward pass), then + 50 fine-tuning steps as "MotherNetFT": the
        # two modes `compare` reports as mothernet and mothernet-ft, under one AutoGluon key.
        ag_configs=({}, {"finetune_steps": 50, "ag_args": {"name_suffix": "FT"}}),
        # +96 MiB at 1,000 x 20 (attention over a 1,024-row generation), +211 MiB at 20,000 x 100.
        ag_memory=(128.0, 128.0),
    )
)

# The same pretrained model with a few Adam steps on the generated child (HyperFast-style), so
# `compare` reports both modes side by side. In AutoGluon it is MOTHERNET's second config.
register(
    Family(
        name="mothernet-ft",
        classifier="automl_hyper.models.mothernet:MotherNetClassifier",
        description="MotherNet + 50 fine-tuning steps on the generated child",
        # finetune_average=3: the full-data child tuned to 3x the early-stopped step count, its
        # weights averaged from half that count on: +0.0034 mean AUC on the selection set,
        # 14 of 16 datasets up, 1.54x fit time (benchmarks/results/mothernet_ft_selection8.md).
        defaults={"finetune_steps": 50, "finetune_average": 3},
    )
)

register(
    Family(
        name="smash",
        classifier="automl_hyper.models.smash:SmashClassifier",
        regressor="automl_hyper.models.smash:SmashRegressor",
        description="SMASH one-shot architecture search over tabular MLPs (hypernetwork proxy)",
        # Architecture is searched inside fit; these train the finalists and are tuned outside.
        # learning_rate 3e-3: re-chosen on the selection set (smash_defaults_selection.md).
        space={
            "learning_rate": Float(1e-4, 1e-2, default=3e-3, log=True),
            "dropout": Float(0.0, 0.5, default=0.0),
            "weight_decay": Float(1e-7, 1e-2, default=1e-5, log=True),
            # The children's input: "spline_raw" (the estimator default, smash_spline_selection.md:
            # +0.0041 mean AUC over None on the selection set), "spline" or None (the raw columns).
            "input_encoding": Categorical(("spline_raw", "spline", None), default="spline_raw"),
        },
        # Finalists by the proxy, the UNF predictor of generated weights ("unf") or both ranks:
        # a default, not searched (benchmarks/results/smash_rankers.md: UNF scoring costs 2.5x the
        # search); AutoGluon hyperparameters and Optuna fixed_params override it.
        defaults={"ranker": "proxy"},
        ag_key="SMASH",
        ag_name="SMASH",
        # Between LightGBM (90) and CatBoost (70), capped at 15% of the time left: fitted last
        # (30), it was skipped on 46 of 150 CC18 runs (autogluon_uplift_smashfit.md), and ~5 s
        # already gives good AUCs. Chosen on the selection set (+0.0028 AUC, SE 0.0019, none below
        # noise; autogluon_uplift_selection_smashslot.md). time_limit reaches it as wall limit.
        ag_priority=80,
        # 10 finalists and plain refits inside AutoGluon, as its uplift was measured (the
        # estimators' 16 and refit_average were chosen outside it, smash_topk16_selection.md and
        # smash_swa*_selection.md; AutoGluon's cap stops extra finalists anyway, and with its
        # X_val nothing is refitted).
        ag_configs=(
            {
                "top_k": 10,
                "ensemble_top_k": 10,
                "refit_average": None,
                "ag_args_fit": {"max_time_limit_ratio": 0.15},
            },
        ),
        # input_encoding="spline_raw" widens each numeric column to 9 (at most 512 in all), but
        # the estimate counts the columns AutoGluon passes: peak RSS rise 166 MiB at 20,000 x 50
        # and 457 MiB at 50,000 x 50 (64 + 96 B/cell said 156 and 293); 192 B/cell covers both.
        # And a per-row cost (candidates are scored on all validation rows at once): 270 MiB at
        # 50,000 x 10 (~4 KB per row; autogluon_memory.md, SMASH section): 6 KB per row.
        ag_memory=(128.0, 192.0, 6144.0),
        # small: both limits count CPU seconds of the fit, not wall seconds (budget.py); a fit
        # needs 1-11 CPU-s of its 30 (smash_cpu_budget_selection.md), so the limit is a safety net.
        budgets={"small": {"hyper_time_budget": 10.0, "time_limit": 30.0}},
    )
)

register(
    Family(
        name="xgboost",
        classifier="automl_hyper.models.baselines:DefaultXGBClassifier",
        description="XGBoost with library defaults (reference)",
    )
)

register(
    Family(
        name="xgboost-tuned",
        classifier="automl_hyper.models.baselines:TunedXGBClassifier",
        description="XGBoost tuned by Optuna TPE with 5-fold CV ROC AUC inside the training set",
        defaults={"n_trials": 30, "time_budget": 120.0},
        # paper: the MotherNet paper tuned baselines for one hour each.
        budgets={
            "small": {"n_trials": 15, "time_budget": 30.0},
            "paper": {"n_trials": 1000, "time_budget": 3600.0},
        },
    )
)

register(
    Family(
        name="logreg",
        classifier="automl_hyper.models.baselines:LogisticBaseline",
        description="Logistic regression on the shared preprocessing (reference)",
        space={"C": Float(1e-3, 1e2, default=1.0, log=True)},
    )
)
