"""UNF weight spaces: completeness of the equivariant basis and equivariance of the network."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from automl_hyper.models.smash import ArchSpec, LayerSpec
from automl_hyper.weightspace import (
    UNF,
    TensorSpec,
    WeightSpace,
    arch_arrays,
    arch_space,
    count_maps,
    mlp_space,
    set_partitions,
    smash_universe,
)
from automl_hyper.weightspace.basis import dense_matrices


# -- brute force -----------------------------------------------------------------------------------
def _axis_permutation(shape, symbols, symbol, perm) -> np.ndarray:
    """The permutation matrix that permutes every axis carrying ``symbol`` by ``perm``."""
    n = int(np.prod(shape)) if shape else 1
    idx = np.arange(n).reshape(shape) if shape else np.arange(1)
    for axis, s in enumerate(symbols):
        if s == symbol:
            idx = np.take(idx, perm, axis=axis)
    P = np.zeros((n, n))
    P[np.arange(n), idx.reshape(-1)] = 1.0
    return P


def _invariance_constraints(space: WeightSpace, out: str, inp: str) -> np.ndarray:
    """Rows A with A vec(T) = 0 iff the (out x in) map T commutes with the group, from the two
    generators (a cycle and a transposition) of each symbol's symmetric group. Fixed axes are
    left out, as the basis maps leave them to the channel weights."""
    sizes = space.sizes
    o_sym = [s for s in space[out].symbols if s not in space.fixed]
    i_sym = [s for s in space[inp].symbols if s not in space.fixed]
    o_shape, i_shape = [sizes[s] for s in o_sym], [sizes[s] for s in i_sym]
    rows = []
    for s in space.permuted_symbols:
        n = sizes[s]
        for g in (np.roll(np.arange(n), 1), np.r_[1, 0, np.arange(2, n)]):
            Po = _axis_permutation(o_shape, o_sym, s, g)
            Pi = _axis_permutation(i_shape, i_sym, s, g)
            rows.append(np.kron(Po, Pi) - np.eye(Po.shape[0] * Pi.shape[0]))
    return np.vstack(rows)


def _brute_force_dimension(space, out, inp) -> int:
    A = _invariance_constraints(space, out, inp)
    return A.shape[1] - np.linalg.matrix_rank(A)


def _brute_force_partitions(space, out, inp) -> int:
    """Set partitions of all combined permuted axes, kept when no block mixes symbols."""
    axes = [s for s in space[out].symbols + space[inp].symbols if s not in space.fixed]
    return sum(
        all(len({axes[i] for i in block}) == 1 for block in part)
        for part in set_partitions(tuple(range(len(axes))))
    )


def _pair(out_syms, in_syms, n) -> WeightSpace:
    return WeightSpace(
        (
            TensorSpec("o", (n,) * len(out_syms), out_syms),
            TensorSpec("i", (n,) * len(in_syms), in_syms),
        )
    )


@pytest.mark.parametrize(
    "out_syms, in_syms, expected",
    [
        (("a",), ("a",), 2),  # Deep Sets: identity + mean
        (("a", "b"), ("a", "b"), 4),  # Hartford et al.: identity, row/column means, total mean
        (("a", "a"), ("a", "a"), 15),  # Maron et al.: one symbol on a matrix, Bell(4)
        (("a", "b"), ("b", "c"), 2),  # consecutive MLP weights share one symbol
        (("a", "b"), ("c", "d"), 1),  # unrelated tensors: only the total mean
        (("a", "a"), ("a",), 5),  # vector -> square matrix, Bell(3)
        (("a", "b"), ("a",), 2),  # bias -> its weight
        ((), ("a", "b"), 1),  # invariant: the total mean
    ],
)
def test_basis_is_complete_and_independent(out_syms, in_syms, expected):
    n = max(2, len(out_syms) + len(in_syms))  # large enough for every partition to be non-zero
    space = _pair(out_syms, in_syms, n)
    maps = dense_matrices(space, "o", "i")
    assert len(maps) == count_maps(space, "o", "i") == expected
    assert _brute_force_partitions(space, "o", "i") == expected
    # each map is equivariant, they are independent, and together they span the whole space
    A = _invariance_constraints(space, "o", "i")
    M = torch.stack([m.reshape(-1) for m in maps]).numpy()
    assert np.abs(A @ M.T).max() < 1e-12
    assert np.linalg.matrix_rank(M) == len(maps) == _brute_force_dimension(space, "o", "i")


def test_mlp_counts_match_nfn():
    """NFN (Zhou et al. 2023), all neurons permuted (NP): a weight to itself has the 4 maps of
    Hartford et al., a weight to its neighbour 2 (shared symbol merged or not), to any other
    weight 1; a bias to itself 2, to the weight writing its units 2."""
    space = mlp_space((3, 4, 5, 2), permute_io=True)
    counts = {(o, i): count_maps(space, o, i) for o in space.names for i in space.names}
    assert counts["W2", "W2"] == 4 and counts["W2", "W1"] == 2 and counts["W2", "W3"] == 2
    assert counts["W3", "W1"] == 1 and counts["b2", "b2"] == 2 and counts["b2", "W2"] == 2
    assert counts["b1", "W2"] == 2 and counts["b1", "b3"] == 1
    for o, i in itertools.product(space.names, space.names):
        assert counts[o, i] == _brute_force_partitions(space, o, i)


def test_fixed_axes_are_dense_channels():
    """With input and output axes fixed (NFN's HNP setting), a map's weight covers them densely:
    the number of free parameters equals the brute-force dimension including the fixed axes."""
    space = mlp_space((2, 3, 2), permute_io=False)  # W1 (in=2 fixed, h1=3), W2 (h1, out=2 fixed)
    for o, i in [("W1", "W1"), ("W2", "W1"), ("b2", "W1"), ("b2", "b2")]:
        n_params = count_maps(space, o, i) * space.fold(o) * space.fold(i)
        sizes = space.sizes
        o_shape = [sizes[s] for s in space[o].symbols]
        i_shape = [sizes[s] for s in space[i].symbols]
        rows = []
        for g in (np.roll(np.arange(3), 1), np.r_[1, 0, 2]):
            Po = _axis_permutation(o_shape, space[o].symbols, "h1", g)
            Pi = _axis_permutation(i_shape, space[i].symbols, "h1", g)
            rows.append(np.kron(Po, Pi) - np.eye(Po.shape[0] * Pi.shape[0]))
        A = np.vstack(rows)
        assert n_params == A.shape[1] - np.linalg.matrix_rank(A), (o, i)


# -- equivariance of the network -------------------------------------------------------------------
def _random_arrays(space: WeightSpace, rng: np.random.Generator) -> dict[str, torch.Tensor]:
    return {t.name: torch.from_numpy(rng.normal(size=(2, *t.shape))) for t in space.tensors}


def _check_equivariance(space: WeightSpace, net: UNF, seed: int) -> None:
    rng = np.random.default_rng(seed)
    arrays = _random_arrays(space, rng)
    perms = {s: p for s, p in space.random_permutations(rng).items() if s not in space.fixed}
    moved = space.permute(arrays, perms, lead=1)
    with torch.no_grad():
        eq, eq_moved = net.equivariant(space, arrays), net.equivariant(space, moved)
        inv, inv_moved = net(space, arrays), net(space, moved)
    expected = space.permute(eq, perms, lead=2)
    for name in space.names:
        assert torch.allclose(eq_moved[name], expected[name], atol=1e-5), name
    # the permutation really moved something (the test would be vacuous otherwise)
    assert any(not torch.allclose(moved[n], arrays[n]) for n in space.names)
    assert torch.allclose(inv, inv_moved, atol=1e-5)


def _spec(widths, pattern) -> ArchSpec:
    layers = []
    for k, w in enumerate(widths, start=1):
        if pattern == "plain" or k == 1:
            inputs = (k - 1,)
        elif pattern == "residual":
            inputs = (k - 2, k - 1)
        else:
            inputs = tuple(range(k))
        layers.append(LayerSpec(w, "relu", "none", inputs))
    head = tuple(range(len(widths) + 1)) if pattern == "dense" else ()
    return ArchSpec(tuple(layers), head)


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("permute_io", [False, True])
def test_plain_mlp_equivariance(depth, permute_io):
    torch.manual_seed(depth)
    space = mlp_space((3, *range(4, 4 + depth), 2), permute_io=permute_io)
    net = UNF([space], channels=(4, 3)).double()
    _check_equivariance(space, net, seed=depth)


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("pattern", ["residual", "dense"])
def test_smash_equivariance(depth, pattern):
    torch.manual_seed(depth)
    arch = _spec([3, 5, 4, 3][:depth], pattern)
    for permute_io in (False, True):
        space = arch_space(arch, n_features=3, n_outputs=2, permute_io=permute_io)
        # a dense block per source, each sharing its source's symbol
        if pattern == "dense" and depth >= 2:
            assert space[f"L{depth}_w1"].symbols == (f"h{depth}", "h1")
        net = UNF([space], channels=(3,), head_hidden=8).double()
        _check_equivariance(space, net, seed=10 * depth + permute_io)


def test_one_network_reads_every_smash_architecture():
    """Built for the universe of names, one UNF reads architectures of any depth/connectivity,
    and generated weights (split per source) drop straight in."""
    torch.manual_seed(0)
    net = UNF(smash_universe(4), channels=(4,), head_hidden=8).double()
    for depth, pattern in [(1, "plain"), (2, "residual"), (3, "dense"), (4, "residual")]:
        arch = _spec([4, 3, 5, 2][:depth], pattern)
        space = arch_space(arch, 3, 2, permute_io=True)
        from automl_hyper.models.smash.network import fan_in_init

        weights, biases = fan_in_init(arch, 3, 2)
        arrays = {k: v[None] for k, v in arch_arrays(arch, list(zip(weights, biases)), 3).items()}
        assert {k: tuple(v.shape[1:]) for k, v in arrays.items()} == {
            t.name: t.shape for t in space.tensors
        }
        _check_equivariance(space, net, seed=depth)
        assert net(space, arrays).shape == (1, 1)


def test_unknown_tensor_names_are_refused():
    net = UNF([mlp_space((3, 4, 2), permute_io=True)], channels=(2,))
    deeper = mlp_space((3, 4, 4, 2), permute_io=True)
    arrays = {t.name: torch.zeros(1, *t.shape) for t in deeper.tensors}
    with pytest.raises(KeyError, match="not built for"):
        net(deeper, arrays)
