"""A weight space: named tensors whose axes carry permutation symbols.

Every axis of every tensor is tagged with a symbol. Axes with the same symbol are permuted by the
same permutation (a hidden layer's units: the rows of the weight that writes them, the entries of
their bias, the columns of every weight that reads them). Symbols listed in ``fixed`` are never
permuted (input features and output classes, by default): the network treats such an axis as a
dense channel-like index (see :mod:`automl_hyper.weightspace.basis`), so its size must be the same
for every weight space a model is built for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass(frozen=True)
class TensorSpec:
    """One tensor of the weight space: its name, shape, and one symbol per axis."""

    name: str
    shape: tuple[int, ...]
    symbols: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        object.__setattr__(self, "symbols", tuple(str(s) for s in self.symbols))
        if len(self.shape) != len(self.symbols):
            raise ValueError(
                f"tensor {self.name!r}: {len(self.shape)} axes but {len(self.symbols)} symbols"
            )
        if "." in self.name:
            # names become torch parameter keys, which may not contain dots
            raise ValueError(f"tensor name {self.name!r} may not contain '.'")


@dataclass(frozen=True)
class WeightSpace:
    """An ordered collection of tensors sharing permutation symbols."""

    tensors: tuple[TensorSpec, ...]
    fixed: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tensors", tuple(self.tensors))
        object.__setattr__(self, "fixed", frozenset(self.fixed))
        names = [t.name for t in self.tensors]
        if len(set(names)) != len(names):
            raise ValueError(f"tensor names must be unique, got {names}")
        self.sizes  # noqa: B018 -- raises on inconsistent sizes

    # -- structure ----------------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tensors)

    def __getitem__(self, name: str) -> TensorSpec:
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def sizes(self) -> dict[str, int]:
        """Size of every symbol; the same symbol must have the same size on every axis."""
        sizes: dict[str, int] = {}
        for t in self.tensors:
            for n, s in zip(t.shape, t.symbols):
                if sizes.setdefault(s, n) != n:
                    raise ValueError(
                        f"symbol {s!r} has size {sizes[s]} and {n} (tensor {t.name!r})"
                    )
        return sizes

    @property
    def permuted_symbols(self) -> tuple[str, ...]:
        seen = dict.fromkeys(s for t in self.tensors for s in t.symbols if s not in self.fixed)
        return tuple(seen)

    def signature(self) -> tuple:
        """Hashable identity of the structure (names, symbols, fixed sizes) without the sizes of
        permuted axes: two children with the same signature can share every network parameter."""
        sizes = self.sizes
        fixed = tuple(sorted((s, sizes[s]) for s in self.fixed if s in sizes))
        return (tuple((t.name, t.symbols) for t in self.tensors), fixed)

    def shape_key(self) -> tuple:
        """Hashable identity including every size: children with equal keys batch together."""
        return (self.signature(), tuple(t.shape for t in self.tensors))

    # -- the group action ---------------------------------------------------------------------
    def random_permutations(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """One random permutation per permuted symbol."""
        sizes = self.sizes
        return {s: rng.permutation(sizes[s]) for s in self.permuted_symbols}

    def permute(
        self, arrays: Mapping[str, torch.Tensor], perms: Mapping[str, Sequence[int]], lead: int = 0
    ) -> dict[str, torch.Tensor]:
        """Apply the permutations to every tensor (``lead`` leading batch/channel axes skipped)."""
        out = {}
        for t in self.tensors:
            x = arrays[t.name]
            for axis, s in enumerate(t.symbols):
                if s in perms:
                    idx = torch.as_tensor(np.asarray(perms[s]), dtype=torch.long, device=x.device)
                    x = x.index_select(lead + axis, idx)
            out[t.name] = x
        return out

    # -- layout used by the networks ----------------------------------------------------------
    def fold(self, name: str) -> int:
        """How many channels a tensor's fixed axes contribute (1 when it has none)."""
        t = self[name]
        return int(np.prod([n for n, s in zip(t.shape, t.symbols) if s in self.fixed] or [1]))

    def to_internal(self, arrays: Mapping[str, torch.Tensor], channels: bool = False) -> dict:
        """(B, [C,] *shape) tensors -> (B, C * fold, *permuted axes): fixed axes join the channels."""
        out = {}
        for t in self.tensors:
            x = arrays[t.name]
            if not channels:
                x = x.unsqueeze(1)
            fixed_axes = [2 + a for a, s in enumerate(t.symbols) if s in self.fixed]
            perm_axes = [2 + a for a, s in enumerate(t.symbols) if s not in self.fixed]
            x = x.permute(0, 1, *fixed_axes, *perm_axes)
            perm_sizes = [t.shape[a - 2] for a in perm_axes]
            out[t.name] = x.reshape(x.shape[0], -1, *perm_sizes)
        return out

    def from_internal(self, arrays: Mapping[str, torch.Tensor]) -> dict:
        """Inverse of :meth:`to_internal` with channels kept: (B, C * fold, *perm) -> (B, C, *shape)."""
        out = {}
        for t in self.tensors:
            x = arrays[t.name]
            fixed_axes = [a for a, s in enumerate(t.symbols) if s in self.fixed]
            perm_axes = [a for a, s in enumerate(t.symbols) if s not in self.fixed]
            fixed_sizes = [t.shape[a] for a in fixed_axes]
            x = x.reshape(x.shape[0], -1, *fixed_sizes, *[t.shape[a] for a in perm_axes])
            order = fixed_axes + perm_axes  # position of each natural axis in x (after B, C)
            inverse = [2 + order.index(a) for a in range(len(t.shape))]
            out[t.name] = x.permute(0, 1, *inverse)
        return out
