"""scikit-learn estimators: the SMASH search, and one fixed (e.g. discovered) architecture.

Each class declares its ``_parameter_constraints`` (the search and training settings from
:data:`~automl_hyper.models.smash.context.CONFIG_CONSTRAINTS`); :mod:`automl_hyper.models.base`
checks them once per fit, before the shared preprocessing, so these classes see float32 matrices. Learning rate, dropout and weight decay apply to the real training of the finalists
(and of a fixed architecture); they are not searched, so that Optuna can tune them afterwards.
"""

from __future__ import annotations

from numbers import Integral, Real
from pathlib import Path

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from automl_hyper.data.preprocess import NUMERIC_TRANSFORMS
from automl_hyper.data.spline import fit_encoder
from automl_hyper.models.base import TabularClassifierBase, TabularRegressorBase
from automl_hyper.models.eval_set import ValidationSetMixin
from automl_hyper.models.smash.architecture import ArchSpec, SearchSpace, as_spec
from automl_hyper.models.smash.budget import Budget, cpu_clock
from automl_hyper.models.smash.context import CONFIG_CONSTRAINTS, SearchConfig, SearchContext
from automl_hyper.models.smash.network import ArchNet
from automl_hyper.models.smash.search import Candidate, run_search, train_candidate
from automl_hyper.models.smash.training import holdout_split, outputs_to_proba
from automl_hyper.models.torch_utils import seed_from, seeded, torch_threads

DEFAULT_WIDTHS = (16, 32, 64, 128, 256, 512)
DEFAULT_SPEC = ArchSpec.plain((128, 128))
# input_encoding: the children's input width (columns x spline basis functions) is capped here;
# the knot count is lowered to fit, else the columns stay raw (a warning either way). The
# hypernetwork stores a maximal block per layer of (largest width x input width), so its size and
# the candidates' parameter counts grow with it; 512 is the largest hidden width of the space.
MAX_ENCODED_WIDTH = 512

# Estimator parameters that are SearchConfig fields under the same name.
_TRAINING_PARAMS = (
    "learning_rate",
    "dropout",
    "weight_decay",
    "max_epochs",
    "batch_size",
    "patience",
)
_SEARCH_PARAMS = (
    "n_candidates",
    "top_k",
    "n_mutations",
    "hyper_time_budget",
    "hyper_max_epochs",
    "max_params",
    "sampler",
    "init_from_hypernet",
    "ranker",
    "unf_predictor",
    "ensemble_top_k",
    "ensemble_min_epoch_share",
    "tune_trials",
    "tune_ensemble",
    "refit",
    "refit_seeds",
    "refit_average",
    *_TRAINING_PARAMS,
)
# Parameters both kinds of estimator have beyond the SearchConfig fields.
_COMMON_CONSTRAINTS = {
    "validation_fraction": [Interval(Real, 0, 1, closed="left")],
    "random_state": ["random_state"],
    "time_limit": [Interval(Real, 0, None, closed="neither"), None],
    "wall_time_limit": [Interval(Real, 0, None, closed="neither"), None],
    "n_threads": [Interval(Integral, 1, None, closed="left"), None],
}


def _context(
    est, X: np.ndarray, y: np.ndarray, n_outputs: int, config: SearchConfig
) -> SearchContext:
    """Seed, time budget, holdout split and tensors: what one fit's search or training runs in.

    Validation rows given to ``fit`` (AutoGluon's holdout) rank the architectures and early-stop
    the finalists; then every row of X trains. Otherwise ``validation_fraction`` is held out.
    ``time_limit`` counts CPU seconds of the fit (see budget.py), ``wall_time_limit`` wall ones."""
    seed = seed_from(est.random_state)
    clock = cpu_clock(est.n_threads)
    # The first optimiser of a process imports torch._dynamo (seconds of CPU): a one-off cost of
    # the process, paid before the budget starts so that it does not shorten the first fit.
    torch.optim.AdamW([torch.zeros(1, requires_grad=True)])
    deadline = None
    if est.time_limit is not None or est.wall_time_limit is not None:
        deadline = Budget(est.time_limit, est.wall_time_limit, clock)
    dtype = torch.int64 if est._task == "classification" else torch.float32
    X_t = torch.as_tensor(X, dtype=torch.float32)
    y_t = torch.as_tensor(y, dtype=dtype)
    given = est._validation_arrays()
    if given is not None:
        X_v, y_v = given
        if est._task != "classification":  # the scale fit's targets were standardised to
            y_v = (y_v - est.y_mean_) / est.y_scale_
        X_fit, y_fit = X_t, y_t
        X_val, y_val = torch.as_tensor(X_v, dtype=torch.float32), torch.as_tensor(y_v, dtype=dtype)
    else:
        fit_idx, val_idx = holdout_split(y, est._task, est.validation_fraction, seed)
        X_fit, y_fit, X_val, y_val = X_t[fit_idx], y_t[fit_idx], X_t[val_idx], y_t[val_idx]
    # Refit only where rows were held out (tiny data validates on its fit rows: nothing to add).
    held_out = given is None and len(fit_idx) < len(y)
    refit_rows = (X_t, y_t) if held_out and config.refit else None
    return SearchContext(
        X_fit=X_fit,
        y_fit=y_fit,
        X_val=X_val,
        y_val=y_val,
        task=est._task,
        n_outputs=n_outputs,
        config=config,
        seed=seed,
        deadline=deadline,
        clock=clock,
        refit_rows=refit_rows,
    )


def _standardise(est, y: np.ndarray) -> np.ndarray:
    est.y_mean_ = float(np.mean(y))
    std = float(np.std(y))
    est.y_scale_ = std if std > 0 else 1.0
    return (y - est.y_mean_) / est.y_scale_


@torch.no_grad()
def _outputs(est, X: np.ndarray) -> torch.Tensor:
    check_is_fitted(est, "net_")
    est.net_.eval()
    return est.net_(torch.as_tensor(X, dtype=torch.float64))


@torch.no_grad()
def _member_outputs(est, X: np.ndarray) -> list[torch.Tensor]:
    """Outputs of every ensemble member (the winner alone where ``ensemble_top_k`` is 1)."""
    check_is_fitted(est, "net_")
    nets = getattr(est, "ensemble_nets_", None) or [est.net_]
    X_t = torch.as_tensor(X, dtype=torch.float64)
    return [net.eval()(X_t) for net in nets]


def _fit_threads(est):
    """torch on ``n_threads`` threads during the fit (None: the caller's setting), restored after:
    the setting is process-wide, and the CPU clock of the budget depends on it (budget.py)."""
    import contextlib

    return contextlib.nullcontext() if est.n_threads is None else torch_threads(est.n_threads)


def _for_prediction(net: ArchNet) -> ArchNet:
    # Predict in float64: float32 matmul rounding depends on the batch size, so a row's output
    # would change (in the 7th digit) with the rows predicted alongside it.
    return net.double().eval()


# --- SMASH search -----------------------------------------------------------------------------


class _SmashMixin:
    _task = "classification"
    _proxy_metric = "neg_log_loss"
    _real_metric = "auc"
    # Estimators pickled before input_encoding existed have no such attribute: get_params and
    # repr then read this, what they did (the preprocessed columns, no encoder).
    input_encoding: str | None = None
    spline_knots: int = 8
    # Likewise for estimators pickled before refit existed: they were fitted without it.
    refit: bool = False
    refit_seeds: int = 1
    refit_average: str | None = None
    _parameter_constraints = {
        **{name: CONFIG_CONSTRAINTS[name] for name in _SEARCH_PARAMS},
        "max_depth": [Interval(Integral, 1, None, closed="left")],
        "widths": ["array-like"],
        "input_encoding": [StrOptions({"spline", "spline_raw"}), None],
        "spline_knots": [Interval(Integral, 3, None, closed="left")],
        "numeric_transform": [StrOptions(set(NUMERIC_TRANSFORMS))],
        **_COMMON_CONSTRAINTS,
    }

    def __init__(
        self,
        n_candidates: int = 500,
        top_k: int = 16,
        n_mutations: int = 100,
        hyper_time_budget: float | None = 60.0,
        hyper_max_epochs: int = 60,
        max_epochs: int = 100,
        learning_rate: float = 3e-3,
        dropout: float = 0.0,
        weight_decay: float = 1e-5,
        batch_size: int = 128,
        patience: int = 10,
        max_depth: int = 4,
        widths: tuple[int, ...] = DEFAULT_WIDTHS,
        max_params: int | None = None,
        sampler: str = "random",
        init_from_hypernet: bool = False,
        ranker: str = "proxy",
        unf_predictor: str | None = None,
        ensemble_top_k: int = 16,
        ensemble_min_epoch_share: float = 0.0,
        tune_trials: int = 0,
        tune_ensemble: bool = False,
        refit: bool = True,
        refit_seeds: int = 1,
        refit_average: str | None = "long",
        input_encoding: str | None = "spline_raw",
        spline_knots: int = 8,
        numeric_transform: str = "quantile",
        validation_fraction: float = 0.2,
        random_state=None,
        time_limit: float | None = None,
        wall_time_limit: float | None = None,
        n_threads: int | None = 1,
    ) -> None:
        self.n_candidates = n_candidates
        self.top_k = top_k
        self.n_mutations = n_mutations
        self.hyper_time_budget = hyper_time_budget
        self.hyper_max_epochs = hyper_max_epochs
        self.max_epochs = max_epochs
        self.learning_rate = learning_rate
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.patience = patience
        self.max_depth = max_depth
        self.widths = widths
        self.max_params = max_params
        self.sampler = sampler
        self.init_from_hypernet = init_from_hypernet
        self.ranker = ranker
        self.unf_predictor = unf_predictor
        self.ensemble_top_k = ensemble_top_k
        self.ensemble_min_epoch_share = ensemble_min_epoch_share
        self.tune_trials = tune_trials
        self.tune_ensemble = tune_ensemble
        self.refit = refit
        self.refit_seeds = refit_seeds
        self.refit_average = refit_average
        self.input_encoding = input_encoding
        self.spline_knots = spline_knots
        self.numeric_transform = numeric_transform
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.time_limit = time_limit
        self.wall_time_limit = wall_time_limit
        self.n_threads = n_threads

    def _check_param_values(self) -> None:
        # The space refuses widths below 1 (what the constraint table cannot say); kept for fit.
        self.search_space_ = SearchSpace(max_depth=self.max_depth, widths=tuple(self.widths))

    def _fit_preprocessor(self, X) -> np.ndarray:
        """The shared preprocessing, then (``input_encoding``) the spline encoding of its numeric
        outputs, fitted on the same training rows: every child, the hypernetwork and the
        ranking read the encoded matrix."""
        Xt = super()._fit_preprocessor(X)
        self.input_encoder_ = None
        mode = getattr(self, "input_encoding", None)
        if mode is not None:
            self.input_encoder_ = fit_encoder(
                self.preprocessor_,
                Xt,
                n_knots=self.spline_knots,
                keep_raw=mode == "spline_raw",
                max_width=MAX_ENCODED_WIDTH,
            )
            Xt = self.input_encoder_.transform(Xt)
        return Xt

    def _transform(self, X) -> np.ndarray:
        Xt = super()._transform(X)
        encoder = self.__dict__.get("input_encoder_")
        return Xt if encoder is None else encoder.transform(Xt)

    def _config(self) -> SearchConfig:
        return SearchConfig(
            **{name: getattr(self, name) for name in _SEARCH_PARAMS},
            proxy_metric=self._proxy_metric,
            real_metric=self._real_metric,
        )

    def _search(self, X: np.ndarray, y: np.ndarray, n_outputs: int) -> None:
        with _fit_threads(self):
            ctx = _context(self, X, y, n_outputs, self._config())
            with seeded(ctx.seed):
                outcome = run_search(ctx, self.search_space_)
        nets, sources = outcome.ensemble()
        self.ensemble_nets_ = [_for_prediction(net) for net in nets]
        self.net_ = self.ensemble_nets_[0]
        self.best_spec_ = outcome.best.spec
        self.search_results_ = outcome.table()
        self.hypernet_losses_ = list(outcome.hyper_losses)
        self.search_timings_ = dict(outcome.timings)
        self.proxy_kendall_tau_ = outcome.kendall_tau()
        self.ranker_kendall_taus_ = {
            "proxy": self.proxy_kendall_tau_,
            "unf": outcome.kendall_tau("unf"),
            self.ranker: outcome.kendall_tau("rank_score"),
        }
        self.tuning_results_ = list(outcome.tuning)
        self.ensemble_sources_ = sources
        self.refitted_members_ = sum(m.refitted for m in outcome.members)
        self.discovered_specs_ = [c.spec.to_json() for c in outcome.trained]

    def discovered_specs(self, k: int | None = None) -> list[str]:
        """JSON of the finalists trained for real, best real validation score first."""
        check_is_fitted(self, "discovered_specs_")
        return list(self.discovered_specs_[:k])

    def save_spec(self, path: str | Path) -> Path:
        """Write the winning architecture as readable JSON (reload with ArchSpec.load)."""
        check_is_fitted(self, "best_spec_")
        return self.best_spec_.save(path)


class SmashClassifier(ValidationSetMixin, _SmashMixin, TabularClassifierBase):
    """SMASH one-shot architecture search over tabular MLPs, as a classifier.

    ``ranker`` chooses the ``top_k`` finalists: ``"proxy"`` (validation score under generated
    weights), ``"unf"`` (the UNF predictor ``unf_predictor``, default the shipped ``unf-smash``,
    scoring the generated weights) or ``"both"`` (average rank). ``top_k`` finalists (default 16)
    are trained for real while ``time_limit`` allows, and ``ensemble_top_k`` (default 16, all of
    them) averages the probabilities of the best trained finalists: 16 gained +0.0011 mean AUC
    over 10 (SE 0.0005, none below noise) on the selection set's unseen splits 17-19 at 1.28x the
    CPU time (benchmarks/results/smash_topk16_selection.md); ``tune_trials`` Optuna trials
    retrain the winner with other learning rates, dropouts and weight decays in ``time_limit``
    (the finalists then get half of what is left): the best of the winner's trainings by
    validation score takes its place in the average, or with ``tune_ensemble=True`` all of the
    trainings (untuned and every trial) join it.
    ``ensemble_min_epoch_share`` leaves out of that average a finalist the time budget stopped
    before that share of the winner's epochs. Choosing the averaged finalists by forward
    selection on the validation rows instead (Caruana et al., 2004) lost -0.0051 mean AUC (SE
    0.0025) on the selection set's unseen splits 11-13
    (benchmarks/results/smash_greedy_selection.md). ``refit`` (default True): once chosen, each
    averaged finalist is retrained from scratch on every training row (its
    ``validation_fraction`` holdout included) for the epochs early stopping kept, while
    ``time_limit`` allows (``refitted_members_`` says how many); not with a caller's ``X_val``
    (AutoGluon's holdout must stay unseen), nor for tuning trials. Chosen on the selection set
    (benchmarks/results/smash_refit_selection.md, 16 datasets x 5 splits): +0.0022 mean AUC
    (SE 0.0010) over ``refit=False``, 12 datasets up, 4 down, none below noise, at 1.2x the fit
    time. ``SmashRegressor`` shares the default, unmeasured (no regression sets here).
    Keeping the holdout-trained nets beside their refits lost -0.0014 mean AUC (SE 0.0007) on
    the selection set's unseen splits 5-7 (benchmarks/results/smash_refit_ensemble_selection.md).
    ``refit_seeds=k`` refits each averaged finalist k times with seeds of its own, and every
    refit joins the average (the later rounds only while ``time_limit`` allows):
    ``refit_seeds=2`` gained +0.0006 (0.9 SE) on the selection set's unseen splits 8-10 at 1.13x
    the CPU time, not adopted (benchmarks/results/smash_refit_seeds_selection.md).
    ``refit_average`` (default ``"long"``): each refit trains on to 2x its kept epochs and
    ends with the mean of its weights after each epoch from half the kept count on (stochastic
    weight averaging around early stopping's choice); ``"centered"`` trains to 1.5x,
    ``"last_half"`` averages from half the kept count to the kept count, None keeps the last
    epoch's weights. Chosen on the selection set's unseen splits: ``"centered"`` +0.0009 mean AUC
    (SE 0.0007) over None at 1.07x the CPU time on splits 23-25 (``"last_half"`` +0.0009, SE
    0.0021, not adopted; benchmarks/results/smash_swa_selection.md), then ``"long"`` +0.0006
    (SE 0.0005) over ``"centered"`` at 1.07x on splits 30-32 (smash_swa_long_selection.md).
    ``input_encoding`` (default ``"spline_raw"``): each numeric column is kept and expanded
    into ``spline_knots`` (default 8) piecewise-linear basis functions next to it (knots at its
    training quantiles, :mod:`automl_hyper.data.spline`; categorical columns as they are); the
    hypernetwork and every child read that matrix. Its width is capped at
    ``MAX_ENCODED_WIDTH`` (512): fewer knots, else raw columns, with a warning. Chosen on the
    selection set (16 x 3, benchmarks/results/smash_spline_selection.md): +0.0041 mean AUC
    (SE 0.0018) over None (the preprocessed columns alone), 9 datasets up, 4 down, at +9% fit
    time; ``"spline"`` (the basis without the raw column) -0.0043, not adopted.
    ``numeric_transform`` (default ``"quantile"``; ``"power"``, ``"standard"``, ``"none"``): how
    the shared preprocessing scales numeric columns before that encoding. ``"power"`` (INN's
    default) gained +0.0021 (0.75 SE) on the selection set's unseen splits 14-16 with yeast below
    noise, not adopted (benchmarks/results/smash_power_selection.md).

    Time: ``time_limit`` counts **CPU seconds** of the fit, not wall seconds, so a busy machine
    makes a fit slower but not different (``hyper_time_budget`` too): with ``n_threads=1`` (the
    default; torch's thread count is set for the fit and restored afterwards) the CPU time of
    the thread calling ``fit``, with more threads that of the whole process. ``wall_time_limit``
    adds a wall-clock limit (AutoGluon passes its ``time_limit`` there); whichever runs out
    first ends the search. A finalist always gets ``MIN_EPOCHS`` epochs, budget or not.

    Fitted attributes: ``best_spec_`` (ArchSpec), ``net_`` (the trained winner),
    ``ensemble_nets_`` (the averaged members, winner first), ``ensemble_sources_`` (each
    member's origin: ``"finalist:i"``, the i-th trained finalist untuned, or ``"trial:j"``, the
    j-th tuning trial of ``tuning_results_``; ``"refitR:finalist:i"``, its R-th further refit,
    with ``refit_seeds``), ``search_results_`` (DataFrame:
    spec JSON, n_params, proxy, UNF and real scores), ``proxy_kendall_tau_`` and
    ``ranker_kendall_taus_`` over the finalists, ``tuning_results_``, ``hypernet_losses_``,
    ``search_timings_`` and ``search_space_`` (the SearchSpace from ``max_depth`` and ``widths``).
    """

    def _fit_arrays(self, X: np.ndarray, y: np.ndarray, n_classes: int) -> None:
        self._search(X, y, n_classes)

    def _predict_proba_arrays(self, X: np.ndarray) -> np.ndarray:
        probas = [outputs_to_proba(out) for out in _member_outputs(self, X)]
        return probas[0] if len(probas) == 1 else np.mean(probas, axis=0)


class SmashRegressor(ValidationSetMixin, _SmashMixin, TabularRegressorBase):
    """SMASH one-shot architecture search over tabular MLPs, as a regressor (target standardised)."""

    _task = "regression"
    _proxy_metric = "neg_mse"
    _real_metric = "r2"

    def _fit_arrays(self, X: np.ndarray, y: np.ndarray) -> None:
        self._search(X, _standardise(self, y), 1)

    def _predict_arrays(self, X: np.ndarray) -> np.ndarray:
        outs = [out.squeeze(1).double().numpy() for out in _member_outputs(self, X)]
        out = outs[0] if len(outs) == 1 else np.mean(outs, axis=0)
        return out * self.y_scale_ + self.y_mean_


# --- one given architecture -------------------------------------------------------------------


class _FixedMixin:
    _task = "classification"
    _real_metric = "auc"
    _parameter_constraints = {
        "spec": [ArchSpec, str, dict, None],
        **{name: CONFIG_CONSTRAINTS[name] for name in _TRAINING_PARAMS},
        **_COMMON_CONSTRAINTS,
    }

    def __init__(
        self,
        spec: ArchSpec | str | dict | None = None,
        learning_rate: float = 1e-3,
        dropout: float = 0.0,
        weight_decay: float = 1e-5,
        max_epochs: int = 100,
        batch_size: int = 128,
        patience: int = 10,
        validation_fraction: float = 0.2,
        random_state=None,
        time_limit: float | None = None,
        wall_time_limit: float | None = None,
        n_threads: int | None = 1,
    ) -> None:
        self.spec = spec
        self.learning_rate = learning_rate
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.time_limit = time_limit
        self.wall_time_limit = wall_time_limit
        self.n_threads = n_threads

    def _check_param_values(self) -> None:
        # A JSON or dict spec must describe a valid architecture; parsed once, kept for fit.
        self.spec_ = as_spec(self.spec, DEFAULT_SPEC)

    def _train(self, X: np.ndarray, y: np.ndarray, n_outputs: int) -> None:
        config = SearchConfig(
            **{name: getattr(self, name) for name in _TRAINING_PARAMS},
            real_metric=self._real_metric,
        )
        spec = self.spec_
        cand = Candidate(spec, "fixed", float("nan"), spec.n_params(X.shape[1], n_outputs))
        with _fit_threads(self):
            ctx = _context(self, X, y, n_outputs, config)
            with seeded(ctx.seed):
                train_candidate(ctx, cand)
        self.net_ = _for_prediction(cand.net)
        self.n_params_ = cand.n_params
        self.n_epochs_ = cand.epochs
        self.validation_score_ = cand.real

    def save_spec(self, path: str | Path) -> Path:
        check_is_fitted(self, "spec_")
        return self.spec_.save(path)


class FixedArchitectureClassifier(ValidationSetMixin, _FixedMixin, TabularClassifierBase):
    """Train one given architecture (JSON, dict or ArchSpec) with early stopping on a holdout."""

    def _fit_arrays(self, X: np.ndarray, y: np.ndarray, n_classes: int) -> None:
        self._train(X, y, n_classes)

    def _predict_proba_arrays(self, X: np.ndarray) -> np.ndarray:
        return outputs_to_proba(_outputs(self, X))


class FixedArchitectureRegressor(ValidationSetMixin, _FixedMixin, TabularRegressorBase):
    """Train one given architecture as a regressor (target standardised internally)."""

    _task = "regression"
    _real_metric = "r2"

    def _fit_arrays(self, X: np.ndarray, y: np.ndarray) -> None:
        self._train(X, _standardise(self, y), 1)

    def _predict_arrays(self, X: np.ndarray) -> np.ndarray:
        out = _outputs(self, X).squeeze(1).double().numpy()
        return out * self.y_scale_ + self.y_mean_
