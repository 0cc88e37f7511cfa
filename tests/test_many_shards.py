"""Datasets with far more shards than a process may keep open: the reader holds at
most its budget of files, opens each shard once per read window, reopens a shard
with one ``os.open`` (the shard's own index of row offsets), and still reads shards
written before that index existed."""

import contextlib
import json
import os
import subprocess
import sys
import warnings
from collections import Counter
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import SMALL, write_audio

import spectroprep
from spectroprep.dataset.layout import digest_path
from spectroprep.dataset.storage.hdf5_index import MAGIC
from spectroprep.errors import SpectroprepWarning
from spectroprep.verify import verify

TINY = [*SMALL, "storage.shard_examples=2"]  # 62 shards of two 0.1 s examples


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    """FLAC and WAV files of 44.1 kHz stereo, 48, 22.05 and 16 kHz mono, in three folders."""
    root = tmp_path_factory.mktemp("many") / "audio"
    for k, (seconds, rate, channels, suffix) in enumerate(
        [
            (2.5, 44100, 2, "flac"),
            (1.2, 48000, 1, "flac"),
            (0.6, 16000, 1, "wav"),
            (3.0, 44100, 2, "flac"),
            (1.0, 48000, 1, "wav"),
            (4.0, 22050, 1, "flac"),
        ]
    ):
        folder = ("cat", "dog", "owl")[k % 3]
        write_audio(root / folder / f"rec{k}.{suffix}", seconds, rate, channels=channels, seed=k)
    return root


@pytest.fixture(scope="module")
def many(audio):
    return spectroprep.build(
        audio, audio.parent / "many", labels_from_folders=True, jobs=1, overrides=TINY
    )


def _shard_paths(root: Path) -> set[str]:
    return {str(p) for p in (root / "shards").glob("*.h5")}


def _open_shard_fds(root: Path) -> int:
    """Descriptors of this process open on the dataset's shards."""
    shards = _shard_paths(root)
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # closed while listed
            count += os.readlink(f"/proc/self/fd/{fd}") in shards
    return count


def _reference(root: Path):
    """Every example through HDF5 itself (checksums checked), in order."""
    with spectroprep.open_dataset(root, verify_checksums=True) as ds:
        return ds.get_batch(np.arange(len(ds)))


def test_a_shuffled_epoch_reads_every_example_once_within_the_budget(many, monkeypatch):
    x_all, y_all = _reference(many)
    n_shards = len(_shard_paths(many))
    assert n_shards >= 50
    opens: list[str] = []
    real_open = os.open

    def counting_open(path, *args, **kwargs):
        if str(path).endswith(".h5"):
            opens.append(str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", counting_open)
    with spectroprep.open_dataset(many, open_files=3) as ds:
        opens.clear()  # opening looked at the first shard's first bytes
        np.testing.assert_array_equal(ds.labels, y_all)  # one open per shard
        assert Counter(opens) == Counter(_shard_paths(many))
        for epoch in (1, 2):
            opens.clear()
            order = ds.epoch_order(seed=5, epoch=epoch, shuffle_window=40)
            assert sorted(order.tolist()) == list(range(len(ds)))
            assert not np.array_equal(order, np.sort(order))
            seen = []
            for x, y in ds.batches(7, seed=5, epoch=epoch, prefetch=0, shuffle_window=40):
                assert _open_shard_fds(many) <= 3
                seen.append((x, y))
            np.testing.assert_array_equal(np.concatenate([x for x, _ in seen]), x_all[order])
            np.testing.assert_array_equal(np.concatenate([y for _, y in seen]), y_all[order])
            # a two-example shard is one shuffled run, so it lies in one shuffle window;
            # reads are that window cut at batch boundaries, so at most two reads, and
            # two opens, per shard per epoch, though only 3 stay open
            assert max(Counter(opens).values()) <= 2
            assert len(opens) >= n_shards - 3
    assert _open_shard_fds(many) == 0  # closed with the dataset


def test_random_single_reads_and_labels_within_a_budget_of_one(many):
    x_all, y_all = _reference(many)
    with spectroprep.open_dataset(many, open_files=1) as ds:
        for i in np.random.default_rng(0).permutation(len(ds))[:80].tolist():
            x, y = ds[i]
            np.testing.assert_array_equal(x, x_all[i])
            assert y == y_all[i]
            assert _open_shard_fds(many) <= 1
        np.testing.assert_array_equal(ds.labels, y_all)


def test_open_files_must_be_positive(many):
    with pytest.raises(ValueError, match="open_files"):
        spectroprep.open_dataset(many, open_files=0)


_READ_ALL = """
import resource, sys
import numpy as np
import spectroprep
resource.setrlimit(resource.RLIMIT_NOFILE, (40, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
ds = spectroprep.open_dataset(sys.argv[1], targets=sys.argv[2])
total = 0
for i in np.random.default_rng(1).permutation(len(ds)).tolist():
    x, y = ds[i]
    total += int(np.asarray(y).sum())
for x, y in ds.batches(5, seed=2, prefetch=0):
    total += int(np.asarray(y).sum())
print(len(ds), total)
"""


@pytest.mark.parametrize("kind", ["labels", "frames"])
def test_reads_under_a_low_open_file_limit(tmp_path, audio, kind):
    """``ulimit -n 40`` in the reading process, 60 shards, the default budget: every
    example read at random and in a shuffled epoch (before, the reader kept up to
    64 shards open, two descriptors each)."""
    if kind == "frames":
        events = tmp_path / "events.tsv"
        rows = ["filename\tonset\toffset\tevent_label", "rec0.flac\t0.2\t1.1\tbark"]
        rows += ["rec3.flac\t0.5\t2.0\tmeow", "rec1.flac\t0.0\t0.4\tbark"]
        events.write_text("\n".join(rows) + "\n")
        built = spectroprep.build(audio, tmp_path / "ds", events=events, jobs=1, overrides=TINY)
    else:
        built = spectroprep.build(
            audio, tmp_path / "ds", labels_from_folders=True, jobs=1, overrides=TINY
        )
    assert len(_shard_paths(built)) > 40
    with spectroprep.open_dataset(built, targets=kind) as ds:
        x, y = ds.get_batch(np.arange(len(ds)))
        expected = 2 * int(np.asarray(y).sum())
    run = subprocess.run(
        [sys.executable, "-c", _READ_ALL, str(built), kind],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == [str(len(x)), str(expected)]


def _strip_indexes(root: Path) -> None:
    """Make the shards as an earlier spectroprep wrote them: HDF5 addresses count
    from the end of the userblock, so the file without it is the same HDF5 file;
    dataset.json then records the new sizes and digests, as that spectroprep did."""
    info = json.loads((root / "dataset.json").read_text())
    for record in info["files"]:
        path = root / record["path"]
        with h5py.File(path, "r") as h5:
            userblock = h5.userblock_size
        data = path.read_bytes()
        assert data.startswith(MAGIC) and userblock >= 512
        path.write_bytes(data[userblock:])
        record.update(bytes=path.stat().st_size, xxh3_128=digest_path(path))
    (root / "dataset.json").write_text(json.dumps(info))


def test_shards_without_an_index_still_read_with_a_note(tmp_path, many):
    x_all, y_all = _reference(many)
    old = tmp_path / "old"
    old.mkdir()
    for item in many.iterdir():
        target = old / item.name
        if item.is_dir():
            target.mkdir()
            for f in item.iterdir():
                (target / f.name).write_bytes(f.read_bytes())
        else:
            target.write_bytes(item.read_bytes())
    _strip_indexes(old)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with spectroprep.open_dataset(old, open_files=2) as ds:
            for i in np.random.default_rng(3).permutation(len(ds))[:30].tolist():
                x, y = ds[i]
                np.testing.assert_array_equal(x, x_all[i])
            np.testing.assert_array_equal(ds.labels, y_all)
    notes = [w for w in caught if issubclass(w.category, SpectroprepWarning)]
    assert len(notes) == 1
    assert "spectroprep shard" in str(notes[0].message) and str(old) in str(notes[0].message)
    assert notes[0].filename == __file__  # pointing at the open_dataset call
    # the advice works: shard rewrites them with the index, and they open quietly
    new = spectroprep.shard(old, tmp_path / "new").datasets[""]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with spectroprep.open_dataset(new) as ds:
            np.testing.assert_array_equal(ds.get_batch(np.arange(len(ds)))[0], x_all)
    # verify names the first shard without an index, as a warning, and counts the rest
    report = verify(old)
    assert report.ok
    shards = len(list((old / "shards").glob("*.h5")))
    assert [w.file for w in report.warnings if "no index" in w.message] == [
        "shards/shard-00000.h5",
        None,
    ]
    assert f"{shards - 1} more file(s)" in report.warnings[-1].message
    assert any("no index of row offsets" in w.message for w in report.warnings)


def test_verify_finds_an_index_that_disagrees_with_hdf5(tmp_path, audio):
    built = spectroprep.build(
        audio, tmp_path / "ds", labels_from_folders=True, jobs=1, overrides=TINY
    )
    assert verify(built).ok
    shard = sorted((built / "shards").glob("*.h5"))[3]
    data = bytearray(shard.read_bytes())
    first = len(MAGIC) + 8 * 11  # the first chunk offset, after the header
    value = int.from_bytes(data[first : first + 8], "little")
    data[first : first + 8] = (value + 4).to_bytes(8, "little")
    shard.write_bytes(bytes(data))
    report = verify(built)
    assert not report.ok
    assert any(
        "index of row offsets disagrees" in p.message and p.file == "shards/shard-00003.h5"
        for p in report.problems
    )


def test_every_shard_holds_its_index_after_a_reshard(tmp_path, many):
    out = tmp_path / "resharded"
    spectroprep.shard(many, out, shard_size=5, shuffle=True, seed=1)
    info = json.loads((out / "dataset.json").read_text())
    for record in info["files"]:
        assert (out / record["path"]).read_bytes()[: len(MAGIC)] == MAGIC
    assert verify(out).ok


def test_a_forked_process_closes_the_descriptors_it_inherits(many):
    """A data-loader worker forked from a process that has read keeps its own budget:
    the parent's descriptors are closed in the child, which then opens its own."""
    with spectroprep.open_dataset(many, open_files=4) as ds:
        ds.get_batch(np.arange(len(ds)))
        assert _open_shard_fds(many) == 4
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child reports its shard descriptors after one read
            os.close(read)
            try:
                ds[0]
                os.write(write, str(_open_shard_fds(many)).encode())
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read) as f:
            child_fds = int(f.read())
        os.waitpid(pid, 0)
        assert child_fds == 1
        assert _open_shard_fds(many) == 4  # the parent's are untouched
        ds.get_batch(np.arange(len(ds)))
