"""The container a prior returns."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class TaskBatch:
    """``B`` synthetic tasks of ``N`` rows each; rows ``[:split]`` train, ``[split:]`` test."""

    X: torch.Tensor  # (B, N, F_max) float32, zero beyond each task's n_features
    y: torch.Tensor  # (B, N) int64 in 0..n_classes-1
    n_features: torch.Tensor  # (B,) int64
    n_classes: torch.Tensor  # (B,) int64
    split: int

    def to(self, device: torch.device | str) -> TaskBatch:
        return TaskBatch(
            self.X.to(device),
            self.y.to(device),
            self.n_features.to(device),
            self.n_classes.to(device),
            self.split,
        )

    @property
    def batch_size(self) -> int:
        return int(self.X.shape[0])
