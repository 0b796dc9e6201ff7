"""INN, SMASH and the baselines as weights (issue 11.4): JSON + npz (+ XGBoost's JSON model), read
back without unpickling anything, predicting as the fitted estimator; logged to MLflow in that
format, and a modified artifact refused with ChecksumError."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient
from roster import ESTIMATORS

from automl_hyper.checkpoints import ChecksumError
from automl_hyper.data.preprocess_state import StateError
from automl_hyper.integrations import mlflow as ml
from automl_hyper.integrations.mlflow.models import read_weights
from automl_hyper.models.baselines import export as baselines_export
from automl_hyper.models.inn import export as inn_export
from automl_hyper.models.smash import export as smash_export

EXPORTS = {
    "INNClassifier": inn_export,
    "TabResNet": inn_export,
    "INNRegressor": inn_export,
    "SmashClassifier": smash_export,
    "FixedArchClassifier": smash_export,
    "SmashRegressor": smash_export,
    "Logistic": baselines_export,
    "DefaultXGB": baselines_export,
    "TunedXGB": baselines_export,
}
# The families of the MLflow tests, and the files each is logged as.
LOGGED = {
    "INNClassifier": ["config.json", "arrays.npz"],
    "SmashClassifier": ["config.json", "arrays.npz"],
    "TunedXGB": ["config.json", "arrays.npz", "xgboost.json"],
    "Logistic": ["config.json", "arrays.npz"],
}


@pytest.fixture(scope="module")
def data(shared_dataset):
    """credit-approval: 9 categorical columns and missing values in both parts."""
    X, y = shared_dataset("credit-approval")
    order = np.random.default_rng(0).permutation(len(X))
    X, y = X.iloc[order].reset_index(drop=True), y.iloc[order].reset_index(drop=True)
    train, test = X.iloc[:200], X.iloc[200:260].reset_index(drop=True)
    assert train.isna().any().any() and test.isna().any().any()
    return train, y.iloc[:200], test


@pytest.fixture(scope="module")
def fitted(data):
    X, y, _ = data
    cache: dict = {}

    def get(name: str):
        if name not in cache:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if name.endswith("Regressor"):  # a numeric column as the target
                    cache[name] = ESTIMATORS[name]().fit(X.drop(columns="A2"), X["A2"].fillna(0))
                else:
                    cache[name] = ESTIMATORS[name]().fit(X, y)
        return cache[name]

    return get


def _predict(est, X) -> np.ndarray:
    if hasattr(est, "predict_proba"):
        return est.predict_proba(X)
    return est.predict(X.drop(columns="A2"))


@pytest.mark.parametrize("name", list(EXPORTS))
def test_weights_read_back_predict_as_the_estimator(name, fitted, data, tmp_path):
    est, module = fitted(name), EXPORTS[name]
    files = module.export_weights(est, tmp_path)
    assert {p.name for p in files.values()} <= {"config.json", "arrays.npz", "xgboost.json"}
    json.loads(files["config"].read_text())  # plain JSON
    with np.load(files["arrays"], allow_pickle=False) as f:  # plain arrays, no object dtype
        assert all(f[k].dtype != object for k in f.files)
    again = module.from_weights(tmp_path)
    assert type(again) is type(est)
    assert again.get_params() == est.get_params()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unseen categories in the test rows: warned by both
        np.testing.assert_allclose(
            _predict(again, data[2]), _predict(est, data[2]), rtol=0, atol=1e-9
        )
    if hasattr(est, "classes_"):
        np.testing.assert_array_equal(again.classes_, est.classes_)
    np.testing.assert_array_equal(again.feature_names_in_, est.feature_names_in_)


def test_inn_explanations_and_importances_survive(fitted, data, tmp_path):
    est = fitted("INNClassifier")
    inn_export.export_weights(est, tmp_path)
    again = inn_export.from_weights(tmp_path)
    X = data[0].head(20)
    np.testing.assert_allclose(again.explain(X), est.explain(X), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(again.feature_importances_, est.feature_importances_)
    assert list(again.feature_names_out_) == list(est.feature_names_out_)


@pytest.mark.parametrize(
    "edit",
    [
        lambda c: c.update(estimator="Popen"),
        lambda c: c["fitted"].update(x_={"__object__": "Popen", "state": {}}),
        lambda c: c["fitted"].update(x_={"__function__": "os.system"}),
        lambda c: c.update(loader="automl_hyper.models.smash.export"),
    ],
    ids=["estimator", "object", "function", "loader"],
)
def test_a_config_naming_other_code_is_refused(edit, fitted, tmp_path):
    inn_export.export_weights(fitted("INNClassifier"), tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    edit(config)
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(StateError, match="not allowed|loader"):
        inn_export.from_weights(tmp_path)


def test_the_pyfunc_reads_only_our_weight_modules(fitted, tmp_path):
    files = inn_export.export_weights(fitted("INNClassifier"), tmp_path)
    config = json.loads(files["config"].read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "loader": "os"}))
    with pytest.raises(ChecksumError, match="refusing"):
        read_weights({f"weights_{k}": str(p) for k, p in files.items()})


@pytest.fixture(scope="module")
def logged(fitted, data, tmp_path_factory):
    """Each family of LOGGED logged once to a real SQLite store: name -> ModelInfo."""
    root = tmp_path_factory.mktemp("weights_mlflow")
    X = data[0]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        ml.configure_tracking(f"sqlite:///{root / 'mlflow.db'}", experiment="weights")
        infos = {}
        for name in LOGGED:
            with mlflow.start_run():
                infos[name] = ml.log_family_model(fitted(name), name="m", X_sample=X, quiet=True)
        yield root, infos
        mlflow.end_run()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(LOGGED))
def test_logged_model_has_no_pickle_and_predicts_as_the_estimator(name, logged, fitted, data):
    root, infos = logged
    info = infos[name]
    tags = MlflowClient().get_run(info.run_id).data.tags
    assert tags["automl_hyper.serving_format"] == "weights"
    assert {k for k in tags if k.startswith("automl_hyper.sha256.")} == {
        f"automl_hyper.sha256.weights_{Path(f).stem}" for f in LOGGED[name]
    }
    model_dir = next(p for p in root.rglob("MLmodel") if info.model_id in str(p)).parent
    assert not list(model_dir.rglob("*.pkl")), "nothing in the logged model is a pickle"
    stored = {p.name for p in (model_dir / "artifacts").iterdir()}
    assert stored == set(LOGGED[name])
    rows = ml.as_request_frame(data[2].head(12))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        served = ml.load_family_model(info.model_uri).predict(rows)
        expected = ml.predict_frame(fitted(name), rows)
    assert (served["label"] == expected["label"]).all()
    np.testing.assert_allclose(
        served.filter(like="proba_").to_numpy(),
        expected.filter(like="proba_").to_numpy(),
        rtol=0,
        atol=1e-9,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "artifact"), [(name, f) for name, files in LOGGED.items() for f in files]
)
def test_a_flipped_byte_in_a_weights_artifact_is_refused(name, artifact, logged):
    root, infos = logged
    info = infos[name]
    path = next(p for p in root.rglob(artifact) if info.model_id in str(p))
    original = path.read_bytes()
    flipped = bytearray(original)
    flipped[len(flipped) // 2] ^= 0x01
    path.write_bytes(bytes(flipped))
    try:
        with pytest.raises(ChecksumError, match=r"modified or corrupted; refusing to load it"):
            mlflow.pyfunc.load_model(info.model_uri)
    finally:
        path.write_bytes(original)
    mlflow.pyfunc.load_model(info.model_uri)  # restored: loads again
