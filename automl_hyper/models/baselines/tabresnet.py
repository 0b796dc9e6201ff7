"""TabResNet with an ordinary output head: the reference that measures what INN's per-row linear
models cost (``benchmarks/inn_overhead.py``).

It is INN's network and training loop with the hypernetwork head switched off, so the two differ
in nothing but the head.
"""

from __future__ import annotations

from automl_hyper.models.inn.estimator import INNClassifier


class TabResNetClassifier(INNClassifier):
    """The same TabResNet and training loop as INN with a plain output head (no explanations)."""

    _mesomorphic = False

    def explain(self, X):
        raise AttributeError("TabResNetClassifier has no per-row linear models to explain")
