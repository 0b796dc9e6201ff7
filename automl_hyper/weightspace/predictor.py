"""``ChildQualityPredictor``: a UNF that predicts a child's held-out score from its weights.

Training reads one or more child banks (:mod:`.bank`). Each optimiser step sees all the children
of one task, and the loss is the squared error on the standardised score plus a pairwise logistic
ranking loss among that task's children: the product uses the predictor to *rank* candidates of
one dataset (SMASH architectures, MotherNet members), which the regression term alone does not
reward. Optional meta-features (log rows, log features, classes) let it learn how hard a task is.

``objective`` says what the squared error is measured against. ``"regression"``: the score
standardised over all training children, so the error is dominated by how hard each task is (the
across-task spread of scores is several times the within-task one). ``"within_task"`` (the
training default since 3 Dec 2026): the score centred on its task's mean and divided by the
pooled within-task std, so only how a child differs from its siblings is learned (see
:func:`standardised_targets`). It ranked held-out tasks' SMASH children better for all three
predictors of ``benchmarks/unf_predictor.py`` on both split seeds (UNF within-task tau 0.30 ->
0.40; ``benchmarks/results/unf_predictor_smash_spread_rank.md``). ``PredictorConfig`` keeps
``"regression"`` as its default so files saved before the field existed load as trained.

Inputs are divided by a per-tensor-name scale (the RMS of that tensor over the training
children): one scalar per tensor, so equivariance is untouched, and the network sees unit-scale
inputs whatever the family's initialisation. ``input_norm="tensor"`` (an option, default off)
divides each child's tensor by its *own* RMS instead, so the equivariant layers see only the
shape of its weights, and gives the head the log of that RMS over the per-name scale once, as one
invariant scalar per tensor slot: SMASH's generated weights shrink with fan-in, so their raw
magnitude is mostly a noisy copy of the width that the pooled log sizes already carry
(``benchmarks/results/unf_predictor_smash_spread_v5.md``).

``stat_features=True`` (an option, default off) gives the head, next to the pooled invariant
features, the StatNN baseline's per-tensor statistics (:mod:`.statistics`) of the per-name scaled
weights, standardised over the training children: a UNF + statistics hybrid, as the NFN/UNF
papers pair them. The statistics are permutation invariant, so the prediction stays so.

Saved as a ``state_dict`` (``torch.save``) with a ``<file>.json`` sidecar holding its sha256 and
config, or shipped in ``automl_hyper/weights`` with a MANIFEST entry: the rules and code of
:mod:`automl_hyper.checkpoints`, shared with the MotherNet checkpoint.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from automl_hyper.weightspace.layers import UNF
from automl_hyper.weightspace.spec import WeightSpace
from automl_hyper.weightspace.statistics import STATS_PER_TENSOR, slot_statistics

# Why centring rather than a pure pairwise (RankNet) loss: the squared error on per-task centred
# targets is a loss that every predictor compared in benchmarks/unf_predictor.py can take as is
# (the StatNN baseline is a gradient-boosted regressor, which has no pairwise loss in sklearn),
# so the objectives stay the same across predictors. For the torch predictors it equals the
# within-task squared error plus a penalty that keeps each task's mean prediction at the
# training mean, so predict() stays on the score's scale; their pairwise logistic term
# (``rank_weight``) is kept unchanged in both objectives.
OBJECTIVES = ("regression", "within_task")
INPUT_NORMS = ("name", "tensor")  # one scale per tensor name (default) / each child's own RMS


def target_scale(score_lists: Sequence[np.ndarray], objective: str) -> tuple[float, float]:
    """(mean, std) that standardise the training scores: std over all children for
    ``"regression"``, the pooled within-task std (RMS of task-centred scores) for ``"within_task"``."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    scores = np.concatenate([np.asarray(s, dtype=np.float64) for s in score_lists])
    if objective == "within_task":
        spread = np.concatenate([np.asarray(s, dtype=np.float64) - np.mean(s) for s in score_lists])
        rms = math.sqrt(np.mean(spread**2))
        if rms > 1e-9:  # else no task has two distinct scores: keep the overall scale
            return float(scores.mean()), float(max(rms, 1e-6))
    return float(scores.mean()), float(max(scores.std(), 1e-6))


def standardised_targets(scores: np.ndarray, objective: str, mean: float, std: float) -> np.ndarray:
    """One task's training targets: ``(score - mean) / std`` for ``"regression"``, the score
    centred on this task's own mean, ``/ std``, for ``"within_task"``."""
    scores = np.asarray(scores, dtype=np.float64)
    centre = scores.mean() if objective == "within_task" else mean
    return (scores - centre) / std


def meta_features(n_train: float, n_features: float, n_classes: float) -> list[float]:
    return [math.log1p(n_train) / 7.0, math.log1p(n_features) / 5.0, n_classes / 10.0]


@dataclass
class PredictorConfig:
    spaces: list[str]  # weight spaces (JSON) whose tensor names the network knows
    scales: dict[str, float]  # per tensor name: RMS over the training children
    channels: tuple[int, ...] = (16, 16)
    head_hidden: int = 64
    meta_features: bool = False
    target_mean: float = 0.0
    target_std: float = 1.0
    rank_weight: float = 1.0
    info: dict = field(default_factory=dict)
    objective: str = "regression"  # or "within_task" (see OBJECTIVES); older files lack it
    input_norm: str = "name"  # or "tensor" (see INPUT_NORMS); older files lack it
    stat_features: bool = False  # per-tensor statistics to the head (see module doc)
    stat_norm: list = field(default_factory=list)  # [means, stds] of those statistics, or []


class ChildQualityPredictor:
    """Predicts held-out scores of children from their weights (higher = better)."""

    def __init__(self, config: PredictorConfig) -> None:
        from automl_hyper.weightspace.bank import space_from_json

        if config.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {config.objective!r}")
        if config.input_norm not in INPUT_NORMS:
            raise ValueError(f"input_norm must be one of {INPUT_NORMS}, got {config.input_norm!r}")
        self.config = config
        spaces = [space_from_json(s) for s in config.spaces]
        n_slots = len({n for s in spaces for n in s.names})
        n_extra = (3 if config.meta_features else 0) + (n_slots if self._per_tensor else 0)
        n_extra += STATS_PER_TENSOR * n_slots if config.stat_features else 0
        self.net = UNF(
            spaces,
            channels=tuple(config.channels),
            head_hidden=config.head_hidden,
            n_outputs=1,
            extra_features=n_extra,
        )
        self.net.eval()

    @property
    def _per_tensor(self) -> bool:
        return self.config.input_norm == "tensor"

    @property
    def _dtype(self) -> torch.dtype:  # float32 unless a caller (a float64 test) cast the net
        return next(self.net.parameters()).dtype

    # -- inference ------------------------------------------------------------------------------
    def _scaled(self, space: WeightSpace, arrays: dict) -> dict[str, torch.Tensor]:
        return {n: arrays[n].to(self._dtype) / self.config.scales.get(n, 1.0) for n in space.names}

    def _statistics(self, scaled: list[dict]) -> torch.Tensor:
        """(B, slots x STATS_PER_TENSOR): per-tensor statistics, standardised (clipped at 10
        standard deviations, so an outlying held-out child cannot swamp the head)."""
        slots = self.net.pool.slots
        stats = torch.stack([slot_statistics(a, slots, self._dtype) for a in scaled])
        if self.config.stat_norm:
            mean, std = (torch.tensor(v, dtype=self._dtype) for v in self.config.stat_norm)
            stats = ((stats - mean) / std).clamp(-10.0, 10.0)
        return stats

    def _normalised(self, space: WeightSpace, arrays: dict) -> tuple[dict, torch.Tensor]:
        """``input_norm="tensor"``: each tensor over its own RMS, and per known slot the log of
        that RMS over the per-name scale (0 for tensors the space lacks)."""
        return self._rms_normalised(self._scaled(space, arrays))

    def _rms_normalised(self, scaled: dict) -> tuple[dict, torch.Tensor]:
        """:meth:`_normalised` of weights already over their per-name scales."""
        rms = {n: x.pow(2).mean().sqrt().clamp_min(1e-6) for n, x in scaled.items()}
        zero = torch.zeros((), dtype=self._dtype)
        logs = [torch.log(rms[n]) if n in rms else zero for n in self.net.pool.slots]
        return {n: x / rms[n] for n, x in scaled.items()}, torch.stack(logs)

    def _forward(self, space: WeightSpace, batch: list[dict], meta: list | None) -> torch.Tensor:
        extras = []
        per_name = [self._scaled(space, a) for a in batch]
        scaled = per_name
        if self._per_tensor:
            pairs = [self._rms_normalised(a) for a in per_name]
            scaled = [x for x, _ in pairs]
            extras.append(torch.stack([log for _, log in pairs]))
        if self.config.stat_features:  # of the per-name scaled weights, as StatNN reads them
            extras.append(self._statistics(per_name))
        stacked = {n: torch.stack([a[n] for a in scaled]) for n in space.names}
        if self.config.meta_features:
            extras.insert(0, torch.tensor(meta, dtype=self._dtype))
        extra = torch.cat(extras, dim=1) if extras else None
        return self.net(space, stacked, extra).squeeze(1)

    def _predict_group(self, items: Sequence[tuple], meta) -> torch.Tensor:
        """Standardised predictions for (space, arrays) items, batched by identical shapes."""
        groups: dict[tuple, list[int]] = {}
        for i, (space, _) in enumerate(items):
            groups.setdefault(space.shape_key(), []).append(i)
        parts = []
        for idx in groups.values():
            space = items[idx[0]][0]
            m = [meta[i] for i in idx] if self.config.meta_features else None
            parts.append((idx, self._forward(space, [items[i][1] for i in idx], m)))
        index = torch.tensor([i for idx, _ in parts for i in idx])
        return torch.cat([p for _, p in parts])[torch.argsort(index)]  # back to input order

    @torch.no_grad()
    def predict(
        self,
        children: Sequence[tuple[WeightSpace, dict]],
        meta: Sequence[Sequence[float]] | None = None,
    ) -> np.ndarray:
        """Predicted scores of ``(space, {name: tensor})`` children; ``meta`` = one
        (n_train, n_features, n_classes) per child when the predictor reads meta-features."""
        if self.config.meta_features:
            if meta is None:
                raise ValueError(
                    "this predictor reads meta-features: pass meta=(rows, features, classes)"
                )
            meta = [meta_features(*m) for m in meta]
        self.net.eval()
        z = self._predict_group(list(children), meta)
        return (z.double() * self.config.target_std + self.config.target_mean).numpy()

    # -- training ---------------------------------------------------------------------------------
    def fit(
        self,
        tasks: Sequence[tuple[list[tuple[WeightSpace, dict]], np.ndarray, list | None]],
        epochs: int = 30,
        learning_rate: float = 1e-3,
        seed: int = 0,
        log: Callable[[str], None] | None = None,
        on_epoch: Callable[[int], None] | None = None,
    ) -> list[float]:
        """``tasks``: per task (children, scores, meta rows or None). Returns the loss per epoch.
        ``on_epoch(epoch)`` (optional) is called after each epoch, e.g. to score a validation
        slice and keep the best state (early stopping is the caller's choice, not the default)."""
        rng = np.random.default_rng(seed)
        torch.manual_seed(seed)
        # foreach: one fused update over the many small per-map weights (the per-tensor loop dominated)
        opt = torch.optim.AdamW(
            self.net.parameters(), lr=learning_rate, weight_decay=1e-4, foreach=True
        )
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs * len(tasks)))
        losses = []
        self.net.train()
        for epoch in range(epochs):
            total = 0.0
            for t in rng.permutation(len(tasks)):
                children, scores, meta = tasks[t]
                meta = [meta_features(*m) for m in meta] if self.config.meta_features else None
                target = self._targets(scores)
                pred = self._predict_group(children, meta)
                loss = self.loss(pred, target)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                total += float(loss.detach())
            losses.append(total / max(1, len(tasks)))
            if log is not None and (epoch % 5 == 0 or epoch == epochs - 1):
                log(f"epoch {epoch + 1}/{epochs}: loss {losses[-1]:.4f}")
            if on_epoch is not None:
                on_epoch(epoch)
                self.net.train()  # the hook may have predicted (eval mode)
        self.net.eval()
        return losses

    @torch.no_grad()
    def evaluate_loss(self, tasks: Sequence[tuple]) -> float:
        """Mean training loss over ``tasks`` (same form as :meth:`fit`), without updating."""
        self.net.eval()
        total = 0.0
        for children, scores, meta in tasks:
            meta = [meta_features(*m) for m in meta] if self.config.meta_features else None
            pred = self._predict_group(children, meta)
            total += float(self.loss(pred, self._targets(scores)))
        return total / max(1, len(tasks))

    def _targets(self, scores: np.ndarray) -> torch.Tensor:
        c = self.config
        t = standardised_targets(scores, c.objective, c.target_mean, c.target_std)
        return torch.as_tensor(t, dtype=torch.float32)

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Squared error plus a pairwise logistic ranking loss among one task's children."""
        mse = torch.mean((pred - target) ** 2)
        if len(pred) < 2 or self.config.rank_weight == 0:
            return mse
        diff_t = target[:, None] - target[None, :]
        diff_p = pred[:, None] - pred[None, :]
        pairs = diff_t > 1e-6
        if not pairs.any():
            return mse
        rank = torch.nn.functional.softplus(-diff_p[pairs]).mean()
        return mse + self.config.rank_weight * rank

    # -- persistence ------------------------------------------------------------------------------
    def save(self, path: str | Path, provenance: dict | None = None) -> Path:
        """Write ``path`` (float32 state_dict) and ``path.json`` (sha256, config, provenance)."""
        from automl_hyper.checkpoints import sha256_of

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({k: v.detach().float().cpu() for k, v in self.net.state_dict().items()}, path)
        entry = {
            "file": path.name,
            "sha256": sha256_of(path),
            "kind": "unf-child-quality-predictor",
            "config": asdict(self.config),
            **(provenance or {}),
        }
        path.with_name(path.name + ".json").write_text(json.dumps(entry, indent=1) + "\n")
        return path

    @classmethod
    def load(cls, path_or_name: str | Path) -> ChildQualityPredictor:
        """A verified predictor: a shipped name (``automl_hyper/weights/MANIFEST.json``) or a
        file with its ``.json`` sidecar. A file whose bytes do not match is refused."""
        from automl_hyper.checkpoints import entry_for, load_state, read_manifest, weights_dir

        shipped = read_manifest().get(str(path_or_name))
        if shipped is not None:
            path, entry = weights_dir() / shipped["file"], shipped
        else:
            path = Path(path_or_name)
            entry = entry_for(path) if path.exists() else None
            if entry is None or "sha256" not in entry:
                raise FileNotFoundError(
                    f"{path} is not a shipped predictor name, or has no {path.name}.json sidecar "
                    "with its sha256: refusing to load an unverified file"
                )
        state = load_state(path, entry["sha256"])
        c = dict(entry["config"])
        c["channels"] = tuple(c["channels"])
        predictor = cls(PredictorConfig(**c))
        predictor.net.load_state_dict(state)
        predictor.net.eval()
        predictor.entry = entry
        return predictor


# -- building from banks ------------------------------------------------------------------------------
def _tasks_from(collections, task_ids) -> list:
    out = []
    for coll, task in task_ids:
        rows = coll.table.index[coll.table["task"] == task]
        children = [coll[i] for i in rows]
        children = [c for c in children if np.isfinite(c.row["score"])]
        if len(children) < 1:
            continue
        meta = [(c.row["n_train"], c.row["n_features"], c.row["n_classes"]) for c in children]
        scores = np.array([c.row["score"] for c in children], dtype=np.float64)
        out.append(([(c.space, c.arrays) for c in children], scores, meta))
    return out


def new_predictor(
    train_tasks: list,
    channels: tuple[int, ...] = (16, 16),
    meta: bool = False,
    extra_spaces: Sequence[WeightSpace] = (),
    info: dict | None = None,
    objective: str = "within_task",
    input_norm: str = "name",
    stat_features: bool = False,
) -> ChildQualityPredictor:
    """A fresh predictor whose scales, target standardisation and known spaces come from the
    training tasks (plus ``extra_spaces``); ``objective``: see :data:`OBJECTIVES`;
    ``input_norm``: see :data:`INPUT_NORMS`; ``stat_features``: the UNF + statistics hybrid
    (module doc), its statistics standardised over the training children."""
    from automl_hyper.weightspace.bank import space_to_json

    spaces, sq, count = {}, {}, {}
    for children, _, _ in train_tasks:
        for space, arrays in children:
            spaces.setdefault(space.signature(), space)
            for n in space.names:
                sq[n] = sq.get(n, 0.0) + float((arrays[n].double() ** 2).mean())
                count[n] = count.get(n, 0) + 1
    for space in extra_spaces:
        spaces.setdefault(space.signature(), space)
    mean, std = target_scale([s for _, s, _ in train_tasks], objective)
    config = PredictorConfig(
        spaces=[space_to_json(s) for s in spaces.values()],
        scales={n: max(math.sqrt(sq[n] / count[n]), 1e-6) for n in sq},
        channels=tuple(channels),
        meta_features=meta,
        target_mean=mean,
        target_std=std,
        info=info or {},
        objective=objective,
        input_norm=input_norm,
        stat_features=stat_features,
    )
    predictor = ChildQualityPredictor(config)
    if stat_features:
        with torch.no_grad():
            rows = predictor._statistics(
                [predictor._scaled(sp, a) for c, _, _ in train_tasks for sp, a in c]
            )
        # a floor on the std: a statistic (nearly) constant in training must not explode later
        config.stat_norm = [rows.mean(0).tolist(), rows.std(0).clamp_min(1e-3).tolist()]
    return predictor


def kendall_taus(predicted: list[np.ndarray], real: list[np.ndarray]) -> dict[str, float]:
    """Mean within-task Kendall tau (tasks with >= 3 children and distinct scores) and the tau
    over all children pooled across tasks."""
    from scipy.stats import kendalltau

    within = [
        kendalltau(p, r).statistic
        for p, r in zip(predicted, real)
        if len(r) >= 3 and np.ptp(r) > 0 and np.ptp(p) > 0
    ]
    pooled = kendalltau(np.concatenate(predicted), np.concatenate(real)).statistic
    return {
        "tau_within_task": float(np.mean(within)) if within else float("nan"),
        "tau_across_tasks": float(pooled),
        "n_tasks_ranked": len(within),
    }


def split_tasks(collections, holdout: float, seed: int) -> tuple[list, list]:
    """(train, held-out) lists of (collection, task id), held-out tasks chosen at random."""
    ids = [(c, int(t)) for c in collections for t in sorted(c.table["task"].unique())]
    order = np.random.default_rng(seed).permutation(len(ids))
    n_hold = int(round(holdout * len(ids))) if holdout > 0 else 0
    held = [ids[i] for i in order[:n_hold]]
    train = [ids[i] for i in order[n_hold:]]
    return train, held


def train_from_banks(
    sources: Sequence[str | Path],
    out: str | Path,
    meta_features: bool = False,
    epochs: int = 30,
    learning_rate: float = 1e-3,
    channels: tuple[int, ...] = (16, 16),
    seed: int = 0,
    holdout_tasks: float = 0.2,
    log: Callable[[str], None] | None = None,
    objective: str = "within_task",
) -> dict:
    """Train on the banks' tasks (some held out for the report), save, and report Kendall taus."""
    from automl_hyper.models.torch_utils import torch_threads
    from automl_hyper.weightspace.bank import ChildCollection
    from automl_hyper.weightspace.specs import smash_universe

    collections = [ChildCollection(s) for s in sources]
    train_ids, held_ids = split_tasks(collections, holdout_tasks, seed)
    families = sorted({c.config["family"] for c in collections})
    extra = []
    if "smash" in families:  # know every SMASH tensor name, not only those the bank drew
        depth = max(int(c.config.get("max_depth", 4)) for c in collections)
        extra = smash_universe(depth)
    with torch_threads(1):
        train = _tasks_from(collections, train_ids)
        held = _tasks_from(collections, held_ids)
        predictor = new_predictor(train, channels, meta_features, extra, objective=objective)
        start = time.perf_counter()
        losses = predictor.fit(
            train, epochs=epochs, learning_rate=learning_rate, seed=seed, log=log
        )
        seconds = time.perf_counter() - start
        report = {"train_children": sum(len(s) for _, s, _ in train), "train_tasks": len(train)}
        report["loss_first_epoch"], report["loss_last_epoch"] = losses[0], losses[-1]
        report["train_seconds"] = round(seconds, 1)
        if held:
            preds = [predictor.predict(ch, m) for ch, _, m in held]
            taus = kendall_taus(preds, [s for _, s, _ in held])
            report.update({f"heldout_{k}": v for k, v in taus.items()})
            report["heldout_tasks"] = len(held)
    predictor.config.info = {"families": families, **report}
    provenance = {
        "banks": [
            {"family": c.config["family"], "config": c.config, "children": len(c)}
            for c in collections
        ],
        "training": {
            "epochs": epochs,
            "learning_rate": learning_rate,
            "seed": seed,
            "holdout_tasks": holdout_tasks,
            "objective": objective,
            **report,
        },
    }
    predictor.save(out, provenance)
    report["saved"] = str(out)
    return report


def ship(path: str | Path, name: str, directory: Path | None = None) -> Path:
    """Copy a saved predictor into ``automl_hyper/weights`` as ``<name>.pt`` with its MANIFEST
    entry (other entries are kept), after verifying it against its sidecar."""
    import shutil

    from automl_hyper.checkpoints import MANIFEST, entry_for, verify, weights_dir

    path = Path(path)
    entry = entry_for(path)
    if entry is None or "sha256" not in entry:
        raise FileNotFoundError(f"{path} has no {path.name}.json sidecar with its sha256")
    verify(path, entry["sha256"])
    directory = directory or weights_dir()
    target = directory / f"{name}.pt"
    shutil.copyfile(path, target)
    verify(target, entry["sha256"])
    manifest_path = directory / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest[name] = {**entry, "file": target.name}
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    return target
