"""MotherNetClassifier: fit is one forward pass of a pretrained hypernetwork.

The shared preprocessing z-scores numeric columns (NaN imputed, then clipped) and one-hot encodes
categories, which is what the synthetic prior produces. Each ensemble member then sees the data
under another class shift, feature rotation and (for ``input_transform="mixed"``) a quantile or power
transform; one batched forward pass writes every member's child MLP; predictions average them.

Beyond the pretrained model's limits, with a ``UserWarning`` saying what happened:

* more than ``max_features`` (100) columns: each member gets 100 columns, half the best by
  univariate ANOVA F-score and half drawn at random, so the ensemble covers more of them;
* more than ``max_classes`` (10) classes, ``many_classes="tree"`` (default, up to 100 classes):
  per ensemble member, the classes are sorted by their mean row's projection on a random
  direction and cut into 10 groups of similar classes (as many as a child tells apart: +0.013
  mean AUC over ``ceil(sqrt(classes))`` groups on soybean, arrhythmia and 100 plants shape,
  ``benchmarks/results/mothernet_many_classes_vs_xgb.md``); one child tells the groups apart,
  one child per group the classes within it (generated from that group's rows), and
  p(class) = p(group) * p(class | group). ``"codes"`` (and "tree" beyond 100 classes): each member
  writes ``ceil(classes / 10)`` children, each for a random balanced grouping of the classes into
  10 super-classes; a class's probability is the weighted geometric mean over the children of its
  super-class's probability times its share of that super-class's training rows. ``"ovr"``: one
  binary child per class and member, scores renormalised. On the >10-class datasets outside the
  reported 30, tree was +0.005 mean AUC over one-vs-rest at 1/19 of its fit time
  (``benchmarks/results/mothernet_inference_many_classes.txt``);
* more than ``max_train_rows`` rows: each member is generated from a different stratified chunk
  of at most ``max_train_rows`` rows, with enough members that every row is used once.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.feature_selection import f_classif
from sklearn.preprocessing import QuantileTransformer
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.validation import check_is_fitted

from automl_hyper.data.preprocess import TabularPreprocessor
from automl_hyper.models.base import TabularClassifierBase
from automl_hyper.models.eval_set import ValidationSetMixin
from automl_hyper.models.mothernet.child import (
    GridPowerTransformer,
    Member,
    NumpyChild,
    NumpyQuantileTransformer,
    contract,
)
from automl_hyper.models.mothernet.finetune import TuneOptions, tune_child
from automl_hyper.models.mothernet.model import ChildWeights, MotherNet
from automl_hyper.models.mothernet.registry import load_model
from automl_hyper.models.torch_utils import averaging_window, seed_from, torch_threads
from automl_hyper.warning_types import AutomlHyperWarning

TRANSFORMS = ("none", "quantile", "power", "mixed")
ENCODINGS = ("onehot", "binary", "ordinal", "mixed")
# categorical_encoding="mixed": the encodings members cycle through.
_MIXED_ENCODINGS = ("onehot", "ordinal")
# Ordinal codes of a categorical column's levels: "sorted" (the encoder's level order) or
# "frequency" (most frequent training level first) or "target" (by the level's training rate of
# the most frequent class, smoothed by one pseudo-row). Benchmark-only knob (issue 13).
_ORDINAL_ORDER = "sorted"
_GENERATE_CHUNK = 8  # members per forward pass: bounds attention memory
_AUTO_MAX_MEMBERS = 32  # n_estimators="auto" never writes more members than this
_CODES_PER_GROUP = 1.0  # many_classes="codes": children per member = ceil(this * classes / 10)
_TRAIN_WEIGHT_TAU = 0.2  # member_selection="train": weights exp(-(loss - best loss) / tau)
# Beyond the pretrained limits (benchmarks/mothernet_many_classes.py sweeps these):
_MANY_CLASSES_MIN_MEMBERS = 1  # over 10 classes: at least this many members (8: +AUC, 2x time)
# many_classes="tree": ceil(classes ** this) groups, at most max_classes; 1.0 = max_classes
# groups (0.5, the square root, was 0.037 AUC lower on arrhythmia's 13 classes).
_TREE_GROUP_EXPONENT = 1.0
_TOP_FEATURE_SHARE = 0.5  # over 100 features: this share of a member's columns is the top by F


def categorical_projection(
    pre: TabularPreprocessor, kind: str, X: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """``Member.project_to``/``project_value`` for encoding ``kind`` of the fitted preprocessor
    ``pre``'s output ``X``: "ordinal" contracts every categorical column's one-hot block to one
    column holding the level's code 1..k, "binary" only the blocks of at most two levels (two
    one-hot columns that mirror each other become one); other columns map to themselves. None
    where nothing is contracted. Shared by the estimator and pretraining's real tasks."""
    if kind == "onehot" or not pre.categorical_columns_:
        return None
    sources = pre.feature_sources()
    categorical = {pre.columns_.index(c) for c in pre.categorical_columns_}
    to = np.empty(len(sources), dtype=np.int64)
    value = np.ones(len(sources))
    out, start, contracted = 0, 0, False
    while start < len(sources):  # one input column's output block at a time
        stop = start + 1
        while stop < len(sources) and sources[stop] == sources[start]:
            stop += 1
        width = stop - start
        if sources[start] in categorical and (
            kind == "ordinal" or (kind == "binary" and width <= 2)
        ):
            to[start:stop], value[start:stop] = out, np.arange(1, width + 1)
            block = X[:, start:stop]  # one-hot, 0/1: column sums count a level's rows
            if _ORDINAL_ORDER == "frequency":
                order = np.argsort(-block.sum(0), kind="stable")
                value[start + order] = np.arange(1, width + 1)
            elif _ORDINAL_ORDER == "target":
                major = y == np.bincount(y).argmax()
                rate = (major @ block + major.mean()) / (block.sum(0) + 1.0)
                value[start + np.argsort(rate, kind="stable")] = np.arange(1, width + 1)
            out, contracted = out + 1, contracted or width > 1
        else:
            to[start:stop] = out + np.arange(width)
            out += width
        start = stop
    return (to, value) if contracted else None


def _native_bfloat16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 natively (faster than float32 there)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    return bool(
        getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
        or getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    )


def _check_bfloat16(device: torch.device) -> None:
    """Refuse ``precision="bfloat16"`` where torch cannot autocast to it on ``device``; warn
    where the CPU has no native bfloat16 arithmetic (emulated: slower than float32)."""
    if device.type == "cuda":
        if not torch.cuda.is_bf16_supported():
            raise ValueError(
                f"precision='bfloat16': the GPU {torch.cuda.get_device_name(device)} has no "
                "bfloat16 support in torch; use precision='float32'"
            )
        return
    if device.type != "cpu" or not torch.amp.is_autocast_available(device.type):
        raise ValueError(
            f"precision='bfloat16': torch has no bfloat16 autocast on device {device.type!r}; "
            "use precision='float32'"
        )
    if not _native_bfloat16(device):
        warnings.warn(
            "precision='bfloat16': this CPU has no native bfloat16 instructions (avx512_bf16, "
            "AMX); torch emulates them, which is slower than precision='float32'",
            AutomlHyperWarning,
            stacklevel=4,
        )


class MotherNetClassifier(ValidationSetMixin, TabularClassifierBase):
    """Classifier whose MLP is written by a pretrained transformer from the training set.

    Parameters
    ----------
    checkpoint: None for the shipped checkpoint, a shipped name or a path (see ``registry`` for
        the hash rules), or a ``MotherNet`` in memory (the evaluation during pretraining).
    n_estimators: ensemble members (class shift, feature rotation, transform variant each), or
        "auto": as many as ``time_budget`` allows (at most 32), counted from the CPU time the
        first member took.
    time_budget: seconds of CPU time for generation when ``n_estimators="auto"`` (ignored
        otherwise); at least one member, and at least one per row chunk, is always written.
    many_classes: beyond the pretrained 10 classes, "tree" (a child for groups of similar
        classes, one per group within it), "codes" (random class groupings into 10 super-classes,
        decoded per class) or "ovr" (one binary child per class).
    member_selection: "train" (weights exp(-(loss - best loss) / 0.2) from each member's log
        loss on the rows it was generated from), None (members averaged equally) or "unf"
        (weights from the shipped UNF predictor's score of each member's weights,
        ``automl_hyper.weightspace.uses``); "train" is the default: +0.0009 mean AUC and -0.010
        log loss over equal weights on the selection set, 11 datasets better, 4 worse; "unf"
        was -0.004 (``benchmarks/results/mothernet_inference_weighting.txt``).
    input_transform: "none", "quantile", "power", or "mixed" (members cycle none/quantile/power);
        not called ``transform``, which scikit-learn would take for a transformer's method.
    categorical_encoding: how members see categorical columns (one-hot encoded by the shared
        preprocessing): "onehot", "binary" (two-level columns as one 0/1 column, others one-hot),
        "ordinal" (every column as one code, its levels numbered in sorted order) or "mixed"
        (members alternate one-hot and ordinal). "mixed" is the default: on the selection set's
        six categorical datasets +0.0084 mean AUC over one-hot (5 splits; 4 better, 2 worse by
        at most 0.0013), +0.0026 over all 16 datasets at 3 splits, at the same fit time; ordinal
        alone lost 0.025 on anneal (``benchmarks/results/mothernet_gen_inference.md``).
    temperature: softmax temperature of the children.
    finetune_steps: full-batch Adam steps on each generated child (0 = generation only); the step
        count is chosen by early stopping on an internal 80/20 split, then applied to the child
        generated from all rows; with ``fit(X, y, X_val=..., y_val=...)`` (AutoGluon's holdout)
        the full-data child is tuned directly and early-stopped on X_val instead.
    finetune_lr: learning rate of that fine-tuning. 3e-3 (was 1e-3): +0.0027 mean AUC with 50 steps
        on the selection set, 15 of 16 datasets up, no extra time; early stopping still picks the
        step count (``benchmarks/results/mothernet_ft_selection2.md``).
    member_subsample: None (default: every member sees all its rows) or a share in (0, 1): each
        member is generated (and fine-tuned) from its own stratified random subsample of that
        share of its rows, drawn from ``random_state`` and the member's index (bagging: members
        see different rows). With ``finetune_steps > 0`` and no ``X_val``, the member's
        out-of-subsample rows early-stop its child directly (no internal 80/20 split, no second
        generation): one tuning run per member instead of two.
    finetune_average: None (default) or a multiple m >= 1: the full-data child, tuned for the step
        count E that the internal 80/20 split chose, is tuned on to int(m E) steps and ends with
        the mean of its weights after each step from ceil(E/2) on (stochastic weight averaging, as
        SMASH's ``refit_average``) instead of its last weights. E = 0 keeps the generated child.
        With ``fit(..., X_val=...)`` (AutoGluon's holdout) or ``member_subsample``, E is the step
        of the lowest loss on those validation rows, and the child tuned on the training rows is
        run on to int(m E) steps from the same start and averaged the same way. On the selection
        set, with 50 steps: 1.5 and 2 +0.0004 and +0.0013 mean AUC
        (``mothernet_ft_selection7.md``), then 2 and 3 +0.0019 and +0.0034 at 1.26x and 1.54x
        fit time on other splits (``mothernet_ft_selection8.md``): the ``mothernet-ft`` family
        (``compare``, the zoo) uses 3. Larger multiples and a horizon
        chosen on the internal split did not add more (``mothernet_ft_selection9.md``, ``10``).
    finetune_noise: standard deviation of Gaussian noise added to the (standardised) training
        inputs at every fine-tuning step, drawn anew each step (input-noise regularisation, for
        small sets that fine-tuning over-fits); the validation rows stay clean. 0 (default) = none.
    finetune_splits: internal 80/20 splits (seeds 0, 1, ...) whose early-stopped step counts are
        averaged (rounded) into the one step count E of the full-data child, for a less noisy E
        on small sets; 1 (default) = one split. No effect with ``X_val`` or ``member_subsample``.
        2 splits: +0.0010 mean AUC (SE 0.0008, 10 of 16 up) on the selection set at 1.34x fit
        time, under the bar (``mothernet_ft_selection15.md``).
    finetune_hidden_scale: multiple of ``finetune_lr`` for the hidden layer's weights (W1, b1);
        the output layer always uses ``finetune_lr``. 1 (default) = one rate; 0 = only the output
        layer is tuned, on the generated hidden features (linear probing). On the selection set
        0 / 0.3 lost 0.0042 / 0.0017 mean AUC, 1.5-3 were flat (-0.0000 to +0.0003)
        (``mothernet_ft_selection17.md``, ``18``).
    finetune_stop_metric: what early stopping reads on the validation rows: "loss" (default, log
        loss) or "auc" (ROC AUC, the benchmarks' metric, rounded to 4 decimals; log loss breaks
        its ties). "auc": +0.0003 mean AUC (SE 0.0009) on the selection set at 2.75x fit time
        (an AUC at every validation step; ``mothernet_ft_selection19.md``).
    category_min_frequency: None (default), a count k >= 2 or a share s in (0, 1): a categorical
        column's levels seen in fewer than k (or s x the training rows) training rows are pooled
        into one infrequent level before one-hot encoding (``OneHotEncoder(min_frequency=...)``,
        next to its 20-level cap), so that rare levels do not each take one of the child's 100
        inputs. Counts lost on the selection set's smallest sets (``mothernet_ft_selection11.md``).
    max_train_rows: rows per generation; larger training sets are split into chunks.
    precision: "auto" (default), "float32" or "bfloat16": with "bfloat16" the hypernetwork's
        encoder over the training rows (nearly all of the generation cost) runs under
        ``torch.autocast`` in bfloat16; the decoder and the generated child stay float32, so
        export and prediction are unchanged. "auto": bfloat16 where the model's device computes
        it natively (a CPU with avx512_bf16 or AMX, a CUDA GPU with bfloat16), float32 elsewhere;
        the choice is ``precision_``. On the selection set x 3 splits (a CPU with avx512_bf16,
        4 members) bfloat16 changed mean AUC by -0.00003 (SE 0.00004, no dataset down by 0.001)
        at 0.60x the fit+predict CPU time; the time saved did not buy members: 6 and 8 bfloat16
        members were +0.0009 (SE 0.0014) and -0.0006 at 1.08x and 1.42x the time
        (``benchmarks/results/mothernet_bf16_selection.md``). Children differ from float32's by
        about 0.3% of their weights' norm. "bfloat16" asked explicitly is refused at fit
        (ValueError, before any data work) where torch has no bfloat16 autocast for the device
        (a CUDA GPU without bfloat16); on a CPU without native bfloat16 instructions it runs
        emulated, slower than float32, with a UserWarning.
    random_state: seeds feature subsets (over 100 features) and row chunks.
    """

    _numeric_transform = "standard"
    _clip = 5.0
    # Also a class-level default, so estimators pickled before the parameter existed still
    # answer get_params/repr.
    precision = "auto"
    member_subsample = None
    finetune_average = None
    finetune_noise = 0.0
    finetune_splits = 1
    finetune_hidden_scale = 1.0
    finetune_stop_metric = "loss"
    category_min_frequency = None
    _parameter_constraints = {
        "checkpoint": [None, str, os.PathLike, MotherNet],
        "n_estimators": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "time_budget": [Interval(Real, 0, None, closed="neither")],
        "many_classes": [StrOptions({"codes", "tree", "ovr"})],
        "member_selection": [None, StrOptions({"train", "unf"})],
        "input_transform": [StrOptions(set(TRANSFORMS))],
        "categorical_encoding": [StrOptions(set(ENCODINGS))],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "finetune_steps": [Interval(Integral, 0, None, closed="left")],
        "finetune_lr": [Interval(Real, 0, None, closed="neither")],
        "member_subsample": [None, Interval(Real, 0, 1, closed="neither")],
        "finetune_average": [None, Interval(Real, 1, None, closed="left")],
        "finetune_noise": [Interval(Real, 0, None, closed="left")],
        "finetune_splits": [Interval(Integral, 1, None, closed="left")],
        "finetune_hidden_scale": [Interval(Real, 0, None, closed="left")],
        "finetune_stop_metric": [StrOptions({"loss", "auc"})],
        "category_min_frequency": [
            None,
            Interval(Integral, 2, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
        ],
        "max_train_rows": [Interval(Integral, 16, None, closed="left")],
        "precision": [StrOptions({"auto", "float32", "bfloat16"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        checkpoint=None,
        n_estimators: int | str = 4,
        time_budget: float = 0.5,
        many_classes: str = "tree",
        member_selection: str | None = "train",
        input_transform: str = "mixed",
        categorical_encoding: str = "mixed",
        temperature: float = 1.0,
        finetune_steps: int = 0,
        finetune_lr: float = 3e-3,
        member_subsample: float | None = None,
        finetune_average: float | None = None,
        finetune_noise: float = 0.0,
        finetune_splits: int = 1,
        finetune_hidden_scale: float = 1.0,
        finetune_stop_metric: str = "loss",
        category_min_frequency: int | float | None = None,
        max_train_rows: int = 1024,
        precision: str = "auto",
        random_state=None,
    ):
        self.checkpoint = checkpoint
        self.n_estimators = n_estimators
        self.time_budget = time_budget
        self.many_classes = many_classes
        self.member_selection = member_selection
        self.input_transform = input_transform
        self.categorical_encoding = categorical_encoding
        self.temperature = temperature
        self.finetune_steps = finetune_steps
        self.finetune_lr = finetune_lr
        self.member_subsample = member_subsample
        self.finetune_average = finetune_average
        self.finetune_noise = finetune_noise
        self.finetune_splits = finetune_splits
        self.finetune_hidden_scale = finetune_hidden_scale
        self.finetune_stop_metric = finetune_stop_metric
        self.category_min_frequency = category_min_frequency
        self.max_train_rows = max_train_rows
        self.precision = precision
        self.random_state = random_state

    def _check_param_values(self) -> None:
        if self.precision == "bfloat16":
            device = (
                next(self.checkpoint.parameters()).device
                if isinstance(self.checkpoint, MotherNet)
                else torch.device("cpu")  # load_model's device
            )
            _check_bfloat16(device)

    # -- fit --------------------------------------------------------------------------------------
    def _fit_arrays(self, X: np.ndarray, y: np.ndarray, n_classes: int) -> None:
        # One intra-op thread: with the default two, a loaded 2-core machine made fine-tuning
        # 40-80x slower (see torch_threads).
        with torch_threads(1):
            self._fit_members(X, y, n_classes)

    def _fit_members(self, X: np.ndarray, y: np.ndarray, n_classes: int) -> None:
        if isinstance(self.checkpoint, MotherNet):
            model, self.checkpoint_sha256_ = self.checkpoint, None
        else:
            model, meta = load_model(self.checkpoint)
            self.checkpoint_sha256_ = meta["sha256"]
        cfg = model.config
        if self.precision == "auto":
            native = _native_bfloat16(next(model.parameters()).device)
            self.precision_ = "bfloat16" if native else "float32"
        else:
            self.precision_ = self.precision
        seed = seed_from(self.random_state)
        rng = np.random.RandomState(seed)
        n, F = X.shape
        self.limits_applied_ = []
        self.member_train_loss_ = []  # filled for member_selection="train"
        self.finetune_best_steps_ = []  # per fine-tuned child: the step count early stopping chose
        val = self._validation_arrays() if self.finetune_steps > 0 else None
        val = None if val is None else (*val, y)
        chunks = self._row_chunks(y, rng)
        auto = self.n_estimators == "auto"
        n_members = len(chunks) if auto else max(self.n_estimators, len(chunks))
        if n_classes > cfg.max_classes and not auto:
            n_members = max(n_members, _MANY_CLASSES_MIN_MEMBERS)
        ranked = None
        if F > cfg.max_features:
            ranked = self._rank_features(X, y)
            self._announce(
                f"{F} features exceed the pretrained limit of {cfg.max_features}: each ensemble "
                f"member uses {cfg.max_features} of them (top by ANOVA F-score plus a random share)"
            )
        # Categorical columns arrive one-hot encoded; a member may see some or all of them
        # contracted to one column each (categorical_encoding): its "projection".
        projections = {
            kind: self._projection(kind, X, y)
            for kind in set(map(self._member_encoding, range(len(_MIXED_ENCODINGS))))
        }
        ranked_by = {None: ranked}
        for project in projections.values():
            if project is not None and int(project[0].max()) + 1 > cfg.max_features:
                ranked_by[id(project)] = self._rank_features(contract(X, *project), y)
        codes = tree = None
        C = cfg.max_classes
        if n_classes > C and self.many_classes == "tree" and n_classes <= C * C:
            # The top child tells at most C groups apart.
            n_groups = min(
                C,
                max(2, math.ceil(n_classes**_TREE_GROUP_EXPONENT - 1e-9), math.ceil(n_classes / C)),
            )
            self._announce(
                f"{n_classes} classes exceed the pretrained limit of {C}: a two-level tree per "
                f"ensemble member, one child for {n_groups} groups of similar classes and one "
                "child per group for the classes within it"
            )
            centroids = np.stack([X[y == c].mean(0) for c in range(n_classes)])
            tree = lambda: self._class_tree(centroids, n_groups, rng)  # noqa: E731
        elif n_classes > C:
            if self.many_classes in ("codes", "tree"):
                n_codes = math.ceil(_CODES_PER_GROUP * n_classes / cfg.max_classes)
                self._announce(
                    f"{n_classes} classes exceed the pretrained limit of {cfg.max_classes}: output "
                    f"codes, {n_codes} children per ensemble member, each for a random grouping "
                    f"of the classes into {cfg.max_classes} super-classes"
                )
                codes = lambda: self._class_codes(y, n_classes, cfg.max_classes, n_codes, rng)  # noqa: E731
            else:
                self._announce(
                    f"{n_classes} classes exceed the pretrained limit of {cfg.max_classes}: "
                    f"one-vs-rest, {n_classes} binary children per ensemble member"
                )

        def member_specs(i: int, n: int) -> list[tuple]:
            project = projections[self._member_encoding(i)]
            Fi = F if project is None else int(project[0].max()) + 1
            ranks = ranked_by.get(None if project is None else id(project))
            features = self._member_features(i, n, Fi, cfg.max_features, ranks, rng)
            rows, out = chunks[i % len(chunks)], None
            if self.member_subsample is not None:
                # Its own generator per member: the default path's draws stay as they were.
                rows, out = self._subsample(rows, y, np.random.RandomState([seed, i + 1]))
            return [
                s + (project, self._held_out(out, y, s[0], s[4], s[5]))
                for s in class_specs(i, features, rows)
            ]

        def class_specs(i: int, features: np.ndarray, rows: np.ndarray) -> list[tuple]:
            kind = self._member_transform(i)
            if n_classes <= cfg.max_classes:
                shift = i % n_classes
                local = (y + shift) % n_classes
                targets = (np.arange(n_classes) - shift) % n_classes
                return [(rows, features, kind, local, targets, "shift", None)]
            if codes is not None:
                return [
                    (rows, features, kind, group[y], group, "code", log_share)
                    for group, log_share in codes()
                ]
            if tree is not None:
                group = tree()
                out = [(rows, features, kind, group[y], group, "code", None)]
                for g in range(int(group.max()) + 1):
                    members = np.flatnonzero(group == g)
                    if len(members) < 2:
                        continue
                    local = np.zeros(n_classes, dtype=np.int64)
                    local[members] = np.arange(len(members))
                    sub_rows = rows[np.isin(y[rows], members)]
                    if len(np.unique(y[sub_rows])) < len(members):
                        # This row chunk lacks some of the group's classes: use the group's
                        # rows from the whole training set (at most max_train_rows of them).
                        sub_rows = np.flatnonzero(np.isin(y, members))
                        if len(sub_rows) > self.max_train_rows:
                            sub_rows = np.sort(
                                rng.choice(sub_rows, self.max_train_rows, replace=False)
                            )
                    out.append((sub_rows, features, kind, local[y], members, "sub", None))
                return out
            return [
                (rows, features, kind, (y == c).astype(np.int64), np.array([c]), "ovr", None)
                for c in range(n_classes)
            ]

        if auto:
            # The first member is the same for every ensemble size (no shift, no rotation, no
            # transform); its CPU time prices the others.
            start = time.process_time()
            first = self._build_members(model, X, member_specs(0, 1), val)
            cost = max(time.process_time() - start, 1e-6)
            n_members = max(n_members, min(_AUTO_MAX_MEMBERS, int(self.time_budget // cost)))
            specs = [s for i in range(1, n_members) for s in member_specs(i, n_members)]
            self.members_ = first + (self._build_members(model, X, specs, val) if specs else [])
        else:
            specs = [s for i in range(n_members) for s in member_specs(i, n_members)]
            self.members_ = self._build_members(model, X, specs, val)
        self.n_members_ = n_members
        if self.member_selection is not None:
            self._weight_members(X, y, n)

    @staticmethod
    def _class_tree(centroids: np.ndarray, n_groups: int, rng) -> np.ndarray:
        """Group of each class: classes sorted by their mean row's projection on a random
        direction, cut into ``n_groups`` equal runs (similar classes share a group)."""
        order = np.argsort(centroids @ rng.standard_normal(centroids.shape[1]), kind="stable")
        group = np.empty(len(centroids), dtype=np.int64)
        for g, part in enumerate(np.array_split(order, n_groups)):
            group[part] = g
        return group

    @staticmethod
    def _class_codes(y, n_classes: int, n_groups: int, n_codes: int, rng):
        """``n_codes`` random balanced groupings of the classes into ``n_groups`` super-classes:
        (group of each class, log of each class's share of its group's training rows)."""
        prior = np.bincount(y, minlength=n_classes) / len(y)
        out = []
        for _ in range(n_codes):
            group = np.empty(n_classes, dtype=np.int64)
            group[rng.permutation(n_classes)] = np.arange(n_classes) % n_groups
            group_prior = np.bincount(group, weights=prior, minlength=n_groups)
            out.append((group, np.log(prior) - np.log(group_prior[group])))
        return out

    def _weight_members(self, X: np.ndarray, y: np.ndarray, n_train: int) -> None:
        """Set each member's ensemble weight (``member_selection``)."""
        if self.member_selection == "unf":
            from automl_hyper.weightspace.uses import member_weights, score_members

            child = NumpyChild(None, self.members_, np.arange(int(y.max()) + 1), 1.0, self._clip)
            weights = member_weights(score_members(child, n_train), mode="weight")
        else:  # "train": log loss of each member on the rows it was generated from
            losses = np.array(self.member_train_loss_)
            weights = np.exp(-(losses - losses.min()) / _TRAIN_WEIGHT_TAU)
        top = 1.0
        for m, w in zip(self.members_, weights / weights.sum()):
            # A tree's children for the classes within a group take their top child's weight:
            # together they are one estimate of every class's probability.
            top = top if m.mode == "sub" else float(w)
            m.weight = top

    def _member_encoding(self, i: int) -> str:
        if self.categorical_encoding == "mixed":
            return _MIXED_ENCODINGS[i % len(_MIXED_ENCODINGS)]
        return self.categorical_encoding

    def _projection(
        self, kind: str, X: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        return categorical_projection(self.preprocessor_, kind, X, y)

    def _announce(self, message: str) -> None:
        self.limits_applied_.append(message)
        warnings.warn(message, AutomlHyperWarning, stacklevel=4)

    def _subsample(
        self, rows: np.ndarray, y: np.ndarray, rng: np.random.RandomState
    ) -> tuple[np.ndarray, np.ndarray]:
        """``member_subsample``: a stratified share of ``rows`` (at least one row of each class)
        and the rows left out. Every member draws the same count per class, so their subsamples
        are of equal size and still generate in one batched pass."""
        keep = []
        for c in np.unique(y[rows]):
            idx = rng.permutation(rows[y[rows] == c])
            keep.append(idx[: max(1, int(round(self.member_subsample * len(idx))))])
        kept = np.sort(np.concatenate(keep))
        return kept, np.setdiff1d(rows, kept)

    @staticmethod
    def _held_out(out, y: np.ndarray, rows: np.ndarray, targets: np.ndarray, mode: str):
        """A child's early-stopping rows from its member's left-out rows: None without a
        subsample, and for a tree's group child that had to borrow rows from outside it; a group
        child sees only its group's classes."""
        if out is None or np.isin(rows, out).any():
            return None
        if mode == "sub":
            out = out[np.isin(y[out], targets)]
        return out if len(out) else None

    def _row_chunks(self, y: np.ndarray, rng: np.random.RandomState) -> list[np.ndarray]:
        n = len(y)
        if n <= self.max_train_rows:
            return [np.arange(n)]
        k = math.ceil(n / self.max_train_rows)
        self._announce(
            f"{n} training rows exceed max_train_rows={self.max_train_rows}: the children are "
            f"generated from {k} stratified chunks of about {n // k} rows (one per ensemble member)"
        )
        chunks = [[] for _ in range(k)]
        for c in np.unique(y):
            idx = rng.permutation(np.flatnonzero(y == c))
            for j, part in enumerate(np.array_split(idx, k)):
                chunks[(j + c) % k].extend(part.tolist())
        return [np.sort(np.array(ch, dtype=np.int64)) for ch in chunks]

    @staticmethod
    def _rank_features(X: np.ndarray, y: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # constant columns give NaN scores, ranked last
            scores, _ = f_classif(X, y)
        return np.argsort(-np.nan_to_num(scores, nan=-1.0), kind="stable")

    @staticmethod
    def _member_features(i, n_members, F, max_features, ranked, rng) -> np.ndarray:
        """Member i's columns, in order: the feature order rotated by i/n_members of a turn
        (TabPFN's feature-shift ensembling), so every column takes several input positions of the
        hypernetwork. Over 100 features: the top half by F-score plus a random share, rotated."""
        if ranked is None:
            columns = np.arange(F)
        else:
            k = int(round(max_features * _TOP_FEATURE_SHARE))
            top = ranked[:k]
            rest = rng.choice(ranked[k:], max_features - len(top), replace=False)
            columns = np.sort(np.concatenate([top, rest]))
        return np.roll(columns, -((i * len(columns)) // n_members))

    def _member_transform(self, i: int) -> str:
        if self.input_transform == "mixed":
            return ("none", "quantile", "power")[i % 3]
        return self.input_transform

    @staticmethod
    def _fit_transform(kind: str, Z: np.ndarray):
        if kind == "quantile":
            t = QuantileTransformer(
                n_quantiles=max(2, min(1000, len(Z))), output_distribution="normal"
            )
        elif kind == "power":
            t = GridPowerTransformer()
        else:
            return None, Z
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # constant or binary columns: harmless warnings
            t.fit(Z)
        if kind != "quantile":
            return t, t.transform(Z)
        # The member keeps scikit-learn's fitted object; its rows are transformed by the numpy
        # twin the exported child predicts with: the same values without scikit-learn's
        # per-column scipy calls (mothernet_quantile_speed.md), laid out in memory as
        # scikit-learn's copy of Z is (the column means that follow then add up in the same
        # order, and the fit stays bitwise what it was).
        fast = NumpyQuantileTransformer.from_sklearn(t).transform(Z)
        out = np.empty_like(Z, dtype=fast.dtype)
        out[...] = fast
        return t, out

    def _build_members(self, model, X: np.ndarray, specs, val=None) -> list[Member]:
        """``val``: (X_val, y_val, y) when the caller gave validation rows, for fine-tuning; else a
        spec's held-out rows (``member_subsample``), if any, early-stop its child."""
        prepared = []
        for rows, features, kind, local, targets, mode, log_share, project, out in specs:
            Xr = X[rows] if project is None else contract(X[rows], *project)
            transform, Z = self._fit_transform(kind, Xr[:, features])
            mean, std = Z.mean(0), Z.std(0)
            std = np.where(std > 1e-8, std, 1.0)
            member = Member(
                features, transform, mean, std, None, None, None, None, targets, mode, log_share
            )
            if project is not None:
                member.project_to, member.project_value = project
            # member.inputs(X[rows], clip) from the transform's output above, instead of
            # contracting and transforming the rows a second time (bitwise equal, a test holds
            # it; soybean's 40 children fit 21% faster, mothernet_speed_profile.md).
            Z = member.standardise(Z, self._clip)
            member_val = None if val is None else self._member_val(member, val, rows, local)
            if val is None and out is not None and self.finetune_steps > 0:
                member_val = member.inputs(X[out], self._clip), local[out]
            prepared.append((member, Z, local[rows], member_val))
        weights = self._generate(model, [(Z, yl) for _, Z, yl, _ in prepared])
        members = []
        for (member, Z, yl, member_val), w in zip(prepared, weights):
            if self.finetune_steps > 0:
                w = self._finetune(model, Z, yl, w, member_val)
            members.append(self._set_weights(member, w, Z, yl))
        return members

    def _set_weights(
        self, member: Member, w: ChildWeights, Z: np.ndarray, yl: np.ndarray
    ) -> Member:
        """Give ``member`` the child weights ``w`` (and, for member_selection="train", log its
        loss on its training rows ``Z``, ``yl``, in the order members are listed)."""
        K = member.n_outputs
        F = Z.shape[1]
        member.W1 = w.W1[0, :F].numpy().astype(np.float32)
        member.b1 = w.b1[0].numpy().astype(np.float32)
        member.W2 = w.W2[0, :, :K].numpy().astype(np.float32)
        member.b2 = w.b2[0, :K].numpy().astype(np.float32)
        if self.member_selection == "train":
            logits = member.logits(Z) / self.temperature
            logits -= logits.max(1, keepdims=True)
            log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
            self.member_train_loss_.append(float(-log_p[np.arange(len(yl)), yl].mean()))
        return member

    @torch.no_grad()
    def _generate(self, model, sets: list[tuple[np.ndarray, np.ndarray]]) -> list[ChildWeights]:
        """Children for training sets of equal size, a few per batched forward pass: the one
        generation path from arrays (the pretraining loss calls ``model.generate`` on batches
        of padded tensors directly). Generated on the model's device, returned on the CPU."""
        Fm = model.config.max_features
        device = next(model.parameters()).device
        out = []
        for start in range(0, len(sets), _GENERATE_CHUNK):
            part = sets[start : start + _GENERATE_CHUNK]
            sizes = {len(yl) for _, yl in part}
            if len(sizes) > 1:  # chunks of unequal length: one pass each
                out.extend(w for s in part for w in self._generate(model, [s]))
                continue
            Xb = torch.zeros(len(part), len(part[0][1]), Fm)
            for j, (Z, _) in enumerate(part):
                Xb[j, :, : Z.shape[1]] = torch.from_numpy(Z)
            yb = torch.from_numpy(np.stack([yl for _, yl in part]).astype(np.int64))
            nf = torch.tensor([Z.shape[1] for Z, _ in part])
            w = model.generate(
                Xb.to(device),
                yb.to(device),
                nf.to(device),
                torch.bfloat16 if getattr(self, "precision_", "float32") == "bfloat16" else None,
            )
            w = ChildWeights(*(t.cpu() for t in (w.W1, w.b1, w.W2, w.b2)))
            out.extend(w.select(j) for j in range(len(part)))
        return out

    def _member_val(self, member: Member, val, rows: np.ndarray, local: np.ndarray):
        """The caller's validation rows as this member's child sees them: its inputs, and each
        class's label in the child (rows of classes the child does not tell apart are dropped)."""
        Xv, yv, y = val
        lookup = np.full(int(y.max()) + 1, -1, dtype=np.int64)
        lookup[y[rows]] = local[rows]
        keep = lookup[yv] >= 0
        if not keep.any():
            return None
        return member.inputs(Xv[keep], self._clip), lookup[yv[keep]]

    def _finetune(
        self, model, Z: np.ndarray, y: np.ndarray, w: ChildWeights, val=None
    ) -> ChildWeights:
        """Tune the full-data child, early-stopped on the caller's validation rows (``val``);
        without them, early stopping on an internal 80/20 split picks the step count first."""
        if val is not None:
            tuned, best_step = self._tune(w, Z, y, *val, self.finetune_steps)
            self.finetune_best_steps_.append(best_step)
            if self.finetune_average is not None and best_step > 0:
                # The same child from the same start, run on past the step the validation rows
                # chose (its first best_step steps repeat exactly) and averaged.
                tuned = self._averaged(w, Z, y, best_step)
            return tuned
        counts = np.bincount(y)
        if len(y) < 10 or counts[counts > 0].min() < 2:
            self._announce(
                "too few rows per class for an internal validation split: no fine-tuning"
            )
            return w
        from sklearn.model_selection import train_test_split

        steps = []  # the step count each split's 20% chose, one per seed
        for seed in range(self.finetune_splits):
            tr, va = train_test_split(
                np.arange(len(y)), test_size=0.2, stratify=y, random_state=seed
            )
            w_tr = self._generate(model, [(Z[tr], y[tr])])[0]
            steps.append(self._tune(w_tr, Z[tr], y[tr], Z[va], y[va], self.finetune_steps)[1])
        best_step = int(round(float(np.mean(steps))))
        self.finetune_best_steps_.append(best_step)
        if self.finetune_average is None:
            tuned = self._tune(w, Z, y, None, None, best_step)[0]
        else:
            tuned = self._averaged(w, Z, y, best_step)
        return tuned

    def _averaged(self, w: ChildWeights, Z: np.ndarray, y: np.ndarray, kept: int) -> ChildWeights:
        """``finetune_average``: child ``w`` tuned on all of ``Z``, ``y`` for int(m kept) steps,
        ending with the mean of its weights from step ceil(kept / 2) on."""
        steps, first = averaging_window(kept, self.finetune_average)
        return self._tune(w, Z, y, None, None, steps, average_from=first)[0]

    def _tune(
        self, w: ChildWeights, Ztr, ytr, Zva, yva, steps: int, average_from: int | None = None
    ) -> tuple[ChildWeights, int]:
        """``steps`` Adam steps with this estimator's fine-tuning options (``finetune.tune_child``);
        with validation rows, the weights and step count of the lowest validation loss (its curve
        goes to ``_observe_validation_curve``), else the last ones or, with ``average_from``, the
        mean of the weights after each step from that one to the last."""
        tuned, best_step, curve = tune_child(
            w,
            Ztr,
            ytr,
            Zva,
            yva,
            steps,
            TuneOptions(
                lr=self.finetune_lr,
                temperature=self.temperature,
                noise=self.finetune_noise,
                hidden_scale=self.finetune_hidden_scale,
                stop_metric=self.finetune_stop_metric,
            ),
            average_from=average_from,
        )
        if Zva is not None:
            self._observe_validation_curve(curve)
        return tuned, best_step

    def _observe_validation_curve(self, losses: list[float]) -> None:
        """Hook: the validation loss before each Adam step and after the last, for every child
        early-stopped on validation rows (benchmarks/mothernet_ft_curves.py records them)."""

    # -- predict ----------------------------------------------------------------------------------
    def _predict_proba_arrays(self, X: np.ndarray) -> np.ndarray:
        return self.export_child().predict_proba_arrays(X)

    # -- export -----------------------------------------------------------------------------------
    def export_child(self) -> NumpyChild:
        """The fitted ensemble as a numpy-only model with ``predict_proba``/``predict`` on raw X."""
        check_is_fitted(self, "members_")
        return NumpyChild(
            self.preprocessor_, self.members_, self.classes_, self.temperature, self._clip
        )

    def to_serving(self) -> NumpyChild:
        """What the MLflow integration pickles for serving: the torch-free exported child."""
        return self.export_child()
