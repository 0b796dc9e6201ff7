"""automl_hyper.integrations.openml: openml-python's own objects, from a local cache, offline."""

from __future__ import annotations

import numpy as np
import openml
import pytest

from automl_hyper.data.loading import DatasetNotFoundError, load_dataset
from automl_hyper.data.openml_tasks import LOCAL_TASK_BASE
from automl_hyper.data.splits import paper_splits
from automl_hyper.integrations import openml as adapter


def test_get_dataset_by_name_and_id(openml_cache, no_network):
    by_name = adapter.get_dataset("credit-g", cache_dir=openml_cache, offline=True)
    assert isinstance(by_name, openml.datasets.OpenMLDataset)
    assert by_name.dataset_id == 31 and by_name.default_target_attribute == "target"
    # features.xml is read at once, so it is there after the cache setting is restored
    nominal = [f.name for f in by_name.features.values() if f.data_type == "nominal"]
    assert len(nominal) == 14  # 13 categorical features and the target
    assert adapter.get_dataset(37, cache_dir=openml_cache).name == "diabetes"


def test_local_paper_task_round_trips_through_get_task(tmp_path, shared_datasets_dir, no_network):
    adapter.build_cache(shared_datasets_dir, tmp_path, names=["credit-g"])
    task_id = adapter.make_local_task("credit-g", cache_dir=tmp_path, seed=3)
    assert task_id == LOCAL_TASK_BASE + 31
    task = adapter.get_task(task_id, cache_dir=tmp_path)
    assert isinstance(task, openml.tasks.OpenMLClassificationTask)
    assert task.dataset_id == 31 and task.target_name == "target"
    assert sorted(task.class_labels) == ["bad", "good"]
    assert task.get_split_dimensions() == (5, 1, 1)
    y = load_dataset(31, cache_dir=tmp_path).y
    for repeat, (train, test) in enumerate(paper_splits(y, seed=3)):
        got_train, got_test = task.get_train_test_split_indices(repeat=repeat)
        np.testing.assert_array_equal(got_train, train)
        np.testing.assert_array_equal(got_test, test)


def test_local_cv_task_on_bundled_wdbc(tmp_path, no_network):
    task_id = adapter.make_local_task("breast_cancer", "cv", n_splits=5, cache_dir=tmp_path)
    task = adapter.get_task(task_id, cache_dir=tmp_path)
    assert task.get_split_dimensions() == (1, 5, 1)
    tests = [task.get_train_test_split_indices(fold=f)[1] for f in range(5)]
    assert sorted(np.concatenate(tests).tolist()) == list(range(569))  # a partition of the rows
    with adapter.openml_cache(tmp_path):
        X, y = task.get_X_and_y(dataset_format="dataframe")
    assert X.shape == (569, 30)


def test_local_task_needs_a_cached_dataset(tmp_path, no_network):
    with pytest.raises(DatasetNotFoundError, match="offline"):
        adapter.make_local_task(31, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="'paper' or 'cv'"):
        adapter.make_local_task("iris", "bootstrap", cache_dir=tmp_path)
