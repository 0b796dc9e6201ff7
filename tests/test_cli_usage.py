"""The command line as a user meets it, through real processes: one-line errors with the fix and
exit code 2, tracebacks only with --debug, --version, help with defaults, a closed pipe."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

from automl_hyper.cli import build_parser


def _cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "automl_hyper.cli", *args],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )  # fmt: skip


def _one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def test_version():
    done = _cli("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("automl-hyper 0.")


def test_a_wrong_target_names_the_columns(tmp_path):
    line = _one_line_error(_cli("compare", "--dataset", "wdbc", "--target", "nope"))
    assert line.startswith("automl-hyper compare: error: --target nope:")
    assert "'V1'" in line and "'Class'" in line


def test_an_unknown_parameter_lists_the_family_parameters():
    line = _one_line_error(
        _cli("compare", "--dataset", "wdbc", "--families", "inn", "--set", "inn.nope=3")
    )
    assert "inn has no parameter 'nope'" in line
    assert "valid: batch_size" in line and "max_epochs" in line


def test_a_misspelt_family_and_parameter_get_suggestions():
    line = _one_line_error(_cli("compare", "--dataset", "wdbc", "--families", "xgboost-tunned"))
    assert "did you mean xgboost-tuned" in line
    line = _one_line_error(
        _cli("compare", "--dataset", "wdbc", "--families", "inn", "--set", "inn.max_epoch=3")
    )
    assert "did you mean max_epochs?" in line


def test_an_unknown_dataset_suggests_close_names(openml_cache):
    done = _cli(
        "compare", "--dataset", "credit_g", "--cache-dir", str(openml_cache),
        env={"AUTOML_HYPER_OFFLINE": "1"},
    )  # fmt: skip
    line = _one_line_error(done)
    assert "did you mean credit-g?" in line


def test_debug_shows_the_traceback():
    done = _cli("--debug", "compare", "--dataset", "wdbc", "--target", "nope")
    assert done.returncode != 0 and "Traceback" in done.stderr and "UsageError" in done.stderr
    # --debug after the subcommand works too
    done = _cli("compare", "--dataset", "wdbc", "--target", "nope", "--debug")
    assert "Traceback" in done.stderr


def test_a_closed_pipe_is_not_an_error(openml_cache):
    """``automl-hyper datasets list | head``: the reader goes away before the listing is written."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "automl_hyper.cli", "datasets", "list", "--cache-dir", str(openml_cache)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    proc.stdout.close()  # no reader any more: every write fails with EPIPE
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "BrokenPipeError" not in err and "Traceback" not in err


def _walk(parser: argparse.ArgumentParser, path: str):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _walk(child, f"{path} {name}")
        else:
            yield path, action, parser


def test_every_option_of_every_subcommand_has_help_and_shows_its_default():
    parser = build_parser()
    assert "hypernetwork model families" in parser.description
    for path, action, owner in _walk(parser, "automl-hyper"):
        assert action.help, f"{path} {action.option_strings or action.dest} has no help"
        shown = owner.formatter_class(prog=path)._get_help_string(action)
        default = action.default
        if action.option_strings and default not in (None, False, [], argparse.SUPPRESS):
            if not isinstance(action, argparse._VersionAction | argparse._HelpAction):
                assert "default" in shown, f"{path} {action.option_strings}: {shown!r}"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["compare"], ["--budget", "small: inn max_epochs=40", "paper:", "--seed", "(default: 0)"]),
        (["pretrain"], ["--checkpoint-minutes", "(default: 4.0)", "--eval-minutes"]),
        (["unf", "train"], ["--epochs", "(default: 30)"]),
    ],
)
def test_help_explains_the_options(command, expected):
    done = _cli(*command, "--help", env={"COLUMNS": "200"})
    assert done.returncode == 0
    for text in expected:
        assert text in done.stdout, (text, done.stdout)


def test_help_stays_instant():
    """Building every parser (with its help texts) imports none of the heavy libraries."""
    code = (
        "import sys; from automl_hyper.cli import build_parser; build_parser(); "
        "print([m for m in ('pandas', 'sklearn', 'torch', 'mlflow', 'numpy') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
