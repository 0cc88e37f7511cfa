"""Training reads: epochs of batches, chunk-aware shuffling, prefetch, shard
sampling, and get_batch exactness against h5py / np.load of the stored files."""

import threading

import h5py
import numpy as np
import pytest
from conftest import build_small

import spectroprep
from spectroprep import ShardSampler
from spectroprep.read.epochs import epoch_order, run_length
from spectroprep.read.prefetch import prefetched
from spectroprep.read.sampler import split_files


@pytest.fixture(scope="module")
def datasets(small_audio):
    """One dataset per storage layout, all of the same examples."""
    return {
        "hdf5": build_small(small_audio, "plain"),
        "hdf5 chunk 4 lzf": build_small(
            small_audio, "lzf", "storage.chunk_examples=4", "storage.compression=lzf"
        ),
        "hdf5 chunk 3": build_small(small_audio, "chunk3", "storage.chunk_examples=3"),
        "hdf5 float16": build_small(small_audio, "half", "storage.dtype=float16"),
        "npy": build_small(small_audio, "npy", "storage.block_size=7", format="npy"),
    }


def _stored(path):
    """Every example's features and labels read with h5py or np.load, independently."""
    ds = spectroprep.open_dataset(path)
    xs, ys = [], []
    for record in ds.files:
        if ds.config.storage.format == "hdf5":
            with h5py.File(path / record.path) as h5:
                xs.append(h5["features"][()])
                ys.append(h5["labels"][()])
        else:
            block = path / record.path
            ids = sorted(int(p.stem[3:]) for p in block.glob("id-*.npy"))
            xs.append(np.stack([np.load(block / f"id-{i}.npy") for i in ids]))
            ys.append(np.load(block / "labels.npy"))
    return np.concatenate(xs), np.concatenate(ys)


def _positions(ds, x_batches):
    """Which example each returned row is, by its bytes (all examples differ)."""
    where = {row.tobytes(): i for i, row in enumerate(ds.get_batch(range(len(ds)))[0])}
    assert len(where) == len(ds)
    return [where[row.tobytes()] for x in x_batches for row in x]


@pytest.mark.parametrize(
    "layout", ["hdf5", "hdf5 chunk 4 lzf", "hdf5 chunk 3", "hdf5 float16", "npy"]
)
@pytest.mark.parametrize("checked", [False, True])
def test_get_batch_equals_the_stored_arrays(datasets, layout, checked):
    path = datasets[layout]
    x_all, y_all = _stored(path)
    rng = np.random.default_rng(7)
    with spectroprep.open_dataset(path, verify_checksums=checked) as ds:
        assert len(ds) == len(x_all) > 100 and len(ds.files) > 5
        for indices in (
            rng.integers(0, len(ds), 64),  # repeats, any order
            np.arange(len(ds))[::-1],
            [5, 5, 5, -1, 0, 12, 13, 14, 2],
            rng.permutation(len(ds))[:1],
        ):
            x, y = ds.get_batch(indices)
            np.testing.assert_array_equal(x, x_all[indices])
            np.testing.assert_array_equal(y, y_all[indices])
            assert x.dtype == x_all.dtype and x.flags.c_contiguous
        for i in (0, 12, 13, len(ds) - 1):
            np.testing.assert_array_equal(ds[i][0], x_all[i])


@pytest.mark.parametrize("layout", ["hdf5", "hdf5 chunk 4 lzf", "npy"])
def test_every_example_once_per_epoch(datasets, layout):
    with spectroprep.open_dataset(datasets[layout]) as ds:
        n = len(ds)
        _, labels = ds.get_batch(range(n))
        orders = {}
        for seed, epoch, batch_size in [(0, 0, 16), (0, 1, 16), (1, 0, 7), (2, 5, 64), (3, 0, n)]:
            batches = list(ds.batches(batch_size, seed=seed, epoch=epoch, shuffle_window=40))
            assert [len(x) for x, _ in batches[:-1]] == [batch_size] * (len(batches) - 1)
            seen = _positions(ds, [x for x, _ in batches])
            assert sorted(seen) == list(range(n))
            np.testing.assert_array_equal(np.concatenate([y for _, y in batches]), labels[seen])
            orders[seed, epoch] = seen
        again = _positions(ds, [x for x, _ in ds.batches(16, seed=0, epoch=1, shuffle_window=40)])
        assert again == orders[0, 1]  # the same seed and epoch give the same order
        assert orders[0, 0] != orders[0, 1] != orders[1, 0]
        assert orders[0, 0] != list(range(n))
        in_order = _positions(ds, [x for x, _ in ds.batches(10, shuffle=False)])
        assert in_order == list(range(n))


def test_drop_last_and_prefetch_give_the_same_batches(datasets):
    with spectroprep.open_dataset(datasets["hdf5"]) as ds:
        n = len(ds)
        full = [x for x, _ in ds.batches(16, seed=4, prefetch=0)]
        dropped = [x for x, _ in ds.batches(16, seed=4, drop_last=True, prefetch=3)]
        assert len(dropped) == n // 16 and len(full) == -(-n // 16)
        for a, b in zip(dropped, full, strict=False):
            np.testing.assert_array_equal(a, b)


def test_batches_own_their_memory_so_a_read_window_is_freed(datasets):
    # a batch that viewed its window would keep the whole window alive while the
    # next is read: two windows in memory instead of one
    with spectroprep.open_dataset(datasets["hdf5"]) as ds:
        for x, y in ds.batches(8, seed=1, shuffle_window=32):
            assert x.base is None and y.base is None
            x[...] = 0  # and changing one batch changes nothing else


def test_shuffled_windows_read_whole_runs():
    starts = np.array([0, 50, 53, 200])  # files of 50, 3 and 147 examples
    order, ends = epoch_order(starts, [0, 1, 2], run=16, window=48, rng=np.random.default_rng(1))
    assert sorted(order.tolist()) == list(range(200)) and ends[-1] == 200
    runs = {
        (s, min(s + 16, int(starts[f + 1])))
        for f in range(3)
        for s in range(starts[f], starts[f + 1], 16)
    }
    lo = 0
    for hi in ends.tolist():
        window = np.sort(order[lo:hi])
        assert hi - lo <= 48
        # the window is a union of whole runs: every run in it is there in full
        for s, e in runs:
            inside = np.isin(np.arange(s, e), window)
            assert inside.all() or not inside.any()
        assert not np.array_equal(order[lo:hi], window)  # shuffled inside
        lo = hi
    assert run_length(1) == 4 and run_length(3) == 6 and run_length(5) == 5 and run_length(32) == 32


@pytest.mark.parametrize("parts", [1, 2, 3, 4])
def test_shard_samplers_split_an_epoch_into_whole_shards(datasets, parts):
    with spectroprep.open_dataset(datasets["hdf5"]) as ds:
        samplers = [
            ShardSampler(ds, rank=r, world_size=2, worker=w, num_workers=parts)
            for r in range(2)
            for w in range(parts)
        ]
        shards = [s.shards for s in samplers]
        assert sorted(f for files in shards for f in files) == list(range(len(ds.files)))
        seen = []
        for sampler in samplers:
            sampler.set_epoch(3)
            mine = _positions(ds, [x for x, _ in sampler.batches(8, seed=1)])
            starts = np.r_[0, np.cumsum([f.examples for f in ds.files])]
            files = {int(np.searchsorted(starts, p, side="right")) - 1 for p in mine}
            assert files == set(sampler.shards) and len(mine) == len(sampler)
            seen += mine
        assert sorted(seen) == list(range(len(ds)))


def test_split_files_balances_examples():
    assert split_files([10, 10, 10, 3], 2) == [[0, 2], [1, 3]]
    assert split_files([5], 3) == [[0], [], []]
    with pytest.raises(ValueError):
        split_files([1], 0)


def test_prefetch_passes_errors_and_stops_when_left():
    def items():
        yield 1
        yield 2
        raise OSError("disk gone")

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for item in prefetched(items(), 1):
            got.append(item)
    assert got == [1, 2]

    before = threading.active_count()
    endless = prefetched(iter(range(10**9)), 2)
    assert next(endless) == 0
    endless.close()  # the producer stops instead of running on
    assert threading.active_count() == before


def test_bad_batch_arguments(datasets):
    with spectroprep.open_dataset(datasets["hdf5"]) as ds:
        for kwargs in ({"batch_size": 0}, {"prefetch": -1}, {"shuffle_window": 0}):
            with pytest.raises(ValueError):
                next(ds.batches(**kwargs))
        with pytest.raises(IndexError):
            ds.batches(shards=[len(ds.files)])
        with pytest.raises(ValueError):
            ShardSampler(ds, rank=2, world_size=2)


def test_manifest_is_held_as_arrays(datasets):
    with spectroprep.open_dataset(datasets["hdf5"]) as ds:
        table = ds.manifest
        assert len(table) == len(ds) and table.start.dtype == np.float64
        assert table.source.codes.dtype == np.int32 and len(table.source.values) == 6
        labels = [table.label.values[c] for c in table.label.codes]
        assert [ds.classes.index(v) for v in labels] == ds.labels.tolist()


def test_compressed_chunks_get_a_cache_of_two_chunks(datasets):
    with spectroprep.open_dataset(datasets["hdf5 chunk 4 lzf"]) as ds:
        ds[0]
        features = ds._reader._open[0].datasets["features"]
        nbytes = features.id.get_access_plist().get_chunk_cache()[1]
        assert nbytes == 2 * 4 * ds.example_bytes
    with spectroprep.open_dataset(datasets["hdf5"]) as ds:
        ds[0]
        handle = ds._reader._open[0]
        assert handle.fd is not None and handle.h5 is None  # read directly, no HDF5


@pytest.mark.parametrize("layout", ["hdf5", "hdf5 float16", "npy"])
@pytest.mark.parametrize("normalize", [False, True])
def test_windows_read_into_one_buffer_hand_out_the_right_batches(datasets, layout, normalize):
    """Every window is read into the buffer of the one before: each batch handed out
    still holds its own examples after later windows were read."""
    with spectroprep.open_dataset(datasets[layout], normalize=normalize) as ds:
        order = ds.epoch_order(seed=2, shuffle_window=8)
        batches = list(ds.batches(4, seed=2, shuffle_window=8, prefetch=2))
        x, y = ds.get_batch(order)
        np.testing.assert_array_equal(np.concatenate([b for b, _ in batches]), x)
        np.testing.assert_array_equal(np.concatenate([c for _, c in batches]), y)
        assert all(b.dtype == ds.dtype for b, _ in batches)


def test_get_batch_reads_into_an_array_given(datasets):
    with spectroprep.open_dataset(datasets["hdf5 float16"]) as ds:
        out = np.full((3, *ds.shape), 7, dtype=np.float16)
        x, y = ds.get_batch([5, 0, 9], out=out)
        assert x is out
        np.testing.assert_array_equal(out, ds.get_batch([5, 0, 9])[0])
        with pytest.raises(ValueError, match=r"C-contiguous float16 array of shape \(2, 257, 11\)"):
            ds.get_batch([1, 2], out=np.empty((2, *ds.shape), dtype=np.float32))
