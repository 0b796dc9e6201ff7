"""Running an architecture: one functional forward pass shared by generated and trained weights.

Layer ``k`` computes ``act(norm(concat(sources) @ W_k.T + b_k))`` where the sources are listed in
ascending order; the hypernetwork emits ``W_k`` block by block (one block per source) in that same
order, so generated weights drop straight into a trainable :class:`ArchNet`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from automl_hyper.models.smash.architecture import ArchSpec

_ACT = {"relu": F.relu, "gelu": F.gelu, "silu": F.silu, "tanh": torch.tanh}
# Second-moment gain of a source after its activation (Kaiming-style): the input is already
# standardised, rectifier-like units keep about half the variance, tanh roughly all of it.
SOURCE_GAIN = {
    "input": 1.0,
    "relu": math.sqrt(2.0),
    "gelu": math.sqrt(2.0),
    "silu": math.sqrt(2.0),
    "tanh": 1.0,
}

Params = list[tuple[torch.Tensor, torch.Tensor]]


def source_gains(spec: ArchSpec) -> list[float]:
    return [SOURCE_GAIN["input"]] + [SOURCE_GAIN[layer.activation] for layer in spec.layers]


def weight_shapes(spec: ArchSpec, n_features: int, n_outputs: int) -> list[tuple[int, int]]:
    """(out, in) of every layer's weight matrix, the head last."""
    widths = spec.source_widths(n_features)
    shapes = [(layer.width, sum(widths[s] for s in layer.inputs)) for layer in spec.layers]
    return shapes + [(n_outputs, sum(widths[s] for s in spec.head_inputs))]


def forward(
    spec: ArchSpec, params: Params, x: torch.Tensor, dropout: float = 0.0, training: bool = False
) -> torch.Tensor:
    """Logits (or regression outputs) of ``spec`` with the given weights."""
    outputs = [x]
    for layer, (weight, bias) in zip(spec.layers, params):
        inp = (
            outputs[layer.inputs[0]]
            if len(layer.inputs) == 1
            else torch.cat([outputs[s] for s in layer.inputs], dim=1)
        )
        h = F.linear(inp, weight, bias)
        if layer.norm == "layernorm":
            h = F.layer_norm(h, (h.shape[1],))
        h = _ACT[layer.activation](h)
        if dropout > 0.0 and training:
            h = F.dropout(h, dropout, training=True)
        outputs.append(h)
    head = spec.head_inputs
    inp = outputs[head[0]] if len(head) == 1 else torch.cat([outputs[s] for s in head], dim=1)
    weight, bias = params[-1]
    return F.linear(inp, weight, bias)


class ArchNet(nn.Module):
    """A trainable network for one architecture (weights as ordinary parameters)."""

    def __init__(
        self,
        spec: ArchSpec,
        n_features: int,
        n_outputs: int,
        dropout: float = 0.0,
        init: Params | None = None,
    ) -> None:
        super().__init__()
        self.spec = spec
        self.dropout = dropout
        shapes = weight_shapes(spec, n_features, n_outputs)
        if init is not None:
            got = [tuple(w.shape) for w, _ in init]
            if got != shapes:
                raise ValueError(f"initial weights have shapes {got}, the spec needs {shapes}")
            weights = [w.detach().clone() for w, _ in init]
            biases = [b.detach().clone() for _, b in init]
        else:
            weights, biases = fan_in_init(spec, n_features, n_outputs)
        self.weights = nn.ParameterList(nn.Parameter(w) for w in weights)
        self.biases = nn.ParameterList(nn.Parameter(b) for b in biases)

    def params(self) -> Params:
        return list(zip(self.weights, self.biases))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return forward(self.spec, self.params(), x, self.dropout, self.training)


def fan_in_init(
    spec: ArchSpec, n_features: int, n_outputs: int
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Gaussian init with variance gain_s^2 / fan_in per source block (the head at gain 1/2)."""
    widths = spec.source_widths(n_features)
    gains = source_gains(spec)
    weights, biases = [], []
    reads = [(layer.inputs, layer.width) for layer in spec.layers] + [(spec.head_inputs, n_outputs)]
    for i, (inputs, out) in enumerate(reads):
        fan_in = sum(widths[s] for s in inputs)
        scale = 0.5 if i == len(reads) - 1 else 1.0  # small head: calm first steps
        blocks = [
            torch.randn(out, widths[s]) * (scale * gains[s] / math.sqrt(fan_in)) for s in inputs
        ]
        weights.append(torch.cat(blocks, dim=1))
        biases.append(torch.zeros(out))
    return weights, biases
