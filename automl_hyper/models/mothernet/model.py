"""MotherNet: a transformer reads a training set and writes the weights of a small MLP.

Encoder: each training row's padded features go through one linear layer (scaled so that tasks with
few features are not drowned by padding zeros) and get its label's embedding added; a transformer
runs over the training rows only. Pooling: the mean row representation of every class.
Decoder: from the dataset vector (mean row, mean of class means) an MLP writes the first layer as
a learned shared matrix plus a generated (features x rank) factor times a learned shared
(rank x hidden) basis. One small MLP shared by all classes turns each class's mean (with its
frequency and the dataset context) into that class's output column (rank numbers, times a learned
(hidden x rank) basis) and bias, so relabelling the classes permutes the outputs exactly. The
decoder emits ~3.7k numbers per task instead of the child's ~56k.

Child: 100 -> 512 -> 10 with ReLU. The width follows the reference child (512 hidden units); one
hidden layer keeps the generated part small, makes the exported numpy model trivial, and is what a
CPU-trained hypernetwork can learn to fill in; fine-tuning then trains the full-rank matrices.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class ModelConfig:
    max_features: int = 100
    max_classes: int = 10
    embed_dim: int = 128
    n_layers: int = 4
    n_heads: int = 4
    ff_dim: int = 256
    decoder_hidden: int = 512
    child_hidden: int = 512
    rank: int = 32

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ChildWeights:
    """Full child parameters for each task of a batch: logits = relu(x W1 + b1) W2 + b2."""

    W1: torch.Tensor  # (B, F_max, H)
    b1: torch.Tensor  # (B, H)
    W2: torch.Tensor  # (B, H, C_max)
    b2: torch.Tensor  # (B, C_max)

    def select(self, i: int) -> ChildWeights:
        return ChildWeights(
            self.W1[i : i + 1], self.b1[i : i + 1], self.W2[i : i + 1], self.b2[i : i + 1]
        )


def child_logits(w: ChildWeights, X: torch.Tensor) -> torch.Tensor:
    """(B, N, F_max) -> (B, N, C_max) logits of the child MLP, for gradients only.

    The torch twin of ``child.Member.logits``, which serves every prediction: this one is used
    where gradients flow (the pretraining loss, fine-tuning a generated child). A test holds the
    two equal; change both or neither.
    """
    hidden = torch.relu(torch.bmm(X, w.W1) + w.b1[:, None, :])
    return torch.bmm(hidden, w.W2) + w.b2[:, None, :]


class MotherNet(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        c = self.config = config
        self.feature_embed = nn.Linear(c.max_features, c.embed_dim)
        self.label_embed = nn.Embedding(c.max_classes, c.embed_dim)
        layer = nn.TransformerEncoderLayer(
            c.embed_dim,
            c.n_heads,
            c.ff_dim,
            dropout=0.0,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, c.n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(c.embed_dim)
        F, H, r, D = c.max_features, c.child_hidden, c.rank, c.decoder_hidden
        # Dataset-level decoder: mean row and mean class representation -> first layer.
        self.decoder = nn.Sequential(
            nn.Linear(2 * c.embed_dim, D),
            nn.GELU(),
            nn.Linear(D, D),
            nn.GELU(),
        )
        self.first_layer_head = nn.Linear(D, F * r + H)
        # Class-level decoder, shared by all classes (so relabelling classes permutes the
        # outputs exactly): a class's mean representation, its frequency and the dataset context
        # -> that class's output column and bias.
        self.class_head = nn.Sequential(
            nn.Linear(c.embed_dim + D + 1, D // 2),
            nn.GELU(),
            nn.Linear(D // 2, r + 1),
        )
        # Shared bases: what every generated child has in common, learned across all tasks.
        self.basis1 = nn.Parameter(torch.randn(r, H) / math.sqrt(r))
        self.basis2 = nn.Parameter(torch.randn(H, r) / math.sqrt(H))
        # A shared first layer that the generated low-rank term is added to. Without it every
        # child starts near zero in both layers, a saddle point where each layer's gradient
        # vanishes with the other's weights and pretraining stalls on predicting class priors.
        self.child_W1 = nn.Parameter(torch.randn(F, H) * math.sqrt(2.0 / F))
        with torch.no_grad():
            self.first_layer_head.weight.mul_(0.1)
            self.first_layer_head.bias.zero_()

    def pool(
        self, X_train: torch.Tensor, y_train: torch.Tensor, n_features: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-class mean row representations (B, C, E), class frequencies (B, C) and the
        dataset vector (B, 2E) from training rows (B, n, F_max) and labels (B, n)."""
        c = self.config
        h = self.feature_embed(X_train * self.feature_scale(n_features)[:, None, None])
        h = h + self.label_embed(y_train)
        h = self.norm(self.encoder(h))
        onehot = nn.functional.one_hot(y_train, c.max_classes).to(h.dtype)  # (B, n, C)
        counts = onehot.sum(1)  # (B, C)
        class_means = torch.bmm(onehot.transpose(1, 2), h) / counts.clamp(min=1)[..., None]
        present = (counts > 0).to(h.dtype)
        mean_of_classes = (class_means * present[..., None]).sum(1) / present.sum(1, keepdim=True)
        dataset = torch.cat([h.mean(1), mean_of_classes], dim=1)
        return class_means, counts / counts.sum(1, keepdim=True), dataset

    def feature_scale(self, n_features: torch.Tensor) -> torch.Tensor:
        # sqrt(F_max / F) keeps a linear layer's output variance independent of how many of the
        # F_max inputs are padding zeros (TabPFN scales by F_max / F; sqrt is variance-preserving).
        return torch.sqrt(self.config.max_features / n_features.clamp(min=1).float())

    def generate(
        self,
        X_train: torch.Tensor,
        y_train: torch.Tensor,
        n_features: torch.Tensor,
        compute_dtype: torch.dtype | None = None,
    ) -> ChildWeights:
        """The child weights (float32) of each task of a batch. ``compute_dtype``
        (``torch.bfloat16``): the encoder over the training rows, nearly all of the cost, runs
        under autocast in that dtype (autocast decides per op which run in it); the pooled
        vectors are cast back, so the decoder and the child weights stay float32. None: float32
        throughout."""
        c = self.config
        if compute_dtype is None:
            class_means, freq, dataset = self.pool(X_train, y_train, n_features)
        else:
            with torch.autocast(X_train.device.type, dtype=compute_dtype):
                class_means, freq, dataset = self.pool(X_train, y_train, n_features)
            class_means, freq, dataset = class_means.float(), freq.float(), dataset.float()
        context = self.decoder(dataset)  # (B, D)
        B = context.shape[0]
        G1, b1 = torch.split(
            self.first_layer_head(context), [c.max_features * c.rank, c.child_hidden], 1
        )
        G1 = G1.reshape(B, c.max_features, c.rank)
        per_class = torch.cat(
            [
                class_means,
                context[:, None, :].expand(B, c.max_classes, -1),
                torch.log(freq + 1e-3)[..., None],
            ],
            dim=2,
        )
        out = self.class_head(per_class)  # (B, C, r + 1)
        G2, b2 = out[..., :-1].transpose(1, 2), out[..., -1]
        # The child sees unscaled inputs; the padding compensation is folded into W1.
        scale = self.feature_scale(n_features)[:, None, None]
        W1 = (self.child_W1 + torch.matmul(G1, self.basis1)) * scale  # (B, F, H)
        W2 = torch.matmul(self.basis2, G2)  # (B, H, C)
        return ChildWeights(W1.float(), b1.float(), W2.float(), b2.float())

    def forward(
        self, X: torch.Tensor, y: torch.Tensor, split: int, n_features: torch.Tensor
    ) -> torch.Tensor:
        """Logits (B, N - split, C_max) of each task's generated child on its test rows."""
        weights = self.generate(X[:, :split], y[:, :split], n_features)
        return child_logits(weights, X[:, split:].float())


def class_mask_logits(logits: torch.Tensor, n_classes: torch.Tensor) -> torch.Tensor:
    """Push logits of classes a task does not have to a large negative value."""
    cls = torch.arange(logits.shape[-1], device=logits.device)
    absent = cls[None, None, :] >= n_classes[:, None, None]
    return logits.masked_fill(absent, -1e4)


def task_loss(model: MotherNet, batch) -> torch.Tensor:
    """Mean cross-entropy of the generated children on the test rows of each task."""
    logits = class_mask_logits(
        model(batch.X, batch.y, batch.split, batch.n_features), batch.n_classes
    )
    target = batch.y[:, batch.split :]
    return nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(), target.reshape(-1)
    )
