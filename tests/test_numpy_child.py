"""MotherNet's numpy prediction path (issue 11.4/11.5): the exported child's preprocessing and
member transforms as plain arrays must predict what the scikit-learn objects predict (to 1e-9),
with the same bad-input checks and warnings, and read back from disk without pickle."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import load_shared
from sklearn.preprocessing import QuantileTransformer

from automl_hyper import MotherNetClassifier
from automl_hyper.data.preprocess import BadInputWarning, TabularPreprocessor
from automl_hyper.models.mothernet.child import (
    NumpyChild,
    NumpyPreprocessor,
    NumpyQuantileTransformer,
    combine,
    softmax,
)

# Categoricals with missing values and unseen levels (credit-approval, anneal, dresses-sales,
# cylinder-bands), numeric only (wdbc), many classes (soybean: 19, class trees).
DATASETS = ["credit-approval", "anneal", "dresses-sales", "cylinder-bands", "wdbc", "soybean"]


def sklearn_reference(clf: MotherNetClassifier, X) -> np.ndarray:
    """The estimator's probabilities computed with its scikit-learn objects (ColumnTransformer,
    QuantileTransformer), as before the numpy path."""
    Xp = clf.preprocessor_.transform(X)
    probas = [softmax(m.logits(m.inputs(Xp, clf._clip)) / clf.temperature) for m in clf.members_]
    return combine(probas, clf.members_, len(clf.classes_))


def split(name: str, n_train: int = 200, n_test: int = 200):
    X, y = load_shared(name)
    idx = np.random.default_rng(0).permutation(len(X))
    tr, te = idx[:n_train], idx[n_train : n_train + n_test]
    return X.iloc[tr], y.iloc[tr], X.iloc[te].copy()


def predict_with_warnings(f, X) -> tuple[np.ndarray, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = f(X)
    return out, [str(w.message) for w in caught if issubclass(w.category, BadInputWarning)]


@pytest.mark.parametrize("name", DATASETS)
def test_numpy_child_equals_the_estimator_and_reads_back(name, tmp_path):
    Xtr, ytr, Xte = split(name)
    cat = [c for c in Xte.columns if isinstance(Xte[c].dtype, pd.CategoricalDtype)]
    if cat:  # a level never seen in fit, in a few rows
        Xte[cat[0]] = Xte[cat[0]].cat.add_categories(["never-seen"])
        Xte.iloc[:3, Xte.columns.get_loc(cat[0])] = "never-seen"
    clf = MotherNetClassifier(random_state=0).fit(Xtr, ytr)
    assert any(isinstance(m.transform, QuantileTransformer) for m in clf.members_)
    reference, ref_warnings = predict_with_warnings(lambda X: sklearn_reference(clf, X), Xte)

    child = clf.export_child()
    assert isinstance(child.preprocessor, NumpyPreprocessor)
    assert any(isinstance(m.transform, NumpyQuantileTransformer) for m in child.members)
    child.save_weights(tmp_path / "child.npz")
    loaded = NumpyChild.load(tmp_path / "child.npz")
    for f in (clf.predict_proba, child.predict_proba, loaded.predict_proba):
        proba, found = predict_with_warnings(f, Xte)
        np.testing.assert_allclose(proba, reference, rtol=0, atol=1e-9)
        assert found == ref_warnings  # the same checks, in the same order
    if cat:
        assert any("never-seen" in w for w in ref_warnings)
    assert list(loaded.classes_) == list(clf.classes_) and repr(loaded) == repr(child)


def test_infrequent_levels_unseen_levels_nan_and_far_values(tmp_path):
    """A column over max_categories (20) pools its rare levels; an unseen level goes to that
    pool there and to all zeros elsewhere; NaN is imputed; 1e300 is clipped with a warning."""
    Xtr, ytr, Xte = split("credit-approval", n_train=300, n_test=100)
    rng = np.random.default_rng(1)
    levels = [f"L{i}" for i in range(30)]
    p = np.r_[np.full(10, 0.08), np.full(20, 0.2 / 20)]
    Xtr = Xtr.assign(many=rng.choice(levels, size=len(Xtr), p=p).astype(object))
    many = rng.choice(levels, size=len(Xte)).astype(object)
    many[:4] = ["unseen-a", "unseen-b", None, "L29"]
    Xte = Xte.assign(many=many)
    numeric = [c for c in Xte.columns if pd.api.types.is_float_dtype(Xte[c])]
    Xte.iloc[4, Xte.columns.get_loc(numeric[0])] = np.nan
    Xte.iloc[5, Xte.columns.get_loc(numeric[1])] = 1e300
    clf = MotherNetClassifier(random_state=0, n_estimators=3).fit(Xtr, ytr)
    encoder = clf.preprocessor_.column_transformer_.named_transformers_["cat"]["encode"]
    assert encoder.infrequent_categories_[-1] is not None  # the pool exists
    reference, ref_warnings = predict_with_warnings(lambda X: sklearn_reference(clf, X), Xte)
    child = clf.export_child()
    child.save_weights(tmp_path / "c.npz")
    for f in (child.predict_proba, NumpyChild.load(tmp_path / "c.npz").predict_proba):
        proba, found = predict_with_warnings(f, Xte)
        np.testing.assert_allclose(proba, reference, rtol=0, atol=1e-9)
        assert found == ref_warnings
    assert any("far outside the training range" in w for w in ref_warnings)
    assert any("unseen-a" in w for w in ref_warnings)
    Xte.iloc[6, Xte.columns.get_loc(numeric[0])] = np.inf  # refused, as by the estimator
    for f in (clf.predict_proba, child.predict_proba):
        with pytest.raises(ValueError, match=rf"infinity in columns \['{numeric[0]}'\]"):
            f(Xte)


def test_category_min_frequency_pools_rare_levels_in_the_child(tmp_path):
    """Levels seen under k training rows share one input; the exported child (and its saved
    weights) predict as the estimator, an unseen level going to that pool too."""
    Xtr, ytr, Xte = split("credit-approval", n_train=300, n_test=100)
    plain = MotherNetClassifier(random_state=0, n_estimators=2).fit(Xtr, ytr)
    clf = MotherNetClassifier(random_state=0, n_estimators=2, category_min_frequency=10)
    clf.fit(Xtr, ytr)
    ct = clf.preprocessor_.column_transformer_
    cat = next(cols for name, _, cols in ct.transformers_ if name == "cat")
    assert any((Xtr[c].value_counts() < 10).sum() > 1 for c in cat)  # rare levels to pool
    width = clf.preprocessor_.transform(Xtr).shape[1]
    assert width < plain.preprocessor_.transform(Xtr).shape[1]
    Xte = Xte.assign(**{cat[0]: Xte[cat[0]].astype(object)})
    Xte.iloc[0, Xte.columns.get_loc(cat[0])] = "never-seen"
    child = clf.export_child()
    child.save_weights(tmp_path / "c.npz")
    reference, _ = predict_with_warnings(clf.predict_proba, Xte)
    for f in (child.predict_proba, NumpyChild.load(tmp_path / "c.npz").predict_proba):
        proba, _ = predict_with_warnings(f, Xte)
        np.testing.assert_allclose(proba, reference, rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    ("numeric_transform", "encoding"),
    [("standard", "onehot"), ("quantile", "onehot"), ("none", "ordinal")],
)
def test_numpy_preprocessor_equals_tabular_preprocessor(numeric_transform, encoding):
    Xtr, _, Xte = split("anneal", n_train=300, n_test=300)
    pre = TabularPreprocessor(
        numeric_transform=numeric_transform, categorical_encoding=encoding, clip=5.0
    ).fit(Xtr)
    fast = NumpyPreprocessor.from_fitted(pre)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BadInputWarning)
        np.testing.assert_array_equal(fast.transform(Xte), pre.transform(Xte))
        # float32 columns stay float32 through imputation and scaling, as in scikit-learn
        X32 = Xte.astype({c: np.float32 for c in pre.numeric_columns_})
        np.testing.assert_array_equal(fast.transform(X32), pre.transform(X32))
    with pytest.raises(TypeError, match="built from a fitted"):
        fast.fit(Xtr)


def test_numpy_quantile_transformer_equals_sklearn():
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(size=500), rng.integers(0, 4, 500), rng.exponential(size=500)]
    X[::7, 0] = np.nan
    for dtype in (np.float64, np.float32):
        for dist in ("normal", "uniform"):
            sk = QuantileTransformer(n_quantiles=100, output_distribution=dist).fit(
                X[:300].astype(dtype)
            )
            # repeated values, values on and beyond the outer quantiles, NaN
            Xt = np.r_[X[300:], [[-50.0, 0, 0], [50.0, 3, 99.0], [np.nan] * 3]].astype(dtype)
            ours = NumpyQuantileTransformer.from_sklearn(sk).transform(Xt)
            theirs = sk.transform(Xt)
            assert ours.dtype == theirs.dtype
            np.testing.assert_array_equal(ours, theirs)


def test_quantile_members_at_fit_are_what_scikit_learn_gives_bit_for_bit():
    """The estimator transforms a quantile member's training rows with the numpy twin; values,
    dtype and memory layout must be scikit-learn's, or the column means that follow add up in
    another order and the probabilities move (by up to 1.5e-3 through the bfloat16 encoder)."""
    rng = np.random.default_rng(1)
    X = np.c_[rng.normal(size=(400, 3)), rng.integers(0, 5, (400, 2)), rng.exponential(size=400)]
    for Z in (X[:, ::-1], X.astype(np.float32)[:, [4, 0, 2]], np.asfortranarray(X), X):
        fitted, ours = MotherNetClassifier._fit_transform("quantile", Z)
        theirs = QuantileTransformer(n_quantiles=400, output_distribution="normal").fit(Z)
        theirs = theirs.transform(Z)
        np.testing.assert_array_equal(ours, theirs)
        assert isinstance(fitted, QuantileTransformer) and ours.dtype == theirs.dtype
        assert ours.strides == theirs.strides
        assert np.array_equal(ours.mean(0), theirs.mean(0))


def test_child_storage_refuses_pickles_and_unknown_classes(tmp_path):
    Xtr, ytr, Xte = split("credit-approval", n_train=150, n_test=20)
    child = MotherNetClassifier(random_state=0, n_estimators=2).fit(Xtr, ytr).export_child()
    path = tmp_path / "c.npz"
    child.save_weights(path)
    with np.load(path, allow_pickle=False) as f:
        assert all(f[k].dtype != object for k in f.files)
        config = json.loads(str(f["config"]))
        arrays = {k: f[k] for k in f.files}
    # an old file: the preprocessing pickled into an entry
    np.savez(tmp_path / "old.npz", preprocessing=np.frombuffer(b"\x80\x04N.", dtype=np.uint8))
    with pytest.raises(ValueError, match="older automl-hyper"):
        NumpyChild.load(tmp_path / "old.npz")
    # a config naming a class outside the allowed scikit-learn ones
    text = json.dumps(config).replace('"TabularPreprocessor"', '"Popen"', 1)
    np.savez(tmp_path / "bad.npz", **{k: v for k, v in arrays.items() if k != "config"},
             config=np.asarray(text))  # fmt: skip
    with pytest.raises(ValueError, match="not allowed"):
        NumpyChild.load(tmp_path / "bad.npz")
