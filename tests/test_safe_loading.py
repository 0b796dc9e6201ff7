"""Safe loading of logged models (issue 11.4): no pickle for MotherNet's child, every artifact's
sha256 recorded at log time and checked at load, a modified artifact refused."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from automl_hyper import zoo
from automl_hyper.checkpoints import ChecksumError
from automl_hyper.integrations import mlflow as ml


@pytest.fixture(scope="module")
def tracking(tmp_path_factory):
    root = tmp_path_factory.mktemp("safe")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        yield ml.configure_tracking(f"sqlite:///{root / 'mlflow.db'}", experiment="safe")
        mlflow.end_run()


@pytest.fixture(scope="module")
def data():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :8].copy()
    X["size"] = pd.Categorical(np.where(X["mean radius"] > 14, "big", "small"))
    y = y.map({0: "malignant", 1: "benign"})
    idx = np.random.default_rng(0).permutation(len(X))[:200]
    return X.iloc[idx].reset_index(drop=True), y.iloc[idx].reset_index(drop=True)


@pytest.fixture(scope="module")
def mothernet(data):
    X, y = data
    try:
        return zoo.get("mothernet").make(n_estimators=4, random_state=0).fit(X, y)
    except FileNotFoundError as err:
        pytest.skip(f"no MotherNet checkpoint shipped: {err}")


def _artifact_file(root: Path, run_id: str, name: str) -> Path:
    """The stored file of a logged model's artifact (under the run folder's ./mlruns)."""
    found = [p for p in root.rglob(name) if p.is_file()]
    assert len(found) == 1, found
    return found[0]


def test_mothernet_child_is_logged_without_pickle_and_loads_equal(mothernet, data, tracking):
    X, _ = data
    info = ml.log_family_model(mothernet, name="mn", X_sample=X, quiet=True)
    run = MlflowClient().get_run(info.run_id)
    assert run.data.tags["automl_hyper.serving_format"] == "numpy-child"
    root = Path.cwd()
    weights = _artifact_file(root, info.run_id, "child_weights.npz")
    with np.load(weights, allow_pickle=False) as f:  # plain arrays: no pickle needed to read
        assert all(f[k].dtype != object for k in f.files)
    config = json.loads(_artifact_file(root, info.run_id, "child_config.json").read_text())
    assert config["preprocessor"]["__object__"] == "TabularPreprocessor"
    model_dir = weights.parent.parent
    assert not list(model_dir.rglob("*.pkl")), "nothing in the logged model is a pickle"
    assert not list(model_dir.rglob("*.skops")), "no skops file either"
    assert (model_dir / "pyfunc_model.py").is_file() or list(model_dir.rglob("pyfunc_model.py"))
    hashes = {k: v for k, v in run.data.tags.items() if k.startswith("automl_hyper.sha256.")}
    assert sorted(hashes) == [
        "automl_hyper.sha256.child_config",
        "automl_hyper.sha256.child_weights",
    ]

    served = ml.load_serving_object(info.model_uri)
    assert type(served) is type(mothernet.to_serving())
    rows = ml.as_request_frame(X.head(9))
    pd.testing.assert_frame_equal(
        ml.load_family_model(info.model_uri).predict(rows),
        ml.predict_frame(mothernet.to_serving(), rows),
    )


@pytest.mark.parametrize("artifact", ["child_weights.npz", "child_config.json"])
def test_a_modified_child_artifact_is_refused(mothernet, data, tracking, artifact):
    X, _ = data
    with mlflow.start_run() as run:
        info = ml.log_family_model(mothernet, name="mn", X_sample=X, quiet=True)
    path = next(
        p
        for p in Path.cwd().rglob(artifact)
        if run.info.run_id in str(p) or info.model_id in str(p)
    )
    data_bytes = bytearray(path.read_bytes())
    data_bytes[len(data_bytes) // 2] ^= 0x01  # one bit of one byte
    path.write_bytes(bytes(data_bytes))
    with pytest.raises(ChecksumError, match=r"modified or corrupted; refusing to load it"):
        mlflow.pyfunc.load_model(info.model_uri)


def test_a_pickled_family_is_checked_before_unpickling(data, tracking):
    X, y = data
    X = X.drop(columns=["size"])
    # INN, SMASH and the baselines are logged as weights now (tests/test_weights_export.py): a
    # plain scikit-learn model, which has no weights format, is what still goes through pickle.
    clf = LogisticRegression(max_iter=5000).fit(X, y)
    with mlflow.start_run() as run:
        info = ml.log_family_model(clf, name="lr", X_sample=X, quiet=True)
    assert MlflowClient().get_run(run.info.run_id).data.tags["automl_hyper.serving_format"] == (
        "cloudpickle"
    )
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    np.testing.assert_allclose(
        loaded.predict(X.head(3)).filter(like="proba_").to_numpy(), clf.predict_proba(X.head(3))
    )
    path = next(p for p in Path.cwd().rglob("serving_object.pkl") if info.model_id in str(p))
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(ChecksumError, match="serving_object"):
        mlflow.pyfunc.load_model(info.model_uri)


def test_a_child_config_naming_other_code_or_an_old_format_is_refused(mothernet, tmp_path):
    """Even with matching hashes (a model logged by someone else), the config can only name
    allowed scikit-learn classes; a model logged with the old skops format gets a clear error."""
    paths = ml.models.write_numpy_child(mothernet.to_serving(), tmp_path)
    weights, config = paths["child_weights"], paths["child_config"]
    text = config.read_text()
    config.write_text(text.replace('"OneHotEncoder"', '"os.system"', 1))
    with pytest.raises(ValueError, match="'os.system', which is not allowed"):
        ml.models.read_numpy_child(weights, config)
    config.write_text(json.dumps({"format_version": 2, "child": {}, "members": []}))
    with pytest.raises(ChecksumError, match="older automl-hyper.*log the model again"):
        ml.models.read_numpy_child(weights, config)
