"""SMASH ``refit``: averaged finalists retrained on every training row for their early-stopped
epoch count (search.refit_members), never on a caller's validation rows."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from conftest import SMASH_THREE_FINALISTS
from sklearn.datasets import make_classification

from automl_hyper.models.smash import SmashClassifier, SmashRegressor
from automl_hyper.models.smash.training import train_for_epochs, train_network

FAST = SMASH_THREE_FINALISTS


def test_refit_retrains_every_averaged_finalist_and_changes_the_model(binary_split):
    X, y, X_test, _ = binary_split
    plain = SmashClassifier(**FAST, refit=False).fit(X, y)
    refit = SmashClassifier(**FAST).fit(X, y)  # the default
    assert plain.refitted_members_ == 0
    assert refit.refitted_members_ == len(refit.ensemble_nets_) == 3
    # Same search (same seed, same finalists), then different weights for the same members.
    assert plain.ensemble_sources_ == refit.ensemble_sources_
    assert plain.best_spec_ == refit.best_spec_
    assert "refit_s" in refit.search_timings_ and "refit_s" not in plain.search_timings_
    assert not np.allclose(plain.predict_proba(X_test), refit.predict_proba(X_test))
    # Reproducible.
    again = SmashClassifier(**FAST, refit=True).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X_test), refit.predict_proba(X_test))


def test_refit_seeds_adds_refits_with_other_seeds_to_the_average(binary_split):
    X, y, X_test, _ = binary_split
    refit = SmashClassifier(**FAST).fit(X, y)
    two = SmashClassifier(**FAST, refit_seeds=2).fit(X, y)
    assert len(two.ensemble_nets_) == 6 and two.refitted_members_ == 3
    assert two.ensemble_sources_ == refit.ensemble_sources_ + [
        "refit1:" + s for s in refit.ensemble_sources_
    ]
    first, extra = two.ensemble_nets_[:3], two.ensemble_nets_[3:]
    for a, b in zip(first, refit.ensemble_nets_, strict=True):  # the first round is the refit
        for p, q in zip(a.parameters(), b.parameters(), strict=True):
            torch.testing.assert_close(p, q, rtol=0, atol=0)
    for a, b in zip(extra, first, strict=True):  # the second: same architecture, other seed
        assert a.spec == b.spec
        assert not torch.equal(next(a.parameters()), next(b.parameters()))
    assert np.isfinite(two.predict_proba(X_test)).all()
    with pytest.raises(ValueError, match="refit_seeds"):
        SmashClassifier(**FAST, refit_seeds=0).fit(X, y)


def test_refit_never_trains_on_a_callers_validation_rows(binary_split):
    X, y, X_val, y_val = binary_split
    plain = SmashClassifier(**FAST, refit=False).fit(X, y, X_val=X_val, y_val=y_val)
    refit = SmashClassifier(**FAST, refit=True).fit(X, y, X_val=X_val, y_val=y_val)
    assert refit.refitted_members_ == 0
    np.testing.assert_array_equal(plain.predict_proba(X_val), refit.predict_proba(X_val))


def test_refit_stops_at_a_spent_time_limit(binary_split):
    X, y, _, _ = binary_split
    clf = SmashClassifier(**FAST, refit=True, time_limit=1e-6).fit(X, y)
    assert clf.refitted_members_ == 0  # finalists get their minimum epochs; no refit after that


def test_regressor_refits_too():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 4))
    y = X[:, 0] - 2 * X[:, 1] + 0.1 * rng.standard_normal(150)
    reg = SmashRegressor(**FAST, refit=True).fit(X, y)
    assert reg.refitted_members_ == 3
    assert np.isfinite(reg.predict(X)).all()


def test_train_for_epochs_matches_early_stopping_run_for_its_kept_epochs():
    """The refit's loop is early stopping's loop: on the same rows, seed and epoch count it
    reaches the same weights as the epochs train_network kept."""
    X = torch.randn(64, 3)
    y = (X[:, 0] > 0).long()

    def net():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))

    stopped = net()
    result = train_network(
        stopped, X, y, X, y, "classification", rng=np.random.default_rng(1), max_epochs=6
    )
    assert result.best_epoch == 6  # the training rows as validation rows: the loss keeps falling
    fixed = net()
    train_for_epochs(fixed, X, y, "classification", rng=np.random.default_rng(1), epochs=6)
    for a, b in zip(stopped.parameters(), fixed.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_refit_is_a_checked_parameter():
    with pytest.raises(ValueError, match="refit"):
        SmashClassifier(**FAST, refit="yes").fit(*make_classification(40, 4, random_state=0))
    assert SmashClassifier().get_params()["refit"] is True


def test_tiny_data_without_a_holdout_is_not_refitted():
    X, y = make_classification(16, 4, random_state=0)  # below MIN_ROWS_FOR_SPLIT: no holdout
    assert SmashClassifier(**FAST).fit(X, y).refitted_members_ == 0


def test_a_deadline_interrupts_a_refit_which_is_then_not_used():
    X = torch.randn(32, 3)
    y = (X[:, 0] > 0).long()
    net = torch.nn.Linear(3, 2)
    rng = np.random.default_rng(0)
    past = time.perf_counter() - 1.0
    assert not train_for_epochs(net, X, y, "classification", rng=rng, epochs=3, deadline=past)
    assert train_for_epochs(net, X, y, "classification", rng=rng, epochs=1, deadline=past)
    assert train_for_epochs(net, X, y, "classification", rng=rng, epochs=3)


def test_train_for_epochs_averages_the_weights_of_its_later_epochs():
    """average_from=a: the net ends with the mean of its weights after epochs a..epochs (the
    same trajectory as without averaging, recorded epoch by epoch)."""
    X = torch.randn(64, 3)
    y = (X[:, 0] > 0).long()

    def net():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))

    snapshots = []
    for epochs in (3, 4, 5):  # the plain trajectory's weights after epochs 3, 4 and 5
        plain = net()
        train_for_epochs(plain, X, y, "classification", rng=np.random.default_rng(1), epochs=epochs)
        snapshots.append([p.detach().clone() for p in plain.parameters()])
    averaged = net()
    rng = np.random.default_rng(1)
    assert train_for_epochs(averaged, X, y, "classification", rng=rng, epochs=5, average_from=3)
    for k, p in enumerate(averaged.parameters()):
        torch.testing.assert_close(p, sum(s[k] for s in snapshots) / 3)


@pytest.mark.parametrize("average", ["last_half", "centered", "long"])  # "long": the default
def test_refit_average_changes_only_the_refitted_weights(binary_split, average):
    X, y, X_test, _ = binary_split
    refit = SmashClassifier(**FAST, refit_average=None).fit(X, y)
    averaged = SmashClassifier(**FAST, refit_average=average).fit(X, y)
    # Same search and members; the refits end elsewhere.
    assert averaged.ensemble_sources_ == refit.ensemble_sources_
    assert averaged.refitted_members_ == 3
    proba = averaged.predict_proba(X_test)
    assert np.isfinite(proba).all() and not np.allclose(proba, refit.predict_proba(X_test))
    with pytest.raises(ValueError, match="refit_average"):
        SmashClassifier(**FAST, refit_average="mean").fit(X, y)
