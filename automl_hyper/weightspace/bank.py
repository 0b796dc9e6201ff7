"""A child bank: generated children on synthetic prior tasks, each with its held-out score.

(The literature calls this a "model zoo"; it is named a bank here so that it is not confused with
``automl_hyper/zoo.py``, the registry of model families.)

Layout of a bank directory::

    collection.json        family, prior, generation settings and seed (checked on resume)
    tasks/t00007.safetensors   the weights of every child of task 7, keys "<child>/<tensor>"
    tasks/t00007.json      one row per child (written last: its presence marks the task done)
    children.csv           all rows, rebuilt after every task

Every row carries the child's weight space as JSON (tensor names, shapes, symbols), so reading
the bank needs no model family. Scores are ROC AUC on the task's test rows (never seen by the
generator, the fine-tuning or the training of the child).

Families:

* ``mothernet``: children written by the shipped checkpoint under several ensemble variants
  (transform, member count, with and without fine-tuning); one row per ensemble *member* (its own
  MLP and its own held-out AUC), plus the AUC of the ensemble it belongs to.
* ``smash``: a SMASH hypernetwork trained per task; many sampled architectures, each with its
  generated weights (what the predictor reads), the score of those generated weights (SMASH's
  proxy, on validation rows), and its *real* score after ordinary training on the task.
  With ``real_seeds`` > 1 each architecture is trained that many times (its own initialisation
  and batch order each time): ``score`` is their mean and ``score_seed<r>`` each one, so the
  labels' own noise (the tau between two seeds' scores) can be measured. Seed 0 draws from the
  same random streams as a one-seed bank, so its column equals a one-seed bank's ``score``.
  Trainings 1, 2, ... draw from streams of their own (seed, task, architecture, training), so a
  built bank resumed with a larger ``real_seeds`` gets the added trainings (``extend_seconds``)
  and the labels a bank built with them from the start has.

The SMASH search space, training settings and prior overrides are written into the bank's
config explicitly, so that a change of SMASH's or the prior's defaults does not shift a bank.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from automl_hyper.weightspace.spec import TensorSpec, WeightSpace

FAMILIES = ("mothernet", "smash")
TABLE = "children.csv"


@dataclass
class BankConfig:
    family: str = "mothernet"
    seed: int = 0
    # prior: small tasks so that a bank builds in minutes on a shared CPU
    max_features: int = 20
    max_classes: int = 4
    min_rows: int = 300
    max_rows: int = 600
    # mothernet: (name, n_estimators, input_transform, finetune_steps)
    variants: list = field(
        default_factory=lambda: [
            ["single", 1, "none", 0],
            ["mixed4", 4, "mixed", 0],
            ["mixed4-ft", 4, "mixed", 30],
            ["quantile2", 2, "quantile", 0],
        ]
    )
    # smash
    n_archs: int = 12
    max_depth: int = 3
    widths: list = field(default_factory=lambda: [8, 16, 32, 64])
    hyper_seconds: float = 4.0
    hyper_epochs: int = 40
    real_epochs: int = 40
    real_patience: int = 8
    # Fields below were added later; a bank recorded without them was built with these values.
    real_seeds: int = 1  # trainings per architecture; score = their mean
    real_lr: float = 1e-3
    real_weight_decay: float = 1e-5
    activations: list = field(default_factory=lambda: ["relu", "gelu", "silu", "tanh"])
    norms: list = field(default_factory=lambda: ["none", "layernorm"])
    patterns: list = field(default_factory=lambda: ["plain", "residual", "dense", "random"])
    prior: dict = field(default_factory=dict)  # PriorConfig overrides, e.g. {"gp_fraction": 0.5}
    # Keep only tasks where a model's capacity matters (see _kept_task); {} keeps every task.
    # Keys: min_reference_auc (gradient boosting), min_nonlinear_gap (boosting - logistic).
    task_filter: dict = field(default_factory=dict)
    # How a smash task's children are drawn, recorded so a bank resumes with its own procedure.
    # 1: the architectures and their trainings continue the random streams the hypernetwork
    # consumed, so under a time budget (hyper_seconds) they depend on the machine's load;
    # 2: they get streams of their own, so only the generated weights depend on the budget.
    procedure: int = 2

    def check(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, got {self.family!r}")
        if self.real_seeds < 1:
            raise ValueError(f"real_seeds must be >= 1, got {self.real_seeds}")


# -- io ---------------------------------------------------------------------------------------------
def space_to_json(space: WeightSpace) -> str:
    return json.dumps(
        {
            "tensors": [[t.name, list(t.shape), list(t.symbols)] for t in space.tensors],
            "fixed": sorted(space.fixed),
        }
    )


def space_from_json(text: str) -> WeightSpace:
    data = json.loads(text)
    tensors = tuple(TensorSpec(n, tuple(s), tuple(sym)) for n, s, sym in data["tensors"])
    return WeightSpace(tensors, frozenset(data["fixed"]))


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def _held_out_auc(proba: np.ndarray, y: np.ndarray) -> float:
    """ROC AUC over the classes present in ``y`` (binary, or one-vs-one macro)."""
    from sklearn.metrics import roc_auc_score

    present = np.unique(y)
    if len(present) < 2:
        return float("nan")
    p = proba[:, present]
    p = p / np.clip(p.sum(1, keepdims=True), 1e-12, None)
    if len(present) == 2:
        return float(roc_auc_score(y == present[1], p[:, 1]))
    return float(roc_auc_score(y, p, multi_class="ovo", labels=present))


def _task(config: BankConfig, index: int, attempt: int = 0):
    """Task ``index`` of the bank: (X_train, y_train, X_test, y_test) as numpy, labels 0..C-1.
    ``attempt`` > 0 draws a replacement task (for a task the filter rejected)."""
    from automl_hyper.priors import PriorConfig, sample_batch

    prior = PriorConfig(
        max_features=config.max_features,
        max_classes=config.max_classes,
        min_rows=config.min_rows,
        max_rows=config.max_rows,
        mlp_width=max(64, config.max_features + 1),
        **config.prior,
    )
    batch = sample_batch(prior, 1, seed=config.seed * 1_000_003 + index + attempt * 7_777_777)
    nf = int(batch.n_features[0])
    X = batch.X[0, :, :nf].numpy().astype(np.float64)
    y = batch.y[0].numpy()
    # relabel to the classes that occur, so every class has rows
    _, y = np.unique(y, return_inverse=True)
    s = batch.split
    return X[:s], y[:s], X[s:], y[s:]


def _reference_aucs(Xtr: np.ndarray, ytr: np.ndarray) -> tuple[float, float]:
    """(logistic, gradient boosting) AUC on a 30 % holdout of the *training* rows: how learnable
    the task is and how much a non-linear model gains. The test rows are not looked at."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    if len(np.unique(ytr)) < 2 or np.bincount(ytr).min() < 2:
        return float("nan"), float("nan")
    a, b, ya, yb = train_test_split(Xtr, ytr, test_size=0.3, random_state=0, stratify=ytr)
    if len(np.unique(ya)) < len(np.unique(ytr)):
        return float("nan"), float("nan")
    linear = LogisticRegression(max_iter=500).fit(a, ya)
    boosted = HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(a, ya)
    return _held_out_auc(linear.predict_proba(b), yb), _held_out_auc(boosted.predict_proba(b), yb)


def _kept_task(config: BankConfig, index: int, max_attempts: int = 30):
    """The first draw for slot ``index`` that passes ``config.task_filter`` (every draw when the
    filter is empty): (X_train, y_train, X_test, y_test, info). Why: most prior tasks are either
    near-random or linear, so every architecture scores alike and a bank's within-task labels
    are mostly noise; the filter keeps tasks where capacity (non-linearity) pays."""
    f = config.task_filter
    for attempt in range(max_attempts):
        Xtr, ytr, Xte, yte = _task(config, index, attempt)
        if not f:
            return Xtr, ytr, Xte, yte, {}
        linear, boosted = _reference_aucs(Xtr, ytr)
        info = {"task_attempt": attempt, "reference_linear_auc": linear}
        info["reference_boosted_auc"] = boosted
        if boosted >= f.get("min_reference_auc", 0.0) and (
            boosted - linear >= f.get("min_nonlinear_gap", -1.0)
        ):
            return Xtr, ytr, Xte, yte, info
    raise RuntimeError(f"no task for slot {index} passed {f} in {max_attempts} draws")


# -- mothernet ----------------------------------------------------------------------------------------
def _mothernet_children(config: BankConfig, index: int, Xtr, ytr, Xte, yte):
    from automl_hyper.models.mothernet import MotherNetClassifier
    from automl_hyper.models.mothernet.child import combine, softmax
    from automl_hyper.weightspace.specs import member_arrays, member_space

    rows, arrays = [], {}
    for v, (name, n_est, transform, ft) in enumerate(config.variants):
        clf = MotherNetClassifier(
            n_estimators=int(n_est),
            input_transform=str(transform),
            finetune_steps=int(ft),
            random_state=config.seed * 7919 + index * 31 + v,
        ).fit(Xtr, ytr)
        child = clf.export_child()
        Xp = child.preprocessor.transform(Xte)
        n_classes = len(child.classes_)
        labels = np.searchsorted(child.classes_, yte)
        ensemble = _held_out_auc(child.predict_proba_arrays(Xp), labels)
        for i, m in enumerate(child.members):
            logits = m.logits(m.inputs(Xp, child.clip)).astype(np.float64)
            proba = combine([softmax(logits / child.temperature)], [m], n_classes)
            cid = f"t{index:05d}_v{v}_m{i}"
            space = member_space(m, permute_io=True)
            for k, a in member_arrays(m).items():
                arrays[f"{cid}/{k}"] = a.float()
            rows.append(
                {
                    "child": cid,
                    "variant": name,
                    "member": i,
                    "transform": type(m.transform).__name__ if m.transform is not None else "none",
                    "finetune_steps": int(ft),
                    "score": _held_out_auc(proba, labels),
                    "ensemble_score": ensemble,
                    "space": space_to_json(space),
                }
            )
    return rows, arrays


# -- smash --------------------------------------------------------------------------------------------
@dataclass
class _TrainingData:
    """One smash task's tensors: the fit/validation split of the training rows and the test rows."""

    n_classes: int
    nf: int
    val: np.ndarray
    Xf: torch.Tensor
    yf: torch.Tensor
    Xv: torch.Tensor
    yv: torch.Tensor
    Xt: torch.Tensor
    yte: np.ndarray

    @classmethod
    def of(cls, index: int, Xtr, ytr, Xte, yte) -> _TrainingData:
        from automl_hyper.models.smash.training import holdout_split

        fit, val = holdout_split(ytr, "classification", 0.2, seed=index)
        return cls(
            n_classes=int(max(ytr.max(), yte.max())) + 1,
            nf=Xtr.shape[1],
            val=val,
            Xf=torch.from_numpy(Xtr[fit]).float(),
            yf=torch.from_numpy(ytr[fit]).long(),
            Xv=torch.from_numpy(Xtr[val]).float(),
            yv=torch.from_numpy(ytr[val]).long(),
            Xt=torch.from_numpy(Xte).float(),
            yte=yte,
        )


def _auc_of(out: torch.Tensor, y: np.ndarray) -> float:
    return _held_out_auc(torch.softmax(out.double(), dim=1).numpy(), y)


def _real_score(config: BankConfig, data: _TrainingData, spec, train_rng) -> float:
    """Held-out AUC of ``spec`` after ordinary training (initialised from torch's global stream)."""
    from automl_hyper.models.smash.network import ArchNet
    from automl_hyper.models.smash.training import train_network

    net = ArchNet(spec, data.nf, data.n_classes)
    train_network(
        net,
        data.Xf,
        data.yf,
        data.Xv,
        data.yv,
        "classification",
        rng=train_rng,
        learning_rate=config.real_lr,
        weight_decay=config.real_weight_decay,
        max_epochs=config.real_epochs,
        patience=config.real_patience,
        batch_size=64,
    )
    with torch.no_grad():
        return _auc_of(net(data.Xt), data.yte)


def _extra_training(config: BankConfig, data: _TrainingData, index: int, j: int, spec, r: int):
    """Training ``r`` >= 1 of architecture ``j``: its own streams (inside fork_rng, so nothing
    else shifts), a function of (seed, task, architecture, r) alone; hence training r is the
    same whether the bank was built with it or extended to it later (``_extend_task``)."""
    stream = ((config.seed * 7919 + index) * 1009 + j) * 101 + r
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(stream)
        return _real_score(config, data, spec, np.random.default_rng(stream))


def _trainings_of(rows: list[dict]) -> int:
    """How many trainings a built task's labels hold (a one-seed row has no score_seed columns)."""
    return sum(1 for k in rows[0] if k.startswith("score_seed")) or 1


def _extend_task(config: BankConfig, index: int, rows: list[dict]) -> list[dict]:
    """Add trainings to a built smash task up to ``config.real_seeds``: the architectures are read
    from the rows (not re-sampled), so this works for banks of either procedure."""
    from automl_hyper.models.smash import ArchSpec

    have = _trainings_of(rows)
    Xtr, ytr, Xte, yte, _ = _kept_task(config, index)
    data = _TrainingData.of(index, Xtr, ytr, Xte, yte)
    out = []
    for j, row in enumerate(rows):
        assert row["child"] == f"t{index:05d}_a{j:03d}", row["child"]
        spec = ArchSpec.from_json(row["arch"])
        reals = [row[f"score_seed{r}"] for r in range(have)] if have > 1 else [row["score"]]
        reals += [
            _extra_training(config, data, index, j, spec, r) for r in range(have, config.real_seeds)
        ]
        row = {k: v for k, v in row.items() if not k.startswith("score_seed")}
        # same keys and order as a bank built with these trainings from the start
        new = {}
        for k, v in row.items():
            new[k] = float(np.mean(reals)) if k == "score" else v
            if k == "score":
                new.update({f"score_seed{r}": v for r, v in enumerate(reals)})
        out.append(new)
    return out


def _smash_children(config: BankConfig, index: int, Xtr, ytr, Xte, yte):
    from automl_hyper.models.smash import SearchSpace
    from automl_hyper.models.smash.hypernet import WeightGenerator, train_hypernet
    from automl_hyper.models.smash.network import forward
    from automl_hyper.weightspace.specs import arch_arrays, arch_space

    task = "classification"
    rng = np.random.default_rng(config.seed * 7919 + index)
    torch.manual_seed(config.seed * 7919 + index)
    data = _TrainingData.of(index, Xtr, ytr, Xte, yte)
    n_classes, nf, val = data.n_classes, data.nf, data.val
    Xf, yf, Xv = data.Xf, data.yf, data.Xv
    space = SearchSpace(
        max_depth=config.max_depth,
        widths=tuple(config.widths),
        activations=tuple(config.activations),
        norms=tuple(config.norms),
        patterns=tuple(config.patterns),
    )
    gen = WeightGenerator(space, nf, n_classes, hidden=64, rank=4)
    train_hypernet(
        gen,
        Xf,
        yf,
        task,
        rng=rng,
        time_budget=config.hyper_seconds,
        max_epochs=config.hyper_epochs,
        batch_size=64,
        learning_rate=1e-2,
    )
    if config.procedure >= 2:
        # the hypernetwork stopped after a load-dependent number of minibatches: what follows
        # (architectures, initialisations, batch orders) must not depend on how many it ran
        rng = np.random.default_rng([config.seed, index, 2])
        torch.manual_seed(int(rng.integers(2**62)))
    specs = []
    for _ in range(50 * config.n_archs):
        spec = space.sample(rng)
        if spec not in specs:
            specs.append(spec)
        if len(specs) == config.n_archs:
            break

    rows, arrays = [], {}
    for j, spec in enumerate(specs):
        with torch.no_grad():
            params = gen(spec)
            proxy = _auc_of(forward(spec, params, Xv), ytr[val])
            generated = _auc_of(forward(spec, params, data.Xt), yte)
        # seed 0 continues the task's shared streams (as a one-seed bank does); later seeds get
        # their own (_extra_training), so they can also be added to a built bank later
        reals = [_real_score(config, data, spec, rng)]
        reals += [
            _extra_training(config, data, index, j, spec, r) for r in range(1, config.real_seeds)
        ]
        real = float(np.mean(reals))
        cid = f"t{index:05d}_a{j:03d}"
        for k, a in arch_arrays(spec, params, nf).items():
            arrays[f"{cid}/{k}"] = a.float()
        rows.append(
            {
                "child": cid,
                "arch": spec.to_json(),
                "summary": spec.describe(),
                "depth": spec.depth,
                "n_params": spec.n_params(nf, n_classes),
                "proxy_score": proxy,
                "generated_score": generated,
                "score": real,
                **({f"score_seed{r}": v for r, v in enumerate(reals)} if len(reals) > 1 else {}),
                "space": space_to_json(arch_space(spec, nf, n_classes, permute_io=True)),
            }
        )
    return rows, arrays


# -- building ---------------------------------------------------------------------------------------
def build(
    out: str | Path,
    config: BankConfig,
    n_tasks: int,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Build (or resume building) a bank of ``n_tasks`` tasks in ``out``; returns the table."""
    from safetensors.torch import save_file
    from tqdm.auto import tqdm

    from automl_hyper.models.torch_utils import torch_threads

    config.check()
    out = Path(out)
    (out / "tasks").mkdir(parents=True, exist_ok=True)
    meta_path = out / "collection.json"
    settings = asdict(config)
    if meta_path.exists():
        recorded = json.loads(meta_path.read_text())["config"]
        # a bank goes on with the procedure it was started with (recorded before there was a
        # choice: 1), whatever this code's default
        config = replace(config, procedure=recorded.setdefault("procedure", 1))
        settings = asdict(config)
        # a bank recorded before a field existed was built with that field's default
        recorded = {**json.loads(json.dumps(asdict(BankConfig(family=config.family)))), **recorded}
        # more trainings per architecture than recorded extend the built tasks' labels
        more = config.family == "smash" and config.real_seeds > recorded["real_seeds"]
        if {**recorded, "real_seeds": settings["real_seeds"]} != json.loads(
            json.dumps(settings)
        ) or (config.real_seeds < recorded["real_seeds"]):
            raise ValueError(
                f"{out} holds a bank built with other settings ({recorded}); use another --out "
                "or the same settings to resume (smash: --real-seeds may grow, to extend it)"
            )
        if more:
            _atomic_write(
                meta_path, lambda p: p.write_text(json.dumps({"config": settings}, indent=1))
            )
    else:
        _atomic_write(meta_path, lambda p: p.write_text(json.dumps({"config": settings}, indent=1)))
    make = _mothernet_children if config.family == "mothernet" else _smash_children
    todo = [t for t in range(n_tasks) if not (out / "tasks" / f"t{t:05d}.json").exists()]
    if log is not None and len(todo) < n_tasks:
        log(f"resuming: {n_tasks - len(todo)} of {n_tasks} tasks already built in {out}")
    done = sorted(int(p.stem[1:]) for p in (out / "tasks").glob("t*.json"))
    short = [
        t
        for t in done
        if config.family == "smash" and _trainings_of(_rows(out, t)) < config.real_seeds
    ]
    with torch_threads(1):
        bar = tqdm(short, desc="more trainings", unit="task", disable=not progress or not short)
        for t in bar:
            start = time.perf_counter()
            rows = _extend_task(config, t, _rows(out, t))
            seconds = time.perf_counter() - start
            for r in rows:
                r["extend_seconds"] = r.get("extend_seconds", 0.0) + seconds
            path = out / "tasks" / f"t{t:05d}.json"
            _atomic_write(path, lambda p, r=rows: p.write_text(json.dumps(r)))
        if short:
            _write_table(out)
            if log is not None:
                log(f"extended {len(short)} tasks to {config.real_seeds} trainings in {out}")
    bar = tqdm(todo, desc=f"{config.family} bank", unit="task", disable=not progress)
    with torch_threads(1):
        for t in bar:
            start = time.perf_counter()
            Xtr, ytr, Xte, yte, info = _kept_task(config, t)
            rows, arrays = make(config, t, Xtr, ytr, Xte, yte)
            seconds = time.perf_counter() - start
            for r in rows:
                r.update(
                    task=t,
                    family=config.family,
                    n_train=len(ytr),
                    n_test=len(yte),
                    n_features=Xtr.shape[1],
                    n_classes=int(max(ytr.max(), yte.max())) + 1,
                    task_seconds=seconds,
                    **info,
                )
            stem = out / "tasks" / f"t{t:05d}"
            _atomic_write(
                stem.with_suffix(".safetensors"),
                lambda p, a=arrays: save_file({k: v.contiguous() for k, v in a.items()}, str(p)),
            )
            _atomic_write(stem.with_suffix(".json"), lambda p, r=rows: p.write_text(json.dumps(r)))
            table = _write_table(out)
            bar.set_postfix(children=len(table))
    return _write_table(out)


def _rows(out: Path, task: int) -> list[dict]:
    return json.loads((out / "tasks" / f"t{task:05d}.json").read_text())


def _write_table(out: Path) -> pd.DataFrame:
    rows = []
    for path in sorted((out / "tasks").glob("t*.json")):
        rows.extend(json.loads(path.read_text()))
    table = pd.DataFrame(rows)
    _atomic_write(out / TABLE, lambda p: table.to_csv(p, index=False))
    return table


# -- reading ----------------------------------------------------------------------------------------
@dataclass
class Child:
    """One child of a bank: its weight space, weights (float64, natural shapes) and table row."""

    space: WeightSpace
    arrays: dict[str, torch.Tensor]
    row: dict


class ChildCollection:
    """A built bank, read back: ``len``, indexing, the table, and the children of each task."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        path = self.directory / TABLE
        if not path.exists():
            raise FileNotFoundError(f"no {TABLE} in {self.directory}: build it with `unf build`")
        self.table = pd.read_csv(path)
        self.config = json.loads((self.directory / "collection.json").read_text())["config"]
        self._files: dict[int, dict] = {}

    def __len__(self) -> int:
        return len(self.table)

    def _weights(self, task: int) -> dict:
        from safetensors.torch import load_file

        if task not in self._files:
            self._files = {
                task: load_file(str(self.directory / "tasks" / f"t{task:05d}.safetensors"))
            }
        return self._files[task]

    def __getitem__(self, i: int) -> Child:
        row = self.table.iloc[int(i)].to_dict()
        space = space_from_json(row["space"])
        weights = self._weights(int(row["task"]))
        arrays = {n: weights[f"{row['child']}/{n}"].double() for n in space.names}
        return Child(space, arrays, row)

    def children(self) -> list[Child]:
        order = self.table.sort_values(["task"]).index
        return [self[i] for i in order]
