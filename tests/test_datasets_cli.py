"""``automl-hyper datasets cache|list`` through the subcommand module's own parser."""

from __future__ import annotations

import argparse

import pytest

from automl_hyper.cli import datasets as datasets_cli
from automl_hyper.data.loading import load_dataset


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="automl-hyper datasets")
    datasets_cli.add_arguments(parser)
    return datasets_cli.main(parser.parse_args(list(argv)))


def test_cache_then_list_then_load(tmp_path, shared_datasets_dir, capsys, no_network):
    cache = str(tmp_path / "cache")
    assert _run("list", "--cache-dir", cache) == 0
    assert "no datasets cached" in capsys.readouterr().out
    assert (
        _run(
            "cache",
            "--from",
            str(shared_datasets_dir),
            "--names",
            "diabetes,car",
            "--cache-dir",
            cache,
        )
        == 0
    )
    assert "cached 2 datasets" in capsys.readouterr().out
    load_dataset("breast_cancer", cache_dir=cache)  # bundled: written into the cache on use
    assert _run("list", "--cache-dir", cache) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line for line in lines[1:-1]}
    assert set(rows) == {"37", "1510", "40975"}
    assert "diabetes" in rows["37"] and "wdbc (breast_cancer)" in rows["1510"]
    assert lines[-1].startswith("3 datasets in")


def test_cache_errors_are_reported_not_raised(tmp_path, capsys):
    from automl_hyper.cli import main as cli_main

    argv = ["datasets", "cache", "--from", str(tmp_path / "absent"), "--cache-dir", str(tmp_path)]
    assert cli_main(argv) == 2  # a usage error: one line on stderr, no traceback
    err = capsys.readouterr().err
    assert err.startswith("automl-hyper datasets: error: dataset folder not found")
    with pytest.raises(SystemExit):
        _run("cache")  # --from is required
