"""load_dataset from pandas, CSV/Parquet, and OpenML ids/names through a real openml-python cache,
with the network switched off (``no_network``) wherever no download is expected."""

from __future__ import annotations

import json

import numpy as np
import openml
import pandas as pd
import pytest

from automl_hyper.data.loading import DatasetNotFoundError, infer_task, load_dataset
from automl_hyper.data.openml_cache import INDEX_FILE, build_cache, read_index
from automl_hyper.data.openml_cache import openml_cache as use_cache

OPENML_IDS = {"credit-g": 31, "eucalyptus": 188, "kc2": 1063}


def _same_as_shared(ds, X, y) -> None:
    assert list(ds.X.columns) == list(X.columns)
    num = [c for c in X.columns if c not in ds.categorical]
    # atol: scikit-learn's wdbc prints a few values with one digit more than OpenML's ARFF.
    np.testing.assert_allclose(
        ds.X[num].to_numpy(float), X[num].to_numpy(float), rtol=1e-9, atol=1e-6, equal_nan=True
    )
    for col in ds.categorical:  # category text survives the ARFF round trip (NaN stays missing)
        got = ds.X[col].astype(object).where(ds.X[col].notna(), None)
        want = X[col].astype(object).where(X[col].notna(), None)
        assert [None if v is None else str(v) for v in got] == [
            None if v is None else str(v).removesuffix(".0") for v in want
        ], col
    assert [str(v) for v in ds.y] == [str(v) for v in y]


@pytest.mark.parametrize("name", ["credit-g", "eucalyptus", "kc2"])
def test_load_by_id_and_by_name_from_built_cache(openml_cache, shared_dataset, no_network, name):
    by_name = load_dataset(name, cache_dir=openml_cache)
    by_id = load_dataset(OPENML_IDS[name], cache_dir=openml_cache)
    by_text_id = load_dataset(str(OPENML_IDS[name]), cache_dir=openml_cache)
    X, y = shared_dataset(name)
    assert by_name.openml_id == by_id.openml_id == by_text_id.openml_id == OPENML_IDS[name]
    assert by_name.name == name and by_name.task == "classification"
    pd.testing.assert_frame_equal(by_name.X, by_id.X)
    _same_as_shared(by_name, X, y)
    # Categorical detection comes from the ARFF nominal types openml-python reads.
    expected = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    assert by_name.categorical == expected
    assert all(isinstance(by_name.X[c].dtype, pd.CategoricalDtype) for c in expected)
    assert all(pd.api.types.is_numeric_dtype(by_name.X[c]) for c in by_name.numeric)


def test_openml_python_reads_the_cache_on_its_own(openml_cache, no_network):
    root_before = openml.config.get_config_as_dict()["cachedir"]
    with use_cache(openml_cache):
        ds = openml.datasets.get_dataset(31, download_data=True, download_features_meta_data=True)
        X, y, categorical, names = ds.get_data(target=ds.default_target_attribute)
    assert ds.name == "credit-g" and X.shape == (1000, 20) and sum(categorical) == 13
    assert ds.features[len(names)].name == "target"  # features.xml written too
    assert openml.config.get_config_as_dict()["cachedir"] == root_before  # setting restored


def test_name_resolves_from_openml_descriptions_without_our_index(tmp_path, shared_datasets_dir):
    build_cache(shared_datasets_dir, tmp_path, names=["diabetes"])
    with use_cache(tmp_path) as server_dir:
        assert read_index(server_dir) == {"diabetes": 37}
        (server_dir / INDEX_FILE).unlink()
    ds = load_dataset("Diabetes", cache_dir=tmp_path, offline=True)  # case-insensitive fallback
    assert ds.openml_id == 37 and ds.X.shape == (768, 8)


def test_sklearn_bundled_datasets_load_on_an_empty_cache(tmp_path, shared_dataset, no_network):
    cache = tmp_path / "empty"
    wdbc = load_dataset("wdbc", cache_dir=cache)
    assert wdbc.openml_id == 1510 and wdbc.X.shape == (569, 30) and wdbc.categorical == []
    assert wdbc.y.name == "Class" and wdbc.y.value_counts().to_dict() == {"1": 357, "2": 212}
    X, y = shared_dataset("wdbc")  # the OpenML ARFF copy: same values and label coding
    _same_as_shared(wdbc, X, y)
    alias = load_dataset("breast_cancer", cache_dir=tmp_path / "other", offline=True)
    pd.testing.assert_frame_equal(alias.X, wdbc.X)
    assert load_dataset(1510, cache_dir=tmp_path / "third").name == "wdbc"
    iris = load_dataset(61, cache_dir=cache)
    X, y = shared_dataset("iris")
    _same_as_shared(iris, X, y)
    wine = load_dataset("wine", cache_dir=cache)
    assert wine.openml_id == 187 and wine.X.shape == (178, 13)
    assert wine.y.value_counts().sort_index().tolist() == [59, 71, 48]


def test_unknown_name_and_id_give_clear_errors(tmp_path, no_network):
    with pytest.raises(
        DatasetNotFoundError, match="no dataset named 'no-such-set'.*datasets cache"
    ):
        load_dataset("no-such-set", cache_dir=tmp_path, offline=True)
    with pytest.raises(DatasetNotFoundError, match="could not be reached"):
        load_dataset("no-such-set", cache_dir=tmp_path)  # tries the server: the network is off
    with pytest.raises(DatasetNotFoundError, match="OpenML dataset 999999 is not in the"):
        load_dataset(999999, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="positive"):
        load_dataset(0, cache_dir=tmp_path)


def test_cache_dir_from_environment(tmp_path, monkeypatch, shared_datasets_dir, no_network):
    build_cache(shared_datasets_dir, tmp_path, names=["cmc"])
    monkeypatch.setenv("AUTOML_HYPER_OPENML_CACHE", str(tmp_path))
    monkeypatch.setenv("AUTOML_HYPER_OFFLINE", "1")
    ds = load_dataset("cmc")
    assert ds.openml_id == 23 and len(ds.categorical) == 7 and ds.y.nunique() == 3


def test_build_cache_from_arff_and_skips_files_without_an_id(tmp_path, no_network):
    src = tmp_path / "src"
    src.mkdir()
    (src / "toy.arff").write_text(
        "@RELATION toy\n"
        "@ATTRIBUTE size NUMERIC\n"
        "@ATTRIBUTE colour {red,green}\n"
        "@ATTRIBUTE class {yes,no}\n"
        "@DATA\n1.5,red,yes\n2.0,green,no\n?,red,yes\n3.5,?,no\n"
    )
    # A regression CSV whose target is not last, named in the manifest.
    # "e" is a categorical column with no value at all (openml needs care with those).
    reg_frame = pd.DataFrame(
        {"y": [0.5, 1.5, 2.25], "a": [1, 2, 3], "b": ["u", "v", "u"], "e": [None] * 3}
    )
    reg_frame.to_csv(src / "reg.csv", index=False)
    (src / "CATEGORICAL.json").write_text(json.dumps({"reg": ["b", "e"]}))
    pd.DataFrame({"a": [1.0, 2.0], "target": [0, 1]}).to_csv(src / "orphan.csv", index=False)
    (src / "MANIFEST.tsv").write_text(
        "name\topenml_id\tclasses\ttarget\ntoy\t424242\t2\t\nreg\t424243\t0\ty\n"
    )
    with pytest.warns(UserWarning, match="orphan"):
        assert build_cache(src, tmp_path / "cache") == {"reg": 424243, "toy": 424242}
    reg = load_dataset("reg", cache_dir=tmp_path / "cache")
    assert reg.task == "regression" and reg.y.tolist() == [0.5, 1.5, 2.25]
    assert list(reg.X.columns) == ["a", "b", "e"] and reg.categorical == ["b", "e"]
    assert reg.X["e"].isna().all()
    ds = load_dataset("toy", cache_dir=tmp_path / "cache")
    assert ds.openml_id == 424242 and ds.categorical == ["colour"]
    assert ds.X["size"].isna().sum() == 1 and ds.X["colour"].isna().sum() == 1
    assert ds.y.tolist() == ["yes", "no", "yes", "no"]
    direct = load_dataset(src / "toy.arff")  # an ARFF path loads without any cache
    assert direct.categorical == ["colour"] and direct.y.tolist() == ds.y.tolist()
    pd.testing.assert_frame_equal(direct.X, ds.X, check_dtype=False, check_categorical=False)
    with pytest.raises(ValueError, match="no ARFF/CSV file"):
        build_cache(src, tmp_path / "cache", names=["missing"])


# ---------------------------------------------------------------- files and frames


def test_csv_and_parquet_paths(tmp_path, shared_dataset):
    X, y = shared_dataset("credit-g")
    frame = X.assign(target=y)
    csv = tmp_path / "credit.csv"
    frame.to_csv(csv, index=False)
    from_csv = load_dataset(csv)
    assert from_csv.name == "credit" and from_csv.openml_id is None
    # From a CSV the categorical columns are the text ones; the rest stay numeric.
    text_cols = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    assert from_csv.categorical == text_cols
    assert from_csv.task == "classification" and from_csv.y.tolist() == y.tolist()
    pq = tmp_path / "credit.parquet"
    frame.to_parquet(pq)
    from_pq = load_dataset(str(pq))
    assert from_pq.categorical == text_cols
    pd.testing.assert_frame_equal(from_pq.X, from_csv.X, check_categorical=False)


def test_integer_coded_categoricals_need_the_list(tmp_path, shared_dataset):
    X, y = shared_dataset("cmc")  # 7 categorical columns stored as integer codes
    path = tmp_path / "cmc.csv"
    X.assign(target=y).to_csv(path, index=False)
    assert load_dataset(path).categorical == []  # from dtypes alone they look numeric
    cats = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    ds = load_dataset(path, categorical=cats)
    assert ds.categorical == cats
    assert all(isinstance(ds.X[c].dtype, pd.CategoricalDtype) for c in cats)


def test_target_defaults_to_last_column_and_can_be_named(tmp_path):
    frame = pd.DataFrame(
        {"a": [1.5, 2.0, 3.25, 4.0], "b": ["x", "y", "x", "y"], "label": [0, 1, 0, 1]}
    )
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    ds = load_dataset(path)
    assert ds.y.name == "label" and list(ds.X.columns) == ["a", "b"] and ds.categorical == ["b"]
    ds = load_dataset(frame, "a", name="toy")
    assert ds.name == "toy" and ds.task == "regression" and ds.y.name == "a"
    with pytest.raises(ValueError, match="target column 'nope' not in"):
        load_dataset(frame, "nope")
    with pytest.raises(FileNotFoundError, match="data file not found"):
        load_dataset(tmp_path / "absent.csv")
    with pytest.raises(ValueError, match="unknown file type"):
        (tmp_path / "t.xlsx").write_text("")
        load_dataset(tmp_path / "t.xlsx")


def test_pandas_frame_validation():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "target": ["a", None, "b"]})
    with pytest.raises(ValueError, match="1 missing values"):
        load_dataset(frame)
    with pytest.raises(ValueError, match="at least 2 classes"):
        load_dataset(pd.DataFrame({"x": [1.0, 2.0], "target": ["a", "a"]}))
    with pytest.raises(ValueError, match="categorical columns not among the features"):
        load_dataset(pd.DataFrame({"x": [1.0, 2.0], "target": [0, 1]}), categorical=["z"])
    with pytest.raises(ValueError, match="regression needs a numeric target"):
        load_dataset(pd.DataFrame({"x": [1.0, 2.0], "target": ["a", "b"]}), task="regression")
    with pytest.raises(ValueError, match=r"columns \['b'\] are neither numeric nor listed"):
        load_dataset(
            pd.DataFrame({"a": ["u", "v"], "b": ["x", "y"], "target": [0, 1]}), categorical=["a"]
        )
    with pytest.raises(TypeError, match="source must be"):
        load_dataset([[1, 2]])
    ds = load_dataset(pd.DataFrame({"x": [1.0, 2.0], "target": [0, 1]}), task="regression")
    assert ds.task == "regression"


def test_task_inference():
    assert infer_task(pd.Series(["a", "b"])) == "classification"
    assert infer_task(pd.Series([True, False])) == "classification"
    assert infer_task(pd.Series([1, 2, 2, 3])) == "classification"
    assert infer_task(pd.Series([1.0, 2.0, 2.0])) == "classification"
    assert infer_task(pd.Series([0.5, 1.25, 3.0])) == "regression"
    assert infer_task(pd.Series(np.arange(500))) == "regression"


def test_shared_fixture_types_categoricals(shared_dataset, shared_datasets_dir):
    cats = json.loads((shared_datasets_dir / "CATEGORICAL.json").read_text())["credit-g"]
    X, y = shared_dataset("credit-g")
    assert [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)] == cats
    assert len(X) == len(y) == 1000 and y.name == "target"
