"""SMASH architectures for tabular MLPs: one architecture (:class:`ArchSpec`) and the space searched.

Not to be confused with :mod:`automl_hyper.space`, the library-neutral *hyperparameter* search space
that the zoo hands to Optuna and AutoGluon: this module describes network topologies.

An architecture is a stack of 1..``max_depth`` hidden layers and an output head. Source 0 is the
(preprocessed) input; source ``k`` is the output of hidden layer ``k``. Every layer reads a set of
earlier sources: its pre-activation is the sum of one linear map per source (the same thing as one
linear map over their concatenation), so "plain" (previous layer only), "residual" (previous two:
a projection shortcut) and "dense" (all earlier outputs) are all points of one space. A layer
always reads its immediate predecessor, so every layer lies on a path from input to head.

Normalisation is LayerNorm or none. BatchNorm is left out on purpose: its running statistics
belong to one set of weights, so one-shot scoring would need a recalibration pass per candidate
(doubling the scoring cost) and the proxy would then measure the recalibration as much as the
architecture; LayerNorm normalises each row on its own and plays the same role in an MLP.

Learning rate, dropout and weight decay are not part of the space: they are tuned afterwards
(with Optuna) on the winning architectures.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ACTIVATIONS: tuple[str, ...] = ("relu", "gelu", "silu", "tanh")
NORMS: tuple[str, ...] = ("none", "layernorm")
PATTERNS: tuple[str, ...] = ("plain", "residual", "dense", "random")


@dataclass(frozen=True)
class LayerSpec:
    """One hidden layer: its width, activation, normalisation and the sources it reads."""

    width: int
    activation: str = "relu"
    norm: str = "none"
    inputs: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "activation": self.activation,
            "norm": self.norm,
            "inputs": list(self.inputs),
        }


@dataclass(frozen=True)
class ArchSpec:
    """A complete MLP architecture, independent of the dataset's feature and class counts."""

    layers: tuple[LayerSpec, ...]
    head_inputs: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        # Normalise containers so that equal architectures compare (and hash) equal.
        object.__setattr__(self, "layers", tuple(self.layers))
        head = tuple(sorted(set(self.head_inputs))) or (len(self.layers),)
        object.__setattr__(self, "head_inputs", head)
        self.check()

    @property
    def depth(self) -> int:
        return len(self.layers)

    def check(self) -> None:
        """Raise ValueError naming the first inconsistency."""
        if not self.layers:
            raise ValueError("an architecture needs at least one hidden layer")
        for k, layer in enumerate(self.layers, start=1):
            if layer.width < 1:
                raise ValueError(f"layer {k}: width must be >= 1, got {layer.width}")
            if layer.activation not in ACTIVATIONS:
                raise ValueError(f"layer {k}: activation must be one of {ACTIVATIONS}")
            if layer.norm not in NORMS:
                raise ValueError(f"layer {k}: norm must be one of {NORMS}")
            if tuple(sorted(set(layer.inputs))) != tuple(layer.inputs):
                raise ValueError(f"layer {k}: inputs must be sorted and unique, got {layer.inputs}")
            if not layer.inputs or layer.inputs[-1] != k - 1 or layer.inputs[0] < 0:
                raise ValueError(
                    f"layer {k}: inputs must lie in 0..{k - 1} and include {k - 1}, "
                    f"got {list(layer.inputs)}"
                )
        if self.head_inputs[-1] != self.depth or self.head_inputs[0] < 0:
            raise ValueError(
                f"head inputs must lie in 0..{self.depth} and include {self.depth}, "
                f"got {list(self.head_inputs)}"
            )

    # -- size ---------------------------------------------------------------------------------
    def source_widths(self, n_features: int) -> list[int]:
        return [n_features] + [layer.width for layer in self.layers]

    def n_params(self, n_features: int, n_outputs: int) -> int:
        widths = self.source_widths(n_features)
        total = 0
        for layer in self.layers:
            total += (sum(widths[s] for s in layer.inputs) + 1) * layer.width
        return total + (sum(widths[s] for s in self.head_inputs) + 1) * n_outputs

    # -- readable form ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "layers": [layer.to_dict() for layer in self.layers],
            "head_inputs": list(self.head_inputs),
        }

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArchSpec:
        if not isinstance(data, dict) or "layers" not in data:
            raise ValueError("an architecture spec needs a 'layers' list")
        layers = tuple(
            LayerSpec(
                width=int(d["width"]),
                activation=str(d.get("activation", "relu")),
                norm=str(d.get("norm", "none")),
                inputs=tuple(int(s) for s in d.get("inputs", (k - 1,))),
            )
            for k, d in enumerate(data["layers"], start=1)
        )
        return cls(layers=layers, head_inputs=tuple(int(s) for s in data.get("head_inputs", ())))

    @classmethod
    def from_json(cls, text: str) -> ArchSpec:
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.to_json(indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> ArchSpec:
        return cls.from_json(Path(path).read_text())

    @classmethod
    def plain(
        cls, widths: tuple[int, ...] = (128, 128), activation: str = "relu", norm: str = "none"
    ) -> ArchSpec:
        """A chain MLP (every layer reads only the previous one)."""
        layers = tuple(LayerSpec(w, activation, norm, (k,)) for k, w in enumerate(widths))
        return cls(layers=layers)

    def describe(self) -> str:
        """Short human summary, e.g. ``128r-64g+LN | dense``."""
        parts = [
            f"{layer.width}{layer.activation[0]}{'+LN' if layer.norm == 'layernorm' else ''}"
            for layer in self.layers
        ]
        skips = sum(len(layer.inputs) - 1 for layer in self.layers) + len(self.head_inputs) - 1
        return "-".join(parts) + (f" | {skips} skips" if skips else "")


def as_spec(spec: ArchSpec | str | dict | None, default: ArchSpec | None = None) -> ArchSpec:
    """Accept an ArchSpec, its JSON text, its dict form, or None (the default)."""
    if spec is None:
        if default is None:
            raise ValueError("no architecture spec given")
        return default
    if isinstance(spec, ArchSpec):
        return spec
    if isinstance(spec, str):
        try:
            return ArchSpec.from_json(spec)
        except json.JSONDecodeError as err:
            raise ValueError(f"spec is not valid JSON: {err}") from None
    if isinstance(spec, dict):
        return ArchSpec.from_dict(spec)
    raise TypeError(f"spec must be an ArchSpec, JSON string or dict, got {type(spec).__name__}")


@dataclass(frozen=True)
class SearchSpace:
    """The searched dimensions and the fixed-size encoding the hypernetwork reads."""

    max_depth: int = 4
    widths: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
    activations: tuple[str, ...] = ACTIVATIONS
    norms: tuple[str, ...] = NORMS
    patterns: tuple[str, ...] = field(default=PATTERNS)

    def __post_init__(self) -> None:
        if self.max_depth < 1:
            raise ValueError(f"max_depth must be >= 1, got {self.max_depth}")
        if not self.widths or min(self.widths) < 1:
            raise ValueError(f"widths must be positive, got {self.widths}")
        object.__setattr__(self, "widths", tuple(sorted(set(int(w) for w in self.widths))))
        for a in self.activations:
            if a not in ACTIVATIONS:
                raise ValueError(f"unknown activation {a!r}; known: {ACTIVATIONS}")
        for n in self.norms:
            if n not in NORMS:
                raise ValueError(f"unknown norm {n!r}; known: {NORMS}")

    @property
    def max_width(self) -> int:
        return self.widths[-1]

    def contains(self, spec: ArchSpec) -> bool:
        return spec.depth <= self.max_depth and all(
            layer.width in self.widths
            and layer.activation in self.activations
            and layer.norm in self.norms
            for layer in spec.layers
        )

    def check_spec(self, spec: ArchSpec) -> None:
        if not self.contains(spec):
            raise ValueError(
                f"spec {spec.describe()} lies outside the space (max_depth={self.max_depth}, "
                f"widths={self.widths}, activations={self.activations}, norms={self.norms})"
            )

    # -- encoding -----------------------------------------------------------------------------
    @property
    def encoding_size(self) -> int:
        d = self.max_depth
        per_layer = 2 + len(ACTIVATIONS) + len(NORMS)  # active, width, activation, norm
        connectivity = d * (d + 1) // 2 + (d + 1)  # layer k reads 0..k-1; head reads 0..d
        return d + d * per_layer + connectivity

    def encode(self, spec: ArchSpec) -> np.ndarray:
        """Fixed-size float vector: depth one-hot, per-slot descriptors, connectivity bits."""
        self.check_spec(spec)
        d = self.max_depth
        vec = np.zeros(self.encoding_size, dtype=np.float32)
        vec[spec.depth - 1] = 1.0
        pos = d
        span = math.log2(self.max_width / self.widths[0]) or 1.0
        for k in range(d):
            if k < spec.depth:
                layer = spec.layers[k]
                vec[pos] = 1.0
                vec[pos + 1] = math.log2(layer.width / self.widths[0]) / span
                vec[pos + 2 + ACTIVATIONS.index(layer.activation)] = 1.0
                vec[pos + 2 + len(ACTIVATIONS) + NORMS.index(layer.norm)] = 1.0
            pos += 2 + len(ACTIVATIONS) + len(NORMS)
        for k in range(1, d + 1):  # layer k reads sources 0..k-1
            if k <= spec.depth:
                for s in spec.layers[k - 1].inputs:
                    vec[pos + s] = 1.0
            pos += k
        for s in spec.head_inputs:
            vec[pos + s] = 1.0
        return vec

    def decode(self, vec: np.ndarray) -> ArchSpec:
        """Inverse of :meth:`encode` (widths snap to the nearest allowed value)."""
        vec = np.asarray(vec, dtype=np.float64)
        if vec.shape != (self.encoding_size,):
            raise ValueError(f"encoding must have shape ({self.encoding_size},), got {vec.shape}")
        d = self.max_depth
        depth = int(np.argmax(vec[:d])) + 1
        span = math.log2(self.max_width / self.widths[0]) or 1.0
        pos, slots = d, []
        for _ in range(d):
            width = self.widths[0] * 2 ** (vec[pos + 1] * span)
            width = min(self.widths, key=lambda w: abs(math.log2(w) - math.log2(width)))
            act = ACTIVATIONS[int(np.argmax(vec[pos + 2 : pos + 2 + len(ACTIVATIONS)]))]
            o = pos + 2 + len(ACTIVATIONS)
            norm = NORMS[int(np.argmax(vec[o : o + len(NORMS)]))]
            slots.append((width, act, norm))
            pos += 2 + len(ACTIVATIONS) + len(NORMS)
        layers = []
        for k in range(1, d + 1):
            if k <= depth:
                inputs = tuple(s for s in range(k) if vec[pos + s] > 0.5)
                width, act, norm = slots[k - 1]
                layers.append(LayerSpec(width, act, norm, inputs))
            pos += k
        head = tuple(s for s in range(depth + 1) if vec[pos + s] > 0.5)
        return ArchSpec(layers=tuple(layers), head_inputs=head)

    # -- sampling -----------------------------------------------------------------------------
    def _connect(self, k: int, pattern: str, rng: np.random.Generator) -> tuple[int, ...]:
        """Sources read by layer (or head) ``k``: always k-1, plus extras by pattern."""
        if pattern == "plain" or k == 1:
            return (k - 1,)
        if pattern == "residual":
            return (k - 2, k - 1)
        if pattern == "dense":
            return tuple(range(k))
        extra = tuple(s for s in range(k - 1) if rng.random() < 0.35)
        return extra + (k - 1,)

    def sample(self, rng: np.random.Generator) -> ArchSpec:
        """Uniform over depth, then per-layer width/activation/norm and a connectivity pattern."""
        depth = int(rng.integers(1, self.max_depth + 1))
        pattern = self.patterns[int(rng.integers(len(self.patterns)))]
        layers = tuple(
            LayerSpec(
                width=int(rng.choice(self.widths)),
                activation=str(rng.choice(self.activations)),
                norm=str(rng.choice(self.norms)),
                inputs=self._connect(k, pattern, rng),
            )
            for k in range(1, depth + 1)
        )
        head_pattern = "plain" if pattern in ("plain", "residual") else pattern
        return ArchSpec(layers=layers, head_inputs=self._connect(depth + 1, head_pattern, rng))

    def sample_within(
        self,
        rng: np.random.Generator,
        n_features: int,
        n_outputs: int,
        max_params: int | None = None,
        max_tries: int = 50,
    ) -> ArchSpec:
        """Sample under a parameter budget: rejection first, then halve the widest layers."""
        spec = self.sample(rng)
        if max_params is None:
            return spec
        for _ in range(max_tries):
            if spec.n_params(n_features, n_outputs) <= max_params:
                return spec
            spec = self.sample(rng)
        while spec.n_params(n_features, n_outputs) > max_params:
            widest = max(range(spec.depth), key=lambda i: spec.layers[i].width)
            layer = spec.layers[widest]
            if layer.width == self.widths[0]:
                break  # the smallest architecture of this shape: return it rather than loop
            smaller = self.widths[self.widths.index(layer.width) - 1]
            layers = list(spec.layers)
            layers[widest] = LayerSpec(smaller, layer.activation, layer.norm, layer.inputs)
            spec = ArchSpec(tuple(layers), spec.head_inputs)
        return spec

    def mutate(self, spec: ArchSpec, rng: np.random.Generator) -> ArchSpec:
        """One local change: depth +-1, a width step, an activation, a norm, or one skip edge."""
        self.check_spec(spec)
        layers = list(spec.layers)
        head = set(spec.head_inputs)
        moves = ["width", "activation", "norm", "edge", "head_edge"]
        if spec.depth < self.max_depth:
            moves.append("grow")
        if spec.depth > 1:
            moves.append("shrink")
        for _ in range(20):  # retry until the move changes something (a few moves can be no-ops)
            move = moves[int(rng.integers(len(moves)))]
            k = int(rng.integers(spec.depth))
            layer = layers[k]
            if move == "width":
                i = self.widths.index(layer.width) + int(rng.choice([-1, 1]))
                if 0 <= i < len(self.widths):
                    layers[k] = LayerSpec(
                        self.widths[i], layer.activation, layer.norm, layer.inputs
                    )
            elif move == "activation" and len(self.activations) > 1:
                act = str(rng.choice([a for a in self.activations if a != layer.activation]))
                layers[k] = LayerSpec(layer.width, act, layer.norm, layer.inputs)
            elif move == "norm" and len(self.norms) > 1:
                norm = str(rng.choice([n for n in self.norms if n != layer.norm]))
                layers[k] = LayerSpec(layer.width, layer.activation, norm, layer.inputs)
            elif move == "edge" and k >= 1:
                s = int(rng.integers(k))  # optional sources of layer k+1 are 0..k-1
                inputs = set(layer.inputs) ^ {s}
                layers[k] = LayerSpec(
                    layer.width, layer.activation, layer.norm, tuple(sorted(inputs))
                )
            elif move == "head_edge" and spec.depth >= 1:
                head ^= {int(rng.integers(spec.depth))}
            elif move == "grow":
                new = LayerSpec(
                    layers[-1].width, layers[-1].activation, layers[-1].norm, (spec.depth,)
                )
                layers.append(new)
                head = {s for s in head if s != spec.depth} | {spec.depth + 1}
            elif move == "shrink":
                layers.pop()
                head = {s for s in head if s < spec.depth - 1} | {spec.depth - 1}
            candidate = ArchSpec(tuple(layers), tuple(sorted(head)))
            if candidate != spec:
                return candidate
            layers, head = list(spec.layers), set(spec.head_inputs)
        return spec
