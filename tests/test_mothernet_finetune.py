"""Fine-tuning of MotherNetClassifier and its options (``member_subsample``,
``finetune_average``, ``finetune_noise``, ``finetune_splits``, ``finetune_hidden_scale``,
``finetune_stop_metric``, ``category_min_frequency``).

Each test compares child weights between fits on the same rows with the same seed, so every
assertion is exact or an inequality between two deterministic fits (no timing, no AUC threshold).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from automl_hyper.models.mothernet import MotherNetClassifier

FT = {"finetune_steps": 10, "n_estimators": 2, "random_state": 0}


@pytest.fixture(scope="module")
def rows(shared_dataset):
    X, y = shared_dataset("diabetes")
    return X.iloc[:200], y.iloc[:200]


@pytest.fixture(scope="module")
def fits(rows):
    """Generation only, and fine-tuned without an option (the reference fits)."""
    X, y = rows
    generated = MotherNetClassifier(n_estimators=2, random_state=0).fit(X, y)
    tuned = MotherNetClassifier(**FT).fit(X, y)
    return generated, tuned


def weights(member) -> list[np.ndarray]:
    return [member.W1, member.b1, member.W2, member.b2]


def same(a, b) -> bool:
    return all(np.array_equal(u, v) for u, v in zip(weights(a), weights(b)))


def same_members(a, b) -> bool:
    """Whether two fitted estimators' members have bitwise equal weights."""
    return all(same(u, v) for u, v in zip(a.members_, b.members_))


def test_options_leave_generation_only_unchanged(rows, fits):
    generated, _ = fits
    est = MotherNetClassifier(
        n_estimators=2, random_state=0, finetune_average=3, finetune_noise=0.2
    ).fit(*rows)
    assert len(est.members_) == len(generated.members_)
    assert same_members(est, generated)


@pytest.mark.parametrize(
    "params",
    [
        {"member_subsample": 1.0},
        {"finetune_average": 0.5},
        {"category_min_frequency": 1},
        {"finetune_noise": -0.1},
        {"finetune_hidden_scale": -1.0},
        {"finetune_stop_metric": "accuracy"},
    ],
    ids=["subsample", "average", "min-frequency", "noise", "hidden-scale", "stop-metric"],
)
def test_bad_options_rejected(rows, params):
    # scikit-learn's own parameter check, naming the parameter (not some later failure).
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=f"'{next(iter(params))}' parameter"):
        MotherNetClassifier(**FT, **params).fit(*rows)


class _CountingGenerations(MotherNetClassifier):
    """Counts forward passes of the hypernetwork (each one writes a batch of children)."""

    def _generate(self, model, sets):
        self.passes_ = getattr(self, "passes_", 0) + 1
        return super()._generate(model, sets)


def test_member_subsample_draws_stratified_equal_subsamples():
    est = MotherNetClassifier(member_subsample=0.8)
    y = np.array([0] * 10 + [1] * 5 + [2])
    rows = np.arange(len(y))
    draws = [est._subsample(rows, y, np.random.RandomState([0, i])) for i in (1, 2)]
    for kept, out in draws:
        assert np.array_equal(np.sort(np.concatenate([kept, out])), rows)
        # 8 of 10, 4 of 5, and the single row of class 2 always kept.
        assert np.bincount(y[kept]).tolist() == [8, 4, 1]
    assert not np.array_equal(draws[0][0], draws[1][0])


def test_member_subsample_early_stops_on_left_out_rows(rows):
    X, y = rows
    params = {**FT, "member_subsample": 0.8}
    est = _CountingGenerations(**params).fit(X, y)
    again = _CountingGenerations(**params).fit(X, y)
    assert same_members(est, again)  # seeded
    # One batched pass for all members: no internal 80/20 split and no second generation.
    assert est.passes_ == 1 and len(est.finetune_best_steps_) == est.n_members_
    default = _CountingGenerations(**FT).fit(X, y)
    assert default.passes_ == 1 + default.n_members_
    other_seed = MotherNetClassifier(**{**params, "random_state": 1}).fit(X, y)
    assert not any(same(a, b) for a, b in zip(est.members_, other_seed.members_))


def test_member_subsample_changes_generation_only(rows, fits):
    generated, _ = fits
    est = MotherNetClassifier(n_estimators=2, random_state=0, member_subsample=0.8).fit(*rows)
    assert len(est.members_) == len(generated.members_)
    assert not any(same(a, b) for a, b in zip(est.members_, generated.members_))
    assert np.allclose(est.predict_proba(rows[0]).sum(1), 1.0)


def test_member_subsample_with_caller_validation_rows(rows):
    X, y = rows
    est = _CountingGenerations(**FT, member_subsample=0.8).fit(
        X.iloc[:150], y.iloc[:150], X_val=X.iloc[150:], y_val=y.iloc[150:]
    )
    assert est.passes_ == 1 and len(est.finetune_best_steps_) == est.n_members_


def _random_child(inputs: int = 4, outputs: int = 2):
    """A fixed random child (``inputs`` inputs, 8 hidden units, ``outputs`` outputs) and 30 rows
    of 4 columns and 2 classes for it (inputs beyond 4 and outputs beyond 2 are padding)."""
    from automl_hyper.models.mothernet.model import ChildWeights

    g = torch.Generator().manual_seed(0)
    shapes = [(1, inputs, 8), (1, 8), (1, 8, outputs), (1, outputs)]
    w = ChildWeights(*(torch.randn(*s, generator=g) for s in shapes))
    rng = np.random.RandomState(0)
    return w, rng.randn(30, 4).astype(np.float32), rng.randint(0, 2, 30)


def test_adams_first_step_moves_each_weight_by_about_the_rate():
    # Adam's first bias-corrected step is lr * g / |g| (up to eps) for every weight with a gradient.
    w, Z, y = _random_child()
    tuned, steps = MotherNetClassifier(finetune_lr=0.01)._tune(w, Z, y, None, None, 1)
    assert steps == 1
    moves = [
        float((a - b).abs().max()) for a, b in zip(tuned.__dict__.values(), w.__dict__.values())
    ]
    assert max(moves) == pytest.approx(0.01, rel=1e-3)


def test_finetune_average_is_the_mean_of_the_trajectory():
    # Weights after 2, 3, 4 and 5 steps, averaged, against four plain runs of those lengths.
    w, Z, y = _random_child()
    est = MotherNetClassifier(finetune_lr=0.01)
    averaged, steps = est._tune(w, Z, y, None, None, 5, average_from=2)
    assert steps == 5
    runs = [est._tune(w, Z, y, None, None, s)[0] for s in (2, 3, 4, 5)]
    for name, got in averaged.__dict__.items():
        expected = sum(r.__dict__[name] for r in runs) / 4
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    # From step 0, a zero-step run: the generated weights themselves.
    kept, _ = est._tune(w, Z, y, None, None, 0, average_from=0)
    assert all(np.array_equal(a, b) for a, b in zip(kept.__dict__.values(), w.__dict__.values()))


@pytest.mark.parametrize("average", [1.5, 2.0])
def test_finetune_average_changes_only_the_full_data_child(rows, fits, average):
    _, tuned = fits
    est = MotherNetClassifier(**FT, finetune_average=average).fit(*rows)
    # Same internal split, same chosen step counts, same members; other weights where E > 0.
    assert est.finetune_best_steps_ == tuned.finetune_best_steps_
    assert len(est.members_) == len(tuned.members_)
    for a, b, steps in zip(est.members_, tuned.members_, tuned.finetune_best_steps_):
        assert same(a, b) == (steps == 0)
    assert any(s > 0 for s in tuned.finetune_best_steps_)


@pytest.mark.parametrize("subsample", [None, 0.8])
def test_finetune_average_on_validation_rows(rows, subsample):
    # With the caller's X_val (or member_subsample's left-out rows) the step counts chosen on
    # them stay; each child with E > 0 becomes the average of its longer run.
    X, y = rows
    split = {"X_val": X.iloc[150:], "y_val": y.iloc[150:]}
    plain = MotherNetClassifier(**FT, member_subsample=subsample).fit(
        X.iloc[:150], y.iloc[:150], **split
    )
    est = MotherNetClassifier(**FT, member_subsample=subsample, finetune_average=2).fit(
        X.iloc[:150], y.iloc[:150], **split
    )
    assert est.finetune_best_steps_ == plain.finetune_best_steps_
    assert len(est.members_) == len(plain.members_)
    for a, b, steps in zip(est.members_, plain.members_, plain.finetune_best_steps_):
        assert same(a, b) == (steps == 0)
    assert any(s > 0 for s in plain.finetune_best_steps_)


def test_finetune_average_none_is_the_default_fit(rows, fits):
    _, tuned = fits
    est = MotherNetClassifier(**FT, finetune_average=None).fit(*rows)
    assert same_members(est, tuned)


def test_finetune_noise_zero_is_the_default_and_noise_repeats(rows, fits):
    _, tuned = fits
    plain = MotherNetClassifier(**FT, finetune_noise=0.0).fit(*rows)
    assert same_members(plain, tuned)
    noisy = MotherNetClassifier(**FT, finetune_noise=0.3).fit(*rows)
    again = MotherNetClassifier(**FT, finetune_noise=0.3).fit(*rows)
    assert same_members(noisy, again)
    assert not same_members(noisy, tuned)


def test_finetune_noise_leaves_the_padded_inputs_at_zero():
    # One step on a child whose padded input rows (features 4..7 of 8) carry weight: with the
    # padding left at zero, those weights get no gradient, so Adam leaves them where they were.
    w, Z, y = _random_child(inputs=8)
    tuned, _ = MotherNetClassifier(finetune_lr=0.01, finetune_noise=1.0)._tune(
        w, Z, y, None, None, 3
    )
    assert torch.equal(tuned.W1[0, 4:], w.W1[0, 4:])
    assert not torch.equal(tuned.W1[0, :4], w.W1[0, :4])


# Options added after the first release: each has a class-level default.
OPT_INS = (
    "member_subsample",
    "finetune_average",
    "finetune_noise",
    "finetune_splits",
    "finetune_hidden_scale",
    "finetune_stop_metric",
    "category_min_frequency",
)


def test_estimators_pickled_before_the_new_options_still_fit(rows, fits):
    # As unpickled from before the opt-in options existed: the class-level defaults answer
    # get_params (the constructor's defaults), and the fit is the plain one.
    _, tuned = fits
    old = MotherNetClassifier(**FT)
    for name in OPT_INS:
        del old.__dict__[name]
    params = old.get_params()
    assert {name: params[name] for name in OPT_INS} == {
        name: MotherNetClassifier().get_params()[name] for name in OPT_INS
    }
    old.fit(*rows)
    assert same_members(old, tuned)


def test_finetune_splits_averages_the_step_counts_of_several_splits(rows, fits):
    _, tuned = fits
    one = MotherNetClassifier(**FT, finetune_splits=1).fit(*rows)
    assert same_members(one, tuned)
    # Each member's E is the rounded mean of the counts seeds 0 and 1 give on their own: seed 0's
    # are the default fit's; seed 1's are read from a fit whose only split is seed 1's.
    two = MotherNetClassifier(**FT, finetune_splits=2).fit(*rows)
    seed1 = _SeedOneSplit(**FT).fit(*rows)
    expected = [
        int(round((a + b) / 2))
        for a, b in zip(tuned.finetune_best_steps_, seed1.finetune_best_steps_)
    ]
    assert two.finetune_best_steps_ == expected
    assert expected != tuned.finetune_best_steps_


class _SeedOneSplit(MotherNetClassifier):
    """Fine-tuning with the internal split of seed 1 only (the second of finetune_splits=2)."""

    def _finetune(self, model, Z, y, w, val=None):
        import sklearn.model_selection as ms

        original = ms.train_test_split

        def seed_one(*args, **kwargs):
            return original(*args, **{**kwargs, "random_state": 1})

        ms.train_test_split = seed_one
        try:
            return super()._finetune(model, Z, y, w, val)
        finally:
            ms.train_test_split = original


def test_tuning_leaves_padded_inputs_and_unused_outputs_as_generated():
    # A child of 8 inputs and 4 outputs tuned on 4 real columns and 2 classes: only the (4, H)
    # and (H, 2) slices move; the rest is returned exactly as generated, at full size.
    w, Z, y = _random_child(inputs=8, outputs=4)
    tuned, _ = MotherNetClassifier(finetune_lr=0.01)._tune(w, Z, y, None, None, 3)
    assert [t.shape for t in tuned.__dict__.values()] == [t.shape for t in w.__dict__.values()]
    assert torch.equal(tuned.W1[0, 4:], w.W1[0, 4:])
    assert torch.equal(tuned.W2[0, :, 2:], w.W2[0, :, 2:])
    assert torch.equal(tuned.b2[0, 2:], w.b2[0, 2:])
    assert not torch.equal(tuned.W1[0, :4], w.W1[0, :4])
    assert not torch.equal(tuned.W2[0, :, :2], w.W2[0, :, :2])


def test_finetune_hidden_scale_zero_tunes_only_the_output_layer(rows, fits):
    generated, tuned = fits
    plain = MotherNetClassifier(**FT, finetune_hidden_scale=1.0).fit(*rows)
    assert same_members(plain, tuned)
    probe = MotherNetClassifier(**FT, finetune_hidden_scale=0.0).fit(*rows)
    assert any(s > 0 for s in probe.finetune_best_steps_)
    for a, g in zip(probe.members_, generated.members_):
        assert np.array_equal(a.W1, g.W1) and np.array_equal(a.b1, g.b1)
    assert not all(np.array_equal(a.W2, g.W2) for a, g in zip(probe.members_, generated.members_))


def test_finetune_hidden_scale_scales_the_hidden_layers_first_step():
    # Adam's first step moves each weight by about its rate: the hidden layer's is scaled.
    w, Z, y = _random_child()
    tuned, _ = MotherNetClassifier(finetune_lr=0.01, finetune_hidden_scale=0.3)._tune(
        w, Z, y, None, None, 1
    )
    hidden = max(float((tuned.W1 - w.W1).abs().max()), float((tuned.b1 - w.b1).abs().max()))
    output = max(float((tuned.W2 - w.W2).abs().max()), float((tuned.b2 - w.b2).abs().max()))
    assert hidden == pytest.approx(0.003, rel=1e-3)
    assert output == pytest.approx(0.01, rel=1e-3)


def test_finetune_stop_metric_auc_keeps_the_step_of_the_best_validation_auc():
    # The step chosen is the one of the highest validation AUC (4 decimals), the lowest loss
    # among ties; read off plain runs of every length on the same rows. The rows are chosen so
    # that AUC and log loss pick different steps (the training labels are flipped).
    from automl_hyper.metrics import auc_score
    from automl_hyper.models.mothernet.model import child_logits

    w, Z, y = _random_child()
    Ztr, ytr, Zva, yva = Z[20:], 1 - y[20:], Z[:20], y[:20]
    _, by_loss = MotherNetClassifier(finetune_lr=0.01)._tune(w, Ztr, ytr, Zva, yva, 8)
    est = MotherNetClassifier(finetune_lr=0.01, finetune_stop_metric="auc")
    _, chosen = est._tune(w, Ztr, ytr, Zva, yva, 8)
    keys = []
    for s in range(9):
        run, _ = MotherNetClassifier(finetune_lr=0.01)._tune(w, Ztr, ytr, None, None, s)
        logits = child_logits(run, torch.from_numpy(Zva)[None])[0, :, :2]
        proba = torch.softmax(logits, dim=1).numpy()
        loss = float(torch.nn.functional.cross_entropy(logits, torch.from_numpy(yva)))
        keys.append((round(auc_score(yva, proba), 4), -loss))
    best = max(k[0] for k in keys)
    assert chosen != by_loss
    assert keys[chosen][0] == best
    assert keys[chosen][1] >= max(k[1] for k in keys if k[0] == best) - 1e-4
