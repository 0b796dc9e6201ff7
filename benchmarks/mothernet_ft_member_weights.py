"""How spread the ensemble weights of mothernet-ft are (a diagnostic, decides nothing).

For split 0 of a few selection datasets, fits 4 and 8 members, generation only and + 50
fine-tuning steps (benchmark protocol parameters otherwise), and prints the test AUC, the
effective number of members (1 / sum of squared normalised weights, ``member_selection="train"``)
and each member's train log loss, which sets its weight.

    nice -n 5 python benchmarks/mothernet_ft_member_weights.py \
        > benchmarks/results/mothernet_ft_selection4.weights.txt
"""

from __future__ import annotations

import argparse

import numpy as np

from automl_hyper.benchmark import load_suite_dataset, resolve_suite
from automl_hyper.compare import evaluate, family_params
from automl_hyper.data.splits import paper_splits

DATASETS = ("breast-cancer", "haberman", "sonar", "phoneme", "first-order-theorem-proving")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/datasets")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    args = parser.parse_args(argv)
    suite = resolve_suite("selection", args.data_dir)
    for name in args.datasets:
        data = load_suite_dataset(name, suite.data_dir)
        train, test = next(iter(paper_splits(data.y, n_splits=3, seed=0)))
        parts = (data.X.iloc[train], data.y.iloc[train], data.X.iloc[test], data.y.iloc[test])
        for members in (4, 8):
            for steps in (0, 50):
                overrides = {"n_estimators": members, "finetune_steps": steps}
                record, est = evaluate(
                    "mothernet-ft", family_params("mothernet-ft", "small", 0, overrides), *parts
                )
                w = np.array([m.weight for m in est.members_])
                w = w / w.sum()
                print(
                    f"{name} split 0, {members} members, {steps} steps: AUC {record.auc:.4f}, "
                    f"effective members {1 / (w**2).sum():.2f} of {len(w)}, max weight "
                    f"{w.max():.2f}, train loss {np.round(est.member_train_loss_, 3).tolist()}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
