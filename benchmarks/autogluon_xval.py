"""MotherNet inside AutoGluon with and without AutoGluon's X_val (issue 13.6).

``TabularPredictor`` (holdout, no bagging, ``eval_metric="roc_auc"``) fits the two MOTHERNET
configs of ``default_hyperparameters`` (generation only, and + 50 fine-tuning steps as
``MotherNetFT``), once with ``ag.use_val_data`` on (fine-tuning early-stopped on AutoGluon's
holdout, the child tuned on all the training rows AutoGluon kept) and once off (the estimator cuts
its own 80/20 split out of those rows). Test ROC AUC of each model and of the weighted ensemble,
fit time, and the step counts early stopping chose.

    nice -n 5 python benchmarks/autogluon_xval.py --datasets heart-statlog,ionosphere,kc1 \
        --splits 3 --out benchmarks/results/autogluon_xval.md
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_shared  # noqa: E402

MODELS = ("MotherNet", "MotherNetFT", "WeightedEnsemble_L2")


def run_one(name: str, split: int, use_val: bool) -> list[dict]:
    import torch
    from autogluon.tabular import TabularPredictor
    from sklearn.model_selection import train_test_split

    from automl_hyper.integrations.autogluon import family_hyperparameters

    torch.set_num_threads(1)
    data = load_shared(name)
    df = data.X.assign(target=np.asarray(data.y))
    train, test = train_test_split(df, test_size=0.3, stratify=df["target"], random_state=split)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        predictor = TabularPredictor(
            label="target", eval_metric="roc_auc", path=tmp, verbosity=0
        ).fit(
            train,
            hyperparameters=family_hyperparameters(["mothernet"]),
            ag_args_fit={"use_val_data": use_val},
            num_cpus=1,
        )
        wall = time.perf_counter() - start
        board = predictor.leaderboard(test, silent=True).set_index("model")
        ft = predictor._trainer.load_model("MotherNetFT")
        steps = ft.model.finetune_best_steps_
        rows = []
        for model in MODELS:
            rows.append(
                {
                    "dataset": name,
                    "split": split,
                    "X_val used": use_val,
                    "model": model,
                    "test_auc": float(board.loc[model, "score_test"]),
                    "fit_s": float(board.loc[model, "fit_time"]),
                    "predictor_fit_s": wall,
                    "ft_steps_mean": float(np.mean(steps)) if model == "MotherNetFT" else np.nan,
                    "used_val_data": bool(ft.used_val_data) if model == "MotherNetFT" else None,
                }
            )
        return rows


def _md(frame: pd.DataFrame, index: bool = True) -> str:
    """A Markdown table (pandas' to_markdown needs tabulate, which is not a dependency)."""
    frame = frame.reset_index() if index else frame
    frame.columns = [
        " ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in frame.columns
    ]
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def report(frame: pd.DataFrame, command: str) -> str:
    mean = (
        frame.groupby(["model", "X_val used"])[["test_auc", "fit_s", "ft_steps_mean"]]
        .mean()
        .round(4)
    )
    per_set = frame.pivot_table(
        index=["dataset", "model"], columns="X_val used", values="test_auc", aggfunc="mean"
    ).round(4)
    ft = frame[frame.model == "MotherNetFT"].pivot_table(
        index=["dataset", "split"], columns="X_val used", values="test_auc"
    )
    diff = ft[True] - ft[False]
    lines = [
        "# MotherNet in AutoGluon: fine-tuning early-stopped on AutoGluon's X_val or not",
        "",
        "Command:",
        "",
        f"    {command}",
        "",
        "TabularPredictor, holdout (no bagging), eval_metric roc_auc, num_cpus=1;",
        "hyperparameters = family_hyperparameters(['mothernet']) (MotherNet, MotherNetFT with 50",
        "steps). `X_val used` = ag_args_fit use_val_data. Splits: stratified 70/30, seeds 0..n-1.",
        "fit_s: AutoGluon's fit time of the model (the ensemble's includes its base models);",
        "ft_steps_mean: mean step count early stopping chose per child (MotherNetFT). Generation",
        "only (MotherNet) never reads X_val: its rows are the same in both arms, a check that only",
        "fine-tuning changed.",
        "",
        "## Mean over datasets and splits",
        "",
        _md(mean),
        "",
        "## Test AUC per dataset (mean over splits)",
        "",
        _md(per_set),
        "",
        f"MotherNetFT, X_val used minus not, per dataset x split: mean {diff.mean():+.4f}, "
        f"better on {(diff > 0).sum()} / worse on {(diff < 0).sum()} / equal on "
        f"{(diff == 0).sum()} of {len(diff)}.",
        "",
        "## All runs",
        "",
        _md(frame.round(4), index=False),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="heart-statlog,ionosphere,kc1")
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/autogluon_xval.md")
    args = parser.parse_args(argv)
    import automl_hyper  # noqa: F401  (registers the families with AutoGluon)
    from automl_hyper.models.mothernet import MotherNetClassifier

    # Load the checkpoint once first, so that the first timed fit does not pay for it.
    data = load_shared(args.datasets.split(",")[0])
    MotherNetClassifier().fit(data.X.iloc[:100], np.asarray(data.y)[:100])
    rows = []
    for name in args.datasets.split(","):
        for split in range(args.splits):
            for use_val in (True, False):
                rows.extend(run_one(name, split, use_val))
                print(rows[-2], flush=True)
    frame = pd.DataFrame(rows)
    out = Path(args.out)
    frame.to_csv(out.with_suffix(".csv"), index=False)
    command = "nice -n 5 python benchmarks/autogluon_xval.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )
    out.write_text(report(frame, command))
    print(out.read_text())


if __name__ == "__main__":
    main()
