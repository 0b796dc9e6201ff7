"""Weight spaces of the networks this product generates, and their weights as named tensors.

Builders take duck-typed objects (anything with the attributes read below), so this module
imports no model family: a MotherNet ``Member`` (``W1`` features x hidden, ``b1``, ``W2`` hidden x
classes, ``b2``), a SMASH ``ArchSpec`` (``layers[k].width``, ``layers[k].inputs``,
``head_inputs``) with its ``Params`` (one ``(weight (out, in), bias)`` per layer, head last), or a
plain list of widths.

Symbols: ``in`` (input features), ``h<k>`` (units of hidden layer k), ``out`` (outputs). ``in``
and ``out`` are fixed unless ``permute_io=True``. Across tasks the features and classes of a child
have no shared meaning (feature 3 of one task is unrelated to feature 3 of another, and MotherNet
even rotates them per ensemble member), so a predictor trained over many tasks permutes them too;
fixed axes are for a zoo where every child reads the same inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from automl_hyper.weightspace.spec import TensorSpec, WeightSpace

IO = frozenset({"in", "out"})


def _fixed(permute_io: bool) -> frozenset[str]:
    return frozenset() if permute_io else IO


def _symbol(k: int, depth: int) -> str:
    """Symbol of source/layer k of a network with ``depth`` hidden layers (0 = input)."""
    return "in" if k == 0 else ("out" if k == depth + 1 else f"h{k}")


def _as_tensor(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


# -- plain MLP from widths --------------------------------------------------------------------------
def mlp_space(widths: Sequence[int], permute_io: bool = False) -> WeightSpace:
    """An MLP ``widths[0] -> ... -> widths[-1]`` stored as ``x @ W_k + b_k`` (``W_k``: in x out),
    tensors ``W1, b1, ..., WL, bL``."""
    widths = [int(w) for w in widths]
    if len(widths) < 2:
        raise ValueError(f"an MLP needs at least input and output widths, got {widths}")
    depth = len(widths) - 2
    tensors = []
    for k in range(1, len(widths)):
        s_in, s_out = _symbol(k - 1, depth), _symbol(k, depth)
        tensors.append(TensorSpec(f"W{k}", (widths[k - 1], widths[k]), (s_in, s_out)))
        tensors.append(TensorSpec(f"b{k}", (widths[k],), (s_out,)))
    return WeightSpace(tuple(tensors), _fixed(permute_io))


# -- MotherNet children -----------------------------------------------------------------------------
def member_space(member, permute_io: bool = False) -> WeightSpace:
    """The weight space of one MotherNet ensemble member (a one-hidden-layer MLP)."""
    F, H = np.shape(member.W1)
    K = np.shape(member.W2)[1]
    return mlp_space((F, H, K), permute_io)


def member_arrays(member) -> dict[str, torch.Tensor]:
    return {name: _as_tensor(getattr(member, name)) for name in ("W1", "b1", "W2", "b2")}


def child_members(child, permute_io: bool = False) -> list[tuple[WeightSpace, dict]]:
    """(space, tensors) for every member of a MotherNet ``NumpyChild`` (or anything with
    ``members``)."""
    return [(member_space(m, permute_io), member_arrays(m)) for m in child.members]


# -- SMASH architectures ----------------------------------------------------------------------------
def arch_space(arch, n_features: int, n_outputs: int, permute_io: bool = False) -> WeightSpace:
    """The weight space of a SMASH architecture: one weight block per (layer, source) read,
    named ``L<k>_w<s>`` (``head_w<s>`` for the head) with shape (out units, source units), each
    block's column axis carrying its *source's* symbol; biases ``L<k>_b`` and ``head_b``."""
    depth = len(arch.layers)
    widths = [int(n_features)] + [int(layer.width) for layer in arch.layers]
    reads = [(f"L{k}", layer.width, layer.inputs) for k, layer in enumerate(arch.layers, start=1)]
    reads.append(("head", int(n_outputs), tuple(arch.head_inputs)))
    tensors = []
    for k, (prefix, width, inputs) in enumerate(reads, start=1):
        s_out = _symbol(k, depth)
        for s in inputs:
            tensors.append(
                TensorSpec(f"{prefix}_w{s}", (int(width), widths[s]), (s_out, _symbol(s, depth)))
            )
        tensors.append(TensorSpec(f"{prefix}_b", (int(width),), (s_out,)))
    return WeightSpace(tuple(tensors), _fixed(permute_io))


def arch_arrays(arch, params, n_features: int) -> dict[str, torch.Tensor]:
    """Split SMASH ``Params`` (one (weight, bias) per layer, columns = sources in ascending
    order) into the named blocks of :func:`arch_space`."""
    widths = [int(n_features)] + [int(layer.width) for layer in arch.layers]
    reads = [(f"L{k}", layer.inputs) for k, layer in enumerate(arch.layers, start=1)]
    reads.append(("head", tuple(arch.head_inputs)))
    if len(params) != len(reads):
        raise ValueError(f"{len(params)} (weight, bias) pairs for {len(reads)} layers")
    out = {}
    for (prefix, inputs), (weight, bias) in zip(reads, params):
        weight = _as_tensor(torch.as_tensor(weight).detach().cpu().numpy())
        blocks = torch.split(weight, [widths[s] for s in inputs], dim=1)
        for s, block in zip(inputs, blocks):
            out[f"{prefix}_w{s}"] = block
        out[f"{prefix}_b"] = _as_tensor(torch.as_tensor(bias).detach().cpu().numpy())
    return out


def smash_universe(max_depth: int = 4) -> list[WeightSpace]:
    """Weight spaces covering every tensor name and symbol pair a SMASH architecture of at most
    ``max_depth`` layers can have (the densely connected one of each depth), io permuted: a
    predictor built for these reads any architecture of the space."""
    from types import SimpleNamespace

    spaces = []
    for depth in range(1, max_depth + 1):
        layers = [SimpleNamespace(width=2, inputs=tuple(range(k))) for k in range(1, depth + 1)]
        arch = SimpleNamespace(layers=layers, head_inputs=tuple(range(depth + 1)))
        spaces.append(arch_space(arch, 2, 2, permute_io=True))
    return spaces
