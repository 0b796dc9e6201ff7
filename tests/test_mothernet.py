"""MotherNet: model shapes, exact resume, checkpoint hashing, estimator behaviour and limits."""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from automl_hyper.models.mothernet import MotherNetClassifier
from automl_hyper.models.mothernet.configs import get_config
from automl_hyper.models.mothernet.model import (
    ChildWeights,
    ModelConfig,
    MotherNet,
    child_logits,
    task_loss,
)
from automl_hyper.models.mothernet.pretrain import Trainer
from automl_hyper.models.mothernet.registry import ChecksumError, load_model, read_manifest
from automl_hyper.models.mothernet.ship import ship
from automl_hyper.priors import sample_batch


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A tiny pretraining run (a few steps) and its shipped, hashed checkpoint."""
    out = tmp_path_factory.mktemp("tiny_run")
    trainer = Trainer(get_config("tiny"), prior_seed=3)
    for _ in range(3):
        trainer.train_step()
    trainer.save(out)
    shipped = tmp_path_factory.mktemp("tiny_ship")
    ship(out / "checkpoint.pt", shipped, "tiny")
    return out, shipped / "tiny.pt"


def test_model_shapes():
    cfg = ModelConfig(
        embed_dim=16, n_layers=1, n_heads=2, ff_dim=32, decoder_hidden=32, child_hidden=24, rank=4
    )
    model = MotherNet(cfg)
    b = sample_batch(get_config("tiny").prior, 3, 0, n_rows=40)
    w = model.generate(b.X[:, : b.split], b.y[:, : b.split], b.n_features)
    assert w.W1.shape == (3, 100, 24) and w.b1.shape == (3, 24)
    assert w.W2.shape == (3, 24, 10) and w.b2.shape == (3, 10)
    assert child_logits(w, b.X[:, b.split :]).shape == (3, 40 - b.split, 10)
    assert torch.isfinite(task_loss(model, b))


def test_resume_is_exact(tmp_path):
    """Stop after 2 steps, resume: the next losses equal those of an uninterrupted run."""
    uninterrupted = Trainer(get_config("tiny"), prior_seed=5)
    losses = [uninterrupted.train_step() for _ in range(4)]
    first = Trainer(get_config("tiny"), prior_seed=5)
    first.train_step(), first.train_step()
    first.save(tmp_path)
    resumed = Trainer.resume(tmp_path, torch.device("cpu"))
    assert resumed.step == 2 and resumed.tasks_seen == 2 * get_config("tiny").train.batch_size
    assert [resumed.train_step(), resumed.train_step()] == losses[2:]
    assert resumed.scheduler.get_last_lr() == uninterrupted.scheduler.get_last_lr()


def test_pretrain_cli_runs_and_logs_to_mlflow(tmp_path, eval_dir):
    import mlflow

    from automl_hyper.cli import pretrain as pretrain_cli

    parser = argparse.ArgumentParser()
    pretrain_cli.add_arguments(parser)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = parser.parse_args(
        [
            "--config",
            "tiny",
            "--max-steps",
            "4",
            "--log-every",
            "2",
            "--out",
            str(tmp_path / "run"),
            "--tracking-uri",
            uri,
            "--eval-data",
            str(eval_dir),
        ]
    )
    assert pretrain_cli.main(args) == 0
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert state["step"] == 4
    client = mlflow.MlflowClient(uri)
    history = client.get_metric_history(state["mlflow_run_id"], "train_loss")
    assert [m.step for m in history] == [2, 4]
    assert client.get_metric_history(state["mlflow_run_id"], "synthetic_loss")
    # The real-data AUC of the model being trained, through the estimator (see real_eval).
    assert client.get_metric_history(state["mlflow_run_id"], "auc_real_mean")


def test_shipped_format_and_tampering_refused(tiny_run, tmp_path):
    _, shipped = tiny_run
    entry = json.loads((shipped.parent / "tiny.pt.json").read_text())
    assert entry["steps"] == 3 and len(entry["sha256"]) == 64
    assert read_manifest(shipped.parent)["tiny"]["sha256"] == entry["sha256"]
    model, meta = load_model(shipped)
    assert meta["sha256"] == entry["sha256"] and not model.training
    tampered = tmp_path / "tiny.pt"
    data = bytearray(shipped.read_bytes())
    data[-100] ^= 0xFF
    tampered.write_bytes(bytes(data))
    (tmp_path / "tiny.pt.json").write_text(json.dumps(entry))
    with pytest.raises(ChecksumError, match="refusing"):
        load_model(tampered)
    with pytest.raises(ChecksumError):
        MotherNetClassifier(checkpoint=tampered).fit(
            np.random.default_rng(0).random((20, 3)), np.arange(20) % 2
        )


def test_raw_training_checkpoint_loads_with_warning(tiny_run):
    run_dir, _ = tiny_run
    with pytest.warns(UserWarning, match="no recorded sha256"):
        load_model(run_dir / "checkpoint.pt")


def test_estimator_predicts_with_its_exported_child(tiny_run):
    X, y = load_breast_cancer(return_X_y=True)
    for params in ({}, {"finetune_steps": 5}, {"input_transform": "quantile", "n_estimators": 2}):
        clf = MotherNetClassifier(checkpoint=tiny_run[1], random_state=0, **params).fit(
            X[:200], y[:200]
        )
        child = clf.export_child()
        # The estimator predicts through the exported child: the same numbers, not merely close.
        np.testing.assert_allclose(
            child.predict_proba(X[200:]), clf.predict_proba(X[200:]), rtol=0, atol=1e-15
        )
        assert "torch" not in type(child).__module__
        assert (child.predict(X[200:]) == clf.predict(X[200:])).all()
    assert clf.to_serving().predict_proba(X[:3]).shape == (3, 2)


def test_limits_take_documented_paths(tiny_run):
    X, y = load_digits(return_X_y=True)
    X = np.hstack([X, X[:, :50] * 0.5])  # 114 features
    y = y * 2 + (X[:, 20] > 4)  # 20 classes
    clf = MotherNetClassifier(
        checkpoint=tiny_run[1],
        n_estimators=2,
        max_train_rows=300,
        many_classes="ovr",
        random_state=0,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X[:600], y[:600])
    messages = " ".join(str(w.message) for w in caught)
    for expected in ("114 features exceed", "20 classes exceed", "600 training rows exceed"):
        assert expected in messages
    assert len(clf.limits_applied_) == 3
    assert len(clf.members_) == 2 * 20  # two chunks x one binary child per class
    assert all(len(m.features) == 100 for m in clf.members_)
    proba = clf.predict_proba(X[600:700])
    assert proba.shape == (100, 20) and np.allclose(proba.sum(1), 1)
    np.testing.assert_allclose(clf.export_child().predict_proba(X[600:700]), proba, atol=1e-6)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_estimators": 0}, "n_estimators"),
        ({"n_estimators": 2.0}, "n_estimators"),
        ({"input_transform": "log"}, "input_transform"),
        ({"temperature": 0}, "temperature"),
        ({"finetune_steps": -1}, "finetune_steps"),
        ({"finetune_lr": 0.0}, "finetune_lr"),
        ({"max_train_rows": 4}, "max_train_rows"),
        ({"checkpoint": 3}, "checkpoint"),
    ],
)
def test_bad_parameters_rejected(params, match):
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=match):
        MotherNetClassifier(**params).fit(
            np.random.default_rng(0).random((10, 2)), np.arange(10) % 2
        )


def test_parameters_checked_once_per_fit_in_sklearn_style(tiny_run):
    """scikit-learn's own check of ``_parameter_constraints``, validated once per fit (by the base)."""
    from sklearn.utils.estimator_checks import check_param_validation

    check_param_validation("MotherNetClassifier", MotherNetClassifier())
    calls = []

    class Counting(MotherNetClassifier):
        def _validate_params(self):
            calls.append(1)
            super()._validate_params()

    Counting(checkpoint=tiny_run[1], finetune_steps=2).fit(
        np.random.default_rng(0).random((40, 3)), np.arange(40) % 2
    )
    assert len(calls) == 1


def test_torch_child_equals_numpy_child(tiny_run):
    """``model.child_logits`` (gradients: pretraining, fine-tuning) is the twin of
    ``Member.logits`` (every prediction)."""
    X, y = load_breast_cancer(return_X_y=True)
    clf = MotherNetClassifier(checkpoint=tiny_run[1], n_estimators=2, random_state=0)
    clf.fit(X[:200], y[:200])
    Xt = clf.preprocessor_.transform(X[200:260])
    for m in clf.members_:
        Z = m.inputs(Xt, clf._clip)
        w = ChildWeights(*(torch.from_numpy(a).double()[None] for a in (m.W1, m.b1, m.W2, m.b2)))
        torch_logits = child_logits(w, torch.from_numpy(Z).double()[None])[0].numpy()
        np.testing.assert_allclose(torch_logits, m.logits(Z), rtol=0, atol=1e-12)


def test_checkpoint_can_be_a_model_in_memory(tiny_run):
    from sklearn.base import clone

    X, y = load_breast_cancer(return_X_y=True)
    model, meta = load_model(tiny_run[1])
    by_path = MotherNetClassifier(checkpoint=tiny_run[1], random_state=0).fit(X[:150], y[:150])
    in_memory = MotherNetClassifier(checkpoint=model, random_state=0).fit(X[:150], y[:150])
    np.testing.assert_array_equal(in_memory.predict_proba(X[150:]), by_path.predict_proba(X[150:]))
    assert by_path.checkpoint_sha256_ == meta["sha256"] and in_memory.checkpoint_sha256_ is None
    cloned = clone(in_memory).fit(X[:150], y[:150])
    np.testing.assert_array_equal(cloned.predict_proba(X[150:]), by_path.predict_proba(X[150:]))


def test_shipped_checkpoint_beats_constant_on_real_data(shared_dataset):
    """breast-w, generation only: a clearly better than constant (AUC 0.5) predictor."""
    X, y = shared_dataset("breast-w")
    Xtr, Xte, ytr, yte = train_test_split(X, y, train_size=0.5, stratify=y, random_state=0)
    clf = MotherNetClassifier(random_state=0).fit(Xtr, ytr)
    auc = roc_auc_score(yte, clf.predict_proba(Xte)[:, 1])
    assert auc > 0.9, auc


def test_exported_child_unpickles_without_torch(tiny_run, tmp_path):
    import pickle
    import subprocess
    import sys

    X, y = load_breast_cancer(return_X_y=True)
    clf = MotherNetClassifier(checkpoint=tiny_run[1], random_state=0).fit(X[:200], y[:200])
    path = tmp_path / "child.pkl"
    path.write_bytes(pickle.dumps((clf.to_serving(), X[200:210])))
    code = (
        "import pickle, sys; child, X = pickle.load(open(sys.argv[1], 'rb')); "
        "p = child.predict_proba(X); print(p[:, 1].round(6).tolist(), 'torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().endswith("False")  # torch was never imported
    expected = clf.predict_proba(X[200:210])[:, 1].round(6).tolist()
    assert out.stdout.strip() == f"{expected} False"


def test_pretraining_can_start_from_the_shipped_weights():
    import torch

    from automl_hyper.cli.pretrain import init_weights
    from automl_hyper.models.mothernet.configs import get_config
    from automl_hyper.models.mothernet.pretrain import Trainer
    from automl_hyper.models.mothernet.registry import load_model

    shipped, meta = load_model(None)
    trainer = Trainer(get_config(meta["config"]["name"]), device=torch.device("cpu"), prior_seed=0)
    init_weights(trainer, "mothernet-small")
    for name, value in shipped.state_dict().items():
        torch.testing.assert_close(trainer.model.state_dict()[name], value)
    # provenance: the earlier runs travel with the weights into the new run's checkpoint
    assert trainer.lineage[-1]["steps"] == meta["steps"]
    assert trainer.lineage[-1]["sha256"] == meta["sha256"]
    assert len(trainer.lineage) == len(meta.get("lineage", [])) + 1


def test_shipping_records_the_whole_training_history(tmp_path):
    from automl_hyper.cli.pretrain import init_weights, override_train
    from automl_hyper.cli.usage import UsageError

    config = override_train(get_config("tiny"), batch_size=2, total_steps=50)
    assert (config.train.batch_size, config.train.total_steps) == (2, 50)
    assert override_train(config, None, None) is config
    assert override_train(config, None, None, lr=3e-4).train.lr == 3e-4
    with pytest.raises(UsageError, match="--lr must be positive"):
        override_train(config, None, None, lr=0.0)
    trainer = Trainer(config, prior_seed=1)
    trainer.train_step()
    trainer.save(tmp_path / "first")
    ship(tmp_path / "first" / "checkpoint.pt", tmp_path / "ship1", "first")
    second = Trainer(config, prior_seed=2)
    init_weights(second, tmp_path / "ship1" / "first.pt")
    second.train_step()
    second.train_step()
    second.save(tmp_path / "second")
    entry = ship(tmp_path / "second" / "checkpoint.pt", tmp_path / "ship2", "second")
    assert entry["steps"] == 2 and entry["total_steps_all_runs"] == 3
    assert entry["total_synthetic_datasets_seen"] == 3 * 2
    assert (
        entry["hardware"].startswith(("x86_64", "aarch64", "arm64")) and "CPU" in entry["hardware"]
    )
    assert [e["steps"] for e in entry["lineage"]] == [1]


def test_child_weights_file_reproduces_the_exported_child(tiny_run, tmp_path):
    from automl_hyper.models.mothernet.child import combine, softmax

    X, y = load_breast_cancer(return_X_y=True)
    clf = MotherNetClassifier(checkpoint=tiny_run[1], random_state=0).fit(X[:200], y[:200])
    child = clf.export_child()
    child.save_weights(tmp_path / "w.npz")
    w = np.load(tmp_path / "w.npz")
    Xt = clf.preprocessor_.transform(X[200:])
    probas = []
    for i, m in enumerate(child.members):
        Z = m.inputs(Xt, child.clip)
        assert (w[f"member{i}.features"] == m.features).all()
        hidden = np.maximum(Z @ w[f"member{i}.W1"] + w[f"member{i}.b1"], 0)
        probas.append(softmax((hidden @ w[f"member{i}.W2"] + w[f"member{i}.b2"]).astype(float)))
    np.testing.assert_allclose(
        combine(probas, child.members, 2), clf.predict_proba(X[200:]), atol=1e-6
    )
    summary = child.summary()
    assert summary["child_members"] == 4
    assert summary["child_parameters"] == sum(
        w[f"member{i}.{k}"].size for i in range(4) for k in ("W1", "b1", "W2", "b2")
    )


def test_ensemble_members_see_rotated_feature_orders(tiny_run):
    X, y = load_breast_cancer(return_X_y=True)
    clf = MotherNetClassifier(checkpoint=tiny_run[1], n_estimators=3, random_state=0)
    clf.fit(X[:200], y[:200])
    orders = [m.features for m in clf.members_]
    for i, order in enumerate(orders):
        np.testing.assert_array_equal(order, np.roll(np.arange(30), -10 * i))
    # class shifts and transforms vary along the same members
    assert [type(m.transform).__name__ for m in clf.members_][0] == "NoneType"
    assert len({tuple(m.targets) for m in clf.members_}) == 2


@pytest.fixture(scope="module")
def credit_frame():
    """A small mixed table: numeric and categorical columns, string labels."""
    rng = np.random.default_rng(0)
    n = 160
    X = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "amount": rng.lognormal(7, 1, n),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
        }
    )
    y = np.where(X["age"] + 20 * (X["colour"] == "red") + rng.normal(0, 5, n) > 45, "bad", "good")
    return X, pd.Series(y, dtype=object)


def test_numpy_child_repr_names_members_units_classes_features(tiny_run, credit_frame):
    X, y = credit_frame
    clf = MotherNetClassifier(checkpoint=tiny_run[1], n_estimators=3, random_state=0).fit(X, y)
    text = repr(clf.export_child())
    assert text.startswith("NumpyChild(members=3, hidden_units=")
    hidden = clf.members_[0].W1.shape[1]
    assert f"hidden_units={hidden}" in text
    assert "classes=['bad', 'good']" in text
    assert "features=3 ['age', 'amount', 'colour']" in text
    # Members alternate one-hot (age, amount, three colour levels) and ordinal (three columns).
    assert f"mlp=3/{clf.preprocessor_.n_features_out_} -> {hidden} -> 2" in text
    assert "\n" not in text


def test_numpy_child_accepts_an_array_with_the_fitted_columns(tiny_run, credit_frame):
    X, y = credit_frame
    child = MotherNetClassifier(checkpoint=tiny_run[1], random_state=0).fit(X, y).export_child()
    expected = child.predict_proba(X)
    np.testing.assert_array_equal(child.predict_proba(X.to_numpy()), expected)
    assert (child.predict(X.to_numpy()) == child.predict(X)).all()
    with pytest.raises(ValueError, match=r"fitted on 3 columns: \['age', 'amount', 'colour'\]"):
        child.predict_proba(X.to_numpy()[:, :2])


def test_numpy_child_load_reads_back_save_weights(tiny_run, credit_frame, tmp_path):
    import subprocess
    import sys

    from automl_hyper.models.mothernet.child import NumpyChild

    X, y = credit_frame
    clf = MotherNetClassifier(checkpoint=tiny_run[1], random_state=0, temperature=0.8).fit(X, y)
    child = clf.export_child()
    path = tmp_path / "child.npz"
    child.save_weights(path)
    loaded = NumpyChild.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert list(loaded.classes_) == ["bad", "good"] and loaded.temperature == 0.8
    assert repr(loaded) == repr(child)
    assert [m.mode for m in loaded.members] == [m.mode for m in child.members]
    # The weights are plain arrays: numpy reads them without unpickling anything.
    with np.load(path, allow_pickle=False) as f:
        np.testing.assert_array_equal(f["member0.W1"], child.members[0].W1)
    # Loading and predicting needs no torch.
    code = (
        "import sys, pandas as pd; from automl_hyper.models.mothernet.child import NumpyChild; "
        "c = NumpyChild.load(sys.argv[1]); X = pd.read_pickle(sys.argv[2]); "
        "print(c.predict_proba(X)[:, 1].round(6).tolist(), 'torch' in sys.modules)"
    )
    X.head(5).to_pickle(tmp_path / "X.pkl")
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), str(tmp_path / "X.pkl")],
        capture_output=True,
        text=True,
        check=True,
    )
    expected = clf.predict_proba(X.head(5))[:, 1].round(6).tolist()
    assert out.stdout.strip() == f"{expected} False"


@pytest.fixture(scope="module")
def eval_dir(tmp_path_factory):
    """A data folder in the ../shared/datasets layout: a table saved as breast-w.csv (a pretraining
    eval dataset) and under the first selection-set name (ship's criterion), CATEGORICAL.json."""
    from automl_hyper.data.benchmark_sets import SELECTION_SET

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    frame = X.iloc[:, :8].copy()
    frame["size"] = np.where(X["mean area"] > 700, "large", "small")
    frame["target"] = np.where(y == 1, "benign", "malignant")
    folder = tmp_path_factory.mktemp("eval_data")
    for name in ("breast-w", SELECTION_SET[0]):
        frame.to_csv(folder / f"{name}.csv", index=False)
    categorical = {"breast-w": ["size"], SELECTION_SET[0]: ["size"]}
    (folder / "CATEGORICAL.json").write_text(json.dumps(categorical))
    return folder


def test_pretraining_eval_goes_through_the_estimator(tiny_run, eval_dir):
    from automl_hyper.data.splits import paper_splits
    from automl_hyper.metrics import auc_score
    from automl_hyper.models.mothernet.evaluate import load_eval_dataset, real_eval

    model = MotherNet(load_model(tiny_run[1])[0].config)
    model.load_state_dict(load_model(tiny_run[1])[0].state_dict())
    model.train()
    scores = real_eval(model, eval_dir, splits=2)
    assert model.training  # the trainer's mode is left as it was
    assert set(scores) == {"auc_breast-w", "auc_real_mean"}
    # The same number by hand: the estimator (one member, no transform) on the loader's table.
    data = load_eval_dataset(eval_dir, "breast-w")
    assert str(data.X["size"].dtype) == "category"
    by_hand = []
    for tr, te in paper_splits(data.y, n_splits=2, seed=0, max_train=500):
        clf = MotherNetClassifier(
            checkpoint=tiny_run[1], n_estimators=1, input_transform="none", random_state=0
        ).fit(data.X.iloc[tr], data.y.iloc[tr])
        proba = clf.predict_proba(data.X.iloc[te])
        by_hand.append(auc_score(np.searchsorted(clf.classes_, data.y.iloc[te]), proba))
    assert scores["auc_breast-w"] == pytest.approx(np.mean(by_hand), abs=1e-12)


def test_ship_records_the_estimator_auc(tiny_run, eval_dir, tmp_path):
    run_dir, _ = tiny_run
    entry = ship(run_dir / "checkpoint.pt", tmp_path, "evaluated", str(eval_dir))
    assert "eval_auc_generation_only" not in entry  # the report datasets have no say in shipping
    from automl_hyper.data.benchmark_sets import SELECTION_SET

    assert set(entry["eval_auc_estimator_default"]) == {f"auc_{SELECTION_SET[0]}", "auc_mean"}


def test_ship_rule_asks_for_a_gain_above_the_noise_of_the_datasets():
    from automl_hyper.models.mothernet.ship import beats_shipped

    shipped = {"auc_a": 0.80, "auc_b": 0.90, "auc_c": 0.70, "auc_mean": 0.80}
    # cont5's case: a small mean gain that the spread over datasets cannot tell from noise.
    noisy = {"auc_a": 0.81, "auc_b": 0.8915, "auc_c": 0.7005, "auc_mean": 0.0}
    better, summary = beats_shipped(noisy, shipped)
    assert not better and "+0.0007" in summary and "better on 2" in summary
    assert beats_shipped(noisy, shipped, margin_se=0.0)[0]  # strictly better is enough then
    steady = {"auc_a": 0.803, "auc_b": 0.902, "auc_c": 0.704}
    assert beats_shipped(steady, shipped)[0]
    assert not beats_shipped(dict(shipped), shipped, margin_se=0.0)[0]  # a tie never ships
    with pytest.raises(ValueError, match="no dataset"):
        beats_shipped({"auc_x": 0.9}, shipped)


def test_if_better_refuses_a_checkpoint_no_better_than_the_shipped_one(
    tiny_run, eval_dir, tmp_path
):
    from automl_hyper.models.mothernet.ship import NotBetter

    run_dir, _ = tiny_run
    first = ship(run_dir / "checkpoint.pt", tmp_path, "evaluated", str(eval_dir))
    shipped_bytes = (tmp_path / "evaluated.pt").read_bytes()
    with pytest.raises(NotBetter, match="nothing written"):
        ship(run_dir / "checkpoint.pt", tmp_path, "evaluated", str(eval_dir), only_if_better=True)
    assert (tmp_path / "evaluated.pt").read_bytes() == shipped_bytes
    manifest = json.loads((tmp_path / "MANIFEST.json").read_text())
    assert manifest["evaluated"]["shipped_at"] == first["shipped_at"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_model_on_the_gpu_generates_children_for_the_cpu(tiny_run):
    """The pretraining evaluation hands the estimator the model being trained, on its device."""
    X, y = load_breast_cancer(return_X_y=True)
    cpu_model = load_model(tiny_run[1])[0]
    gpu_model = MotherNet(cpu_model.config).cuda().eval()
    gpu_model.load_state_dict(cpu_model.state_dict())
    on_gpu = MotherNetClassifier(checkpoint=gpu_model, random_state=0).fit(X[:200], y[:200])
    on_cpu = MotherNetClassifier(checkpoint=cpu_model, random_state=0).fit(X[:200], y[:200])
    assert on_gpu.members_[0].W1.dtype == np.float32  # numpy on the CPU
    np.testing.assert_allclose(
        on_gpu.predict_proba(X[200:]),
        on_cpu.predict_proba(X[200:]),
        atol=1e-2,  # TF32 may be on
    )
