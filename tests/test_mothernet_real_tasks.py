"""Continued pretraining on tasks cut from real tables (real_tasks.py, pretrain --real-data)."""

from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import torch

from automl_hyper.cli import pretrain as pretrain_cli
from automl_hyper.cli.usage import UsageError
from automl_hyper.models.mothernet.configs import PretrainConfig, RealDataConfig, get_config
from automl_hyper.models.mothernet.pretrain import Trainer
from automl_hyper.models.mothernet.real_tasks import RealTaskSource
from automl_hyper.models.mothernet.ship import ship
from automl_hyper.priors import sample_batch


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Two tables in the benchmark layout: one with a categorical column, one with 14 classes.
    Every row is distinct (column ``row`` counts them), so a repeated row would show."""
    out = tmp_path_factory.mktemp("real")
    rng = np.random.RandomState(0)
    n = 300
    a = pd.DataFrame(
        {
            "row": np.arange(n, dtype=float),
            "x": rng.randn(n),
            "colour": rng.choice(["red", "green", "blue"], n),
        }
    )
    a["target"] = np.where(a["x"] > 0, "yes", "no")
    a.to_csv(out / "two.csv", index=False)
    m = 420
    b = pd.DataFrame(
        {"row": np.arange(m, dtype=float), **{f"f{j}": rng.randn(m) for j in range(5)}}
    )
    b["target"] = [f"c{k % 14}" for k in range(m)]
    b.to_csv(out / "many.csv", index=False)
    (out / "CATEGORICAL.json").write_text(json.dumps({"two": ["colour"], "many": []}))
    return out


def _source(folder, encoding="onehot", **prior):
    cfg = dataclasses.replace(get_config("tiny").prior, min_rows=40, max_rows=200, **prior)
    return RealTaskSource(folder, ("two", "many"), cfg, encoding)


def test_tasks_look_like_the_estimators_inputs(folder):
    source = _source(folder)
    assert [t.X.shape[1] for t in source.tables] == [5, 6]  # "two": row, x, 3 one-hot columns
    for seed in range(6):
        batch = source.sample(8, seed)
        B, N, F = batch.X.shape
        assert (B, F) == (8, 100) and 40 <= N <= 200 and 2 <= batch.split < N
        for b in range(B):
            k, f = int(batch.n_classes[b]), int(batch.n_features[b])
            assert 2 <= k <= 10 and batch.y[b].max() < k and batch.y[b].min() >= 0
            X = batch.X[b]
            assert torch.all(X[:, f:] == 0) and float(X.abs().max()) <= 5.0
            # No row twice (its distinct "row" column would repeat).
            assert len(torch.unique(X[:, :f], dim=0)) == N
            # z-scored on the task's training rows (non-constant columns).
            train = X[: batch.split, :f]
            spread = train.std(0, unbiased=False) > 1e-3
            assert torch.allclose(train.mean(0)[spread], torch.zeros(int(spread.sum())), atol=0.2)


def test_more_classes_than_the_model_takes_are_cut_to_at_most_ten(folder):
    source = _source(folder)
    seen = set()
    for seed in range(12):
        batch = source.sample(6, seed)
        for b in range(6):
            if int(batch.n_features[b]) == 6:  # a task of "many"
                seen.add(int(batch.n_classes[b]))
                assert len(torch.unique(batch.y[b])) <= int(batch.n_classes[b]) <= 10
    assert seen and max(seen) <= 10


def test_same_seed_same_batch(folder):
    for encoding in ("onehot", "mixed"):
        one, two = _source(folder, encoding).sample(4, 7), _source(folder, encoding).sample(4, 7)
        assert torch.equal(one.X, two.X) and torch.equal(one.y, two.y) and one.split == two.split


def test_mixed_encoding_gives_ordinal_tasks_as_inference_does(folder):
    """ "two" has one categorical of 3 levels: one-hot tasks see 5 columns, ordinal ones 3, its
    codes 1..3 in sorted level order (blue, green, red), as the estimator's ordinal members."""
    mixed = _source(folder, "mixed")
    two = mixed.tables[0]
    assert two.X_ordinal.shape == (300, 3) and mixed.tables[1].X_ordinal is None
    raw = pd.read_csv(folder / "two.csv")["colour"].map({"blue": 1, "green": 2, "red": 3})
    assert np.array_equal(two.X_ordinal[:, 2], raw.to_numpy(dtype=np.float32))
    widths = {"onehot": set(), "mixed": set()}
    for encoding, source in (("onehot", _source(folder)), ("mixed", mixed)):
        for seed in range(16):
            batch = source.sample(8, seed)
            widths[encoding] |= set(batch.n_features.tolist())
    assert widths == {"onehot": {5, 6}, "mixed": {3, 5, 6}}
    with pytest.raises(ValueError, match="encoding must be one of"):
        _source(folder, "ordinal")


def test_a_table_too_small_or_a_regression_target_is_refused(tmp_path):
    pd.DataFrame({"x": range(10), "target": [0, 1] * 5}).to_csv(tmp_path / "small.csv", index=False)
    pd.DataFrame({"x": range(80), "target": np.linspace(0, 1, 80)}).to_csv(
        tmp_path / "reg.csv", index=False
    )
    cfg = get_config("tiny").prior
    with pytest.raises(ValueError, match="small: 10 rows"):
        RealTaskSource(tmp_path, ("small",), cfg)
    with pytest.raises(ValueError, match="reg: a regression dataset"):
        RealTaskSource(tmp_path, ("reg",), cfg)
    with pytest.raises(ValueError, match="at least one dataset"):
        RealTaskSource(tmp_path, (), cfg)


def test_the_share_picks_real_batches_by_seed_and_zero_leaves_the_prior_alone(folder):
    base = get_config("tiny")
    real = RealDataConfig(str(folder), ("two", "many"), 0.5)
    trainer = Trainer(dataclasses.replace(base, real=real), prior_seed=3)
    kinds = []
    for seed in range(40):
        batch = trainer._batch(4, seed)
        prior = sample_batch(base.prior, 4, seed)
        kinds.append(batch.X.shape == prior.X.shape and torch.equal(batch.X, prior.X))
    assert 8 < sum(kinds) < 32  # about half from the prior, the rest real
    plain = Trainer(base, prior_seed=3)
    assert plain._real_source is None
    assert torch.equal(plain._batch(4, 5).X, sample_batch(base.prior, 4, 5).X)
    assert plain._real_source is None  # nothing loaded without a share


def test_a_run_on_real_tasks_trains_records_them_and_resumes_exactly(folder, tmp_path):
    real = RealDataConfig(str(folder), ("two", "many"), 1.0)
    config = dataclasses.replace(get_config("tiny"), real=real)
    uninterrupted = Trainer(config, prior_seed=2)
    losses = [uninterrupted.train_step() for _ in range(3)]
    assert all(np.isfinite(losses))
    first = Trainer(config, prior_seed=2)
    first.train_step()
    first.save(tmp_path)
    recorded = json.loads((tmp_path / "config.json").read_text())
    assert recorded["real"] == {
        "folder": str(folder),
        "names": ["two", "many"],
        "share": 1.0,
        "encoding": "onehot",
    }
    resumed = Trainer.resume(tmp_path, torch.device("cpu"))
    assert resumed.config.real == real
    assert [resumed.train_step(), resumed.train_step()] == losses[1:]
    # Shipped, the entry says which share of its task count was real (the prior alone: none).
    entry = ship(tmp_path / "checkpoint.pt", tmp_path / "ship", "tiny")
    assert entry["real_tasks_share"] == 1.0 and entry["config"]["real"]["names"] == ["two", "many"]
    plain = Trainer(get_config("tiny"), prior_seed=2)
    plain.save(tmp_path / "plain")
    assert "real_tasks_share" not in ship(tmp_path / "plain", tmp_path / "ship2", "tiny")


def test_configs_recorded_before_real_data_read_as_prior_only():
    recorded = get_config("small-v2").to_dict()
    del recorded["real"]
    assert PretrainConfig.from_dict(recorded).real == RealDataConfig()
    with pytest.raises(ValueError, match="share must be in"):
        RealDataConfig("x", ("a",), 1.5)
    with pytest.raises(ValueError, match="needs a folder and dataset names"):
        RealDataConfig("", (), 0.5)
    with pytest.raises(ValueError, match="encoding must be one of"):
        RealDataConfig("x", ("a",), 0.5, "ordinal")


def _args(*argv):
    parser = argparse.ArgumentParser()
    pretrain_cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_cli_options_build_the_config_and_refuse_what_cannot_work(folder, tmp_path):
    args = _args("--config", "tiny", "--real-data", str(folder), "--real-names", "two, many")
    real = pretrain_cli.global_config(args).real
    assert real == RealDataConfig(str(folder.resolve()), ("two", "many"), 0.5)
    mixed = _args(
        *("--config", "tiny", "--real-data", str(folder), "--real-names", "two"),
        "--real-encoding",
        "mixed",
    )
    assert pretrain_cli.global_config(mixed).real.encoding == "mixed"
    with pytest.raises(UsageError, match="no absent in"):
        pretrain_cli.global_config(
            _args("--config", "tiny", "--real-data", str(folder), "--real-names", "two,absent")
        )
    with pytest.raises(UsageError, match="go together"):
        pretrain_cli.global_config(_args("--config", "tiny", "--real-data", str(folder)))
    share_two = ("--real-data", str(folder), "--real-names", "two", "--real-share", "2")
    with pytest.raises(UsageError, match="share must be in"):
        pretrain_cli.global_config(_args("--config", "tiny", *share_two))
    for option in (
        ("--real-data", str(folder)),
        ("--real-names", "two"),
        ("--real-share", "1"),
        ("--real-encoding", "mixed"),
        ("--lr", "1e-4"),
    ):
        with pytest.raises(UsageError, match="apply to fresh runs"):
            pretrain_cli.main(_args("--resume", str(tmp_path), *option))
