"""SMASH: space and encoding, hypernetwork shapes and training, search, estimators, zoo entry."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer, make_classification, make_regression

from automl_hyper import zoo
from automl_hyper.models.smash import (
    ArchSpec,
    FixedArchitectureClassifier,
    LayerSpec,
    SearchSpace,
    SmashClassifier,
    SmashRegressor,
    register_spec_family,
)
from automl_hyper.models.smash.context import SearchConfig, SearchContext
from automl_hyper.models.smash.hypernet import WeightGenerator, task_loss, train_hypernet
from automl_hyper.models.smash.network import ArchNet, forward, weight_shapes
from automl_hyper.models.smash.search import Candidate, run_search, train_candidate

# A small space and budgets that keep each fit to about a second on a loaded 2-core machine.
SMALL_WIDTHS = (8, 16, 32)
TINY = {
    "n_candidates": 20,
    "n_mutations": 6,
    "top_k": 2,
    "hyper_max_epochs": 5,
    "max_epochs": 10,
    "widths": SMALL_WIDTHS,
    "max_depth": 3,
    "random_state": 0,
}


def _specs(space: SearchSpace, n: int, seed: int = 0) -> list[ArchSpec]:
    rng = np.random.default_rng(seed)
    return [space.sample(rng) for _ in range(n)]


def test_encoding_and_json_round_trip():
    space = SearchSpace()
    rng = np.random.default_rng(1)
    specs = _specs(space, 300)
    assert len({s.depth for s in specs}) == space.max_depth  # every depth is reached
    assert {len(s.layers[-1].inputs) > 1 for s in specs if s.depth > 1} == {True, False}
    for spec in specs:
        code = space.encode(spec)
        assert code.shape == (space.encoding_size,)
        assert space.decode(code) == spec
        assert ArchSpec.from_json(spec.to_json()) == spec
        child = space.mutate(spec, rng)
        assert child != spec and space.contains(child)
    # Different architectures get different codes.
    codes = {space.encode(s).tobytes() for s in set(specs)}
    assert len(codes) == len(set(specs))


def test_spec_json_is_readable_and_saved(tmp_path):
    spec = ArchSpec(
        (LayerSpec(64, "gelu", "layernorm", (0,)), LayerSpec(32, "tanh", "none", (0, 1))),
        head_inputs=(1, 2),
    )
    data = json.loads(spec.to_json())
    assert data["layers"][1] == {
        "width": 32,
        "activation": "tanh",
        "norm": "none",
        "inputs": [0, 1],
    }
    assert ArchSpec.load(spec.save(tmp_path / "spec.json")) == spec
    assert spec.n_params(10, 3) == (10 + 1) * 64 + (10 + 64 + 1) * 32 + (64 + 32 + 1) * 3


@pytest.mark.parametrize(
    "data, message",
    [
        ({"layers": []}, "at least one hidden layer"),
        ({"layers": [{"width": 8, "inputs": [1]}]}, "include 0"),
        ({"layers": [{"width": 8, "activation": "sigmoid"}]}, "activation"),
        ({"layers": [{"width": 8}], "head_inputs": [0]}, "head inputs"),
    ],
)
def test_invalid_specs_are_refused(data, message):
    with pytest.raises(ValueError, match=message):
        ArchSpec.from_dict(data)


def test_budget_aware_sampling_respects_the_budget():
    space = SearchSpace()
    rng = np.random.default_rng(0)
    sizes = [space.sample_within(rng, 20, 2, max_params=5_000).n_params(20, 2) for _ in range(100)]
    assert max(sizes) <= 5_000
    unconstrained = [s.n_params(20, 2) for s in _specs(space, 100)]
    assert max(unconstrained) > 5_000  # so the budget did bind


def test_generated_weights_fit_every_sampled_architecture():
    space = SearchSpace(max_depth=4, widths=(8, 16, 64))
    n_features, n_outputs = 7, 3
    gen = WeightGenerator(space, n_features, n_outputs, hidden=32, rank=2)
    specs = _specs(space, 150)
    x = torch.randn(5, n_features)
    with torch.no_grad():
        many = gen.generate_many(specs)
        for spec, params in zip(specs, many):
            shapes = [(tuple(w.shape), tuple(b.shape)) for w, b in params]
            assert shapes == [(s, (s[0],)) for s in weight_shapes(spec, n_features, n_outputs)]
            assert forward(spec, params, x).shape == (5, n_outputs)
        # Batched generation equals one-at-a-time generation, and seeds a trainable network.
        single = gen(specs[3])
        for (w1, b1), (w2, b2) in zip(single, many[3]):
            assert torch.allclose(w1, w2, atol=1e-6) and torch.allclose(b1, b2, atol=1e-6)
        net = ArchNet(specs[3], n_features, n_outputs, init=single)
        assert torch.allclose(net(x), forward(specs[3], single, x), atol=1e-6)


def test_hypernetwork_training_lowers_the_loss_of_unseen_architectures():
    X, y = make_classification(400, 8, n_informative=5, random_state=0)
    X, y = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    space = SearchSpace(max_depth=3, widths=SMALL_WIDTHS)
    torch.manual_seed(0)
    gen = WeightGenerator(space, 8, 2, hidden=32, rank=2)
    probe = _specs(space, 16, seed=99)  # architectures the training loop is unlikely to draw

    def mean_loss() -> float:
        with torch.no_grad():
            return float(
                np.mean([task_loss(forward(s, gen(s), X), y, "classification") for s in probe])
            )

    before = mean_loss()
    losses = train_hypernet(
        gen, X, y, "classification", rng=np.random.default_rng(0), time_budget=None, max_epochs=15
    )
    assert len(losses) == 15 and losses[-1] < losses[0]
    assert mean_loss() < 0.7 * before


def test_search_returns_specs_that_train():
    X, y = load_breast_cancer(return_X_y=True)
    clf = SmashClassifier(**TINY).fit(X[:300], y[:300])
    table = clf.search_results_
    assert {"spec", "n_params", "proxy_score", "real_score"} <= set(table.columns)
    assert len(table) >= TINY["n_candidates"]
    assert table["real_score"].notna().sum() == TINY["top_k"]
    assert set(table["stage"]) == {"sampled", "mutated"}
    trained = table[table.real_score.notna()]
    assert ArchSpec.from_json(trained.loc[trained.real_score.idxmax(), "spec"]) == clf.best_spec_
    assert clf.score(X[300:], y[300:]) > 0.85
    specs = clf.discovered_specs()
    assert len(specs) == TINY["top_k"] and ArchSpec.from_json(specs[0]) == clf.best_spec_
    fixed = FixedArchitectureClassifier(spec=specs[1], max_epochs=20, random_state=0)
    assert fixed.fit(X[:300], y[:300]).score(X[300:], y[300:]) > 0.85
    assert fixed.spec_ == ArchSpec.from_json(specs[1])


def test_optuna_drives_the_sampling():
    X, y = make_classification(200, 6, random_state=3)
    X, y = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    space = SearchSpace(max_depth=3, widths=SMALL_WIDTHS)
    config = SearchConfig(
        n_candidates=40, n_mutations=0, top_k=1, sampler="optuna", hyper_max_epochs=3, max_epochs=3
    )
    ctx = SearchContext(X[:150], y[:150], X[150:], y[150:], "classification", 2, config, seed=0)
    out = run_search(ctx, space)
    sampled = [c for c in out.candidates if c.stage == "sampled"]
    assert 10 < len(sampled) <= 40  # duplicates proposed by TPE are scored once
    assert all(space.contains(c.spec) for c in sampled)
    assert out.best.real is not None


def test_regressor_and_saved_spec(tmp_path):
    X, y = make_regression(300, 5, noise=1.0, random_state=0)
    y = y + 1000.0  # the target is standardised inside: large offsets must not matter
    reg = SmashRegressor(**{**TINY, "max_epochs": 60, "learning_rate": 1e-2}).fit(X[:200], y[:200])
    assert reg.score(X[200:], y[200:]) > 0.5
    assert ArchSpec.load(reg.save_spec(tmp_path / "best.json")) == reg.best_spec_


def test_time_limit_is_respected():
    X, y = make_classification(300, 6, random_state=0)
    limit = 3.0
    # The first optimiser of a process imports torch._dynamo (7-8 s under load): pay it before
    # the clock starts, so the test times the search, not an import.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    # time_limit counts the fit's CPU seconds (one torch thread: this thread's), so the check
    # does too: a loaded machine stretches the wall time, not this.
    start = time.thread_time()
    clf = SmashClassifier(
        n_candidates=5000,
        hyper_time_budget=None,
        hyper_max_epochs=10_000,
        max_epochs=10_000,
        patience=10_000,
        widths=SMALL_WIDTHS,
        time_limit=limit,
        random_state=0,
    ).fit(X, y)
    # Slack for the finalists' minimum epochs, which run past the deadline: without the limit
    # this would run for many minutes.
    assert time.thread_time() - start < limit + 20.0
    assert len(clf.search_results_) < 5000


def test_a_passed_deadline_still_leaves_the_finalists_min_epochs():
    # Under load the search can leave the finalists past the deadline; one epoch is not a model.
    from automl_hyper.models.smash.training import MIN_EPOCHS, train_network

    X, y = make_classification(200, 6, random_state=0)
    X, y = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)
    torch.manual_seed(0)
    net = ArchNet(ArchSpec.plain((16,)), 6, 2)
    result = train_network(
        net,
        X,
        y,
        X,
        y,
        "classification",
        rng=np.random.default_rng(0),
        max_epochs=100,
        patience=100,
        deadline=time.perf_counter() - 1.0,
        min_epochs=MIN_EPOCHS,
    )
    assert result.epochs == MIN_EPOCHS and result.stopped_by == "time"


@pytest.mark.parametrize(
    "params, message",
    [
        ({"sampler": "grid"}, "sampler"),
        ({"dropout": 1.5}, "dropout"),
        ({"time_limit": 0}, "time_limit"),
        ({"wall_time_limit": -1.0}, "wall_time_limit"),
        ({"n_threads": 0}, "n_threads"),
        ({"ensemble_min_epoch_share": 1.5}, "ensemble_min_epoch_share"),
        ({"widths": (0, 8)}, "widths"),
        ({"top_k": 0}, "top_k"),
        ({"numeric_transform": "log"}, "numeric_transform"),
    ],
)
def test_bad_settings_fail_before_any_work(params, message):
    X, y = make_classification(50, 4, random_state=0)
    with pytest.raises(ValueError, match=message):
        SmashClassifier(**{**TINY, **params}).fit(X, y)


def test_bad_fixed_spec_is_refused():
    X, y = make_classification(50, 4, random_state=0)
    with pytest.raises(ValueError, match="not valid JSON"):
        FixedArchitectureClassifier(spec="{not json").fit(X, y)
    with pytest.raises(TypeError, match="'spec' parameter"):
        FixedArchitectureClassifier(spec=42).fit(X, y)


def test_zoo_entries():
    family = zoo.get("smash")
    assert family.ag_key == "SMASH" and family.estimator_class() is SmashClassifier
    assert family.estimator_class("regression") is SmashRegressor
    assert set(family.space) == {"learning_rate", "dropout", "weight_decay", "input_encoding"}
    spec = ArchSpec.plain((16, 8), activation="silu")
    try:
        fam = register_spec_family(spec, "smash-test-winner")
        assert register_spec_family(spec.to_json(), "smash-test-winner") is not None  # idempotent
        est = fam.make(max_epochs=3, random_state=0)
        assert isinstance(est, FixedArchitectureClassifier)
        assert ArchSpec.from_json(est.spec) == spec
        assert fam.ag_key == "SMASH_SMASH_TEST_WINNER"
        assert set(fam.space) == {"learning_rate", "dropout", "weight_decay"}
        with pytest.raises(ValueError, match="different family"):
            register_spec_family(ArchSpec.plain((4,)), "smash-test-winner")
    finally:
        zoo.FAMILIES.pop("smash-test-winner", None)


def test_finalists_can_start_from_generated_weights():
    X, y = make_classification(120, 5, random_state=4)
    X, y = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    space = SearchSpace(max_depth=2, widths=SMALL_WIDTHS)
    gen = WeightGenerator(space, 5, 2, hidden=16, rank=2)
    spec = _specs(space, 1, seed=5)[0]
    cand = Candidate(spec, "sampled", 0.0, spec.n_params(5, 2))
    # A vanishing learning rate: after training, the weights are still the generated ones.
    config = SearchConfig(init_from_hypernet=True, learning_rate=1e-12, max_epochs=1)
    train_candidate(SearchContext(X, y, X, y, "classification", 2, config, seed=0), cand, gen)
    with torch.no_grad():
        for (w, b), (w_net, b_net) in zip(gen(spec), cand.net.params()):
            assert torch.allclose(w, w_net, atol=1e-6) and torch.allclose(b, b_net, atol=1e-6)
    assert cand.real is not None and cand.epochs == 1


def test_optuna_tunes_training_settings_over_a_registered_winner():
    optuna = pytest.importorskip("optuna")
    optuna_int = pytest.importorskip("automl_hyper.integrations.optuna")
    X, y = make_classification(160, 5, random_state=6)
    winner = ArchSpec.plain((16, 8), activation="gelu")
    try:
        register_spec_family(winner, "smash-test-tuned")
        objective = optuna_int.make_objective(
            "smash-test-tuned", X, y, cv=2, fixed_params={"max_epochs": 10, "random_state": 0}
        )
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))
        study.optimize(objective, n_trials=2)
        assert set(study.best_params) == {"learning_rate", "dropout", "weight_decay"}
        assert 0.5 < study.best_value <= 1.0
    finally:
        zoo.FAMILIES.pop("smash-test-tuned", None)


def test_hand_built_search_config_is_checked_by_the_estimators_rules():
    SearchConfig().check()
    with pytest.raises(ValueError, match="'top_k' parameter of SearchConfig"):
        SearchConfig(top_k=0).check()
    with pytest.raises(ValueError, match="'top_k' parameter of SmashClassifier"):
        SmashClassifier(top_k=0).fit(*make_classification(30, 4, random_state=0))


def test_numeric_transform_reaches_the_shared_preprocessing():
    X, y = make_classification(80, 4, random_state=0)
    X[:, 0] = np.exp(3 * X[:, 0])  # heavy-tailed: the transforms differ
    fits = {
        t: SmashClassifier(**TINY, numeric_transform=t).fit(X, y) for t in ("quantile", "power")
    }
    assert fits["power"].preprocessor_.numeric_transform == "power"
    assert SmashClassifier().get_params()["numeric_transform"] == "quantile"  # the default
    assert not np.allclose(fits["quantile"].predict_proba(X), fits["power"].predict_proba(X))
