"""INN (and TabResNet, the same network and loop) as weights: no pickle to write or read them.

:func:`export_weights` writes ``config.json`` (parameters, class labels, feature names, the fitted
preprocessing and every other fitted value, see :mod:`automl_hyper.data.preprocess_state`) and
``arrays.npz`` (the snapshot ensemble's ``state_dict`` tensors, float32 as trained, and the
preprocessing's arrays). :func:`from_weights` rebuilds an estimator that predicts, explains and
scores exactly as the original (it predicts through the same float64 copy of the ensemble); what it
lacks is the training state (optimizer, scheduler, snapshots), so ``partial_fit`` cannot continue.
With ``trunk_encoding`` the trunk's spline encoder is stored too (its knots and column lists,
``config["trunk_encoder"]`` and ``trunk_encoder.*`` arrays) and rebuilt from them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from automl_hyper.data.preprocess_state import (
    estimator_state,
    header,
    read_state,
    rebuild_estimator,
    write_state,
)
from automl_hyper.data.spline import load_encoder, store_encoder
from automl_hyper.models.inn.estimator import INNClassifier, INNRegressor
from automl_hyper.models.inn.network import MesomorphicNet

LOADER = __name__
# Training state and caches: rebuilt (ensemble_, device_) or not needed to predict.
_SKIP = {"network_", "optimizer_", "scheduler_", "snapshots_", "_batch_rng", "_ensemble64"}
_SKIP |= {"ensemble_", "device_", "_member_states", "trunk_encoder_"}
_ENCODER = "trunk_encoder"


def _classes() -> dict[str, type]:
    from automl_hyper.models.baselines.tabresnet import TabResNetClassifier  # imports INN

    return {c.__name__: c for c in (INNClassifier, INNRegressor, TabResNetClassifier)}


def can_export(est: Any) -> bool:
    return type(est) in _classes().values() and hasattr(est, "ensemble_")


def export_weights(est: Any, folder: str | Path) -> dict[str, Path]:
    """Write a fitted INN/TabResNet estimator to ``folder``; returns name -> file."""
    if not can_export(est):
        raise TypeError(f"not a fitted INN or TabResNet estimator: {type(est).__qualname__}")
    arrays: dict = {}
    config = {**header(LOADER), **estimator_state(est, _SKIP, arrays)}
    first = est.ensemble_[0]
    config["network"] = {
        "n_features": first.n_features,
        "n_outputs": first.n_outputs,
        "width": first.head.in_features,
        "n_blocks": len(first.trunk.blocks),
        "mesomorphic": first.mesomorphic,
        "members": len(est.ensemble_),
        "trunk_features": first.trunk_features,
    }
    store_encoder(est.__dict__.get("trunk_encoder_"), _ENCODER, config, arrays)
    for i, net in enumerate(est.ensemble_):
        for name, tensor in net.state_dict().items():
            arrays[f"ensemble.{i}.{name}"] = tensor.detach().cpu().numpy()
    return write_state(folder, config, arrays)


def from_weights(folder: str | Path) -> Any:
    """The estimator :func:`export_weights` wrote, on the CPU, ready to predict."""
    config, arrays = read_state(folder, LOADER)
    est = rebuild_estimator(_classes(), config, arrays)
    shape = config["network"]
    est.device_ = torch.device("cpu")
    est.trunk_encoder_ = load_encoder(_ENCODER, config, arrays)
    est.ensemble_ = []
    for i in range(shape["members"]):
        prefix = f"ensemble.{i}."
        state = {
            k[len(prefix) :]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith(prefix)
        }
        with torch.device("meta"):  # no random init: every tensor comes from the file
            net = MesomorphicNet(
                shape["n_features"],
                shape["n_outputs"],
                width=shape["width"],
                n_blocks=shape["n_blocks"],
                dropout=est.dropout,
                mesomorphic=shape["mesomorphic"],
                trunk_features=shape.get("trunk_features"),
            )
        net.load_state_dict(state, assign=True)
        est.ensemble_.append(net.eval())
    return est
