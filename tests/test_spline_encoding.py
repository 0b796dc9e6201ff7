"""Spline (piecewise-linear) encoding of numeric columns: the encoder, INN's trunk_encoding and
SMASH's input_encoding."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from automl_hyper.data.preprocess import TabularPreprocessor
from automl_hyper.data.spline import SplineEncoder, fit_encoder, numeric_outputs
from automl_hyper.models.inn import INNClassifier, INNRegressor
from automl_hyper.models.inn.export import export_weights as inn_export
from automl_hyper.models.inn.export import from_weights as inn_import


def _table(n: int = 240, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Numeric (smooth, constant, binary, zero-inflated) and categorical columns; a label that
    depends non-linearly on the smooth one."""
    rng = np.random.default_rng(seed)
    smooth = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "smooth": smooth,
            "constant": np.full(n, 3.0),
            "binary": rng.integers(0, 2, n).astype(float),
            "zeros": np.where(rng.random(n) < 0.7, 0.0, rng.exponential(size=n)),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
        }
    )
    y = (np.abs(smooth) > 0.8).astype(int) ^ (frame.colour == "red").to_numpy().astype(int)
    return frame, y


def test_encoder_expands_numeric_outputs_only_and_keeps_degenerate_columns_raw():
    X, _ = _table()
    pre = TabularPreprocessor(numeric_transform="power")
    Xt = pre.fit_transform(X)
    mask = numeric_outputs(pre)
    assert mask.tolist() == [True, True, True, True, False, False, False]  # 4 numeric, 3 one-hot
    enc = fit_encoder(pre, Xt, n_knots=6)
    # constant (1 value) and binary (2 values) stay raw, as do the one-hot levels
    assert enc.spline_columns_.tolist() == [0, 3]
    assert enc.raw_columns_.tolist() == [1, 2, 4, 5, 6]
    out = enc.transform(Xt)
    assert out.shape == (len(X), 5 + 2 * 6) == (len(X), enc.n_features_out_)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[:, :5], Xt[:, [1, 2, 4, 5, 6]])
    # degree 1: hat functions, a partition of unity per expanded column
    np.testing.assert_allclose(out[:, 5:11].sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(out[:, 11:].sum(axis=1), 1.0, atol=1e-6)
    # the zero-inflated column's quantile knots collapse: uniform between its min and max
    knots = enc.knots_[:, 1]
    assert np.all(np.diff(knots) > 0)
    np.testing.assert_allclose(np.diff(knots), np.diff(knots)[0])
    with_raw = fit_encoder(pre, Xt, n_knots=6, keep_raw=True)
    assert with_raw.n_features_out_ == 5 + 2 + 2 * 6


def test_knots_come_from_the_training_rows_only():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(200, 2))
    enc = SplineEncoder(n_knots=5).fit(train)
    np.testing.assert_allclose(enc.knots_, np.quantile(train, np.linspace(0, 1, 5), axis=0))
    before = enc.knots_.copy()
    enc.transform(rng.normal(loc=50.0, size=(30, 2)))  # transform learns nothing
    np.testing.assert_array_equal(enc.knots_, before)
    # refit on other rows: other knots
    assert not np.allclose(SplineEncoder(n_knots=5).fit(train + 1.0).knots_, before)


def test_out_of_range_constant_and_nan_inputs_give_finite_bounded_outputs():
    rng = np.random.default_rng(1)
    train = np.c_[rng.normal(size=100), np.zeros(100), rng.integers(0, 4, 100)].astype(np.float32)
    enc = SplineEncoder(n_knots=8).fit(train)
    far = np.array([[1e6, 5.0, -7.0], [-1e6, -5.0, 99.0], [np.nan, np.nan, 2.0]], dtype=np.float32)
    out = enc.transform(far)
    assert np.isfinite(out[:, enc.raw_columns_.size :]).all()
    basis = out[:, 1:]  # column 1 (constant) stays raw; the bases follow it
    assert basis.min() >= 0.0 and basis.max() <= 1.0
    # constant extrapolation: beyond the range, the boundary's basis function
    first = out[:, 1:9]
    assert first[0, -1] == 1.0 and first[1, 0] == 1.0


def test_width_cap_lowers_the_knots_then_keeps_columns_raw():
    X = np.random.default_rng(0).normal(size=(100, 10))
    with pytest.warns(UserWarning, match="4 knots per column"):
        enc = SplineEncoder(n_knots=8, max_width=45).fit(X)
    assert enc.n_knots_ == 4 and enc.n_features_out_ == 40
    with pytest.warns(UserWarning, match="kept raw"):
        enc = SplineEncoder(n_knots=8, max_width=20).fit(X)
    assert enc.n_features_out_ == 10
    np.testing.assert_array_equal(enc.transform(X), X)


def test_encoder_pickles_and_rebuilds_from_its_plain_state():
    X = np.random.default_rng(2).normal(size=(150, 3)).astype(np.float32)
    enc = SplineEncoder(n_knots=7, degree=3, keep_raw=True).fit(X)
    out = enc.transform(X)
    assert out.shape[1] == 3 + 3 * (7 + 2)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(enc)).transform(X), out)
    config, arrays = enc.state()
    assert all(isinstance(v, np.ndarray) and v.dtype.kind in "fi" for v in arrays.values())
    np.testing.assert_array_equal(SplineEncoder.from_state(config, arrays).transform(X), out)


# --- INN: the trunk reads the encoding, the linear model the preprocessed columns --------------

FAST = dict(hidden_width=16, max_epochs=10, restart_period=5, n_snapshots=2, random_state=0)


@pytest.mark.parametrize("mode", ["spline", "spline_raw"])
def test_inn_trunk_encoding_keeps_explanations_exact_over_the_original_columns(mode):
    X, y = _table()
    clf = INNClassifier(trunk_encoding=mode, spline_knots=5, **FAST).fit(X[:200], y[:200])
    plain = INNClassifier(**FAST).fit(X[:200], y[:200])
    enc = clf.trunk_encoder_
    n_out = clf.preprocessor_.n_features_out_
    assert clf.ensemble_[0].trunk.stem.in_features == enc.n_features_out_
    assert enc.n_features_out_ == 5 + (2 if mode == "spline_raw" else 0) + 2 * 5
    assert clf.ensemble_[0].n_features == n_out  # the linear model: one weight per column
    expl = clf.explain(X[200:])
    assert list(expl.columns[:-1]) == list(plain.feature_names_out_)
    np.testing.assert_allclose(expl.sum(axis=1), clf.decision_function(X[200:]), atol=1e-9)
    assert clf.feature_importances_.shape == (X.shape[1],)
    assert not np.allclose(clf.predict_proba(X[200:]), plain.predict_proba(X[200:]))


def test_inn_trunk_encoding_multiclass_regressor_and_partial_fit():
    X, y = make_classification(200, 5, n_informative=3, n_classes=3, random_state=0)
    clf = INNClassifier(trunk_encoding="spline", **FAST).fit(X, y)
    expl = clf.explain(X[:10])
    for c in range(3):
        np.testing.assert_allclose(expl[c].sum(axis=1), clf.decision_function(X[:10])[:, c])
    reg = INNRegressor(trunk_encoding="spline", **FAST).fit(X, X[:, 0] ** 2)
    np.testing.assert_allclose(reg.explain(X[:10]).sum(axis=1), reg.predict(X[:10]))
    part = INNClassifier(trunk_encoding="spline", **FAST)
    part.partial_fit(X, y, classes=[0, 1, 2]).partial_fit(X, y)
    assert part.n_epochs_ == 2 and part.trunk_encoder_.n_features_out_ == 5 * 8
    assert np.isfinite(part.predict_proba(X)).all()


def test_inn_trunk_encoding_export_round_trip(tmp_path):
    X, y = _table()
    clf = INNClassifier(trunk_encoding="spline", **FAST).fit(X[:200], y[:200])
    inn_export(clf, tmp_path)
    back = inn_import(tmp_path)
    assert back.trunk_encoding == "spline"
    np.testing.assert_array_equal(back.predict_proba(X[200:]), clf.predict_proba(X[200:]))
    pd.testing.assert_frame_equal(back.explain(X[200:]), clf.explain(X[200:]))
    # pickling keeps it too
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X[200:]), clf.predict_proba(X[200:]))


def test_inn_default_has_no_encoder_and_refuses_unknown_modes():
    X, y = _table()
    clf = INNClassifier(**FAST).fit(X, y)
    assert clf.trunk_encoder_ is None and clf.ensemble_[0].trunk_features is None
    with pytest.raises(ValueError, match="trunk_encoding"):
        INNClassifier(trunk_encoding="cubic", **FAST).fit(X, y)


# --- SMASH: the hypernetwork and every child read the encoded matrix ----------------------------

SMASH_FAST = dict(
    n_candidates=12,
    top_k=2,
    n_mutations=0,
    hyper_time_budget=None,
    hyper_max_epochs=2,
    max_epochs=4,
    max_depth=2,
    widths=(8, 16),
    random_state=0,
)


@pytest.mark.parametrize("mode", ["spline", "spline_raw"])
def test_smash_input_encoding_feeds_the_children_and_exports(mode, tmp_path):
    from automl_hyper.models.smash import SmashClassifier
    from automl_hyper.models.smash.export import export_weights, from_weights

    X, y = _table()
    clf = SmashClassifier(input_encoding=mode, spline_knots=5, **SMASH_FAST).fit(X[:200], y[:200])
    width = 5 + (2 if mode == "spline_raw" else 0) + 2 * 5
    assert clf.input_encoder_.n_features_out_ == width
    assert all(net.weights[0].shape[1] == width for net in clf.ensemble_nets_)
    proba = clf.predict_proba(X[200:])
    assert np.isfinite(proba).all()
    export_weights(clf, tmp_path)
    back = from_weights(tmp_path)
    np.testing.assert_array_equal(back.predict_proba(X[200:]), proba)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X[200:]), proba)


def test_smash_without_encoding_reads_the_preprocessed_columns_and_width_is_capped():
    from automl_hyper.models.smash import SmashClassifier, SmashRegressor
    from automl_hyper.models.smash.estimators import MAX_ENCODED_WIDTH

    X, y = _table()
    assert SmashClassifier().input_encoding == "spline_raw"  # the default since the selection run
    clf = SmashClassifier(input_encoding=None, **SMASH_FAST).fit(X, y)
    assert clf.input_encoder_ is None
    assert clf.net_.weights[0].shape[1] == clf.preprocessor_.n_features_out_
    wide = np.random.default_rng(0).normal(size=(120, 100))
    with pytest.warns(UserWarning, match="knots per column"):
        reg = SmashRegressor(input_encoding="spline", **SMASH_FAST).fit(wide, wide[:, 0] ** 2)
    assert reg.input_encoder_.n_knots_ == MAX_ENCODED_WIDTH // 100
    assert reg.net_.weights[0].shape[1] <= MAX_ENCODED_WIDTH
    assert np.isfinite(reg.predict(wide)).all()


def test_estimators_stored_before_the_encodings_existed_load_as_they_were(tmp_path):
    import json

    from automl_hyper.models.smash import SmashClassifier
    from automl_hyper.models.smash.export import export_weights, from_weights

    X, y = _table()
    clf = SmashClassifier(input_encoding=None, **SMASH_FAST).fit(X[:200], y[:200])
    export_weights(clf, tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    for key in ("input_encoding", "spline_knots"):
        del config["params"][key]
    del config["input_encoder"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    back = from_weights(tmp_path)
    assert back.get_params()["input_encoding"] is None
    np.testing.assert_array_equal(back.predict_proba(X[200:]), clf.predict_proba(X[200:]))
    # a pickle from before: the attributes are missing, the class answers with what it did
    inn = INNClassifier(**FAST).fit(X[:200], y[:200])
    for est, names in ((clf, ("input_encoding", "spline_knots")), (inn, ("trunk_encoding",))):
        old = pickle.loads(pickle.dumps(est))
        for name in names:
            del old.__dict__[name]
        assert old.get_params()[names[0]] is None
        np.testing.assert_array_equal(old.predict_proba(X[200:]), est.predict_proba(X[200:]))
