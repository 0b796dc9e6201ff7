"""The package's warning classes.

``AutomlHyperWarning`` marks what automl-hyper itself has to tell a user about their data,
settings or results (a fallback taken, a limit applied, something not saved). The CLI prints
these on the terminal while other libraries' warnings go to its log (``cli/chatter.py``), and a
user can silence them all at once: ``-W ignore::automl_hyper.warning_types.AutomlHyperWarning``.
"""

from __future__ import annotations


class AutomlHyperWarning(UserWarning):
    """A warning from automl-hyper about the user's data, settings or results."""
