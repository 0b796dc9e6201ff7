"""AutoGluon integration, with the real AutoGluon: registration, fit, time limit, refit_full,
bagging, HPO over the family's space, save and load in a new process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from autogluon.common import space as ag_space
from autogluon.tabular import TabularPredictor
from autogluon.tabular.registry import ag_model_registry

from automl_hyper import zoo
from automl_hyper.integrations import autogluon as ag_int
from automl_hyper.models.smash import SmashClassifier
from automl_hyper.models.torch_utils import torch_threads

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
REPO = Path(__file__).resolve().parents[1]
# Few epochs keep every fit to about a second on a loaded 2-core machine.
FAST_INN = {"max_epochs": 2, "hidden_width": 64, "n_blocks": 1}


def _credit_g(n: int = 160) -> pd.DataFrame:
    path = DATASETS / "credit-g.csv"
    if not path.exists():
        pytest.skip(f"{path} not available")
    # Stratified sample: mixed numeric and categorical columns, both classes present.
    df = pd.read_csv(path)
    return df.groupby("target", group_keys=False).sample(frac=n / len(df), random_state=0)


def _run(code: str, timeout: int = 240) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_every_autogluon_family_is_registered_once():
    classes = ag_int.register_families()
    again = ag_int.register_families()  # idempotent: same classes, no assertion from AutoGluon
    assert classes == again
    keys = {zoo.get(n).ag_key for n in zoo.names(autogluon_only=True)}
    assert {c.ag_key for c in classes} == keys
    assert "INN" in keys
    for cls in classes:
        assert ag_model_registry.exists(cls)
        assert ag_model_registry.key_to_cls(cls.ag_key) is cls
        assert cls.__module__ == "automl_hyper.integrations.autogluon"
        assert getattr(ag_int, cls.__qualname__) is cls  # picklable by reference
    inn = ag_model_registry.key_to_cls("INN")
    assert inn.ag_name == "INN" and inn.seed_name == "random_state"
    assert set(inn._supported_problem_types) == {"binary", "multiclass", "regression"}


def test_search_space_translation_keeps_defaults():
    space = ag_int.to_autogluon_space(zoo.get("inn").space)
    assert isinstance(space["learning_rate"], ag_space.Real)
    assert space["learning_rate"].log and space["learning_rate"].default == pytest.approx(3e-3)
    assert isinstance(space["n_blocks"], ag_space.Int) and space["n_blocks"].default == 2
    width = space["hidden_width"]
    assert isinstance(width, ag_space.Categorical) and width.default == 128
    assert sorted(width.data) == [64, 128, 256]


def test_unknown_family_and_non_autogluon_family_fail_clearly():
    with pytest.raises(KeyError, match="unknown family"):
        ag_int.model_class("no-such-family")
    with pytest.raises(ValueError, match="no ag_key"):
        ag_int.model_class("xgboost")


@pytest.mark.slow
def test_import_automl_hyper_then_autogluon_and_fit_in_a_fresh_process(
    tmp_path, shared_datasets_dir
):
    data = shared_datasets_dir / "blood-transfusion-service-center.csv"
    out = _run(
        f"""
        import automl_hyper
        from autogluon.tabular import TabularPredictor
        import pandas as pd
        df = pd.read_csv({str(data)!r}).sample(120, random_state=0)
        p = TabularPredictor(label="target", path={str(tmp_path / "ag")!r}, verbosity=0).fit(
            df, hyperparameters={{"INN": {FAST_INN!r}, "XGB": {{}}}})
        print(sorted(p.model_names()))
        """
    )
    assert "'INN'" in out and "'XGBoost'" in out


@pytest.mark.parametrize(
    "first",
    [
        "from autogluon.tabular import TabularPredictor",
        "import automl_hyper.integrations.autogluon",
    ],
)
def test_other_import_orders_register_too(first):
    # Fitting is the same code path as above once the key is registered, so checking the
    # registry is enough here. Importing the integration module first used to be circular:
    # it imports AutoGluon, whose import hook calls back into the half-imported module.
    out = _run(
        f"""
        {first}
        import automl_hyper
        from autogluon.tabular.registry import ag_model_registry
        cls = ag_model_registry.key_to_cls("INN")
        print(cls.__module__, cls.__qualname__)
        """
    )
    assert "automl_hyper.integrations.autogluon InnModel" in out


@pytest.mark.slow
def test_fit_time_limit_refit_full_and_load_in_new_process(tmp_path):
    df = _credit_g()
    train, test = df.iloc[:120], df.iloc[120:]
    path = tmp_path / "predictor"
    predictor = TabularPredictor(label="target", path=str(path), verbosity=0).fit(
        train,
        # A huge epoch budget: only the time limit can stop it.
        hyperparameters={"INN": {**FAST_INN, "max_epochs": 100_000, "patience": 100_000}},
        time_limit=8,
    )
    model = predictor._trainer.load_model("INN")
    epochs = model.model.n_epochs_
    assert 1 <= epochs < 100_000
    assert model.params_trained["max_epochs"] == epochs
    assert model.model.random_state == 0  # AutoGluon's seed reaches the estimator
    assert model.fit_time < 20

    refit = predictor.refit_full(model="INN")
    full = predictor._trainer.load_model(refit["INN"])
    # refit_full retrains on all rows for exactly the epochs the original model used.
    assert full.model.n_epochs_ == epochs
    assert full.model.max_epochs == epochs

    expected = predictor.predict_proba(test, model="INN")
    assert list(expected.columns) == ["bad", "good"]
    np.testing.assert_allclose(expected.sum(axis=1), 1.0, rtol=1e-5)

    # A family registered at runtime (a SMASH winner) is unknown to a fresh process's zoo:
    # its pickled declaration must bring it back when the predictor loads.
    from automl_hyper.models.smash.architecture import ArchSpec
    from automl_hyper.models.smash.zoo_entry import register_spec_family

    family = register_spec_family(ArchSpec.plain((8,)), "smash-ag-runtime")
    ag_int.register_families()
    runtime_path = tmp_path / "runtime"
    runtime = TabularPredictor(label="target", path=str(runtime_path), verbosity=0).fit(
        train, hyperparameters={family.ag_key: {"max_epochs": 2}}
    )
    expected_runtime = runtime.predict_proba(test, model=family.ag_name)

    test.to_csv(tmp_path / "test.csv", index=False)
    out = _run(
        f"""
        import pandas as pd
        from autogluon.tabular import TabularPredictor
        test = pd.read_csv({str(tmp_path / "test.csv")!r})
        p = TabularPredictor.load({str(path)!r})
        p.predict_proba(test, model="INN").to_csv({str(tmp_path / "proba.csv")!r}, index=False)
        print(type(p._trainer.load_model("INN")).__module__)
        r = TabularPredictor.load({str(runtime_path)!r})
        r.predict_proba(test).to_csv({str(tmp_path / "runtime.csv")!r}, index=False)
        """
    )
    assert "automl_hyper.integrations.autogluon" in out
    loaded = pd.read_csv(tmp_path / "proba.csv")
    np.testing.assert_allclose(loaded.to_numpy(), expected.to_numpy(), atol=1e-5)
    loaded_runtime = pd.read_csv(tmp_path / "runtime.csv")
    np.testing.assert_allclose(loaded_runtime.to_numpy(), expected_runtime.to_numpy(), atol=1e-5)


@pytest.mark.slow
def test_bagging_with_two_folds_and_regression(tmp_path):
    df = _credit_g().drop(columns=["target"])
    # A regression target from the data itself: predict credit_amount from the rest.
    predictor = TabularPredictor(
        label="credit_amount", problem_type="regression", path=str(tmp_path / "bag"), verbosity=0
    ).fit(
        df,
        hyperparameters={"INN": FAST_INN},
        num_bag_folds=2,
        num_stack_levels=0,
        # In-process folds: with Ray installed AutoGluon would start (and leave up) a Ray
        # session; the Ray path has its own test (tests/test_autogluon_ray.py).
        ag_args_ensemble={"fold_fitting_strategy": "sequential_local"},
    )
    assert "INN_BAG_L1" in predictor.model_names()
    bag = predictor._trainer.load_model("INN_BAG_L1")
    assert len(bag.models) == 2
    pred = predictor.predict(df.iloc[:10], model="INN_BAG_L1")
    assert pred.shape == (10,) and np.isfinite(pred).all()
    # Predictions follow the target's scale (thousands), not a standardised one.
    assert pred.abs().mean() > 100


@pytest.mark.slow
def test_hpo_samples_the_family_space(tmp_path):
    df = _credit_g()
    predictor = TabularPredictor(label="target", path=str(tmp_path / "hpo"), verbosity=0).fit(
        df,
        hyperparameters={"INN": {"max_epochs": 2}},
        hyperparameter_tune_kwargs={"num_trials": 2, "scheduler": "local", "searcher": "random"},
    )
    names = [n for n in predictor.model_names() if n.startswith("INN")]
    assert len(names) == 2, names
    configs = [predictor._trainer.load_model(n).params for n in names]
    space = zoo.get("inn").space
    for params in configs:
        assert params["max_epochs"] == 2  # user-fixed values stay out of the search
        assert space["learning_rate"].low <= params["learning_rate"] <= space["learning_rate"].high
        assert params["hidden_width"] in space["hidden_width"].choices
    # The first trial is the default configuration, the second a random sample.
    assert configs[0]["learning_rate"] != configs[1]["learning_rate"]


def test_default_hyperparameters_fastest_first_around_the_gbdts():
    hp = ag_int.default_hyperparameters()
    assert set(hp) == {"GBM", "CAT", "XGB", "MOTHERNET", "INN", "SMASH"}
    generation, finetuned = hp["MOTHERNET"]
    assert generation.get("finetune_steps", 0) == 0
    assert finetuned["finetune_steps"] == 50 and finetuned["ag_args"]["name_suffix"] == "FT"
    # AutoGluon fits higher priorities first: generation (one forward pass) before fine-tuning.
    assert generation["ag_args"]["priority"] > finetuned["ag_args"]["priority"]
    # Cost order around AutoGluon's GBDTs (each model gets the time the earlier ones left):
    # MotherNet and INN (seconds, INN capped) before LightGBM, SMASH (capped) between LightGBM
    # and CatBoost, so that the GBDTs cannot leave it no time (autogluon_uplift_smashfit.md).
    gbdt = {key: ag_model_registry.key_to_cls(key).ag_priority for key in ("GBM", "CAT", "XGB")}
    (inn,) = hp["INN"]
    (smash,) = hp["SMASH"]
    assert finetuned["ag_args"]["priority"] > inn["ag_args"]["priority"] > max(gbdt.values())
    assert inn["ag_args_fit"]["max_time_limit_ratio"] < 1
    assert gbdt["GBM"] > smash["ag_args"]["priority"] > max(gbdt["CAT"], gbdt["XGB"])
    assert smash["ag_args_fit"]["max_time_limit_ratio"] == 0.15
    # Inside AutoGluon, the models its uplift was measured with (the estimators' defaults moved).
    assert (inn["n_estimators"], inn["variation_penalty"]) == (1, 0.0)
    assert (smash["top_k"], smash["ensemble_top_k"], smash["refit_average"]) == (10, 10, None)
    assert SmashClassifier().get_params()["top_k"] == 16
    assert SmashClassifier().get_params()["refit_average"] == "long"
    assert zoo.get("inn").ag_configs[0]["ag_args_fit"] is not inn["ag_args_fit"]  # a copy
    assert set(ag_int.default_hyperparameters(families=[])) == {"GBM", "CAT", "XGB"}
    assert set(ag_int.default_hyperparameters(["inn"], gbdt=False)) == {"INN"}
    with pytest.raises(ValueError, match="no ag_key"):
        ag_int.family_hyperparameters(["xgboost"])


def test_memory_estimate_scales_with_the_data_and_autogluon_acts_on_it(tmp_path):
    df = _credit_g(200)
    X, y = df.drop(columns=["target"]), df["target"]
    for name in ("mothernet", "inn", "smash"):
        cls = ag_int.model_class(name)
        assert cls.can_estimate_memory_usage_static()
        small = cls.estimate_memory_usage_static(X=X, y=y, hyperparameters={})
        large = cls.estimate_memory_usage_static(X=pd.concat([X] * 10), y=y, hyperparameters={})
        assert 2**20 < small < large
    # AutoGluon refuses a model whose estimate exceeds its share of memory, and fits the rest.
    # The fit runs on the num_cpus AutoGluon gives it, and the caller's threads come back.
    with torch_threads(2):
        predictor = TabularPredictor(label="target", path=str(tmp_path / "mem"), verbosity=0).fit(
            df,
            hyperparameters={
                "MOTHERNET": [
                    {"ag.max_memory_usage_ratio": 1e-5, "ag_args": {"name_suffix": "Tiny"}},
                    {},
                ]
            },
            num_cpus=1,
        )
        predictor.predict_proba(df.iloc[:5], model="MotherNet")
        assert torch.get_num_threads() == 2
    names = predictor.model_names()
    assert "MotherNet" in names and "MotherNetTiny" not in names
    assert predictor._trainer.load_model("MotherNet").fit_torch_threads == 1
