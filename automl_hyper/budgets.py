"""What each ``compare --budget`` level means, read from the zoo (cheap to import: the CLI's help
text shows it)."""

from __future__ import annotations

from collections.abc import Sequence

from automl_hyper import zoo


def budget_description(budget: str, families: Sequence[str] | None = None) -> str:
    """What a ``--budget`` level sets, read from the zoo (e.g. ``xgboost-tuned n_trials=15``),
    for ``families`` (default: all)."""
    parts = [
        f"{fam.name} "
        + " ".join(
            f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in fam.budgets[budget].items()
        )
        for fam in map(zoo.get, families or zoo.names())
        if fam.budgets.get(budget)
    ]
    return "; ".join(parts) or "the families' defaults"
