"""Fine-tuning a generated child: full-batch Adam on its four weight tensors.

The estimator (``MotherNetClassifier._finetune``) decides which rows and how many steps; this
module runs the steps. Kept apart from the estimator so the loop reads on its own: early stopping
on validation rows, or weight averaging over the run's tail (``finetune_average``), with the
options input noise and a separate rate for the hidden layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from automl_hyper.metrics import auc_score
from automl_hyper.models.mothernet.model import ChildWeights, child_logits


@dataclass(frozen=True)
class TuneOptions:
    """The estimator's fine-tuning parameters (``finetune_lr``, ``temperature``,
    ``finetune_noise``, ``finetune_hidden_scale``, ``finetune_stop_metric``)."""

    lr: float
    temperature: float = 1.0
    noise: float = 0.0
    hidden_scale: float = 1.0
    stop_metric: str = "loss"


class _Adam:
    """Plain Adam for the child's tensors, one rate each. torch.optim's first use imports
    torch._dynamo (seconds), which would dominate a fit that otherwise takes milliseconds."""

    def __init__(self, params: list[torch.Tensor], lrs: list[float], betas=(0.9, 0.999), eps=1e-8):
        self.params, self.lrs, self.betas, self.eps, self.t = params, lrs, betas, eps, 0
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]

    @torch.no_grad()
    def step(self, grads) -> None:
        self.t += 1
        b1, b2 = self.betas
        for p, g, m, v, lr in zip(self.params, grads, self.m, self.v, self.lrs):
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            m_hat = m / (1 - b1**self.t)
            v_hat = v / (1 - b2**self.t)
            p.sub_(lr * m_hat / (v_hat.sqrt() + self.eps))


def _validation_auc(logits: torch.Tensor, yva: np.ndarray, present: np.ndarray) -> float:
    """ROC AUC of the validation rows' ``logits`` (the benchmarks' ``auc_score``), over the
    classes ``present`` there (a small split may miss some)."""
    proba = torch.softmax(logits[:, present], dim=1).numpy()
    return auc_score(np.searchsorted(present, yva), proba)


def tune_child(
    w: ChildWeights,
    Ztr: np.ndarray,
    ytr: np.ndarray,
    Zva: np.ndarray | None,
    yva: np.ndarray | None,
    steps: int,
    options: TuneOptions,
    average_from: int | None = None,
) -> tuple[ChildWeights, int, list[float]]:
    """``steps`` Adam steps on child ``w`` over the rows ``Ztr``, ``ytr`` (``Ztr``'s F columns are
    the child's first F inputs; the rest of its width is padding). With validation rows: the
    weights and step count of the lowest validation loss (or highest AUC, ``stop_metric``), and
    the loss before each step and after the last (the curve); else the last weights
    or, with ``average_from``, the mean of the weights after each step from that one to the last
    (step 0 = the generated weights), and ``steps``."""
    K = int(max(ytr.max(), (yva.max() if yva is not None else 0))) + 1
    F = Ztr.shape[1]
    # Only the weights of the child's first F inputs and K outputs are tuned: the inputs beyond F
    # are zero padding and the logits beyond K never reach the loss, so their weights would get
    # zero gradients and Adam would leave them as generated (they are put back as generated).
    # mothernet-ft fits 0.73x the time on the selection set, predictions unchanged
    # (benchmarks/results/mothernet_ft_slicing.md).
    params = [
        t.detach().clone().requires_grad_(True)
        for t in (w.W1[:, :F], w.b1, w.W2[:, :, :K], w.b2[:, :K])
    ]
    # hidden_scale 0: the hidden layer stays as generated (its weights get no gradient).
    trained = params if options.hidden_scale > 0 else params[2:]
    hidden_lr = options.lr * options.hidden_scale
    adam = _Adam(trained, lrs=[hidden_lr, hidden_lr, options.lr, options.lr][-len(trained) :])
    Xtr, ttr = torch.from_numpy(Ztr)[None], torch.from_numpy(ytr)
    Xva = torch.from_numpy(Zva)[None] if Zva is not None else None
    tva = torch.from_numpy(yva) if yva is not None else None

    def whole(tuned: list[torch.Tensor]) -> ChildWeights:
        """The child at full size: the tuned slices in the generated weights."""
        W1, W2, b2 = (t.detach().clone() for t in (w.W1, w.W2, w.b2))
        t1, bias1, t2, bias2 = (t.detach() for t in tuned)
        W1[:, :F], W2[:, :, :K], b2[:, :K] = t1, t2, bias2
        return ChildWeights(W1, bias1.clone(), W2, b2)

    def logits_on(Xb) -> torch.Tensor:
        return child_logits(ChildWeights(*params), Xb)[0] / options.temperature

    best, best_step, curve = (-math.inf, math.inf), 0, []
    present = np.unique(yva) if Xva is not None and options.stop_metric == "auc" else None
    by_auc = present is not None and len(present) > 1
    best_params = [p.detach().clone() for p in params]
    # Allocated only for the options that use them (this runs for every child).
    total = [torch.zeros_like(p.detach()) for p in params] if average_from is not None else []
    counted = 0
    # Input noise: one fixed stream per tuning run, so a fit repeats exactly.
    noise_rng = torch.Generator().manual_seed(0) if options.noise > 0 else None
    with torch.enable_grad():
        for step in range(steps + 1):
            if average_from is not None and step >= average_from:
                for t, p in zip(total, params):
                    t.add_(p.detach())
                counted += 1
            if Xva is not None:
                with torch.no_grad():
                    logits = logits_on(Xva)
                    val = torch.nn.functional.cross_entropy(logits, tva).item()
                    auc = _validation_auc(logits, yva, present) if by_auc else 0.0
                curve.append(val)
                # Lower loss; with stop_metric="auc", higher AUC first (4 decimals), loss on ties.
                if round(auc, 4) > best[0] or (round(auc, 4) == best[0] and val < best[1] - 1e-4):
                    best, best_step = (round(auc, 4), val), step
                    best_params = [p.detach().clone() for p in params]
            if step == steps:
                break
            Xb = Xtr
            if options.noise > 0:
                noise = torch.randn(Xtr.shape[1], F, generator=noise_rng)
                Xb = Xtr + noise * options.noise
            loss = torch.nn.functional.cross_entropy(logits_on(Xb), ttr)
            adam.step(torch.autograd.grad(loss, trained))
    if Xva is not None:
        return whole(best_params), best_step, curve
    if counted:
        return whole([t / counted for t in total]), steps, curve
    return whole(params), steps, curve
