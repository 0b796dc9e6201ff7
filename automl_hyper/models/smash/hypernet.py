"""The SMASH hypernetwork: architecture encoding -> that architecture's weights.

Weights are cut from a maximal tensor. For every (target slot t, source slot s) pair there is a
learned base block of the largest possible shape; a layer of width w reading a source of width v
uses the top-left w x v corner (stored as tiles cut at the allowed widths). A conditioning network reads the architecture encoding plus
one-hot target and source slots and modulates that corner: per-row and per-column gains and a
low-rank correction, so the same base weights behave differently inside different architectures.
Every block is then scaled by gain_s / sqrt(fan_in), with fan_in the layer's total input width in
*this* architecture: without it, a dense layer reading four sources would get pre-activations
twice as large as a plain one and the proxy would punish connectivity for the wrong reason.

Training draws a fresh random architecture for every minibatch, so the base weights learn to work
in all of them.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from automl_hyper.models.smash.architecture import ArchSpec, SearchSpace
from automl_hyper.models.smash.budget import Budget
from automl_hyper.models.smash.network import Params, forward, source_gains

HEAD_SCALE = 0.5  # same calm head as fan_in_init, so generated and fresh weights start alike


class WeightGenerator(nn.Module):
    def __init__(
        self,
        space: SearchSpace,
        n_features: int,
        n_outputs: int,
        hidden: int = 128,
        rank: int = 4,
    ) -> None:
        super().__init__()
        self.space = space
        self.n_features = n_features
        self.n_outputs = n_outputs
        self.rank = rank
        d, w = space.max_depth, space.max_width
        self.head_slot = d + 1
        rows = {t: w for t in range(1, d + 1)} | {d + 1: n_outputs}
        cols = {0: n_features} | {s: w for s in range(1, d + 1)}
        # Each maximal block is stored as tiles cut at the allowed widths, so a w x v corner is a
        # few whole tiles. Why: the optimiser then skips the tiles an architecture did not touch
        # (their gradient is None) instead of updating the whole maximal tensor every step.
        levels = (0, *space.widths)
        self._row_cuts = {t: levels for t in range(1, d + 1)} | {d + 1: (0, n_outputs)}
        self._col_cuts = {0: (0, n_features)} | {s: levels for s in range(1, d + 1)}
        self.base = nn.ParameterDict()
        for t in rows:
            rc = self._row_cuts[t]
            for s in range(t):
                cc = self._col_cuts[s]
                for a in range(len(rc) - 1):
                    for b in range(len(cc) - 1):
                        tile = torch.randn(rc[a + 1] - rc[a], cc[b + 1] - cc[b])
                        self.base[f"{t}_{s}_{a}_{b}"] = nn.Parameter(tile)
        self.base_bias = nn.ParameterDict(
            {str(t): nn.Parameter(torch.zeros(rows[t])) for t in rows}
        )
        self.max_rows = max(rows.values())
        self.max_cols = max(cols.values())
        # Conditioning input: encoding, target slot one-hot, source slot one-hot (+1: the bias).
        cond_dim = space.encoding_size + (d + 1) + (d + 2)
        self.trunk = nn.Sequential(
            nn.Linear(cond_dim, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU()
        )
        self.row_gain = nn.Linear(hidden, self.max_rows)
        self.col_gain = nn.Linear(hidden, self.max_cols)
        self.left = nn.Linear(hidden, self.max_rows * rank)
        self.right = nn.Linear(hidden, self.max_cols * rank)
        self.bias_head = nn.Linear(hidden, self.max_rows)
        for head in (self.row_gain, self.col_gain, self.left, self.bias_head):
            nn.init.normal_(head.weight, std=0.01)
            nn.init.zeros_(head.bias)
        # Start the low-rank correction at exactly zero (but not both factors: no gradient then).
        nn.init.zeros_(self.right.weight)
        nn.init.zeros_(self.right.bias)
        self._codes: dict[ArchSpec, torch.Tensor] = {}

    def encoding(self, spec: ArchSpec) -> torch.Tensor:
        code = self._codes.get(spec)
        if code is None:
            code = torch.from_numpy(self.space.encode(spec))
            if len(self._codes) < 100_000:
                self._codes[spec] = code
        return code

    def _conditions(self, spec: ArchSpec) -> tuple[torch.Tensor, list[tuple[int, int]]]:
        """One conditioning row per weight block, then one per bias; and the (t, s) of each block."""
        d = self.space.max_depth
        targets = [(k, layer.inputs) for k, layer in enumerate(spec.layers, 1)]
        targets.append((self.head_slot, spec.head_inputs))
        blocks = [(t, s) for t, inputs in targets for s in inputs]
        slots = blocks + [(t, d + 1) for t, _ in targets]
        eye_t, eye_s = torch.eye(d + 1), torch.eye(d + 2)
        t_idx = torch.tensor([t - 1 for t, _ in slots])
        s_idx = torch.tensor([s for _, s in slots])
        code = self.encoding(spec).expand(len(slots), -1)
        return torch.cat([code, eye_t[t_idx], eye_s[s_idx]], dim=1), blocks

    def forward(self, spec: ArchSpec) -> Params:
        return self.generate_many([spec])[0]

    def generate_many(self, specs: list[ArchSpec]) -> list[Params]:
        """Weights for several architectures with one pass of the conditioning network."""
        conds, layouts = [], []
        for spec in specs:
            cond, blocks = self._conditions(spec)
            conds.append(cond)
            layouts.append(blocks)
        h = self.trunk(torch.cat(conds, dim=0))
        row_gain, col_gain = self.row_gain(h), self.col_gain(h)
        left = self.left(h).view(-1, self.max_rows, self.rank)
        right = self.right(h).view(-1, self.max_cols, self.rank)
        bias = self.bias_head(h)
        out, offset = [], 0
        for spec, blocks in zip(specs, layouts):
            n_targets = spec.depth + 1
            sl = slice(offset, offset + len(blocks))
            bsl = slice(offset + len(blocks), offset + len(blocks) + n_targets)
            out.append(
                self._assemble(
                    spec, blocks, row_gain[sl], col_gain[sl], left[sl], right[sl], bias[bsl]
                )
            )
            offset += len(blocks) + n_targets
        return out

    def _corner(self, t: int, s: int, r: int, c: int) -> torch.Tensor:
        """Top-left r x c corner of the maximal (t, s) block, assembled from its tiles."""
        na, nb = self._row_cuts[t].index(r), self._col_cuts[s].index(c)
        rows = [
            torch.cat([self.base[f"{t}_{s}_{a}_{b}"] for b in range(nb)], dim=1)
            if nb > 1
            else self.base[f"{t}_{s}_{a}_0"]
            for a in range(na)
        ]
        return torch.cat(rows, dim=0) if na > 1 else rows[0]

    def _assemble(self, spec, blocks, row_gain, col_gain, left, right, bias) -> Params:
        widths = spec.source_widths(self.n_features)
        gains = source_gains(spec)
        rows = [layer.width for layer in spec.layers] + [self.n_outputs]
        targets = list(range(1, spec.depth + 1)) + [self.head_slot]
        fan_in = {t: 0 for t in targets}
        for t, s in blocks:
            fan_in[t] += widths[s]
        per_target: dict[int, list[torch.Tensor]] = {t: [] for t in targets}
        for i, (t, s) in enumerate(blocks):
            r, c = rows[targets.index(t)], widths[s]
            base = self._corner(t, s, r, c)
            w = base * (1.0 + row_gain[i, :r, None]) * (1.0 + col_gain[i, None, :c])
            w = w + left[i, :r] @ right[i, :c].T / math.sqrt(self.rank)
            scale = gains[s] / math.sqrt(fan_in[t]) * (HEAD_SCALE if t == self.head_slot else 1.0)
            per_target[t].append(w * scale)
        params = []
        for j, t in enumerate(targets):
            r = rows[j]
            weight = torch.cat(per_target[t], dim=1)
            params.append((weight, self.base_bias[str(t)][:r] + bias[j, :r]))
        return params


def task_loss(out: torch.Tensor, y: torch.Tensor, task: str) -> torch.Tensor:
    if task == "classification":
        return F.cross_entropy(out, y)
    return F.mse_loss(out.squeeze(1), y)


def _adam(params, learning_rate: float) -> torch.optim.Optimizer:
    # The fused kernel updates the many small tiles in one call (about 2x faster per step here);
    # older torch builds have no fused CPU Adam.
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=learning_rate, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=learning_rate)


def train_hypernet(
    gen: WeightGenerator,
    X: torch.Tensor,
    y: torch.Tensor,
    task: str,
    *,
    rng: np.random.Generator,
    time_budget: float | None = 60.0,
    max_epochs: int = 100,
    batch_size: int = 128,
    learning_rate: float = 1e-2,
    dropout: float = 0.0,
    max_params: int | None = None,
    archs_per_step: int = 1,
    budget: Budget | None = None,
) -> list[float]:
    """Train with a fresh random architecture per minibatch; returns the mean loss of each epoch.

    With ``archs_per_step`` > 1 each minibatch is split into that many parts, each run through
    its own fresh architecture, and one optimiser step follows their summed loss (same data per
    step, more architectures seen). Stops at ``max_epochs``, when ``time_budget`` wall seconds have
    passed or when ``budget`` (a :class:`Budget`, e.g. on a CPU clock) runs out (checked every
    minibatch, so at least one minibatch always runs).
    """
    opt = _adam(gen.parameters(), learning_rate)
    n = len(X)
    batch_size = max(1, min(batch_size, n))
    steps_per_epoch = math.ceil(n / batch_size)
    total_steps = max(1, max_epochs * steps_per_epoch)
    start = time.perf_counter()
    step = 0
    losses: list[float] = []
    gen.train()
    for _ in range(max_epochs):
        order = torch.from_numpy(rng.permutation(n))
        epoch_loss, seen = 0.0, 0
        out_of_time = False
        for i in range(0, n, batch_size):
            idx = order[i : i + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = 0.0
            for part in torch.tensor_split(idx, min(archs_per_step, len(idx))):
                spec = gen.space.sample_within(rng, gen.n_features, gen.n_outputs, max_params)
                out = forward(spec, gen(spec), X[part], dropout=dropout, training=True)
                loss = loss + task_loss(out, y[part], task) * (len(part) / len(idx))
            loss.backward()
            opt.step()
            step += 1
            # Cosine decay driven by whichever budget (steps or seconds) is closer to its end.
            elapsed = time.perf_counter() - start
            progress = step / total_steps
            if time_budget:
                progress = max(progress, elapsed / time_budget)
            if budget is not None:
                progress = max(progress, budget.fraction_used())
            for group in opt.param_groups:
                group["lr"] = learning_rate * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
            epoch_loss += loss.item() * len(idx)
            seen += len(idx)
            if (time_budget is not None and elapsed > time_budget) or (
                budget is not None and budget.past()
            ):
                out_of_time = True
                break
        losses.append(epoch_loss / seen)
        if out_of_time:
            break
    gen.eval()
    return losses
