"""Validation-loss curves of mothernet-ft's internal 80/20 early stopping (issue 13, round 5).

For every child early-stopped on validation rows, records the validation loss that
``MotherNetClassifier._tune`` reads at each step (its ``_observe_validation_curve`` hook), next to
the step count early stopping chose. Prints per split: each child's chosen step, the loss
at steps 0, 1, 2 and the minimum; then per dataset how many children chose 0 steps and how many
had a higher validation loss after step 1 than before it.

    nice -n 5 python benchmarks/mothernet_ft_curves.py > benchmarks/results/mothernet_ft_selection5.curves.txt

Arguments with ``=`` override the family's parameters (as ``mothernet_ft_steps.py --setting``),
e.g. ``finetune_lr=0.01`` (round 6 ran it with ``finetune_warmup=10``, an option removed
since); other arguments name datasets.
"""

from __future__ import annotations

import collections
import sys
import warnings

import numpy as np

import automl_hyper.models.mothernet.estimator as E
from automl_hyper.benchmark import load_suite_dataset, resolve_suite
from automl_hyper.compare import family_params
from automl_hyper.data.splits import paper_splits


class Curves(E.MotherNetClassifier):
    """Records each early-stopped child's validation loss at every step."""

    def _observe_validation_curve(self, losses: list[float]) -> None:
        self.curves_ = getattr(self, "curves_", []) + [losses]


def main(args: list[str]) -> None:
    from mothernet_ft_steps import parse_setting

    warnings.simplefilter("ignore")
    names = [a for a in args if "=" not in a]
    overrides = parse_setting(",".join(a for a in args if "=" in a))
    suite = resolve_suite("selection", "../shared/datasets")
    zero, total, rise = collections.Counter(), collections.Counter(), collections.Counter()
    for name in names or suite.datasets:
        data = load_suite_dataset(name, suite.data_dir)
        for split, (train, _) in enumerate(paper_splits(data.y, n_splits=3, seed=0)):
            est = Curves(**{**family_params("mothernet-ft", "small", split), **overrides})
            est.fit(data.X.iloc[train], data.y.iloc[train])
            parts = []
            for i, (best, c) in enumerate(zip(est.finetune_best_steps_, est.curves_)):
                zero[name] += best == 0
                rise[name] += c[1] > c[0]
                total[name] += 1
                parts.append(
                    f"m{i}:best={best} v0={c[0]:.4f} v1={c[1]:.4f} v2={c[2]:.4f} "
                    f"vmin={min(c):.4f}@{int(np.argmin(c))}"
                )
            print(name, split, " | ".join(parts), flush=True)
    print(
        f"\nchildren {sum(total.values())}: {sum(zero.values())} chose 0 steps; "
        f"{sum(rise.values())} had a higher validation loss after step 1 than at step 0"
    )
    for name in total:
        print(
            f"{name}: {zero[name]}/{total[name]} chose 0 steps; step 1 above step 0: "
            f"{rise[name]}/{total[name]}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
