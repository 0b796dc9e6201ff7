"""What every subcommand shares about usage: the error a user can fix, and the help layout.

A subcommand raises :class:`UsageError` for a mistake in what was asked (an unknown dataset, a
column that is not there, a parameter a family does not have); ``automl_hyper.cli.main`` prints
its one line, with the fix, and exits with 2, as argparse does for its own usage errors.
"""

from __future__ import annotations

import argparse

from automl_hyper.spelling import did_you_mean

__all__ = ["HelpFormatter", "UsageError", "did_you_mean"]


class UsageError(Exception):
    """A mistake in the command line: one line saying what is wrong and what would work."""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each option's default, except where there is none to show (flags, None), and keeps
    the line breaks of descriptions (examples)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help_text = action.help or ""
        if (
            "%(default)" in help_text
            or "default:" in help_text
            or action.default is None
            or action.default is False
            or action.default is argparse.SUPPRESS
            or action.default == []
            or isinstance(action, argparse._StoreConstAction | argparse._HelpAction)
        ):
            return help_text
        return super()._get_help_string(action)
