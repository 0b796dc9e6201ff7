"""Grow a trained MotherNet into a larger architecture that computes the same function.

A larger model trained from scratch needs far more synthetic tasks than one lent GPU session
gives (the shipped 3.1M-parameter model saw 14M). Growing starts the larger model *at* the trained
one (Net2Net-style, function-preserving), so every GPU minute goes into what the extra capacity
can add:

* extra encoder layers are appended as identities: pre-norm residual layers whose two residual
  branches end in zeroed projections (attention ``out_proj``, feed-forward ``linear2``), so
  ``x + 0 + 0``; their other weights are random, so the zeroed projections get gradients at
  once;
* a wider decoder (``decoder_hidden``) gets new hidden units whose *outgoing* weights are zero:
  the old units compute what they did, the new ones are computed and ignored until training
  moves their outgoing weights (which receive gradients: the new units' activations are not
  zero).

Everything else (embeddings, the kept layers, heads' old weights, the shared bases) is copied.
What cannot grow this way (embedding width, heads, child size, rank, feature or class limits)
is refused with the list of differences.
"""

from __future__ import annotations

import torch

from automl_hyper.models.mothernet.model import ModelConfig, MotherNet

# Fields that must be equal: they change the shape of something whose function has no
# zero-output extension (the residual stream, the generated child, the inputs).
_FIXED = ("max_features", "max_classes", "embed_dim", "n_heads", "ff_dim", "child_hidden", "rank")
# Tensors whose shapes follow ``decoder_hidden``: copied into the leading block by grow().
_DECODER = ("decoder.", "first_layer_head.", "class_head.")


def growth_problems(small: ModelConfig, large: ModelConfig) -> list[str]:
    """Why ``small`` cannot grow into ``large`` (empty when it can)."""
    problems = [
        f"{name} {getattr(small, name)} -> {getattr(large, name)}"
        for name in _FIXED
        if getattr(small, name) != getattr(large, name)
    ]
    if large.n_layers < small.n_layers:
        problems.append(f"n_layers {small.n_layers} -> {large.n_layers} (fewer)")
    if large.decoder_hidden < small.decoder_hidden:
        problems.append(f"decoder_hidden {small.decoder_hidden} -> {large.decoder_hidden} (fewer)")
    if large.decoder_hidden % 2 or small.decoder_hidden % 2:
        problems.append("decoder_hidden must be even (the class head is half as wide)")
    return problems


def grow(small: MotherNet, config: ModelConfig, seed: int = 0) -> MotherNet:
    """A ``MotherNet(config)`` that generates the same children as ``small`` (float rounding
    aside); its new weights are drawn with ``seed``."""
    problems = growth_problems(small.config, config)
    if problems:
        raise ValueError(
            "cannot grow this MotherNet into the requested architecture, only add encoder "
            "layers and decoder width: " + "; ".join(problems)
        )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        large = MotherNet(config)
    old = small.state_dict()
    new = large.state_dict()
    D0, D = small.config.decoder_hidden, config.decoder_hidden
    E = config.embed_dim
    with torch.no_grad():
        for name, value in old.items():
            if not name.startswith(_DECODER):  # same shapes; the decoder is copied block-wise
                new[name].copy_(value)
        # Decoder: old units keep their weights, new units ignore nothing but feed nothing.
        _copy_block(new["decoder.0.weight"], old["decoder.0.weight"])
        _copy_block(new["decoder.0.bias"], old["decoder.0.bias"])
        _copy_block(new["decoder.2.weight"], old["decoder.2.weight"], zero_new_inputs=True)
        _copy_block(new["decoder.2.bias"], old["decoder.2.bias"])
        _copy_block(new["first_layer_head.weight"], old["first_layer_head.weight"], True)
        new["first_layer_head.bias"].copy_(old["first_layer_head.bias"])
        # Class head input: [class mean (E), context (D), log frequency (1)].
        w_old, w_new = old["class_head.0.weight"], new["class_head.0.weight"]
        h0 = w_old.shape[0]
        w_new[:h0].zero_()
        w_new[:h0, :E] = w_old[:, :E]
        w_new[:h0, E : E + D0] = w_old[:, E : E + D0]
        w_new[:h0, E + D] = w_old[:, E + D0]
        _copy_block(new["class_head.0.bias"], old["class_head.0.bias"])
        _copy_block(new["class_head.2.weight"], old["class_head.2.weight"], True)
        new["class_head.2.bias"].copy_(old["class_head.2.bias"])
        # Appended encoder layers: identities until trained.
        for i in range(small.config.n_layers, config.n_layers):
            for part in ("self_attn.out_proj", "linear2"):
                new[f"encoder.layers.{i}.{part}.weight"].zero_()
                new[f"encoder.layers.{i}.{part}.bias"].zero_()
    large.load_state_dict(new)
    return large


def _copy_block(target: torch.Tensor, source: torch.Tensor, zero_new_inputs: bool = False) -> None:
    """``source`` into the leading block of ``target``; with ``zero_new_inputs`` the columns
    past the source's (weights from new units) are zeroed on the copied rows."""
    if source.dim() == 1:
        target[: source.shape[0]] = source
        return
    rows, cols = source.shape
    if zero_new_inputs:
        target[:rows].zero_()
    target[:rows, :cols] = source
