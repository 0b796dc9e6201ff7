"""SMASH ``ensemble_selection="greedy"``: the averaged finalists chosen by forward selection on
the validation rows (search.greedy_members) instead of the best ``ensemble_top_k`` by score."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import SMASH_THREE_FINALISTS

from automl_hyper.models.smash import SmashClassifier
from automl_hyper.models.smash.search import Candidate, greedy_members


class _Fixed(torch.nn.Module):
    """A 'network' whose outputs on the validation rows are given."""

    def __init__(self, logits: list[list[float]]) -> None:
        super().__init__()
        self.logits = torch.tensor(logits, dtype=torch.float64)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.logits


def _candidate(logits: list[list[float]]) -> Candidate:
    return Candidate(spec=None, stage="sampled", proxy=0.0, n_params=0, net=_Fixed(logits))


def test_greedy_adds_a_finalist_only_while_the_averages_loss_falls():
    ctx = SimpleNamespace(X_val=torch.zeros(4, 1), y_val_np=np.array([0, 1, 0, 1]))
    ctx.task = "classification"
    winner = _candidate([[2, 0], [0, 2], [0, 2], [0, 2]])  # wrong on row 2
    helper = _candidate([[2, 0], [0, 2], [2, 0], [2, 0]])  # right where the winner is wrong
    confident_wrong = _candidate([[0, 9], [9, 0], [0, 9], [9, 0]])
    pool = [winner, confident_wrong, helper]
    assert greedy_members(ctx, pool, k=3) == [winner, helper]
    assert greedy_members(ctx, pool, k=1) == [winner]
    # Nothing helps a perfect, confident winner: it stays alone.
    perfect = _candidate([[9, 0], [0, 9], [9, 0], [0, 9]])
    assert greedy_members(ctx, [perfect, helper, winner], k=3) == [perfect]


def test_greedy_selection_fits_a_subset_led_by_the_winner(binary_split):
    X, y, X_test, _ = binary_split
    top = SmashClassifier(**SMASH_THREE_FINALISTS).fit(X, y)
    greedy = SmashClassifier(**SMASH_THREE_FINALISTS, ensemble_selection="greedy").fit(X, y)
    assert greedy.ensemble_sources_[0] == top.ensemble_sources_[0] == "finalist:0"
    assert set(greedy.ensemble_sources_) <= set(top.ensemble_sources_)
    assert greedy.refitted_members_ == len(greedy.ensemble_nets_)
    assert np.isfinite(greedy.predict_proba(X_test)).all()
    with pytest.raises(ValueError, match="ensemble_selection"):
        SmashClassifier(**SMASH_THREE_FINALISTS, ensemble_selection="best").fit(X, y)
