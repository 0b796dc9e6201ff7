"""AutoGluon models for the zoo's families: one ``AbstractTorchModel`` subclass per family.

AutoGluon has no plugin discovery, so :func:`register_families` creates a class for every zoo
family with an ``ag_key`` and adds it to ``ag_model_registry``; after that
``TabularPredictor.fit(hyperparameters={"INN": {}})`` works. ``import automl_hyper`` calls it as
soon as ``autogluon.tabular`` is imported, and importing this module calls it too, so pickled
predictors load in a fresh process (the classes live in this module's globals under stable names).

AutoGluon's global feature generator runs first (it types columns, drops useless ones and turns
categories into ``category`` dtype); the resulting DataFrame goes to the family's estimator, which
has its own preprocessing.
"""

# ruff: noqa: E402  (imports follow register_families on purpose, see there)
from __future__ import annotations

import contextlib
import copy
import copyreg
import inspect
import re
import sys
import time
from typing import Any

_ready = False  # True once this module has finished importing


def register_families() -> list[type]:
    """Create and register a model class for every zoo family with an ``ag_key``.

    Idempotent: classes are created once and registered only when missing, so calling it again
    after new families were added to the zoo registers just those.
    """
    # Defined before AutoGluon is imported: when this module is imported first, importing
    # autogluon.tabular below fires automl_hyper's import hook, which calls this function while
    # the module is half-initialised. Nothing to do then; the module registers at its end.
    if not _ready:
        return []
    return _register_all()


import numpy as np
import pandas as pd
from autogluon.common import space as ag_space
from autogluon.tabular.models.abstract.abstract_torch_model import AbstractTorchModel
from autogluon.tabular.registry import ag_model_registry

from automl_hyper import zoo
from automl_hyper.space import Categorical, Dimension, Float, Int

__all__ = [
    "ZooModel",
    "default_hyperparameters",
    "family_hyperparameters",
    "model_class",
    "register_families",
    "to_autogluon_space",
]

# The reference trio of issue 13.7, as AutoGluon's own "default" config declares each of them.
GBDT_KEYS = ("GBM", "CAT", "XGB")
# The families default_hyperparameters offers: the zoo's own, not SMASH winners registered at
# run time (those are fixed architectures a user adds by name).
DEFAULT_FAMILIES = ("mothernet", "inn", "smash")

# Estimator parameters that count epochs; the first one an estimator has receives ``n_epochs_``
# after fit, so that refit_full trains for as long as the original model actually did.
_EPOCH_PARAMS = ("max_epochs", "n_epochs", "epochs")


def to_autogluon_space(space: dict[str, Dimension]) -> dict[str, ag_space.Space]:
    """The neutral search space as ``autogluon.common.space`` objects, defaults made explicit."""
    out: dict[str, ag_space.Space] = {}
    for name, dim in space.items():
        if isinstance(dim, Float):
            out[name] = ag_space.Real(dim.low, dim.high, default=dim.default, log=dim.log)
        elif isinstance(dim, Int):
            # autogluon's Int has no log scale; the range is searched uniformly.
            out[name] = ag_space.Int(dim.low, dim.high, default=dim.default)
        elif isinstance(dim, Categorical):
            # AutoGluon tries a Categorical's first choice first: put the default there.
            rest = [c for c in dim.choices if c != dim.default]
            out[name] = ag_space.Categorical(dim.default, *rest)
        else:
            raise TypeError(f"unknown search dimension for {name!r}: {dim!r}")
    return out


def family_hyperparameters(families: list[str] | None = None) -> dict[str, list[dict]]:
    """``hyperparameters`` entries for the zoo's AutoGluon families (default: DEFAULT_FAMILIES).

    Each family's ``ag_configs`` (zoo.py), fastest first: config i gets priority
    ``ag_priority - i``, so AutoGluon fits MotherNet generation before MotherNet + fine-tuning
    (``MotherNetFT``) whatever else is in the run. A priority set in a config's ``ag_args`` wins.

    AutoGluon fits models one after another by priority, each given the time still left, so the
    priorities order our families by cost around its GBDTs (LightGBM 90, CatBoost 70, XGBoost
    40): MotherNet generation (~1 s, 100) and MotherNetFT (a few s, 99), INN (seconds, 95, capped
    by ``ag_args_fit`` at a quarter of the time left) before them, SMASH (80, capped at 15% of the
    time left) after LightGBM. With the old order (MotherNet 50, INN 40, SMASH 30) LightGBM and
    CatBoost used a 60 s limit first on 21 of 60 runs and none of ours was fitted
    (benchmarks/results/autogluon_uplift_cc18-30.md); with SMASH last (30) it was skipped on 46
    of 150 (autogluon_uplift_smashfit.md, autogluon_uplift_selection_smashslot.md).
    """
    names = DEFAULT_FAMILIES if families is None else families
    out: dict[str, list[dict]] = {}
    for name in names:
        family = zoo.get(name)
        if family.ag_key is None:
            raise ValueError(
                f"family {family.name!r} has no ag_key, so it is not an AutoGluon model"
            )
        configs = []
        for i, config in enumerate(family.ag_configs):
            config = copy.deepcopy(config)  # the zoo's declaration stays untouched
            config["ag_args"] = config.get("ag_args", {})
            config["ag_args"].setdefault("priority", int(family.ag_priority) - i)
            configs.append(config)
        out[family.ag_key] = configs
    return out


def default_hyperparameters(
    families: list[str] | None = None, *, gbdt: bool = True
) -> dict[str, Any]:
    """AutoGluon's GBDT trio (GBM, CAT, XGB as its "default" config has them) plus our families.

    ``TabularPredictor(...).fit(df, hyperparameters=default_hyperparameters())``; ``gbdt=False``
    gives only the zoo's families (:func:`family_hyperparameters`).
    """
    from autogluon.tabular.configs.hyperparameter_configs import get_hyperparameter_config

    out: dict[str, Any] = {}
    if gbdt:
        ag_default = get_hyperparameter_config("default")
        out.update({key: ag_default[key] for key in GBDT_KEYS})
    out.update(family_hyperparameters(families))
    return out


def _torch_modules(obj: Any):
    import torch

    if isinstance(obj, torch.nn.Module):
        yield obj
    elif isinstance(obj, list | tuple):
        for item in obj:
            if isinstance(item, torch.nn.Module):
                yield item


class _ZooModelMeta(type(AbstractTorchModel)):
    """Metaclass of the generated classes, so that pickle can carry their family (see below)."""


class ZooModel(AbstractTorchModel, metaclass=_ZooModelMeta):
    """Base of the generated classes; ``family_name`` picks the zoo family."""

    family_name: str = ""
    seed_name = "random_state"
    # AutoGluon's generators hand over numbers and categories; text and datetimes are dropped.
    # use_val_data (set as "ag.use_val_data"): hand AutoGluon's X_val/y_val to the estimator's fit.
    _default_auxiliary_params_extra = {
        "valid_raw_types": ["bool", "int", "float", "category"],
        "use_val_data": True,
    }
    # torch threads this model was fitted with (AutoGluon's num_cpus for it); predict uses them.
    fit_torch_threads: int | None = None
    # Whether the estimator early-stopped / ranked on AutoGluon's X_val (else its own split).
    used_val_data: bool = False

    @property
    def family(self) -> zoo.Family:
        return zoo.get(self.family_name)

    def _task(self) -> str:
        return "regression" if self.problem_type == "regression" else "classification"

    def _set_default_params(self) -> None:
        for name, value in self.family.default_params().items():
            self._set_default_param_value(name, value)

    def _get_default_searchspace(self) -> dict:
        return to_autogluon_space(self.family.space)

    def _ag_params(self) -> set[str]:
        return {"use_val_data"}

    @classmethod
    def _estimate_memory_usage_static(
        cls, *, X: pd.DataFrame, hyperparameters: dict | None = None, **kwargs
    ) -> int:
        """Peak fit memory in bytes: the family's ``ag_memory`` (zoo.py; for these
        ``hyperparameters``) applied to X's cells after one-hot encoding (at most 21 columns per
        category: 20 levels plus the rest), and to its rows where a third entry (bytes per row)
        is given. AutoGluon compares it with the memory available before fitting (and per Ray
        fold)."""
        estimate = zoo.get(cls.family_name).memory_estimate(hyperparameters)
        base_mib, per_cell, per_row = (*estimate, 0.0)[:3]
        numeric = X.select_dtypes(exclude=["category", "object"]).shape[1]
        categorical = X.select_dtypes(include=["category", "object"])
        levels = sum(min(int(categorical[c].nunique()), 21) for c in categorical.columns)
        cells = per_cell * len(X) * max(numeric + levels, 1)
        return int(base_mib * 2**20 + cells + per_row * len(X))

    def _fit(
        self,
        X: pd.DataFrame,
        y: pd.Series,
        X_val: pd.DataFrame | None = None,
        y_val: pd.Series | None = None,
        time_limit: float | None = None,
        num_cpus: int = 1,
        num_gpus: float = 0,
        **kwargs,
    ) -> None:
        import torch

        start = time.monotonic()
        if num_cpus and num_cpus > 0:
            torch.set_num_threads(int(num_cpus))  # reset afterwards by the reset_torch_threads tag
        # What this fit (a bagged fold in a Ray worker included) was given; the estimators use at
        # most this many (MotherNet and INN train on one thread, see torch_utils.torch_threads).
        self.fit_torch_threads = torch.get_num_threads()
        device = self._resolve_fit_device(num_gpus=num_gpus)

        params = self._get_model_params()
        accepted = set(self.family.make(self._task()).get_params())
        # Only framework-injected keys are dropped when the estimator lacks them; anything else the
        # user passed goes to the estimator, whose constructor rejects unknown names clearly.
        for injected in ("random_state", "time_limit", "device"):
            if injected not in accepted:
                params.pop(injected, None)
        if "device" in accepted:
            params["device"] = device
        if time_limit is not None and "time_limit" in accepted:
            remaining = time_limit - (time.monotonic() - start)
            # Keep a margin for preprocessing, prediction on the validation set and saving; a
            # smaller limit the user set in the hyperparameters still wins.
            budget = max(remaining * 0.8, 0.1)
            user = params.get("time_limit")
            params["time_limit"] = budget if user is None else min(float(user), budget)
            if "wall_time_limit" in accepted:
                # SMASH's time_limit counts CPU seconds; AutoGluon's limit is wall time.
                params["wall_time_limit"] = budget

        X = self.preprocess(X, is_train=True)
        self.model = self.family.make(self._task(), **params)
        fit_kwargs = {}
        use_val = self._get_ag_params().get("use_val_data", True)
        if use_val and X_val is not None and y_val is not None and len(X_val):
            if "X_val" in inspect.signature(self.model.fit).parameters:
                # AutoGluon's holdout (or a bagged fold's out-of-fold rows) replaces the
                # estimator's internal split: all of X trains.
                fit_kwargs = {"X_val": self.preprocess(X_val), "y_val": y_val}
        self.model.fit(X, y, **fit_kwargs)
        self.used_val_data = bool(fit_kwargs)

        n_epochs = getattr(self.model, "n_epochs_", None)
        epoch_param = next((p for p in _EPOCH_PARAMS if p in accepted), None)
        if n_epochs is not None and epoch_param is not None:
            # The refit_full model trains on all rows for the epochs this one actually used.
            self.params_trained[epoch_param] = max(int(n_epochs), 1)

    def _predict_proba(self, X: pd.DataFrame, **kwargs) -> np.ndarray:
        with self._fit_threads():
            return self._predict_proba_inner(X, **kwargs)

    @contextlib.contextmanager
    def _fit_threads(self):
        """Predict on the threads AutoGluon gave the fit (then restore the caller's setting)."""
        if not self.fit_torch_threads:
            yield
            return
        from automl_hyper.models.torch_utils import torch_threads

        with torch_threads(self.fit_torch_threads):
            yield

    def _predict_proba_inner(self, X: pd.DataFrame, **kwargs) -> np.ndarray:
        X = self.preprocess(X, **kwargs)
        if self.problem_type == "regression":
            return np.asarray(self.model.predict(X), dtype=np.float32)
        proba = np.asarray(self.model.predict_proba(X))
        # A bagging fold may miss a rare class: put the estimator's columns where AutoGluon's are.
        classes = np.asarray(self.model.classes_).astype(int)
        if proba.shape[1] != self.num_classes:
            full = np.zeros((proba.shape[0], self.num_classes), dtype=proba.dtype)
            full[:, classes] = proba
            proba = full
        return self._convert_proba_to_unified_form(proba)

    # --- devices (AbstractTorchModel saves on CPU and moves back on load) ----------------------
    def get_device(self) -> str:
        device = getattr(self.model, "device_", None)
        return str(getattr(device, "type", device) or "cpu")

    def _set_device(self, device: str) -> None:
        import torch

        for name, value in vars(self.model).items():
            if not name.endswith("_"):
                continue  # only fitted state moves
            for module in _torch_modules(value):
                module.to(device)
            if isinstance(value, torch.device):
                setattr(self.model, name, torch.device(device))

    @classmethod
    def _class_tags(cls) -> dict:
        return {"reset_torch_threads": True}

    def _more_tags(self) -> dict:
        # refit_full has no X_val: INN trains for the epochs the X_val fit chose (params_trained);
        # MotherNet fine-tuning and SMASH fall back to their internal split there.
        return {"can_refit_full": True}


def _class_name(family_name: str) -> str:
    parts = re.split(r"[^0-9a-zA-Z]+", family_name)
    name = "".join(p[:1].upper() + p[1:] for p in parts if p)
    return f"{name or 'Family'}Model"


_CLASSES: dict[str, type[ZooModel]] = {}


def model_class(family_name: str) -> type[ZooModel]:
    """The AutoGluon model class of a family (created on first request, then reused)."""
    family = zoo.get(family_name)
    if family.ag_key is None:
        raise ValueError(f"family {family.name!r} has no ag_key, so it is not an AutoGluon model")
    cls = _CLASSES.get(family.name)
    if cls is not None:
        return cls
    name = _class_name(family.name)
    cls = type(
        name,
        (ZooModel,),
        {
            "__module__": __name__,
            "__qualname__": name,
            "__doc__": f"{family.description or family.name} (automl-hyper family {family.name!r}).",
            "family_name": family.name,
            "ag_key": family.ag_key,
            "ag_name": family.ag_name or family.ag_key,
            "ag_priority": int(family.ag_priority),
            "_supported_problem_types": list(family.problem_types),
        },
    )
    # Pickle finds the class by module and qualified name: make it a real attribute here.
    setattr(sys.modules[__name__], name, cls)
    _CLASSES[family.name] = cls
    return cls


def _restore_class(family_name: str, family: zoo.Family | None) -> type:
    """Unpickle a generated class: the zoo's current family of that name, else the pickled one.

    Families registered at runtime (e.g. SMASH winners) are not in a fresh process's zoo; their
    pickled declaration registers them again, so a saved predictor loads without extra steps.
    """
    if family_name not in zoo.FAMILIES and family is not None:
        zoo.register(family)
    cls = model_class(family_name)
    register_families()
    return cls


def _reduce_class(cls: type) -> Any:
    if cls is ZooModel:
        return "ZooModel"  # the base class itself: by reference, as usual
    family = zoo.FAMILIES.get(cls.family_name)
    return _restore_class, (cls.family_name, family)


# Pickle consults copyreg for a class's metaclass before saving the class by reference.
copyreg.pickle(_ZooModelMeta, _reduce_class)


def _register_all() -> list[type[ZooModel]]:
    registered = []
    for name in zoo.names(autogluon_only=True):
        cls = model_class(name)
        if not ag_model_registry.exists(cls):
            holder = ag_model_registry.key_to_cls_map().get(cls.ag_key)
            if holder is not None:
                if getattr(holder, "__module__", None) != __name__:
                    raise ValueError(
                        f"AutoGluon key {cls.ag_key!r} of family {name!r} is already taken by "
                        f"{holder.__module__}.{holder.__qualname__}; choose another ag_key"
                    )
                ag_model_registry.remove(holder)  # a stale copy from a reloaded module
            ag_model_registry.add(cls)
        registered.append(cls)
    return registered


def __getattr__(name: str) -> Any:
    # Unpickling a model of a family that joined the zoo after this module was imported.
    register_families()
    cls = next((c for c in _CLASSES.values() if c.__qualname__ == name), None)
    if cls is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return cls


def _on_zoo_register(family: zoo.Family) -> None:
    if family.ag_key:
        register_families()


_ready = True
register_families()
# Families registered later (e.g. SMASH winners) reach AutoGluon without a manual call.
zoo.add_register_hook(_on_zoo_register)
