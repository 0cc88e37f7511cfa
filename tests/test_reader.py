import json
import multiprocessing
import pickle

import numpy as np
import pytest

import spectroprep
from spectroprep.errors import DatasetError


@pytest.fixture(params=["hdf5", "npy"])
def dataset(request, corpus, tmp_path):
    out = spectroprep.build(
        corpus,
        tmp_path / f"ds-{request.param}",
        labels_from_folders=True,
        format=request.param,
        jobs=1,
        overrides=["storage.shard_examples=4", "storage.block_size=4"],
    )
    with spectroprep.open_dataset(out) as ds:
        yield ds


def test_get_batch_returns_any_order_with_repeats_and_negatives(dataset):
    singles = [dataset[i] for i in range(len(dataset))]
    order = [11, 0, 5, 4, 4, -1, 7, 2, 3, 9]
    x, y = dataset.get_batch(order)
    assert x.shape == (10, 257, 101) and x.dtype == np.float32
    for k, i in enumerate(order):
        np.testing.assert_array_equal(x[k], singles[i][0])
        assert y[k] == singles[i][1]
    empty_x, empty_y = dataset.get_batch([])
    assert empty_x.shape == (0, 257, 101) and len(empty_y) == 0


def test_examples_differ_and_labels_follow_the_classes(dataset):
    x, y = dataset.get_batch(range(len(dataset)))
    assert len({a.tobytes() for a in x}) == len(dataset)
    assert [dataset.classes[i] for i in y] == ["cat"] * 6 + ["dog"] * 6
    np.testing.assert_array_equal(dataset.labels, y)


def test_bad_indices(dataset):
    with pytest.raises(IndexError, match="index 12 out of range for a dataset of 12"):
        dataset[12]
    with pytest.raises(IndexError, match="index -13 out of range"):
        dataset.get_batch([0, -13])
    with pytest.raises(TypeError, match="index must be an integer"):
        dataset["a"]
    with pytest.raises(TypeError, match="index must be an integer"):
        dataset[True]
    with pytest.raises(TypeError, match="indices must be integers, not float64"):
        dataset.get_batch([1.9, 0.2])
    with pytest.raises(TypeError, match="indices must be integers, not bool"):
        dataset.get_batch(np.array([False, True]))


def test_pickles_without_open_files_and_reads_the_same(dataset):
    before = dataset[3][0]
    clone = pickle.loads(pickle.dumps(dataset))
    np.testing.assert_array_equal(clone[3][0], before)
    np.testing.assert_array_equal(clone.get_batch([7, 1])[0], dataset.get_batch([7, 1])[0])


def _checksum_in_child(ds, indices, queue):
    x, y = ds.get_batch(indices)
    queue.put((float(x.astype(np.float64).sum()), y.tolist()))


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_reads_in_child_processes_after_the_parent_has_read(dataset, method):
    indices = [10, 3, 6]
    x, y = dataset.get_batch(indices)  # the parent opens its files first
    ctx = multiprocessing.get_context(method)
    queue = ctx.Queue()
    workers = [
        ctx.Process(target=_checksum_in_child, args=(dataset, indices, queue)) for _ in range(2)
    ]
    for w in workers:
        w.start()
    results = [queue.get(timeout=60) for _ in workers]
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    assert results == [(float(x.astype(np.float64).sum()), y.tolist())] * 2


def test_params_and_repr(dataset):
    assert dataset.params["audio"]["sample_rate"] == 16000
    assert "examples=12" in repr(dataset)


def test_data_file_paths_may_not_leave_the_dataset(dataset, tmp_path):
    info = dataset.info | {"files": [dict(dataset.info["files"][0], path="../outside.h5")]}
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "dataset.json").write_text(json.dumps(info))
    with pytest.raises(DatasetError, match=r"\.\./outside\.h5 points outside the dataset folder"):
        spectroprep.open_dataset(copy)


def test_an_incomplete_or_foreign_folder_is_refused(tmp_path):
    with pytest.raises(DatasetError, match="not a complete spectroprep dataset"):
        spectroprep.open_dataset(tmp_path)
    (tmp_path / "dataset.json").write_text('{"format": "spectroprep", "format_version": 99}')
    with pytest.raises(DatasetError, match="format version 99 is not supported"):
        spectroprep.open_dataset(tmp_path)
