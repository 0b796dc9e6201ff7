"""Our own warnings (automl_hyper's warning classes) reach the terminal during `compare` and
`benchmark`, once per message per dataset and family, while every warning still goes to the log."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from automl_hyper.cli import main as cli_main
from automl_hyper.cli.chatter import RelayingStore, WarningRelay, own_warning_categories
from automl_hyper.data.preprocess import BadInputWarning

MESSAGE = "columns ['empty'] are entirely missing (None/NaN): dropped, they carry nothing"


@pytest.fixture
def tiny_csv(tmp_path):
    """80 rows whose column 'empty' has no value: every fit warns (BadInputWarning) it drops it."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal(80)
    frame = pd.DataFrame({"a": a, "empty": np.nan, "target": (a + rng.standard_normal(80) > 0)})
    path = tmp_path / "tiny.csv"
    frame.astype({"target": int}).to_csv(path, index=False)
    return path


def test_compare_shows_our_warning_once_per_family_and_passes_it_on(
    tiny_csv, tmp_path, capfd, recwarn
):
    log = tmp_path / "compare.log"
    code = cli_main(
        ["compare", "--dataset", str(tiny_csv), "--families", "logreg", "--splits", "2"]
        + ["--no-register", "--log-models", "none", "--log-file", str(log)]
        + ["--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}", "--quiet"]
        + ["--save-dir", str(tmp_path / "models")]
    )
    out, err = capfd.readouterr()
    assert code == 0, err
    shown = [line for line in err.splitlines() if "Warning" in line]
    # Two splits, the same message: shown once, labelled with the dataset and family.
    assert shown == [f"warning: [tiny logreg] BadInputWarning: {MESSAGE}"]
    # And passed on to where warnings go (the log in a shell: stderr is the log file; here
    # pytest's recorder, which stands in for it), once as well.
    assert [str(w.message) for w in recwarn if w.category is BadInputWarning] == [MESSAGE]


def test_the_relay_passes_other_warnings_on_and_deduplicates_per_label(capsys):
    assert BadInputWarning in own_warning_categories()
    relay = WarningRelay()
    passed_on = []
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = lambda message, category, *args: passed_on.append(category)
        for label in ("d1 inn", "d1 inn", "d1 smash"):
            with relay.scope(label):
                for _ in range(3):
                    warnings.warn("column 'x' clipped", BadInputWarning, stacklevel=1)
                warnings.warn("library noise", DeprecationWarning, stacklevel=1)
    shown = capsys.readouterr().out.splitlines()
    assert shown == [
        "warning: [d1 inn] BadInputWarning: column 'x' clipped",
        "warning: [d1 smash] BadInputWarning: column 'x' clipped",
    ]
    # The log gets each shown warning once, and the other warnings as the filters say.
    assert passed_on.count(BadInputWarning) == 2 and DeprecationWarning in passed_on


def test_a_relaying_store_travels_to_worker_processes():
    """benchmark --workers N pickles the store into spawned workers: the relay goes along,
    printing to the worker's stdout (the terminal), with its own record of what it showed."""
    relay = WarningRelay()
    relay.seen.add(("d", "BadInputWarning", "m"))
    copy = pickle.loads(pickle.dumps(RelayingStore(_Store(), relay)))
    assert copy.relay.stream is None and copy.relay.seen == set()
    assert copy.finished(None, "d") == {(0, "logreg")}  # everything else is the store's
    with pytest.raises(AttributeError):
        _ = copy.data_hashes  # a store without data hashes stays without (benchmark checks)


class _Store:
    def finished(self, plan, dataset):
        return {(0, "logreg")}


def test_benchmark_shows_our_warning_once_per_dataset_and_family(tiny_csv, tmp_path, capfd):
    code = cli_main(
        ["benchmark", "--suite", "tiny,", "--data-dir", str(tiny_csv.parent)]
        + ["--families", "logreg", "--splits", "2", "--no-report"]
        + ["--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"]
        + ["--log-file", str(tmp_path / "benchmark.log")]
    )
    out, err = capfd.readouterr()
    assert code == 0, err
    assert [line for line in out.splitlines() if "Warning" in line] == [
        f"warning: [tiny logreg] BadInputWarning: {MESSAGE}"
    ]


def test_a_warning_class_the_user_ignores_is_not_relayed(capsys):
    relay = WarningRelay()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BadInputWarning)  # as -W ignore::...BadInputWarning does
        with relay.scope("d1 inn"):
            warnings.warn(MESSAGE, BadInputWarning, stacklevel=2)
        assert capsys.readouterr().out == ""
        from automl_hyper.warning_types import AutomlHyperWarning

        warnings.simplefilter("ignore", AutomlHyperWarning)  # all of ours at once
        with relay.scope("d1 inn"):
            warnings.warn(MESSAGE, BadInputWarning, stacklevel=2)
        assert capsys.readouterr().out == ""
        warnings.simplefilter("default", BadInputWarning)  # a later filter in front wins
        with relay.scope("d1 inn"):
            warnings.warn(MESSAGE, BadInputWarning, stacklevel=2)
    assert capsys.readouterr().out.count("BadInputWarning") == 1


def test_our_other_warnings_are_relayed_too(capsys):
    """Not only bad input: a fallback or limit automl-hyper applies (here MotherNet's row cap)
    is an AutomlHyperWarning, and reaches the terminal the same way."""
    from automl_hyper.models.mothernet import MotherNetClassifier
    from automl_hyper.warning_types import AutomlHyperWarning

    assert issubclass(BadInputWarning, AutomlHyperWarning)
    assert AutomlHyperWarning in own_warning_categories()
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((120, 3)), np.arange(120) % 2
    with WarningRelay().scope("d1 mothernet"):
        MotherNetClassifier(n_estimators=1, max_train_rows=60, random_state=0).fit(X, y)
    shown = capsys.readouterr().out.splitlines()
    assert len(shown) == 1 and shown[0].startswith("warning: [d1 mothernet] AutomlHyperWarning:")
    assert "max_train_rows=60" in shown[0]
