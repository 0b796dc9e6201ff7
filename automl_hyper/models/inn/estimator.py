"""INN estimators: TabResNet hypernetwork, snapshot ensembles, exact per-row explanations.

Training follows the paper: Adam(W) with cosine annealing warm restarts, and a snapshot of the
network at the end of every cycle (where the learning rate is lowest). Early stopping watches the
loss on an internal validation split once per cycle; the final model averages the logits of the
``n_snapshots`` snapshots with the lowest validation loss (the paper averages probabilities; the
logit average keeps each prediction an exact sum of per-feature contributions).

``n_estimators`` > 1 trains that many such runs (members) with different seeds, so different
initialisations, batch orders, dropout masks and early-stopping splits, and averages the members'
mean logits with equal weight. A mean of per-row linear models is a per-row linear model, so the
ensemble's explanation is exactly the mean of its members' and still sums to its logit.

``variation_penalty="auto"`` (default) trains each member twice on the same split, once free and
once pulled toward one shared linear model, and keeps the one with the lower holdout loss.
"""

from __future__ import annotations

import copy
import time
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from scipy.special import expit, softmax
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import nn

from automl_hyper.data.preprocess import NUMERIC_TRANSFORMS
from automl_hyper.data.spline import fit_encoder
from automl_hyper.models.base import TabularClassifierBase, TabularRegressorBase
from automl_hyper.models.eval_set import ValidationSetMixin
from automl_hyper.models.inn.network import MesomorphicNet
from automl_hyper.models.torch_utils import (
    derived_seed,
    resolve_device,
    seed_from,
    seeded,
    torch_threads,
)

# Per-member training state: swapped in and out of the estimator when partial_fit trains several.
_MEMBER_STATE = (
    "seed_",
    "network_",
    "optimizer_",
    "scheduler_",
    "batches_per_epoch_",
    "snapshots_",
    "n_epochs_",
    "loss_curve_",
    "_batch_rng",
    "_variation",
    "_refitted",
)

# variation_penalty="auto": each member is trained once per value and keeps the one whose best
# snapshot has the lower holdout loss: per-row freedom (0) or close to one shared linear model
# (3; on the selection set 3 gained up to +0.034 on small noisy sets and lost up to -0.032 on
# non-linear ones, benchmarks/results/inn_variation_selection.md).
AUTO_VARIATION = (0.0, 3.0)


def member_seed(base: int, index: int) -> int:
    """Seed of ensemble member ``index``: the estimator's own seed for the first (so that
    ``n_estimators=1`` is the single fit), a SeedSequence draw below 2**31 for the others (so a
    single fit with ``random_state=member_seed(...)`` reproduces that member exactly)."""
    return base if index == 0 else derived_seed(base, index)


class _INNMixin:
    """Training loop shared by the classifier and the regressor."""

    _mesomorphic = True
    # Estimators pickled before trunk_encoding existed have no such attribute: get_params and
    # repr then read this, what they did.
    trunk_encoding: str | None = None
    spline_knots: int = 8
    refit: bool = False
    # Estimators pickled before the parameter existed trained without the penalty.
    variation_penalty: float | str = 0.0
    _variation: float = 0.0  # the value in use (variation_penalty resolved; "auto": per member)
    _refitted: bool = False  # the member's snapshots come from a refit on every row

    def _init_params(self, **params) -> None:
        for name, value in params.items():
            setattr(self, name, value)

    # --- hooks the task-specific classes fill in --------------------------------------------
    def _n_outputs(self) -> int:
        raise NotImplementedError

    def _task_loss(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _target_tensor(self, y: np.ndarray) -> torch.Tensor:
        raise NotImplementedError

    # --- training ----------------------------------------------------------------------------
    def _start_training(self, X: np.ndarray, seed: int | None = None) -> None:
        self.seed_ = seed_from(self.random_state) if seed is None else seed
        self.device_ = resolve_device(self.device)
        self._refitted = False
        with seeded(self.seed_):
            self.network_ = MesomorphicNet(
                X.shape[1],
                self._n_outputs(),
                width=self.hidden_width,
                n_blocks=self.n_blocks,
                dropout=self.dropout,
                mesomorphic=self._mesomorphic,
                trunk_features=self._trunk_features(),
            ).to(self.device_)
        # fused: one kernel per step instead of a loop over tensors (INN fit 0.80 s -> 0.67 s).
        self.optimizer_ = torch.optim.AdamW(
            self.network_.parameters(),
            lr=self.learning_rate,
            weight_decay=self.weight_decay,
            fused=True,
        )
        batches_per_epoch = max(1, int(np.ceil(len(X) / self.batch_size)))
        self.scheduler_ = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            self.optimizer_, T_0=self.restart_period * batches_per_epoch
        )
        self.batches_per_epoch_ = batches_per_epoch
        self.snapshots_: list[tuple[float, dict]] = []
        self.n_epochs_ = 0
        self.loss_curve_: list[float] = []
        self._batch_rng = np.random.default_rng(self.seed_)

    # --- the trunk's input encoding (trunk_encoding) -----------------------------------------
    def _fit_trunk_encoder(self, X: np.ndarray) -> None:
        """``trunk_encoding``'s encoder, fitted on the preprocessed training rows (None: off)."""
        mode = getattr(self, "trunk_encoding", None)
        self.trunk_encoder_ = None
        if mode is not None:
            self.trunk_encoder_ = fit_encoder(
                self.preprocessor_,
                X,
                n_knots=self.spline_knots,
                keep_raw=mode == "spline_raw",
            )

    def _trunk_features(self) -> int | None:
        encoder = self.__dict__.get("trunk_encoder_")
        return None if encoder is None else encoder.n_features_out_

    def _net_input(self, X: np.ndarray) -> np.ndarray:
        """What the network reads: the preprocessed row, then (with an encoder) its encoding,
        which only the trunk sees (MesomorphicNet's ``trunk_features``)."""
        encoder = self.__dict__.get("trunk_encoder_")
        if encoder is None:
            return X
        return np.hstack([X, encoder.transform(X)])

    def _run_epoch(self, X: torch.Tensor, target: torch.Tensor) -> float:
        self.network_.train()
        order = self._batch_rng.permutation(len(X))
        total, seen = 0.0, 0
        with seeded(self.seed_ + self.n_epochs_):  # dropout masks reproducible per epoch
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                if len(idx) < 2:  # BatchNorm cannot train on a single row
                    continue
                outputs, weights = self.network_(X[idx])
                loss = self._task_loss(outputs, target[idx])
                if weights is not None:
                    loss = loss + self._penalty(weights)
                self.optimizer_.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer_.step()
                self.scheduler_.step()
                total += float(loss.detach()) * len(idx)
                seen += len(idx)
        self.n_epochs_ += 1
        self.loss_curve_.append(total / max(seen, 1))
        return self.loss_curve_[-1]

    def _penalty(self, weights: torch.Tensor) -> torch.Tensor | float:
        """L1 on the generated weights, and on how far each row's bias strays from the batch's.

        The weight penalty alone lets the network move signal into the unpenalised per-row bias,
        which explain() cannot attribute to any feature; a bias that varies less leaves more of
        each prediction in the w * x terms. A bias equal for all rows (an intercept) costs nothing.
        """
        penalty = 0.0
        if self.weight_penalty > 0:
            penalty = penalty + self.weight_penalty * weights[..., :-1].abs().mean()
        if self.bias_penalty > 0:
            bias = weights[..., -1]
            penalty = penalty + self.bias_penalty * (bias - bias.mean(dim=0)).abs().mean()
        if self._variation > 0:
            # Pulls the per-row linear models, bias included (else the signal moves into the
            # per-row bias), toward one shared linear model (very large: a logistic/linear
            # regression), for data where one fits well and per-row freedom only overfits.
            spread = (weights - weights.mean(dim=0)).abs().mean()
            penalty = penalty + self._variation * spread
        return penalty

    def _at_cycle_end(self) -> bool:
        return self.n_epochs_ % self.restart_period == 0

    def _validation_loss(self, X: torch.Tensor, target: torch.Tensor) -> float:
        self.network_.eval()
        with torch.no_grad():
            return float(self._task_loss(self.network_(X)[0], target))

    def _take_snapshot(self, val_loss: float) -> None:
        state = {k: v.detach().clone() for k, v in self.network_.state_dict().items()}
        self.snapshots_.append((val_loss, state))

    def _train(self, X: np.ndarray, y: np.ndarray, stratify: np.ndarray | None) -> None:
        self._fit_trunk_encoder(X)
        with torch_threads(1):
            self._train_loop(X, y, stratify)

    def _train_loop(self, X: np.ndarray, y: np.ndarray, stratify: np.ndarray | None) -> None:
        """Train ``n_estimators`` members one after another; each gets an equal share of
        ``time_limit`` (what one leaves unused goes to the next)."""
        start = time.monotonic()
        given = self._validation_arrays()
        base = seed_from(self.random_state)
        k = self.n_estimators
        groups, states, epochs, curve = [], [], [], None
        candidates = self._variation_candidates(X, given)
        for i in range(k):
            best = None
            for j, lam in enumerate(candidates):
                deadline = None
                if self.time_limit is not None:  # cumulative: unused time goes to the next
                    share = (i + (j + 1) / len(candidates)) / k
                    deadline = start + float(self.time_limit) * share
                self._variation = lam
                self._train_member(X, y, stratify, given, member_seed(base, i), deadline)
                # Holdout losses (after a refit too: the kept snapshots keep theirs).
                score = min(loss for loss, _ in self.snapshots_)
                if best is None or score < best[0]:
                    best = (score, self._best_snapshots(), self._member_state())
            _, group, state = best
            self.__dict__.update(state)
            groups.append(group)
            states.append(state)
            epochs.append(self.n_epochs_)
            curve = self.loss_curve_ if curve is None else curve
        self._finalize(groups)
        self.member_seeds_ = [s["seed_"] for s in states]
        self.member_epochs_ = epochs
        self.member_variation_penalties_ = [s["_variation"] for s in states]
        self.refitted_members_ = sum(s["_refitted"] for s in states)
        # Kept so that partial_fit after fit continues every member (one: on the estimator).
        self._member_states = states if k > 1 else None
        # The longest member's count: AutoGluon's refit_full trains every member that long.
        self.n_epochs_, self.loss_curve_ = max(epochs), curve

    def _has_holdout(self, X: np.ndarray, given) -> bool:
        return given is not None or bool(self.validation_fraction and len(X) >= 20)

    def _variation_candidates(self, X: np.ndarray, given) -> tuple[float, ...]:
        """The ``variation_penalty`` values each member is trained with (the best is kept)."""
        if self.variation_penalty != "auto":
            return (float(self.variation_penalty),)
        # Without a holdout the snapshots' losses are training losses, which always favour the
        # least regularised fit: the plain one.
        return AUTO_VARIATION if self._has_holdout(X, given) else (0.0,)

    def _train_member(
        self,
        X: np.ndarray,
        y: np.ndarray,
        stratify: np.ndarray | None,
        given: tuple[np.ndarray, np.ndarray] | None,
        seed: int,
        deadline: float | None,
    ) -> None:
        """One network: its own early-stopping split (from ``seed``) unless the caller gave one."""
        use_val = self._has_holdout(X, given)
        if given is not None:  # the caller's rows (AutoGluon's holdout): train on all of X
            X_tr, y_tr, (X_val, y_val) = X, y, given
        elif use_val:
            X_tr, X_val, y_tr, y_val = train_test_split(
                X,
                y,
                test_size=self.validation_fraction,
                random_state=seed % (2**31),
                stratify=stratify,
            )
        else:
            X_tr, y_tr = X, y
        self._start_training(X_tr, seed)
        Xt = torch.as_tensor(self._net_input(X_tr), device=self.device_)
        yt = self._target_tensor(y_tr)
        if use_val:
            Xv = torch.as_tensor(self._net_input(X_val), device=self.device_)
            yv = self._target_tensor(y_val)
        best, cycles_without_gain, snapshot_epochs = np.inf, 0, []
        for _ in range(self.max_epochs):
            self._run_epoch(Xt, yt)
            out_of_time = deadline is not None and time.monotonic() > deadline
            if self._at_cycle_end() or out_of_time or self.n_epochs_ == self.max_epochs:
                val_loss = self._validation_loss(Xv, yv) if use_val else self.loss_curve_[-1]
                self._take_snapshot(val_loss)
                snapshot_epochs.append(self.n_epochs_)
                if val_loss < best - 1e-4:
                    best, cycles_without_gain = val_loss, 0
                else:
                    cycles_without_gain += 1
                if cycles_without_gain >= self.patience:
                    break
            if out_of_time:
                break
        if self.refit and use_val and given is None and not out_of_time:
            self._refit_member(X, y, seed, snapshot_epochs, deadline)

    def _refit_member(
        self,
        X: np.ndarray,
        y: np.ndarray,
        seed: int,
        snapshot_epochs: list[int],
        deadline: float | None,
    ) -> None:
        """Retrain the member from scratch on every training row (``refit=True``), snapshotting
        at the epochs of the snapshots the holdout kept; each keeps its holdout loss, the only
        measure there is. The holdout chose the epochs and the snapshots; the refitted network
        sees the rows the holdout withheld. A refit the deadline interrupts is discarded: the
        member keeps its holdout-trained snapshots."""
        wanted = {snapshot_epochs[i]: self.snapshots_[i][0] for i in self._kept_snapshots()}
        trained = self._member_state()
        self._start_training(X, seed)
        Xt = torch.as_tensor(self._net_input(X), device=self.device_)
        yt = self._target_tensor(y)
        while self.n_epochs_ < max(wanted):
            self._run_epoch(Xt, yt)
            if self.n_epochs_ in wanted:
                self._take_snapshot(wanted[self.n_epochs_])
            if (
                deadline is not None
                and time.monotonic() > deadline
                and self.n_epochs_ < max(wanted)
            ):
                self.__dict__.update(trained)
                return
        self._refitted = True

    def _best_snapshots(self) -> list[tuple[float, dict]]:
        """The member's ``n_snapshots`` snapshots with the lowest validation loss."""
        if not self.snapshots_:
            self._take_snapshot(self.loss_curve_[-1] if self.loss_curve_ else np.inf)
        return [self.snapshots_[i] for i in self._kept_snapshots()]

    def _kept_snapshots(self) -> list[int]:
        """Indices into ``snapshots_`` of the ``n_snapshots`` lowest losses, lowest first (ties:
        the earlier snapshot)."""
        order = sorted(range(len(self.snapshots_)), key=lambda i: self.snapshots_[i][0])
        return order[: self.n_snapshots]

    def _networks(self, group: list[tuple[float, dict]]) -> list[nn.Module]:
        """Copies of the current network with each state of ``group`` loaded, in eval mode."""
        nets = []
        for _, state in group:
            net = copy.deepcopy(self.network_)
            net.load_state_dict(state)
            nets.append(net.eval())
        return nets

    def _finalize(self, groups: list[list[tuple[float, dict]]]) -> None:
        """The members' kept snapshots, member by member, as one flat ``ensemble_``;
        ``member_sizes_`` says how many belong to each (for the equal-weight average)."""
        self.ensemble_ = [net for group in groups for net in self._networks(group)]
        self.snapshot_val_losses_ = [float(loss) for group in groups for loss, _ in group]
        self.member_sizes_ = [len(g) for g in groups]

    def _member_state(self) -> dict:
        return {name: getattr(self, name) for name in _MEMBER_STATE}

    def _start_members(self, X: np.ndarray) -> None:
        """partial_fit's first call: one network per member (the first on the estimator itself)."""
        base = seed_from(self.random_state)
        self._fit_trunk_encoder(X)
        # No holdout here: "auto" trains the plain fit (see _variation_candidates).
        self._variation = 0.0 if self.variation_penalty == "auto" else float(self.variation_penalty)
        states = []
        for i in range(self.n_estimators):
            self._start_training(X, member_seed(base, i))
            states.append(self._member_state())
        self.member_seeds_ = [s["seed_"] for s in states]
        # A single member keeps its state on the estimator, as before ensembles existed.
        self._member_states = states if len(states) > 1 else None

    def _partial_fit_arrays(self, X: np.ndarray, y: np.ndarray) -> None:
        """One epoch per member; a snapshot at each cycle end. No internal validation split."""
        Xt = torch.as_tensor(self._net_input(X), device=self.device_)
        target = self._target_tensor(y)
        ensemble, sizes = [], []
        for state in self.__dict__.get("_member_states") or [None]:
            if state is not None:
                self.__dict__.update(state)
            with torch_threads(1):
                self._run_epoch(Xt, target)
            if self._at_cycle_end():
                self._take_snapshot(self.loss_curve_[-1])
            # The newest weights plus the best cycle-end snapshots so far.
            ranked = sorted(self.snapshots_, key=lambda s: s[0])[: max(self.n_snapshots - 1, 0)]
            nets = self._networks(ranked + [(np.nan, self.network_.state_dict())])
            ensemble += nets
            sizes.append(len(nets))
            if state is not None:
                state.update(self._member_state())
        self.ensemble_, self.member_sizes_ = ensemble, sizes

    # --- inference ---------------------------------------------------------------------------
    def _prediction_ensemble(self) -> list[nn.Module]:
        """The ensemble in float64, for prediction (training stays float32).

        float32 matmul rounding depends on the batch (BLAS picks kernels and blockings by shape),
        so a row's float32 output changed in the 7th digit with the rows predicted alongside it.
        In float64 a row's prediction is the same alone or in any batch (to ~1e-15). The copies
        are cached against the current ``ensemble_`` list (partial_fit replaces it) and are not
        pickled (see ``__getstate__``). MPS has no float64: such a model predicts on the CPU.
        """
        cached = self.__dict__.get("_ensemble64")
        if cached is not None and cached[0] is self.ensemble_:
            return cached[1]
        device = self.device_ if self.device_.type != "mps" else torch.device("cpu")
        nets = [
            copy.deepcopy(net).to(device=device, dtype=torch.float64).eval()
            for net in self.ensemble_
        ]
        self._ensemble64 = (self.ensemble_, nets)
        return nets

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_ensemble64", None)
        return state

    def _average(self, stacked: np.ndarray) -> np.ndarray:
        """Mean over ``ensemble_`` (axis 0) with each member weighted equally, whatever its
        snapshot count. Equal counts (always with one member): the plain mean, as before."""
        sizes = self.__dict__.get("member_sizes_") or [len(stacked)]
        if len(set(sizes)) == 1:
            return stacked.mean(axis=0)
        weights = np.repeat([1.0 / (len(sizes) * n) for n in sizes], sizes)
        return np.tensordot(weights, stacked, axes=1)

    def _forward_all(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Outputs and generated weights of every ensemble member: (M, n, C), (M, n, C, F+1),
        computed in float64 (see :meth:`_prediction_ensemble`)."""
        nets = self._prediction_ensemble()
        device = next(nets[0].parameters()).device
        Xt = torch.as_tensor(self._net_input(np.asarray(X, dtype=np.float64)), device=device)
        outs, weights = [], []
        with torch.no_grad(), torch_threads(1):
            for net in nets:
                o, w = net(Xt)
                outs.append(o.cpu().numpy())
                if w is not None:
                    weights.append(w.cpu().numpy())
        return np.stack(outs), (np.stack(weights) if weights else None)

    def _explain_arrays(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Contributions (n, C, F) and bias (n, C) averaged over the ensemble.

        They sum exactly to the ensemble's mean output, because each member's output is linear in x.
        """
        if not self._mesomorphic:
            raise AttributeError("explain is only available for mesomorphic (INN) networks")
        _, w = self._forward_all(X)
        w = self._average(w)
        return w[..., :-1] * X[:, None, :], w[..., -1]

    def _importances(self, X: np.ndarray) -> None:
        """Mean |w * x| per preprocessed column, normalised to sum to 1, then summed per input
        feature (scikit-learn's convention: one entry per column the user passed)."""
        contrib, _ = self._explain_arrays(X)
        by_level = np.abs(contrib).mean(axis=(0, 1))
        total = by_level.sum()
        if total > 0:
            by_level = by_level / total
        self.feature_importances_by_level_ = by_level
        self.feature_names_out_ = self.preprocessor_.feature_labels()
        self.feature_importances_ = np.bincount(
            self.preprocessor_.feature_sources(), weights=by_level, minlength=self.n_features_in_
        )

    def _explanation_frame(self, contrib: np.ndarray, bias: np.ndarray, index) -> pd.DataFrame:
        frame = pd.DataFrame(contrib, columns=list(self.feature_names_out_), index=index)
        frame["bias"] = bias
        return frame


_COMMON_DOC = """
    Parameters
    ----------
    hidden_width, n_blocks, dropout : TabResNet trunk (paper: 128, 2 blocks, BatchNorm, GELU).
    learning_rate, weight_decay : AdamW settings (paper: 1e-2, 1e-2). learning_rate 3e-3 was
        chosen on the selection set at the small budget (40 epochs): +0.0027 mean AUC over 1e-2,
        benchmarks/results/inn_defaults_selection.md.
    weight_penalty : lambda of the L1 penalty on the generated weights. The paper uses 0.1; 1.0
        gave higher AUC here with train sets of a few hundred rows, where per-row weights
        otherwise overfit (6 CC18 datasets, 2 splits: see the issue note).
    bias_penalty : lambda of the L1 penalty on each row's generated bias minus the batch's mean
        bias (0: off). It keeps the prediction in the attributed w * x terms rather than in the
        per-row bias, which explain() reports as one unattributed column.
    variation_penalty : lambda of the L1 penalty on each row's generated weights and bias minus
        the batch's means (0: off): shrinks the per-row linear models toward one shared linear
        model (a large value: logistic / linear regression). ``"auto"`` (default): each member is
        trained with each of ``AUTO_VARIATION`` (0 and 3) and keeps the one with the lower
        holdout loss (about twice the fit time; under ``time_limit`` each gets half of its
        member's share; without a holdout, and in ``partial_fit``, the plain fit). Chosen on the selection set's unseen splits 3-5: +0.0014 mean AUC over 0 (SE
        0.0007, no dataset below noise) at 1.85x the fit time; a fixed 1 or 3 failed
        (benchmarks/results/inn_variation_auto_selection.md, inn_variation_selection.md).
        Keeping and averaging both candidates instead of choosing lost -0.0015 on the unseen
        splits 9-11, two datasets below noise (inn_blend_selection.md).
    batch_size : minibatch size (paper: 64).
    max_epochs : upper bound on epochs.
    restart_period : epochs per cosine cycle; a snapshot is taken at the end of each cycle.
    n_snapshots : how many snapshots (lowest validation loss) of each member are kept.
    n_estimators : members (networks trained with different seeds and, unless ``X_val`` is
        given, different early-stopping splits), averaged with equal weight; fit time grows
        about linearly. Explanations stay exact: the mean of the members' per-row linear models.
        Default 5: 3 members gained +0.0051 mean AUC over one member on the selection set's
        unseen splits 6-8 (SE 0.0019, all 16 datasets up; median fit 6.8 s against tuned
        XGBoost's 37 s; benchmarks/results/inn_auto_ensemble_selection.md), and 5 gained
        +0.0010 over 3 on the unseen splits 9-11 (SE 0.0006, none below noise) at 1.66x the
        CPU time, median fit 10.8 s (inn_blend_selection.md).
    refit : after early stopping on the internal split, retrain each member from scratch on
        every training row, snapshotting at the epochs of the snapshots the split kept (as
        tuned XGBoost refits after its CV). Not with a caller's ``X_val`` (it trains on all of
        X already) nor when ``time_limit`` ran out; a refit the deadline interrupts is
        discarded. Costs about one more training per member. Opt-in: on the selection set
        (16 x 3) -0.0008 mean AUC (SE 0.0031; breast-cancer -0.038) at 1.95x the fit time, not
        adopted (benchmarks/results/inn_refit_selection.md).
    trunk_encoding : None (default) or ``"spline"``: the TabResNet trunk reads each numeric
        column expanded into ``spline_knots`` piecewise-linear basis functions (knots at its
        training quantiles, :mod:`automl_hyper.data.spline`; categorical columns as they are),
        while the per-row linear model still reads the preprocessed columns, so explanations
        stay exact and over the original columns. ``"spline_raw"``: the trunk reads the raw
        numeric columns too. Opt-in: on the selection set (16 x 3) ``"spline"`` -0.0063 mean
        AUC (SE 0.0046), ``"spline_raw"`` -0.0024 (SE 0.0038); it helps low-dimensional
        non-linear sets (phoneme +0.024) and hurts the smallest ones (haberman, sonar), not
        adopted (benchmarks/results/inn_spline_selection.md).
    spline_knots : knots per numeric column for ``trunk_encoding`` (default 8).
    validation_fraction : internal split for early stopping (0 disables it); ``fit(X, y,
        X_val=..., y_val=...)`` early-stops on the caller's rows instead and trains on all of X.
    patience : cycles without validation improvement before stopping.
    time_limit : seconds; training stops after the epoch that crosses it (None: no limit).
    numeric_transform : quantile, power, standard or none (the shared preprocessing path).
        Default Yeo-Johnson power transform, then z-score: plain z-scores let heavy-tailed
        features (pc1, pc4) swamp the per-row linear models, and quantile ranks lost AUC on
        near-normal ones (diabetes, credit-g); power was best on average over both kinds.
    device : "cpu", "cuda" or "auto".
    random_state : seed for initialisation, splits, batches and dropout.

    Attributes
    ----------
    feature_importances_ : array of shape (n_features_in_,), mean |w * x| over the training rows
        per input feature (a categorical feature's one-hot levels summed), normalised to sum to 1.
    feature_importances_by_level_ : the same per preprocessed column, aligned with
        ``feature_names_out_``; summed per feature it gives ``feature_importances_``.
    refitted_members_ : how many members ``refit`` retrained on every training row (fit only).
    member_variation_penalties_ : the ``variation_penalty`` each member trained with (fit only).
    feature_names_out_ : preprocessed columns in the user's terms (``mean radius``,
        ``colour=red``): the columns of :meth:`explain`.
"""


_PARAMETER_CONSTRAINTS = {
    "hidden_width": [Interval(Integral, 1, None, closed="left")],
    "n_blocks": [Interval(Integral, 0, None, closed="left")],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "weight_penalty": [Interval(Real, 0, None, closed="left")],
    "bias_penalty": [Interval(Real, 0, None, closed="left")],
    "variation_penalty": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
    "batch_size": [Interval(Integral, 2, None, closed="left")],
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "restart_period": [Interval(Integral, 1, None, closed="left")],
    "n_snapshots": [Interval(Integral, 1, None, closed="left")],
    "n_estimators": [Interval(Integral, 1, None, closed="left")],
    "refit": ["boolean"],
    "trunk_encoding": [StrOptions({"spline", "spline_raw"}), None],
    "spline_knots": [Interval(Integral, 3, None, closed="left")],
    "validation_fraction": [Interval(Real, 0, 1, closed="left")],
    "patience": [Interval(Integral, 1, None, closed="left")],
    "time_limit": [Interval(Real, 0, None, closed="neither"), None],
    "numeric_transform": [StrOptions(set(NUMERIC_TRANSFORMS))],
    "device": [str],
    "random_state": ["random_state"],
}


class INNClassifier(ValidationSetMixin, _INNMixin, TabularClassifierBase):
    __doc__ = (
        "Interpretable Mesomorphic Network classifier: each prediction is a linear model of the row.\n"
        + _COMMON_DOC
    )

    _parameter_constraints = _PARAMETER_CONSTRAINTS

    def __init__(
        self,
        hidden_width: int = 128,
        n_blocks: int = 2,
        dropout: float = 0.25,
        learning_rate: float = 3e-3,
        weight_decay: float = 1e-2,
        weight_penalty: float = 1.0,
        bias_penalty: float = 0.0,
        variation_penalty: float | str = "auto",
        batch_size: int = 64,
        max_epochs: int = 100,
        restart_period: int = 10,
        n_snapshots: int = 5,
        n_estimators: int = 5,
        refit: bool = False,
        trunk_encoding: str | None = None,
        spline_knots: int = 8,
        validation_fraction: float = 0.1,
        patience: int = 3,
        time_limit: float | None = None,
        numeric_transform: str = "power",
        device: str = "cpu",
        random_state=None,
    ):
        self.hidden_width = hidden_width
        self.n_blocks = n_blocks
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.weight_penalty = weight_penalty
        self.bias_penalty = bias_penalty
        self.variation_penalty = variation_penalty
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.restart_period = restart_period
        self.n_snapshots = n_snapshots
        self.n_estimators = n_estimators
        self.refit = refit
        self.trunk_encoding = trunk_encoding
        self.spline_knots = spline_knots
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.time_limit = time_limit
        self.numeric_transform = numeric_transform
        self.device = device
        self.random_state = random_state

    def _n_outputs(self) -> int:
        # Binary tasks need one linear model (the logit of the positive class), as in the paper.
        return 1 if self.n_classes_ == 2 else self.n_classes_

    def _target_tensor(self, y: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(y, device=self.device_)

    def _task_loss(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if outputs.shape[1] == 1:
            return nn.functional.binary_cross_entropy_with_logits(outputs[:, 0], target.float())
        return nn.functional.cross_entropy(outputs, target)

    def _fit_arrays(self, X: np.ndarray, y: np.ndarray, n_classes: int) -> None:
        self.n_classes_ = n_classes
        n_val = int(np.ceil(self.validation_fraction * len(y)))
        can_stratify = np.bincount(y).min() >= 2 and min(n_val, len(y) - n_val) >= n_classes
        stratify = y if can_stratify else None
        self._train(X, y, stratify)
        self._importances(X) if self._mesomorphic else None

    def partial_fit(self, X, y, classes=None):
        """Train one more epoch (OptunaSearchCV and per-epoch pruning use this).

        The first call needs ``classes`` (all labels that will ever be seen) unless it is followed
        by no other; it fits the preprocessing on that first batch of data.
        """
        if not hasattr(self, "ensemble_"):
            X, y = self._check_fit_input(X, y)
            labels = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if len(labels) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 classes; got {list(labels)}. Pass classes= on the first call."
                )
            unknown = np.setdiff1d(np.unique(y), labels)
            if len(unknown):
                raise ValueError(
                    f"y has labels {list(unknown)} not listed in classes={list(labels)}"
                )
            self.classes_ = labels
            self.n_classes_ = len(labels)
            Xt = self._fit_preprocessor(X)
            self._start_members(Xt)
        else:
            Xt = self._transform(X)
            y = np.asarray(y)
            unknown = np.setdiff1d(np.unique(y), self.classes_)
            if len(unknown):
                raise ValueError(
                    f"y has labels {list(unknown)} not seen on the first partial_fit call"
                )
        self._partial_fit_arrays(Xt, np.searchsorted(self.classes_, y).astype(np.int64))
        if self._mesomorphic:
            self._importances(Xt)
        return self

    def _member_probabilities(self, outputs: np.ndarray) -> np.ndarray:
        if outputs.shape[-1] == 1:
            p1 = expit(outputs[..., 0])
            return np.stack([1.0 - p1, p1], axis=-1)
        return softmax(outputs, axis=-1)

    def _predict_proba_arrays(self, X: np.ndarray) -> np.ndarray:
        # The ensemble averages the snapshots' logits (not their probabilities, as the paper does):
        # then the prediction is exactly the sigmoid/softmax of the logit that explain() decomposes,
        # and predict always agrees with decision_function.
        outputs, _ = self._forward_all(X)
        return self._member_probabilities(self._average(outputs)[None])[0]

    def decision_function(self, X) -> np.ndarray:
        """Mean snapshot logit: (n,) for binary tasks (positive class), else (n, C).

        This is exactly what :meth:`explain`'s contributions plus bias add up to.
        """
        outputs, _ = self._forward_all(self._transform(X))
        mean = self._average(outputs)
        return mean[:, 0] if mean.shape[1] == 1 else mean

    def explain(self, X) -> pd.DataFrame | dict:
        """Per-row, per-feature contributions w * x plus a ``bias`` column.

        Binary tasks: one DataFrame (rows x features + bias) for the positive class, whose rows
        sum exactly to :meth:`decision_function`. Multiclass: a dict class -> DataFrame.
        Columns are ``feature_names_out_``: the user's column names, with one column per one-hot
        level of a categorical feature (``colour=red``); a feature's levels add up to its share.
        """
        check_is_fitted(self, "ensemble_")
        index = X.index if isinstance(X, pd.DataFrame) else None
        contrib, bias = self._explain_arrays(self._transform(X))
        if contrib.shape[1] == 1:
            return self._explanation_frame(contrib[:, 0], bias[:, 0], index)
        return {
            cls: self._explanation_frame(contrib[:, c], bias[:, c], index)
            for c, cls in enumerate(self.classes_)
        }


class INNRegressor(ValidationSetMixin, _INNMixin, TabularRegressorBase):
    __doc__ = (
        "Interpretable Mesomorphic Network regressor (one output, MSE on the standardised target).\n"
        + _COMMON_DOC
    )

    __init__ = INNClassifier.__init__
    _parameter_constraints = _PARAMETER_CONSTRAINTS

    def _n_outputs(self) -> int:
        return 1

    def _target_tensor(self, y: np.ndarray) -> torch.Tensor:
        scaled = (y - self.y_mean_) / self.y_scale_
        return torch.as_tensor(scaled, dtype=torch.float32, device=self.device_)

    def _task_loss(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return nn.functional.mse_loss(outputs[:, 0], target)

    def _fit_arrays(self, X: np.ndarray, y: np.ndarray) -> None:
        self.y_mean_ = float(np.mean(y))
        self.y_scale_ = float(np.std(y)) or 1.0
        self._train(X, y, stratify=None)
        self._importances(X) if self._mesomorphic else None

    def partial_fit(self, X, y):
        """Train one more epoch; the first call fits the preprocessing and target scaling."""
        if not hasattr(self, "ensemble_"):
            X, y = self._check_fit_input(X, y)
            y = y.astype(np.float64)
            Xt = self._fit_preprocessor(X)
            self.y_mean_ = float(np.mean(y))
            self.y_scale_ = float(np.std(y)) or 1.0
            self._start_members(Xt)
        else:
            Xt = self._transform(X)
            y = np.asarray(y, dtype=np.float64)
        self._partial_fit_arrays(Xt, y)
        if self._mesomorphic:
            self._importances(Xt)
        return self

    def _predict_arrays(self, X: np.ndarray) -> np.ndarray:
        outputs, _ = self._forward_all(X)
        return self._average(outputs)[:, 0] * self.y_scale_ + self.y_mean_

    def explain(self, X) -> pd.DataFrame:
        """Per-row contributions (in target units) plus ``bias``; each row sums to the prediction."""
        check_is_fitted(self, "ensemble_")
        index = X.index if isinstance(X, pd.DataFrame) else None
        contrib, bias = self._explain_arrays(self._transform(X))
        return self._explanation_frame(
            contrib[:, 0] * self.y_scale_, bias[:, 0] * self.y_scale_ + self.y_mean_, index
        )
