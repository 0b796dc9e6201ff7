"""Our families in AutoGluon's Ray-parallel bagging (issue 12.2), on 2 CPUs, with real Ray.

One fit with ``fold_fitting_strategy="parallel_local"``: the folds must run in Ray workers (fresh
processes, which unpickle our dynamically created model classes), each on its CPU share, and the
saved predictor must predict the same in a new process. Ray start-up is the cost here, so this
module holds the one Ray session of the suite and shuts it down at the end.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ray = pytest.importorskip("ray")
from autogluon.tabular import TabularPredictor  # noqa: E402

import automl_hyper  # noqa: E402, F401  (registers the families with AutoGluon)

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
NUM_CPUS = 2
NUM_FOLDS = 2  # one round of 2 parallel folds, 1 CPU each: the fewest that shows parallelism


@pytest.fixture(scope="module")
def ray_session():
    """One Ray session for the module, as on a cluster (``ray.init(address=...)`` before fit):
    AutoGluon uses a session that is up instead of starting its own. No dashboard: on a loaded
    2-core machine it timed out starting (30 s) and serves nothing here."""
    if ray.is_initialized():  # a session left by an earlier AutoGluon fit in this process
        ray.shutdown()
    ray.init(num_cpus=NUM_CPUS, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_parallel_local_bagging_on_ray(tmp_path, ray_session, shared_dataset):
    X, y = shared_dataset("credit-g")
    df = X.assign(target=y).groupby("target", group_keys=False).sample(n=80, random_state=0)
    train, test = df.iloc[::2], df.iloc[1::2]
    path = tmp_path / "predictor"
    log = _Lines()
    ag_logger = logging.getLogger("autogluon")
    ag_logger.addHandler(log)
    try:
        predictor = TabularPredictor(label="target", path=str(path), verbosity=2).fit(
            train,
            # One family: every zoo family is the same ZooModel class in the workers, and
            # MotherNetFT exercises the out-of-fold X_val too. Each family costs a Ray round.
            hyperparameters={"MOTHERNET": {"finetune_steps": 20, "ag_args": {"name_suffix": "FT"}}},
            num_bag_folds=NUM_FOLDS,
            num_stack_levels=0,
            num_cpus=NUM_CPUS,
            ag_args_ensemble={"fold_fitting_strategy": "parallel_local"},
            time_limit=240,
        )
    finally:
        ag_logger.removeHandler(log)

    # The folds went to Ray, in parallel, not to the sequential fallback.
    strategy = [line for line in log.lines if "FoldFittingStrategy" in line]
    assert strategy and all("ParallelLocalFoldFittingStrategy" in s for s in strategy), strategy
    assert any(f"{NUM_FOLDS} workers, per: cpus=1" in s for s in strategy), strategy
    assert ray.is_initialized()

    share = NUM_CPUS // NUM_FOLDS
    bag = predictor._trainer.load_model("MotherNetFT_BAG_L1")
    children = [bag.load_child(c) for c in bag.models]
    assert len(children) == NUM_FOLDS
    for child in children:
        # torch's thread count inside the Ray worker is the fold's CPU share.
        assert child.fit_num_cpus == share
        assert child.fit_torch_threads == share
        assert child.used_val_data  # the out-of-fold rows, not an internal split
        assert len(child.model.finetune_best_steps_) == child.model.n_members_

    expected = predictor.predict_proba(test)
    test.to_pickle(tmp_path / "test.pkl")
    code = f"""
        import pandas as pd
        from autogluon.tabular import TabularPredictor
        test = pd.read_pickle({str(tmp_path / "test.pkl")!r})
        p = TabularPredictor.load({str(path)!r})
        p.predict_proba(test).to_csv({str(tmp_path / "proba.csv")!r}, index=False)
        """
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    loaded = pd.read_csv(tmp_path / "proba.csv")
    np.testing.assert_allclose(loaded.to_numpy(), expected.to_numpy(), atol=1e-6)
