"""SMASH finalist rankers (proxy / UNF / both), top-k averaging and winner tuning."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import SMASH_TINY
from sklearn.datasets import load_breast_cancer, make_classification, make_regression

from automl_hyper import zoo
from automl_hyper.models.smash import SmashClassifier, SmashRegressor

TINY = SMASH_TINY


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    """A tiny SMASH child-quality predictor trained here (the ranker must not need a shipped one)."""
    from automl_hyper.weightspace.bank import BankConfig, build
    from automl_hyper.weightspace.predictor import train_from_banks

    tmp = tmp_path_factory.mktemp("unf")
    config = BankConfig(family="smash", n_archs=3, hyper_seconds=0.3, real_epochs=2)
    build(tmp / "bank", config, 2, progress=False)
    path = tmp / "pred.pt"
    train_from_banks([tmp / "bank"], path, meta_features=True, epochs=1, channels=(4,))
    return str(path)


@pytest.fixture(scope="module")
def data():
    X, y = load_breast_cancer(return_X_y=True)
    return X[:300], y[:300], X[300:], y[300:]


@pytest.mark.parametrize("ranker", ["unf", "both"])
def test_finalists_are_the_top_of_the_chosen_ranking(ranker, predictor, data):
    X, y, X_te, y_te = data
    clf = SmashClassifier(**TINY, ranker=ranker, unf_predictor=predictor).fit(X, y)
    table = clf.search_results_
    assert table.unf_score.notna().all() and table.rank_score.notna().all()
    top = table.sort_values(["rank_score", "proxy_score"], ascending=False).head(TINY["top_k"])
    assert top.real_score.notna().all() and table.real_score.notna().sum() == TINY["top_k"]
    if ranker == "both":  # the average of the two rank positions, as a share of the pool
        n = len(table)
        ranks = (table.proxy_score.rank() + table.unf_score.rank()) / (2 * n)
        np.testing.assert_allclose(table.rank_score, ranks)
    assert set(clf.ranker_kendall_taus_) == {"proxy", "unf", ranker}
    assert clf.score(X_te, y_te) > 0.85
    assert clf.search_timings_["ranking_s"] >= 0


def test_proxy_ranker_computes_no_unf_score(data):
    X, y, _, _ = data
    clf = SmashClassifier(**TINY).fit(X, y)
    assert clf.ranker == "proxy" and clf.search_results_.unf_score.isna().all()
    np.testing.assert_array_equal(clf.search_results_.rank_score, clf.search_results_.proxy_score)
    # the defaults: every trained finalist averaged, no tuning
    assert len(clf.ensemble_nets_) == TINY["top_k"] and clf.tuning_results_ == []
    single = SmashClassifier(**TINY, ensemble_top_k=1).fit(X, y)
    assert single.ensemble_nets_ == [single.net_] and single.best_spec_ == clf.best_spec_


def test_top_k_average_and_tuning_are_seeded(data):
    X, y, X_te, y_te = data
    params = {**TINY, "ensemble_top_k": 2, "tune_trials": 2}
    a = SmashClassifier(**params).fit(X, y)
    b = SmashClassifier(**params).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X_te), b.predict_proba(X_te))
    assert len(a.ensemble_nets_) == 2 and a.ensemble_nets_[0] is a.net_
    assert len(a.tuning_results_) == 2
    assert {"learning_rate", "dropout", "weight_decay", "real_score"} <= set(a.tuning_results_[0])
    # the winner is the tuned retraining only where a trial beat the untuned winner
    trained = a.search_results_[a.search_results_.real_score.notna()]
    assert a.best_spec_.to_json() == trained.loc[trained.real_score.idxmax(), "spec"]
    import torch

    from automl_hyper.models.smash.training import outputs_to_proba

    with torch.no_grad():  # the probabilities are the members' mean
        x = torch.as_tensor(a._transform(X_te), dtype=torch.float64)
        mean = np.mean([outputs_to_proba(n(x)) for n in a.ensemble_nets_], axis=0)
    np.testing.assert_allclose(a.predict_proba(X_te), mean)
    assert a.score(X_te, y_te) > 0.85


def test_regressor_averages_members():
    X, y = make_regression(300, 5, noise=1.0, random_state=0)
    reg = SmashRegressor(**{**TINY, "ensemble_top_k": 3, "max_epochs": 40, "learning_rate": 1e-2})
    reg.fit(X[:200], y[:200])
    assert len(reg.ensemble_nets_) == 3 and reg.score(X[200:], y[200:]) > 0.5


def _pay_first_optimiser_import() -> None:
    # The first optimiser of a process imports torch._dynamo (7-8 s under load); the timed tests
    # below measure the search's deadline, not that import.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])


def test_tuning_stays_inside_the_time_limit():
    import time

    X, y = make_classification(300, 6, random_state=0)
    _pay_first_optimiser_import()
    start = time.thread_time()  # time_limit counts this thread's CPU seconds (one torch thread)
    clf = SmashClassifier(
        **{**TINY, "max_epochs": 10_000, "patience": 10_000, "tune_trials": 50, "time_limit": 3.0}
    ).fit(X, y)
    assert time.thread_time() - start < 3.0 + 20.0  # slack: minimum epochs; unbounded: minutes
    assert len(clf.tuning_results_) < 50


@pytest.mark.parametrize(
    "params, message",
    [
        ({"ranker": "oracle"}, "ranker"),
        ({"ensemble_top_k": 0}, "ensemble_top_k"),
        ({"tune_trials": -1}, "tune_trials"),
        ({"unf_predictor": 3}, "unf_predictor"),
    ],
)
def test_bad_settings_fail_before_any_work(params, message):
    X, y = make_classification(50, 4, random_state=0)
    with pytest.raises(ValueError, match=message):
        SmashClassifier(**{**TINY, **params}).fit(X, y)


def test_zoo_declares_the_ranker():
    family = zoo.get("smash")
    assert family.default_params()["ranker"] == SmashClassifier().ranker == "proxy"
    assert "ranker" not in family.space  # a default, not searched (UNF scoring is costly)
    assert family.make(ranker="both").ranker == "both"


def test_zoo_and_estimator_share_the_training_defaults():
    # AutoGluon passes the zoo's space defaults explicitly: they must be the estimator's own.
    params, clf = zoo.get("smash").default_params(), SmashClassifier()
    for name in ("learning_rate", "dropout", "weight_decay"):
        assert params[name] == getattr(clf, name)
    # all finalists averaged (smash_defaults_selection.md), 16 of them (smash_topk16_selection.md)
    assert clf.top_k == clf.ensemble_top_k == 16
    # each refit's weights averaged over epochs around its kept count (smash_swa_selection.md,
    # then the longer window of smash_swa_long_selection.md)
    assert clf.refit_average == "long"


def test_a_predictor_that_cannot_read_the_space_is_refused_before_any_work(predictor):
    """The tiny predictor was built on architectures of at most 3 layers (the bank's default)."""
    import time

    X, y = make_classification(80, 4, random_state=0)
    _pay_first_optimiser_import()
    start = time.perf_counter()
    clf = SmashClassifier(**{**TINY, "max_depth": 4, "hyper_max_epochs": 10_000}, ranker="unf")
    with pytest.raises(ValueError, match="at most 3 layers, but max_depth is 4"):
        clf.set_params(unf_predictor=predictor, hyper_time_budget=None).fit(X, y)
    assert time.perf_counter() - start < 15.0  # refused before the hypernetwork trains (minutes)


def test_unf_scoring_stays_inside_the_time_limit(predictor):
    import time

    X, y = make_classification(300, 6, random_state=0)
    _pay_first_optimiser_import()
    start = time.thread_time()  # time_limit counts this thread's CPU seconds (one torch thread)
    params = {**TINY, "n_candidates": 3000, "n_mutations": 0, "hyper_time_budget": None}
    clf = SmashClassifier(**params, ranker="unf", unf_predictor=predictor, time_limit=3.0)
    clf.set_params(hyper_max_epochs=10_000).fit(X, y)
    assert time.thread_time() - start < 3.0 + 20.0  # slack: minimum epochs; unbounded: minutes
    table = clf.search_results_
    assert table.real_score.notna().any()
    # scored in proxy order: every scored candidate has a proxy at least that of any unscored one
    scored = table.unf_score.notna()
    assert scored.sum() >= 16  # the first chunk always, however slow the machine
    if (~scored).any():
        assert table.proxy_score[scored].min() >= table.proxy_score[~scored].max()


def test_a_spent_time_limit_still_scores_the_first_unf_chunk(predictor):
    # However slow the machine, ranker="unf" never ranks on no UNF score at all.
    X, y = make_classification(300, 6, random_state=0)
    params = {**TINY, "n_candidates": 200, "n_mutations": 0, "hyper_time_budget": None}
    clf = SmashClassifier(**params, ranker="unf", unf_predictor=predictor, time_limit=1e-6)
    table = clf.fit(X, y).search_results_
    assert table.unf_score.notna().sum() >= min(16, len(table))
    assert table.real_score.notna().any()
