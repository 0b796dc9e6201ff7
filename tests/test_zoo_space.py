"""The zoo's search spaces: every searched parameter's default is the estimator's own, and the
input encodings (SMASH's ``input_encoding``, INN's ``trunk_encoding``) are searched, None included."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import FixedTrial
from sklearn.datasets import make_classification

from automl_hyper import zoo
from automl_hyper.integrations import optuna as opt
from automl_hyper.space import Categorical


@pytest.mark.parametrize("name", [n for n in zoo.names() if zoo.get(n).space])
def test_space_defaults_are_the_estimators_defaults(name):
    # AutoGluon passes the space defaults explicitly (and tries them first): they must be what
    # the estimator does when nothing is passed, or AutoGluon fits a different model.
    family = zoo.get(name)
    for task in ("classification", "regression"):
        if (family.classifier if task == "classification" else family.regressor) is None:
            continue
        own = family.estimator_class(task)().get_params()
        for param, dim in family.space.items():
            assert param in own, (name, task, param)
            assert own[param] == dim.default, (name, task, param, own[param], dim.default)
            if isinstance(dim, Categorical):
                assert dim.default in dim.choices, (name, param)


@pytest.mark.parametrize(
    ("name", "param", "default"),
    [("smash", "input_encoding", "spline_raw"), ("inn", "trunk_encoding", None)],
)
def test_input_encodings_are_searched_with_none_among_the_choices(name, param, default):
    dim = zoo.get(name).space[param]
    assert isinstance(dim, Categorical) and dim.default == default
    assert set(dim.choices) == {None, "spline", "spline_raw"}
    assert zoo.get(name).default_params()[param] == default
    dist = opt.param_distributions(name)[param]
    assert isinstance(dist, CategoricalDistribution) and None in dist.choices
    # A study samples every choice, None included, and the estimator accepts each.
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(40):
        trial = study.ask()
        params = opt.suggest_params(name, trial)
        seen.add(params[param])
        study.tell(trial, 0.0)
    assert seen == {None, "spline", "spline_raw"}
    for value in seen:
        assert getattr(zoo.get(name).make(**{param: value}), param) == value


def test_mothernet_precision_is_not_searched():
    # A speed setting (the forward pass's arithmetic), not a model choice.
    assert "precision" not in zoo.get("mothernet").space


@pytest.mark.parametrize("encoding", [None, "spline"])
def test_an_optuna_trial_trains_inn_with_each_trunk_encoding(encoding):
    """INN is iterative: the objective trains it with partial_fit, which must read the encoding."""
    X, y = make_classification(120, 5, random_state=0)
    fixed = {"hidden_width": 16, "n_blocks": 1, "batch_size": 32, "random_state": 0}
    objective = opt.make_objective("inn", X, y, cv=2, max_epochs=2, fixed_params=fixed)
    params = {**zoo.get("inn").default_params(), "trunk_encoding": encoding}
    score = objective(FixedTrial({k: v for k, v in params.items() if k in zoo.get("inn").space}))
    assert np.isfinite(score) and 0.5 < score <= 1.0


@pytest.mark.parametrize(
    ("name", "param"), [("smash", "input_encoding"), ("inn", "trunk_encoding")]
)
def test_autogluon_hpo_tries_the_default_encoding_first_then_the_others(name, param):
    pytest.importorskip("autogluon.core")
    from autogluon.core.searcher import LocalRandomSearcher

    from automl_hyper.integrations import autogluon as ag_int

    searcher = LocalRandomSearcher(search_space=ag_int.to_autogluon_space(zoo.get(name).space))
    values = []
    for _ in range(30):
        config = searcher.get_config()
        values.append(config[param])
        searcher.update(config, reward=0.0)
    assert values[0] == zoo.get(name).space[param].default
    assert set(values) == {None, "spline", "spline_raw"}
