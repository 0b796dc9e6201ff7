"""Every equivariant linear map between two tensors of a weight space, from set partitions.

Why partitions. A linear map ``Y[o] = sum_i T[o, i] X[i]`` commutes with the permutations iff the
coefficient tensor ``T`` (indexed by the output axes and the input axes together) is unchanged when
every symbol's permutation is applied to all of its axes at once. Such invariant tensors are spanned
by the orbits of index tuples, and an orbit is fixed by its *equality pattern*: which of the
combined axes hold equal indices. Indices of axes with different symbols are moved by independent
permutations, so no equality between them survives: the rule is

    a valid partition splits the combined (output + input) permuted axes into blocks, every block
    holding axes of one symbol only; any number of output and input axes may share a block.

Each valid partition is one basis map. Read as an operation on ``X``, a block that holds

* input and output axes: the index is carried through (several input axes: take the diagonal;
  several output axes: write onto the diagonal);
* input axes only: the index is averaged out (a mean, not a sum, so the scale does not depend on
  the width of the child);
* output axes only: the result is broadcast along it (several output axes: along the diagonal).

The partitions are independent (a basis, not just a spanning set) when every symbol's size is at
least the number of its axes in the block set; ``tests/test_weightspace.py`` checks both the count
and the span against a brute-force null-space computation. In an MLP no tensor has two axes of
one symbol, so every block holds at most one output and one input axis; recurrent-style square
weights (one symbol on both axes) get the extra diagonal maps.

Fixed (non-permuted) axes take no part: the group does not act on them, so the invariant tensor is
arbitrary along them. They are folded into the channel dimension (see ``WeightSpace.to_internal``),
and every basis map's ``c_out x c_in`` weight then covers them densely.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import torch

from automl_hyper.weightspace.spec import TensorSpec, WeightSpace

_LETTERS = "abcdefghijklmnopqrstuvwxyz"  # block letters; batch and channels use capitals


def set_partitions(items: tuple) -> Iterator[list[list]]:
    """All set partitions of ``items`` (Bell(len(items)) of them)."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in set_partitions(rest):
        yield [[first], *part]
        for i in range(len(part)):
            yield [*part[:i], [first, *part[i]], *part[i + 1 :]]


@dataclass(frozen=True)
class BasisMap:
    """One basis map from an input tensor to an output tensor (permuted axes only).

    ``in_letters``: one block letter per input axis (repeated letters = diagonal).
    ``kept``: letters of blocks holding both input and output axes, in order of first appearance
    among the output axes (the layout of the reduced tensor).
    ``averaged``: symbols of the input-only blocks (divided out to turn the sum into a mean).
    ``out_pattern``: per output axis, ("k", j) = j-th kept block or ("b", j) = j-th broadcast block.
    """

    key: str
    in_letters: str
    kept: str
    averaged: tuple[str, ...]
    out_pattern: tuple[tuple[str, int], ...]
    block_symbols: tuple[str, ...]  # symbol of each kept block then each broadcast block


def _key(blocks: list[list[tuple[str, int]]]) -> str:
    parts = sorted("".join(f"{side}{pos}" for side, pos in sorted(block)) for block in blocks)
    return "_".join(parts) or "scalar"


def enumerate_maps(out_symbols: tuple[str, ...], in_symbols: tuple[str, ...]) -> list[BasisMap]:
    """Every basis map between tensors with these (permuted-axis) symbols."""
    return list(_enumerate(tuple(out_symbols), tuple(in_symbols)))


@lru_cache(maxsize=4096)
def _enumerate(out_symbols: tuple[str, ...], in_symbols: tuple[str, ...]) -> tuple[BasisMap, ...]:
    axes = [("o", a) for a in range(len(out_symbols))] + [("i", b) for b in range(len(in_symbols))]
    symbol_of = {("o", a): s for a, s in enumerate(out_symbols)}
    symbol_of.update({("i", b): s for b, s in enumerate(in_symbols)})
    by_symbol: dict[str, list] = {}
    for ax in axes:
        by_symbol.setdefault(symbol_of[ax], []).append(ax)
    # A partition of the whole set = an independent partition of each symbol's axes.
    per_symbol = [list(set_partitions(tuple(group))) for group in by_symbol.values()]
    maps = []
    for combo in itertools.product(*per_symbol):
        blocks = [block for part in combo for block in part]
        maps.append(_build(blocks, symbol_of, len(out_symbols), len(in_symbols)))
    return tuple(maps)


def _build(blocks, symbol_of, n_out: int, n_in: int) -> BasisMap:
    block_of = {ax: k for k, block in enumerate(blocks) for ax in block}
    kept_blocks, bcast_blocks, pattern = [], [], []
    for a in range(n_out):
        k = block_of[("o", a)]
        has_input = any(side == "i" for side, _ in blocks[k])
        target = kept_blocks if has_input else bcast_blocks
        if k not in target:
            target.append(k)
        pattern.append(("k" if has_input else "b", target.index(k)))
    letter = {k: _LETTERS[k] for k in range(len(blocks))}
    in_letters = "".join(letter[block_of[("i", b)]] for b in range(n_in))
    averaged = tuple(
        symbol_of[block[0]] for block in blocks if all(side == "i" for side, _ in block)
    )
    return BasisMap(
        key=_key(blocks),
        in_letters=in_letters,
        kept="".join(letter[k] for k in kept_blocks),
        averaged=averaged,
        out_pattern=tuple(pattern),
        block_symbols=tuple(symbol_of[blocks[k][0]] for k in kept_blocks + bcast_blocks),
    )


def count_maps(space: WeightSpace, out_name: str, in_name: str) -> int:
    return len(enumerate_maps(*permuted_symbols(space, out_name, in_name)))


def permuted_symbols(space: WeightSpace, out_name: str, in_name: str):
    def perm(t: TensorSpec) -> tuple[str, ...]:
        return tuple(s for s in t.symbols if s not in space.fixed)

    return perm(space[out_name]), perm(space[in_name])


# -- applying maps --------------------------------------------------------------------------------
def reduce_input(x: torch.Tensor, m: BasisMap, sizes: dict[str, int]) -> torch.Tensor:
    """(B, C, *in perm axes) -> (B, C, *kept blocks): diagonals taken, input-only blocks averaged."""
    y = torch.einsum(f"BC{m.in_letters}->BC{m.kept}", x)
    denom = 1
    for s in m.averaged:
        denom *= sizes[s]
    return y / denom if denom != 1 else y


def embed_output(
    y: torch.Tensor, m: BasisMap, out_shape: tuple[int, ...], sizes: dict[str, int]
) -> torch.Tensor:
    """(B, O, *kept blocks) -> (B, O, *out perm axes): broadcast, and diagonals where needed."""
    batch, channels = y.shape[:2]
    if len(set(m.out_pattern)) == len(m.out_pattern):  # one output axis per block: a plain view
        view = [n if kind == "k" else 1 for (kind, _), n in zip(m.out_pattern, out_shape)]
        return y.reshape(batch, channels, *view).expand(batch, channels, *out_shape)
    # Some block covers several output axes: link them with identity matrices in one einsum.
    n_kept = len(m.kept)
    first: dict[tuple[str, int], int] = {}
    operands, subs = [y], ["BO" + _LETTERS[:n_kept]]
    for a, (kind, j) in enumerate(m.out_pattern):
        letter = _LETTERS[n_kept + a]
        if (kind, j) in first:
            eye = torch.eye(out_shape[a], dtype=y.dtype, device=y.device)
            operands.append(eye)
            subs.append(_LETTERS[n_kept + first[(kind, j)]] + letter)
            continue
        first[(kind, j)] = a
        if kind == "k":  # rename the kept letter to this axis' letter
            operands.append(torch.eye(out_shape[a], dtype=y.dtype, device=y.device))
            subs.append(_LETTERS[j] + letter)
        else:
            operands.append(torch.ones(out_shape[a], dtype=y.dtype, device=y.device))
            subs.append(letter)
    out = "BO" + _LETTERS[n_kept : n_kept + len(out_shape)]
    return torch.einsum(",".join(subs) + "->" + out, *operands)


def apply_map(
    x: torch.Tensor,
    m: BasisMap,
    weight: torch.Tensor,
    out_shape: tuple[int, ...],
    sizes: dict[str, int],
) -> torch.Tensor:
    """One basis map with its ``c_out x c_in`` weight: (B, C_in, *in) -> (B, C_out, *out)."""
    r = reduce_input(x, m, sizes)
    y = torch.einsum("OC,BC...->BO...", weight, r)
    return embed_output(y, m, out_shape, sizes)


def dense_matrices(space: WeightSpace, out_name: str, in_name: str) -> list[torch.Tensor]:
    """Each basis map (channel weight 1, one channel, fixed axes excluded) as a dense matrix
    ``(numel(out perm axes), numel(in perm axes))``, float64. For tests and inspection."""
    out_sym, in_sym = permuted_symbols(space, out_name, in_name)
    sizes = space.sizes
    out_shape = tuple(sizes[s] for s in out_sym)
    in_shape = tuple(sizes[s] for s in in_sym)
    n_in = int(torch.tensor(in_shape).prod()) if in_shape else 1
    eye = torch.eye(n_in, dtype=torch.float64).reshape(n_in, 1, *in_shape)
    w = torch.ones(1, 1, dtype=torch.float64)
    mats = []
    for m in enumerate_maps(out_sym, in_sym):
        y = apply_map(eye, m, w, out_shape, sizes)  # (n_in, 1, *out)
        mats.append(y.reshape(n_in, -1).T.contiguous())
    return mats
