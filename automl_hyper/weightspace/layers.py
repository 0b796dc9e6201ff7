"""Equivariant layers, invariant pooling and the UNF network.

A layer holds one ``c_out x c_in`` weight per (output tensor, input tensor, basis map) of every
weight space it was built for. Parameters are keyed by tensor *names* and the partition, so the
same network reads any weight space whose tensors are drawn from the names it knows (SMASH
architectures of different depth and connectivity share every parameter they have in common).

Speed: maps into one output tensor that end in the same output pattern (same kept/broadcast
layout) are stacked along the channel axis and mixed by one matrix product, and each input
tensor's reductions are computed once per forward pass, so the cost grows with the number of
distinct patterns, not with the number of (tensor pair, partition) maps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

import torch
from torch import nn

from automl_hyper.weightspace.basis import (
    BasisMap,
    embed_output,
    enumerate_maps,
    permuted_symbols,
    reduce_input,
)
from automl_hyper.weightspace.spec import WeightSpace

Arrays = Mapping[str, torch.Tensor]


def param_key(out_name: str, in_name: str, m: BasisMap) -> str:
    return f"{out_name}__{in_name}__{m.key}"


@dataclass(frozen=True)
class _Group:
    out_pattern: tuple
    example: BasisMap  # any member: embedding depends only on the pattern
    members: tuple[tuple[str, BasisMap, str], ...]  # (input name, map, parameter key)


def _plan(space: WeightSpace) -> dict[str, tuple[_Group, ...]]:
    """Per output tensor: its basis maps grouped by output pattern."""
    plan = {}
    for out in space.names:
        groups: dict[tuple, list] = {}
        for inp in space.names:
            for m in enumerate_maps(*permuted_symbols(space, out, inp)):
                groups.setdefault(m.out_pattern, []).append((inp, m, param_key(out, inp, m)))
        plan[out] = tuple(_Group(p, ms[0][1], tuple(ms)) for p, ms in groups.items())
    return plan


class EquivariantLayer(nn.Module):
    """Every equivariant linear map between the tensors, with channels, plus a per-tensor bias."""

    def __init__(self, spaces: Iterable[WeightSpace], c_in: int, c_out: int) -> None:
        super().__init__()
        self.c_in, self.c_out = c_in, c_out
        self.weight = nn.ParameterDict()
        self.bias = nn.ParameterDict()
        fan_in: dict[str, int] = {}
        shapes: dict[str, tuple[int, int]] = {}
        for space in spaces:
            for out, groups in _plan(space).items():
                o = c_out * space.fold(out)
                if self.bias.get(out) is None:
                    self.bias[out] = nn.Parameter(torch.zeros(o))
                elif self.bias[out].shape[0] != o:
                    raise ValueError(f"tensor {out!r}: fixed axes differ between weight spaces")
                for g in groups:
                    for inp, _, key in g.members:
                        shape = (o, c_in * space.fold(inp))
                        if shapes.setdefault(key, shape) != shape:
                            raise ValueError(f"{key}: fixed axes differ between weight spaces")
                n_in = sum(shapes[k][1] for g in groups for _, _, k in g.members)
                fan_in[out] = max(fan_in.get(out, 0), n_in)
        for key, shape in shapes.items():
            out = key.split("__", 1)[0]
            # Variance 1/fan_in over all maps into the tensor: unit-scale outputs at init.
            self.weight[key] = nn.Parameter(torch.randn(shape) / math.sqrt(fan_in[out]))
        self._plans: dict[tuple, dict] = {}
        self._weight_cache: dict[int, tuple] = {}

    def plan(self, space: WeightSpace) -> dict[str, tuple[_Group, ...]]:
        sig = space.signature()
        if sig not in self._plans:
            plan = _plan(space)
            missing = [k for g in plan.values() for gg in g for _, _, k in gg.members]
            missing = [k for k in missing if k not in self.weight]
            if missing:
                raise KeyError(
                    f"this network was not built for weight spaces with {missing[0]!r} "
                    f"({len(missing)} unknown maps); build it with this space among its spaces"
                )
            self._plans[sig] = plan
        return self._plans[sig]

    def _group_weight(self, g: _Group) -> torch.Tensor:
        """The group's weights side by side. Without gradients (inference) the concatenation is
        cached and rebuilt only when a parameter changed (its version counter moved)."""
        params = [self.weight[key] for _, _, key in g.members]
        if len(params) == 1:
            return params[0]
        if torch.is_grad_enabled():
            return torch.cat(params, dim=1)
        versions = tuple(p._version for p in params)
        cached = self._weight_cache.get(id(g))
        if cached is None or cached[0] != versions:
            cached = (versions, torch.cat(params, dim=1))
            self._weight_cache[id(g)] = cached
        return cached[1]

    def forward(self, space: WeightSpace, xs: Arrays) -> dict[str, torch.Tensor]:
        """``xs``: internal layout (B, c_in * fold, *permuted axes) per tensor."""
        sizes = space.sizes
        reduced: dict[tuple[str, str, str], torch.Tensor] = {}
        out = {}
        for name, groups in self.plan(space).items():
            x_out = xs[name]
            out_shape = tuple(x_out.shape[2:])
            acc = None
            for g in groups:
                parts = []
                for inp, m, _ in g.members:
                    rkey = (inp, *_canonical(m))
                    if rkey not in reduced:
                        reduced[rkey] = reduce_input(xs[inp], m, sizes)
                    parts.append(reduced[rkey])
                r = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
                y = torch.einsum("OC,BC...->BO...", self._group_weight(g), r)
                term = embed_output(y, g.example, out_shape, sizes)
                acc = term if acc is None else acc + term
            bias = self.bias[name].reshape(1, -1, *([1] * len(out_shape)))
            out[name] = acc + bias
        return out


@cache
def _canonical(m: BasisMap) -> tuple[str, str]:
    """The reduction a map applies, independent of how its blocks happen to be lettered (two
    maps that take the same diagonals and means share one reduced tensor)."""
    rename: dict[str, str] = {}
    for ch in m.in_letters:
        rename.setdefault(ch, chr(ord("a") + len(rename)))
    return "".join(rename[c] for c in m.in_letters), "".join(rename[c] for c in m.kept)


class InvariantPool(nn.Module):
    """Mean over each tensor's permuted axes, laid out in a fixed slot per known tensor name.

    Each slot also carries a presence flag (0, with zeros, for tensors a weight space lacks) and
    the log of the tensor's size. Why the size: a mean forgets how many units it averaged, yet
    width matters to a child's quality (over SMASH architectures the parameter count alone ranks
    real scores better than any weight statistic), and sizes are invariant to permutations.
    """

    def __init__(self, spaces: Iterable[WeightSpace], channels: int) -> None:
        super().__init__()
        widths: dict[str, int] = {}
        for space in spaces:
            for name in space.names:
                widths.setdefault(name, channels * space.fold(name))
        self.slots = tuple(widths)
        self.widths = widths
        self.out_features = sum(widths.values()) + 2 * len(widths)

    def forward(self, space: WeightSpace, xs: Arrays) -> torch.Tensor:
        any_x = next(iter(xs.values()))
        B = any_x.shape[0]
        feats = []
        for name in self.slots:
            if name in xs:
                x = xs[name]
                pooled = x.mean(dim=tuple(range(2, x.dim()))) if x.dim() > 2 else x
                size = math.log1p(math.prod(space[name].shape)) / 10.0
                feats += [pooled, any_x.new_ones(B, 1), any_x.new_full((B, 1), size)]
            else:
                feats += [any_x.new_zeros(B, self.widths[name] + 2)]
        return torch.cat(feats, dim=1)


class UNF(nn.Module):
    """Equivariant layers with pointwise nonlinearities, then invariant pooling and an MLP head.

    ``forward(space, arrays)`` takes natural-layout tensors ``(B, *shape)`` and returns
    ``(B, n_outputs)``; :meth:`equivariant` returns the last equivariant features instead
    (natural layout, ``(B, C, *shape)``), which permute with the input.
    """

    def __init__(
        self,
        spaces: Iterable[WeightSpace],
        channels: tuple[int, ...] = (16, 16),
        head_hidden: int = 64,
        n_outputs: int = 1,
        extra_features: int = 0,
    ) -> None:
        super().__init__()
        spaces = list({s.signature(): s for s in spaces}.values())
        if not spaces:
            raise ValueError("a UNF needs at least one weight space to learn its tensor names")
        dims = (1, *channels)
        self.layers = nn.ModuleList(
            EquivariantLayer(spaces, c_in, c_out) for c_in, c_out in zip(dims[:-1], dims[1:])
        )
        self.pool = InvariantPool(spaces, dims[-1])
        self.extra_features = extra_features
        self.head = nn.Sequential(
            nn.Linear(self.pool.out_features + extra_features, head_hidden),
            nn.ReLU(),
            nn.Linear(head_hidden, head_hidden),
            nn.ReLU(),
            nn.Linear(head_hidden, n_outputs),
        )
        self.act = nn.ReLU()

    def _features(self, space: WeightSpace, arrays: Arrays) -> dict[str, torch.Tensor]:
        xs = space.to_internal(arrays)
        for i, layer in enumerate(self.layers):
            xs = layer(space, xs)
            if i < len(self.layers) - 1:
                xs = {k: self.act(v) for k, v in xs.items()}
        return xs

    def equivariant(self, space: WeightSpace, arrays: Arrays) -> dict[str, torch.Tensor]:
        return space.from_internal(self._features(space, arrays))

    def forward(
        self, space: WeightSpace, arrays: Arrays, extra: torch.Tensor | None = None
    ) -> torch.Tensor:
        # a nonlinearity before the mean: a mean of rectified units sees more than a rectified mean
        feats = {k: self.act(v) for k, v in self._features(space, arrays).items()}
        pooled = self.pool(space, feats)
        if self.extra_features:
            if extra is None:
                raise ValueError(f"this network expects {self.extra_features} extra features")
            pooled = torch.cat([pooled, extra], dim=1)
        return self.head(pooled)
