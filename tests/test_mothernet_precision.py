"""MotherNet's ``precision`` option (bfloat16 encoder forward) and the shared member transforms.

Tolerances measured on breast_cancer and wine (half for training, random_state=0): per member the
child's W1, b1 and W2 differ from float32's by at most 0.35% in relative Frobenius norm, b2 (a few
small numbers) by at most 0.004 absolute; probabilities by at most 0.0021, argmax agreement 100%,
test AUC within 0.0002. The tests allow about 3-5x that.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import load_benchmark
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.utils._param_validation import InvalidParameterError

from automl_hyper.metrics import auc_score
from automl_hyper.models.mothernet import MotherNetClassifier
from automl_hyper.models.mothernet.estimator import _native_bfloat16
from automl_hyper.models.mothernet.model import MotherNet
from automl_hyper.models.mothernet.registry import load_model


def halves(loader):
    X, y = loader(return_X_y=True)
    idx = np.random.default_rng(0).permutation(len(y))
    tr, te = idx[: len(y) // 2], idx[len(y) // 2 :]
    return X[tr], y[tr], X[te], y[te]


def fit(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MotherNetClassifier(random_state=0, **params).fit(X, y)


@pytest.mark.parametrize("loader", [load_breast_cancer, load_wine])
def test_bfloat16_children_are_close_to_float32(loader):
    Xtr, ytr, Xte, yte = halves(loader)
    f32 = fit(Xtr, ytr, precision="float32")
    bf16 = fit(Xtr, ytr, precision="bfloat16")
    assert (f32.precision_, bf16.precision_) == ("float32", "bfloat16")
    assert len(f32.members_) == len(bf16.members_) == 4
    for a, b in zip(f32.members_, bf16.members_):
        for name in ("W1", "b1", "W2", "b2"):
            wa, wb = getattr(a, name), getattr(b, name)
            assert wb.dtype == np.float32 and wb.shape == wa.shape  # the child stays float32
            if name == "b2":
                assert np.abs(wa - wb).max() < 0.02
            else:
                assert np.linalg.norm(wa - wb) / np.linalg.norm(wa) < 0.01
        assert not np.array_equal(a.W1, b.W1)  # bfloat16 did run
        np.testing.assert_array_equal(a.features, b.features)  # same members, same inputs
        np.testing.assert_array_equal(a.mean, b.mean)
    pa, pb = f32.predict_proba(Xte), bf16.predict_proba(Xte)
    assert np.abs(pa - pb).max() < 0.01
    assert (pa.argmax(1) == pb.argmax(1)).mean() >= 0.99
    yt = np.searchsorted(f32.classes_, yte)
    assert abs(auc_score(yt, pa) - auc_score(yt, pb)) < 0.002
    # The exported child predicts what the estimator predicts.
    np.testing.assert_array_equal(bf16.export_child().predict_proba(Xte), pb)


def test_generate_in_bfloat16_returns_float32_weights_close_to_float32():
    model, _ = load_model(None)
    g = torch.Generator().manual_seed(0)
    X = torch.zeros(2, 300, model.config.max_features)
    X[:, :, :12] = torch.randn(2, 300, 12, generator=g)
    y = (X[:, :, 0] > 0).long()
    nf = torch.tensor([12, 12])
    with torch.no_grad():
        a = model.generate(X, y, nf)
        b = model.generate(X, y, nf, torch.bfloat16)
    for name in ("W1", "b1", "W2"):
        wa, wb = getattr(a, name), getattr(b, name)
        assert wb.dtype == torch.float32
        assert 0 < float((wa - wb).norm() / wa.norm()) < 0.01


def test_precision_in_get_params_and_clone():
    clf = MotherNetClassifier(precision="bfloat16", n_estimators=6)
    assert clf.get_params()["precision"] == "bfloat16"
    twin = clone(clf)
    assert twin.get_params() == clf.get_params()
    assert MotherNetClassifier().precision == "auto"
    assert clf.set_params(precision="float32").precision == "float32"


def test_auto_precision_is_bfloat16_where_the_cpu_has_it():
    # The default: bfloat16 where the CPU computes it natively (this project's machines have
    # avx512_bf16), float32 elsewhere; either way the same children as asking for it by name.
    Xtr, ytr, Xte, _ = halves(load_breast_cancer)
    auto = fit(Xtr, ytr)
    native = _native_bfloat16(torch.device("cpu"))
    assert auto.precision_ == ("bfloat16" if native else "float32")
    named = fit(Xtr, ytr, precision=auto.precision_)
    for a, b in zip(auto.members_, named.members_):
        np.testing.assert_array_equal(a.W1, b.W1)
    np.testing.assert_array_equal(auto.predict_proba(Xte), named.predict_proba(Xte))
    if native:  # and not float32's
        f32 = fit(Xtr, ytr, precision="float32")
        assert not np.array_equal(auto.members_[0].W1, f32.members_[0].W1)
    # A model on a device with no bfloat16 (meta): "auto" resolves to float32, no refusal.
    model, _ = load_model(None)
    meta = MotherNetClassifier(checkpoint=MotherNet(model.config).to("meta"))
    meta._check_params()
    assert not _native_bfloat16(torch.device("meta"))


def test_bad_precision_is_refused():
    X, y, _, _ = halves(load_breast_cancer)
    with pytest.raises(InvalidParameterError, match="precision"):
        MotherNetClassifier(precision="float16").fit(X, y)


def test_bfloat16_refused_before_fitting_where_torch_cannot_autocast():
    # A model on the meta device: torch has no bfloat16 autocast there. Refused at fit before
    # any data work (no preprocessor is fitted).
    model, _ = load_model(None)
    meta = MotherNet(model.config).to("meta")
    clf = MotherNetClassifier(checkpoint=meta, precision="bfloat16")
    X, y, _, _ = halves(load_breast_cancer)
    with pytest.raises(ValueError, match="bfloat16.*'meta'"):
        clf.fit(X, y)
    assert not hasattr(clf, "preprocessor_")


class _Recording(MotherNetClassifier):
    """Keeps the preprocessed training matrix and every training set the hypernetwork reads."""

    def _fit_arrays(self, X, y, n_classes):
        self.seen_X_, self.seen_sets_ = X, []
        super()._fit_arrays(X, y, n_classes)

    def _generate(self, model, sets):
        outer = not getattr(self, "_inside_", False)  # chunks of unequal size recurse
        if outer:
            self.seen_sets_.extend(Z for Z, _ in sets)
        self._inside_ = True
        try:
            return super()._generate(model, sets)
        finally:
            self._inside_ = not outer


@pytest.mark.parametrize("max_train_rows", [1024, 150])
def test_member_inputs_at_fit_are_member_inputs(max_train_rows):
    # fit reuses each member's transform output instead of transforming its rows again: the
    # hypernetwork must still read exactly what Member.inputs gives (numeric and categorical
    # columns with NaN, one-hot and ordinal members, none/quantile/power transforms, row chunks).
    rng = np.random.default_rng(3)
    n = 400
    X = pd.DataFrame(
        {
            "a": rng.lognormal(size=n),
            "b": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
            "c": pd.Categorical(rng.choice(["x", "y", "z", "w"], n)),
            "d": pd.Categorical(rng.choice(["p", "q"], n)),
            "e": rng.integers(0, 3, n).astype(float),
        }
    )
    y = (X["a"] + (X["c"] == "x") + rng.normal(size=n) > 1.5).astype(int).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = _Recording(n_estimators=6, max_train_rows=max_train_rows, random_state=0).fit(X, y)
    members = clf.members_
    assert {m.transform is None for m in members} == {True, False}
    assert {m.project_to is None for m in members} == {True, False}
    assert len(clf.seen_sets_) == len(members) == 6
    rows = clf._row_chunks(np.asarray(y), np.random.RandomState(0))
    if max_train_rows < n:
        assert len(rows) > 1
    for i, (m, Z) in enumerate(zip(members, clf.seen_sets_)):
        expected = m.inputs(clf.seen_X_[rows[i % len(rows)]], clf._clip)
        assert Z.dtype == expected.dtype == np.float32
        np.testing.assert_array_equal(Z, expected)


def test_decision_rule_of_the_bf16_benchmark(tmp_path):
    # benchmarks/mothernet_speed.py --decide: rule (a) for an arm with the base's members (a
    # speed option), rule (b) for more members; both read per-dataset means over splits.
    speed = load_benchmark("mothernet_speed")
    rows = ["group,variant,dataset,split,auc,logloss,members,fit_ms,predict_ms"]
    gains = {"fast": 0.0, "more": 0.004, "slow": 0.004, "drops": 0.004}
    for d in range(6):
        for s in range(2):
            base = 0.8 + 0.01 * d
            rows.append(f"p,base,d{d},{s},{base},0.5,4,100,10")
            rows.append(f"p,fast,d{d},{s},{base + 0.0001 * (d % 2)},0.5,4,50,10")
            rows.append(f"p,more,d{d},{s},{base + 0.004 + 0.001 * (d % 2)},0.5,8,100,12")
            rows.append(f"p,slow,d{d},{s},{base + 0.004 + 0.001 * (d % 2)},0.5,8,150,10")
            drop = -0.006 if d < 3 else 0.03  # a clear mean gain, but 3 sets down
            rows.append(f"p,drops,d{d},{s},{base + drop},0.5,8,100,10")
    csv = tmp_path / "runs.csv"
    csv.write_text("\n".join(rows) + "\n")
    table = speed.decide(csv, "base")
    verdict = {
        line.split("|")[1].strip(): line.split("|")[-2].strip()
        for line in table.splitlines()
        if line.startswith("| ") and line.split("|")[1].strip() in gains
    }
    assert verdict == {"fast": "yes", "more": "yes", "slow": "no", "drops": "no"}
    assert "| fast |" in table and "| a | yes |" in table and "| b | no |" in table
