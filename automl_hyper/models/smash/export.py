"""SMASH and fixed-architecture estimators as weights: no pickle to write or read them.

:func:`export_weights` writes ``config.json`` (parameters, class labels, feature names, the fitted
preprocessing, the search's tables and every other fitted value, see
:mod:`automl_hyper.data.preprocess_state`; each network's architecture as its ``ArchSpec`` JSON)
and ``arrays.npz`` (each network's weights and biases, float64 as the estimator predicts with, and
the preprocessing's arrays). :func:`from_weights` rebuilds an estimator that predicts exactly as
the original: the same ``ArchNet`` forward pass on the same float64 weights. With
``input_encoding`` the spline encoder is stored too (``config["input_encoder"]``, its knots and
column lists as ``input_encoder.*`` arrays) and rebuilt from them.
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
from automl_hyper.models.smash.architecture import ArchSpec
from automl_hyper.models.smash.estimators import (
    FixedArchitectureClassifier,
    FixedArchitectureRegressor,
    SmashClassifier,
    SmashRegressor,
)
from automl_hyper.models.smash.network import ArchNet

LOADER = __name__
CLASSES = {
    c.__name__: c
    for c in (
        SmashClassifier,
        SmashRegressor,
        FixedArchitectureClassifier,
        FixedArchitectureRegressor,
    )
}
# Stored their own way (networks), or derived from the parameters again (search space, spec_).
_SKIP = {"net_", "ensemble_nets_", "search_space_", "spec_", "input_encoder_"}
_ENCODER = "input_encoder"


def _spec_to_json(value: Any) -> Any:
    return {"arch_spec": value.to_json()} if isinstance(value, ArchSpec) else None


def _spec_from_json(entry: Any) -> ArchSpec:
    return ArchSpec.from_json(entry["arch_spec"])


def can_export(est: Any) -> bool:
    return type(est) in CLASSES.values() and hasattr(est, "net_")


def export_weights(est: Any, folder: str | Path) -> dict[str, Path]:
    """Write a fitted SMASH or fixed-architecture estimator to ``folder``; returns name -> file."""
    if not can_export(est):
        raise TypeError(f"not a fitted SMASH estimator: {type(est).__qualname__}")
    arrays: dict = {}
    config = {**header(LOADER), **estimator_state(est, _SKIP, arrays, _spec_to_json)}
    nets = getattr(est, "ensemble_nets_", None) or [est.net_]
    if nets[0] is not est.net_:
        raise ValueError("net_ is not the first ensemble member: unknown layout")
    config["networks"] = []
    for i, net in enumerate(nets):
        weights = [w.detach().cpu().numpy() for w in net.weights]
        config["networks"].append(
            {
                "spec": net.spec.to_json(),
                "shapes": [list(w.shape) for w in weights],
                "dropout": net.dropout,
            }
        )
        for j, (w, b) in enumerate(zip(weights, net.biases)):
            arrays[f"networks.{i}.weight.{j}"] = w
            arrays[f"networks.{i}.bias.{j}"] = b.detach().cpu().numpy()
    config["ensemble"] = hasattr(est, "ensemble_nets_")
    store_encoder(est.__dict__.get("input_encoder_"), _ENCODER, config, arrays)
    return write_state(folder, config, arrays)


def from_weights(folder: str | Path) -> Any:
    """The estimator :func:`export_weights` wrote, ready to predict (float64, CPU)."""
    config, arrays = read_state(folder, LOADER)
    est = rebuild_estimator(CLASSES, config, arrays, _spec_from_json)
    est._check_param_values()  # search_space_ / spec_, derived from the parameters as fit does
    encoder = load_encoder(_ENCODER, config, arrays)  # None also before input_encoding
    n_in = est.preprocessor_.n_features_out_
    if encoder is not None:
        est.input_encoder_ = encoder
        n_in = encoder.n_features_out_
    elif "input_encoding" in config["params"]:
        est.input_encoder_ = None
    elif isinstance(est, SmashClassifier | SmashRegressor):
        # Exported before input_encoding existed: the constructor gave it today's default, but
        # these networks read the preprocessed columns; say so.
        est.input_encoding = None
    nets = []
    for i, entry in enumerate(config["networks"]):
        params = [
            (
                torch.from_numpy(arrays[f"networks.{i}.weight.{j}"]),
                torch.from_numpy(arrays[f"networks.{i}.bias.{j}"]),
            )
            for j in range(len(entry["shapes"]))
        ]
        spec = ArchSpec.from_json(entry["spec"])
        n_out = entry["shapes"][-1][0]
        net = ArchNet(spec, n_in, n_out, dropout=entry["dropout"], init=params)  # checks shapes
        nets.append(net.double().eval())
    est.net_ = nets[0]
    if config["ensemble"]:
        est.ensemble_nets_ = nets
    return est
