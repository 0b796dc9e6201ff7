"""recipes/pretrain_on_gpu.sh, the run prepared for a lent GPU, works end to end (here on the CPU
with tiny batches): a GPU session has minutes of device time and no room to debug it there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from automl_hyper.checkpoints import sha256_of

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_gpu_recipe_grows_trains_and_returns_fp16_weights(tmp_path):
    out = tmp_path / "out"
    env = dict(
        os.environ,
        DEVICE="cpu",
        BATCH="2",
        MINUTES="0.1",
        PROBE_MINUTES="0.05",
        OUT=str(out),
        WORK=str(tmp_path / "work"),
        PYTHON=sys.executable,
        OMP_NUM_THREADS="1",
    )
    proc = subprocess.run(
        ["bash", "recipes/pretrain_on_gpu.sh"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == [
        "MANIFEST.json",
        "mothernet-large.pt",
        "mothernet-large.pt.json",
        "pretrain_large-v2.log",
    ]
    entry = json.loads((out / "mothernet-large.pt.json").read_text())
    assert entry["config"]["name"] == "large-v2" and entry["dtype"] == "float16"
    assert entry["sha256"] == sha256_of(out / "mothernet-large.pt")
    assert entry["lineage"][-1]["grown_into"] == "large-v2"
    assert entry["bytes"] < 16 * 2**20  # what a file may weigh to come back from the GPU machine
    log = (out / "pretrain_large-v2.log").read_text()
    assert "grown from mothernet-small" in log and "--total-steps" in log

    from automl_hyper.models.mothernet import MotherNetClassifier

    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 5))
    y = (X[:, 0] > 0).astype(int)
    clf = MotherNetClassifier(checkpoint=out / "mothernet-large.pt", random_state=0).fit(X, y)
    assert clf.checkpoint_sha256_ == entry["sha256"]
    assert clf.predict_proba(X).shape == (80, 2)
