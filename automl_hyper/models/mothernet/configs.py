"""Named pretraining configurations: model size, prior and optimisation together."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field

from automl_hyper.models.mothernet.model import ModelConfig
from automl_hyper.priors import PriorConfig


@dataclass(frozen=True)
class TrainConfig:
    batch_size: int = 16
    accumulation: int = 1
    lr: float = 6e-4
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.01
    warmup_steps: int = 300
    # Length of the cosine schedule in optimizer steps (the run may stop earlier on --minutes).
    total_steps: int = 30000
    grad_clip: float = 1.0


REAL_ENCODINGS = ("onehot", "mixed")


@dataclass(frozen=True)
class RealDataConfig:
    """Tasks cut from real datasets (``real_tasks.py``): ``share`` of the steps draw their batch
    from the datasets ``names`` in ``folder`` instead of the prior. Empty: the prior alone.
    ``encoding``: the categoricals of a task, "onehot" or "mixed" (one-hot or ordinal per task)."""

    folder: str = ""
    names: tuple[str, ...] = ()
    share: float = 0.0
    encoding: str = "onehot"  # runs recorded before the option: one-hot

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(self.names))  # JSON gives a list
        if not 0.0 <= self.share <= 1.0:
            raise ValueError(f"real-data share must be in [0, 1], got {self.share}")
        if self.encoding not in REAL_ENCODINGS:
            raise ValueError(
                f"real-data encoding must be one of {REAL_ENCODINGS}, got {self.encoding!r}"
            )
        if self.share > 0 and not (self.folder and self.names):
            raise ValueError("a real-data share needs a folder and dataset names")


def recorded_real_share(config: dict) -> float:
    """The share of a run's steps that drew real-data tasks, from its recorded ``config.json``
    (0 for runs on the prior alone, and for runs recorded before real data existed)."""
    return float((config.get("real") or {}).get("share", 0.0))


@dataclass(frozen=True)
class PretrainConfig:
    name: str
    model: ModelConfig = field(default_factory=ModelConfig)
    prior: PriorConfig = field(default_factory=PriorConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    real: RealDataConfig = field(default_factory=RealDataConfig)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> PretrainConfig:
        return cls(
            name=d["name"],
            model=ModelConfig(**d["model"]),
            prior=PriorConfig(**d["prior"]),
            train=TrainConfig(**d["train"]),
            real=RealDataConfig(**d.get("real", {})),  # runs before real data: none
        )


# Continuing from trained weights on the CPU: short warm-up, peak LR a sixth of a fresh run's.
_CPU_CONTINUE = TrainConfig(lr=1e-4, min_lr_ratio=0.1, warmup_steps=100, total_steps=20000)
PRIOR_V2 = PriorConfig(
    gp_fraction=0.2,
    tree_fraction=0.3,
    boolean_fraction=0.12,
    lowdim_fraction=0.08,
    onehot_probability=0.3,
    binary_fraction=0.4,
    max_imbalance=3.0,
)

# The shipped architecture grown (grow.py): 2 more encoder layers, a decoder twice as wide.
_LARGE_MODEL = ModelConfig(n_layers=6, decoder_hidden=1024)

CONFIGS: dict[str, PretrainConfig] = {
    # ~3.6M parameters: the size the 2-core CPU budget can train in a few hours.
    "small": PretrainConfig("small"),
    # For tests and smoke runs: seconds per hundred steps.
    "tiny": PretrainConfig(
        "tiny",
        model=ModelConfig(
            embed_dim=32,
            n_layers=1,
            n_heads=2,
            ff_dim=64,
            decoder_hidden=64,
            child_hidden=64,
            rank=8,
        ),
        prior=PriorConfig(min_rows=32, max_rows=64),
        train=TrainConfig(batch_size=4, warmup_steps=5, total_steps=200, lr=1e-3),
    ),
    # The shipped architecture continued on a lent GPU (``--init-from mothernet-small``): the same
    # 3.1M-parameter model, so CPU inference speed is unchanged, fed 16x larger batches of tasks
    # with up to 1024 rows (the estimator generates from up to 1024 training rows). Peak LR is
    # below the CPU run's 6e-4 because training starts from converged-ish weights.
    "small-gpu": PretrainConfig(
        "small-gpu",
        prior=PriorConfig(max_rows=1024),
        train=TrainConfig(
            batch_size=256, lr=3e-4, min_lr_ratio=0.05, warmup_steps=200, total_steps=6000
        ),
    ),
    # Continued pretraining of the shipped weights on this CPU (``--init-from mothernet-small``):
    # the shipped architecture, a low peak LR for trained weights, the v1 prior. The control arm
    # of the prior v2 ablations (continued training alone changes the score too).
    "small-cont": PretrainConfig("small-cont", train=_CPU_CONTINUE),
    # Prior v2 (issue 13): the v1 MLP/SCM and GP priors mixed with a tree SCM, boolean/discrete
    # tasks with one-hot columns, low-dimensional curved boundaries; more multi-class and more
    # imbalanced tasks. Same training settings as small-cont, its control.
    "small-v2": PretrainConfig("small-v2", prior=PRIOR_V2, train=_CPU_CONTINUE),
    # Ablation arm: only the tree SCM added to the v1 prior.
    "small-v2-tree": PretrainConfig(
        "small-v2-tree", prior=PriorConfig(tree_fraction=0.3), train=_CPU_CONTINUE
    ),
    # For a lent GPU, grown from the shipped weights (``--init-from mothernet-small``: grow.py
    # appends 2 identity encoder layers and doubles the decoder's width, so training starts at
    # the shipped model's function). The largest size whose CPU fit+predict stays under 0.5 s
    # for 1,000 rows with default members on one thread, with margin (0.27-0.42 s; emb 160 or
    # 192 reach 0.49-0.50 s): benchmarks/results/mothernet_config_cost.md. 6.6M parameters,
    # 13.3 MB in fp16. Prior v2 with up to 1,024 rows, as the estimator generates from.
    "large-v2": PretrainConfig(
        "large-v2",
        model=_LARGE_MODEL,
        prior=dataclasses.replace(PRIOR_V2, max_rows=1024),
        train=TrainConfig(
            batch_size=512, lr=3e-4, min_lr_ratio=0.05, warmup_steps=100, total_steps=6000
        ),
    ),
    # The same grown model and prior on this CPU (continuation settings): whether the added
    # capacity pays at CPU-scale task counts, and a way to continue large-v2 weights here.
    "large-v2-cpu": PretrainConfig(
        "large-v2-cpu",
        model=_LARGE_MODEL,
        prior=PRIOR_V2,
        train=_CPU_CONTINUE,
    ),
    # For a lent GPU and a run from scratch: a wider model, bigger batches, longer schedule.
    "gpu": PretrainConfig(
        "gpu",
        model=ModelConfig(embed_dim=256, n_layers=6, n_heads=8, ff_dim=512, decoder_hidden=1024),
        prior=PriorConfig(max_rows=1024),
        train=TrainConfig(batch_size=64, lr=3e-4, warmup_steps=1000, total_steps=100000),
    ),
}


def get_config(name: str) -> PretrainConfig:
    try:
        return CONFIGS[name]
    except KeyError:
        raise KeyError(
            f"unknown pretraining config {name!r}; known: {', '.join(CONFIGS)}"
        ) from None
