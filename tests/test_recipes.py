"""Every integration recipe runs end to end (in a fresh process, in a temporary folder)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def _run(name: str, cwd: Path) -> str:
    proc = subprocess.run(
        [sys.executable, str(RECIPES / name), "--quick"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
def test_autogluon_recipe(tmp_path):
    out = _run("autogluon_family.py", tmp_path)
    assert "INN" in out and "XGBoost" in out and "most important" in out
    assert (tmp_path / "AutogluonModels" / "recipe").is_dir()


@pytest.mark.slow
def test_optuna_recipe(tmp_path):
    out = _run("optuna_study.py", tmp_path)
    assert "trial states:" in out and "test ROC AUC" in out
    assert (tmp_path / "optuna.db").is_file() and (tmp_path / "mlflow.db").is_file()
    auc = float(out.rsplit(":", 1)[1])
    assert 0.5 < auc <= 1.0


@pytest.mark.slow
def test_mlflow_serve_recipe(tmp_path):
    out = _run("mlflow_serve.py", tmp_path)
    assert "as @champion" in out
    answers = [line for line in out.splitlines() if "'label'" in line]
    assert len(answers) == 3 and all("proba_malignant" in a for a in answers)
