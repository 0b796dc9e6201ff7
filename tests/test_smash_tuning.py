"""SMASH winner tuning and the ensemble: which of the winner's trainings the average holds."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import SMASH_TINY
from sklearn.datasets import load_breast_cancer

from automl_hyper.models.smash import SmashClassifier
from automl_hyper.models.smash.training import outputs_to_proba

TINY = {**SMASH_TINY, "ensemble_top_k": 3}


@pytest.fixture(scope="module")
def data():
    X, y = load_breast_cancer(return_X_y=True)
    return X[:300], y[:300], X[300:], y[300:]


def _member_probas(clf, X) -> list[np.ndarray]:
    with torch.no_grad():
        x = torch.as_tensor(clf._transform(X), dtype=torch.float64)
        return [outputs_to_proba(n(x)) for n in clf.ensemble_nets_]


@pytest.fixture(scope="module")
def fits(data):
    X, y, _, _ = data
    return {
        "plain": SmashClassifier(**TINY).fit(X, y),
        "tune2": SmashClassifier(**TINY, tune_trials=2).fit(X, y),
        "tune4": SmashClassifier(**TINY, tune_trials=4).fit(X, y),
        "join4": SmashClassifier(**TINY, tune_trials=4, tune_ensemble=True).fit(X, y),
    }


def test_the_best_training_of_the_winner_takes_its_place_in_the_average(fits, data):
    _, _, X_te, _ = data
    plain, tuned = fits["plain"], fits["tune4"]
    assert plain.ensemble_sources_ == ["finalist:0", "finalist:1", "finalist:2"]
    untuned = plain.search_results_.real_score.max()
    scores = [r["real_score"] for r in tuned.tuning_results_]
    sources = tuned.ensemble_sources_
    if max(scores) > untuned:  # a trial won: it replaces the untuned winner, not joins it
        assert sources[0] == f"trial:{int(np.argmax(scores))}" and "finalist:0" not in sources
    else:
        assert sources[0] == "finalist:0"
    assert sources[1:] == ["finalist:1", "finalist:2"] and tuned.ensemble_nets_[0] is tuned.net_
    # the other members are the untuned fit's finalists, unchanged by the tuning
    for a, b in zip(_member_probas(plain, X_te)[1:], _member_probas(tuned, X_te)[1:]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(
        tuned.predict_proba(X_te), np.mean(_member_probas(tuned, X_te), axis=0)
    )


def test_tune_ensemble_averages_every_training_of_the_winner(fits, data):
    _, _, X_te, _ = data
    join, tuned = fits["join4"], fits["tune4"]
    finite = [j for j, r in enumerate(join.tuning_results_) if np.isfinite(r["real_score"])]
    expected = {"finalist:0", "finalist:1", "finalist:2", *(f"trial:{j}" for j in finite)}
    assert set(join.ensemble_sources_) == expected
    assert len(join.ensemble_nets_) == len(expected)
    # the same trainings as without tune_ensemble; only the average differs
    assert join.tuning_results_ == [
        {**r, "seconds": s["seconds"], "cpu_seconds": s["cpu_seconds"]}
        for r, s in zip(tuned.tuning_results_, join.tuning_results_)
    ]
    assert join.ensemble_sources_[0] == tuned.ensemble_sources_[0]
    np.testing.assert_allclose(
        join.predict_proba(X_te), np.mean(_member_probas(join, X_te), axis=0)
    )


def test_fewer_trials_are_a_prefix_of_more(fits):
    """Without a binding time limit, a fit with fewer trials runs the first trials of a fit with
    more (seeded TPE, the same random stream): benchmarks/smash_tune.py reads tune_trials=N off a
    fit with more trials."""
    two, four = fits["tune2"].tuning_results_, fits["tune4"].tuning_results_
    keys = ("learning_rate", "dropout", "weight_decay", "real_score", "epochs")
    assert [[r[k] for k in keys] for r in two] == [[r[k] for k in keys] for r in four[:2]]
    timings = fits["tune4"].search_timings_
    assert timings["tuning_cpu_s"] >= sum(r["cpu_seconds"] for r in four) * 0.99
    assert "tuning_cpu_s" not in fits["plain"].search_timings_


def test_tune_ensemble_is_checked(data):
    X, y, _, _ = data
    with pytest.raises(ValueError, match="tune_ensemble"):
        SmashClassifier(**TINY, tune_ensemble="yes").fit(X[:50], y[:50])
