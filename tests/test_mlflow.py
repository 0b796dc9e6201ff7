"""MLflow integration with the real MLflow: pyfunc logging, registry alias, load, HTTP serving."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.datasets import load_breast_cancer

from automl_hyper import zoo
from automl_hyper.integrations import mlflow as ml

FAST_INN = {"max_epochs": 2, "hidden_width": 32, "n_blocks": 1, "random_state": 0}


@pytest.fixture(scope="module")
def tracking(tmp_path_factory):
    # One database per module: creating MLflow's tables costs seconds. Artifacts default to
    # ./mlruns, so work inside the temporary folder too.
    root = tmp_path_factory.mktemp("mlflow")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        yield ml.configure_tracking(f"sqlite:///{root / 'mlflow.db'}", experiment="tests")
        mlflow.end_run()


@pytest.fixture(scope="module")
def data():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    y = y.map({0: "malignant", 1: "benign"})
    idx = np.random.default_rng(0).permutation(len(X))[:160]
    return X.iloc[idx].reset_index(drop=True), y.iloc[idx].reset_index(drop=True)


@pytest.fixture(scope="module")
def inn(data):
    X, y = data
    return zoo.get("inn").make(**FAST_INN).fit(X, y)


def test_predict_frame_has_label_and_one_proba_column_per_class(inn, data):
    X, _ = data
    frame = ml.predict_frame(inn, X.head(7))
    assert list(frame.columns) == ["label", "proba_benign", "proba_malignant"]
    np.testing.assert_allclose(frame.filter(like="proba_").to_numpy(), inn.predict_proba(X.head(7)))
    assert (frame["label"].to_numpy() == inn.predict(X.head(7))).all()
    with pytest.raises(ValueError, match="lacks the columns"):
        ml.predict_frame(inn, X.head(2).drop(columns=["mean radius"]))


def test_extra_columns_are_ignored_with_a_warning_like_mlflows_signature_check(data, tracking):
    """With a logged signature MLflow drops an extra column and logs a warning naming it; a model
    logged without one (no input example) reaches our code with it: same answer, and a warning."""
    from automl_hyper.data.preprocess import BadInputWarning

    X, y = data
    model = zoo.get("logreg").make("classification", random_state=0).fit(X, y)
    expected = ml.predict_frame(model, X.head(5))
    with pytest.warns(BadInputWarning, match=r"not fitted on, ignored: \['zz'\]"):
        pd.testing.assert_frame_equal(ml.predict_frame(model, X.head(5).assign(zz=1.0)), expected)

    info = ml.log_family_model(model, name="no-signature", quiet=True)
    assert info.signature is None
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    with pytest.warns(BadInputWarning, match="zz"):
        pd.testing.assert_frame_equal(loaded.predict(X.head(5).assign(zz=1.0)), expected)


def test_requirements_are_pinned_from_what_the_model_references(inn):
    import cloudpickle

    modules = ml.referenced_modules(cloudpickle.dumps(inn))
    assert {"torch", "sklearn", "numpy"} <= modules
    reqs = ml.pinned_requirements(modules)
    names = {r.split("==")[0] for r in reqs}
    assert {"torch", "scikit-learn", "numpy", "pandas", "mlflow", "cloudpickle"} <= names
    assert all("==" in r and "+" not in r for r in reqs)


def test_alias_needs_a_registered_name(inn, tracking):
    with pytest.raises(ValueError, match="alias needs registered_model_name"):
        ml.log_family_model(inn, name="inn", alias="champion")


@pytest.mark.slow
def test_log_register_load_by_alias_and_serve_over_http(inn, data, tracking):
    X, _ = data
    info = ml.log_family_model(
        inn, name="inn", registered_model_name="bc-inn", alias="champion", X_sample=X, family="inn"
    )
    client = MlflowClient()
    version = client.get_model_version_by_alias("bc-inn", "champion")
    assert int(version.version) == int(info.registered_model_version)

    # Signature from the input example and the model's own output.
    assert info.signature.inputs.input_names() == list(X.columns)
    assert info.signature.outputs.input_names() == ["label", "proba_benign", "proba_malignant"]

    run = client.get_run(info.run_id)
    assert run.data.tags["automl_hyper.family"] == "inn"
    assert run.data.params["inn.max_epochs"] == "2"
    artifacts = {a.path for a in client.list_artifacts(info.run_id, "inn")}
    assert {"inn/feature_importances.json", "inn/feature_importances.png"} <= artifacts

    reqs = open(mlflow.pyfunc.get_model_dependencies(info.model_uri)).read().split()
    assert any(r.startswith("torch==") for r in reqs)
    assert any(r.startswith("scikit-learn==") for r in reqs)

    expected = ml.predict_frame(inn, X.head(5))
    loaded = ml.load_family_model("models:/bc-inn@champion")
    pd.testing.assert_frame_equal(loaded.predict(X.head(5)), expected)
    assert type(ml.load_serving_object("models:/bc-inn@champion")) is type(inn)

    with ml.serve_model("models:/bc-inn@champion", tracking_uri=tracking) as url:
        answer = ml.invoke(url, X.head(5))
    assert list(answer.columns) == list(expected.columns)
    assert (answer["label"] == expected["label"]).all()
    np.testing.assert_allclose(
        answer.filter(like="proba_").to_numpy(),
        expected.filter(like="proba_").to_numpy(),
        atol=1e-6,
    )


def test_family_without_importances_logs_no_importance_artifacts(data, tracking):
    X, y = data
    clf = zoo.get("logreg").make().fit(X, y)
    with mlflow.start_run() as run:
        info = ml.log_family_model(clf, name="logreg", input_example=X.head(3), family="logreg")
    client = MlflowClient()
    assert not any(
        "feature_importances" in a.path for a in client.list_artifacts(run.info.run_id, "logreg")
    )
    loaded = ml.load_family_model(info.model_uri)
    np.testing.assert_allclose(
        loaded.predict(X.head(4)).filter(like="proba_").to_numpy(), clf.predict_proba(X.head(4))
    )


def test_regressor_predictions_come_back_as_a_prediction_column(tracking):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(80, 3)), columns=["a", "b", "c"])
    y = 3 * X["a"] - X["b"] + 0.1 * rng.normal(size=80)
    reg = zoo.get("inn").make("regression", **FAST_INN).fit(X, y)
    info = ml.log_family_model(reg, name="inn-reg", X_sample=X)
    out = ml.load_family_model(info.model_uri).predict(X.head(6))
    assert list(out.columns) == ["prediction"]
    np.testing.assert_allclose(out["prediction"], reg.predict(X.head(6)), rtol=1e-6)


def test_log_comparison_logs_table_and_per_family_metrics(tracking):
    board = pd.DataFrame(
        {"family": ["inn", "xgboost-tuned"], "roc_auc": [0.91, 0.93], "fit_s": [1.5, np.nan]}
    )
    run_id = ml.log_comparison(board, dataset="breast-w", params={"seeds": 5})
    run = MlflowClient().get_run(run_id)
    assert run.data.metrics["inn.roc_auc"] == pytest.approx(0.91)
    assert run.data.metrics["xgboost-tuned.roc_auc"] == pytest.approx(0.93)
    assert "xgboost-tuned.fit_s" not in run.data.metrics  # NaN is left out, not logged
    assert run.data.tags["automl_hyper.dataset"] == "breast-w"
    paths = {a.path for a in MlflowClient().list_artifacts(run_id)}
    assert {"leaderboard.json", "leaderboard.csv"} <= paths
    with pytest.raises(ValueError, match="no 'family' column"):
        ml.log_comparison(board.rename(columns={"family": "model"}), dataset="x")


def test_the_to_serving_object_is_what_gets_logged(data, tracking):
    # MotherNet exports a numpy-only child for serving; it needs the shipped checkpoint to fit.
    X, y = data
    family = zoo.get("mothernet")
    try:
        model = family.make(n_estimators=1).fit(X, y)
    except FileNotFoundError as err:
        pytest.skip(f"no MotherNet checkpoint shipped in automl_hyper/weights yet: {err}")
    info = ml.log_family_model(model, name="mothernet", X_sample=X, family="mothernet")
    served = ml.load_serving_object(info.model_uri)
    assert type(served) is type(model.to_serving())
    reqs = open(mlflow.pyfunc.get_model_dependencies(info.model_uri)).read().split()
    assert not any(r.startswith("torch==") for r in reqs), reqs  # the child is torch-free
    out = ml.load_family_model(info.model_uri).predict(X.head(8))
    np.testing.assert_allclose(
        out.filter(like="proba_").to_numpy(), model.predict_proba(X.head(8)), atol=1e-6
    )


def test_category_and_integer_columns_pass_the_logged_signature(tracking):
    # load_dataset gives categorical columns the pandas category dtype, which MLflow cannot
    # enforce; requests carry text, and integer columns may come with a missing value.
    from pathlib import Path

    from automl_hyper.data.loading import load_dataset

    path = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "credit-g.csv"
    if not path.exists():
        pytest.skip(f"{path} not available")
    ds = load_dataset(str(path))
    X, y = ds.X.iloc[:150], ds.y.iloc[:150]
    assert any(isinstance(t, pd.CategoricalDtype) for t in X.dtypes)
    clf = zoo.get("logreg").make().fit(X, y)
    info = ml.log_family_model(clf, name="credit", X_sample=X)
    types = {c["name"]: c["type"] for c in info.signature.inputs.to_dict()}
    assert types["checking_status"] == "string" and types["duration"] == "double"

    rows = ml.as_request_frame(X.head(4))
    rows.loc[0, "duration"] = np.nan  # imputed by the estimator, accepted by the signature
    out = ml.load_family_model(info.model_uri).predict(rows)
    np.testing.assert_allclose(out.filter(like="proba_").to_numpy(), clf.predict_proba(rows))
