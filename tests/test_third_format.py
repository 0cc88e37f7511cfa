"""The storage-format seam: a third format, "npz", defined here and registered by name,
works with build, reading, verify, shard and the command line like the built-in ones."""

from __future__ import annotations

import io
import os
import re
import shutil
import zipfile
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from conftest import assert_same_examples, build, write_audio

import spectroprep
from spectroprep.cli.main import cli
from spectroprep.config import StorageConfig
from spectroprep.dataset.frame_events import EVENTS, OFFSETS
from spectroprep.dataset.layout import FileRecord, new_hasher, temp_path
from spectroprep.dataset.storage.check.record import DatasetRecord
from spectroprep.dataset.storage.check.report import Log, Tally
from spectroprep.dataset.storage.check.values import (
    Totals,
    check_frame_runs,
    check_labels,
    non_finite,
)
from spectroprep.errors import SpectroprepWarning
from spectroprep.plugins import FORMATS
from spectroprep.verify import verify

SETS = ["storage.shard_examples=3"]

# -- the format: npz/part-NNNNN.npz, one uncompressed zip of .npy members per data file --


def _zip_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """An .npz file's bytes, the same for the same arrays (fixed member timestamps)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with z.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(array), allow_pickle=False)
    return buffer.getvalue()


def _load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {name: z[name] for name in z.files}


def write(
    path: Path,
    features: np.ndarray,
    targets: Mapping[str, np.ndarray],
    first_id: int,
    attrs: Mapping[str, Any],
    storage: StorageConfig,
) -> str:
    """Write one .npz file; its digest is taken from the bytes written."""
    ids = np.arange(first_id, first_id + len(features), dtype=np.int64)
    data = _zip_bytes(
        {"features": np.asarray(features, dtype=storage.dtype), **targets, "example_id": ids}
    )
    path.write_bytes(data)
    digest = new_hasher()
    digest.update(data)
    return digest.hexdigest()


def renumber(path: Path, first_id: int) -> None:
    """New example ids; every other member (and the file's size) stays as it was."""
    arrays = _load(path)
    n = len(arrays["example_id"])
    arrays["example_id"] = np.arange(first_id, first_id + n, dtype=np.int64)
    tmp = temp_path(path)
    tmp.write_bytes(_zip_bytes(arrays))
    os.replace(tmp, path)


class Reader:
    """Reads whole members of the .npz files; nothing stays open between reads."""

    def __init__(
        self,
        root: Path,
        files: list[FileRecord],
        storage: StorageConfig,
        verify_checksums: bool = False,  # zipfile checks each member's CRC anyway
        open_files: int | None = None,
    ) -> None:
        self._paths = [root / f.path for f in files]

    def _member(self, file: int, name: str) -> np.ndarray:
        with np.load(self._paths[file], allow_pickle=False) as z:
            return z[name]

    def read(self, file: int, rows: np.ndarray, name: str = "features") -> np.ndarray:
        return self._member(file, name)[rows]

    def read_into(
        self,
        file: int,
        rows: np.ndarray,
        out: np.ndarray,
        where: np.ndarray,
        name: str = "features",
    ) -> None:
        out[where] = self.read(file, rows, name)

    def gather(
        self,
        files: np.ndarray,
        rows: np.ndarray,
        out: np.ndarray,
        where: np.ndarray,
        name: str = "features",
    ) -> None:
        for file in np.unique(files).tolist():
            mine = files == file
            out[where[mine]] = self.read(file, rows[mine], name)

    def labels(self, file: int) -> np.ndarray:
        return self._member(file, "labels")

    def array(self, file: int, name: str) -> np.ndarray:
        return self._member(file, name)

    def close(self) -> None:
        """Nothing stays open."""


def check_file(ds: DatasetRecord, index: int, log: Log, totals: Totals) -> bool:
    """One .npz file: readable, its members, ids, finite features, valid labels."""
    record, first = ds.files[index], ds.first_ids[index]
    rel, n = record.path, record.examples
    try:
        arrays = _load(ds.root / rel)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        log.add(rel, None, f"not a readable .npz file ({exc})")
        totals.complete = False
        return False
    wanted = {"features", "example_id", *ds.arrays()}
    for name in sorted(arrays.keys() - wanted):
        log.add(rel, None, f"unexpected member {name}")
    for name in sorted(wanted - arrays.keys()):
        log.add(rel, None, f"no {name} member")
    ids = arrays.get("example_id")
    if ids is not None and not (
        ids.dtype == np.int64 and np.array_equal(ids, np.arange(first, first + n))
    ):
        log.add(rel, None, f"example_id is {ids.dtype} {ids.tolist()}, expected {first}..")
    x = arrays.get("features")
    if x is not None and (x.shape, x.dtype) != ((n, *ds.shape), ds.dtype):
        log.add(rel, None, f"features are {x.dtype} {x.shape}, expected {ds.dtype}")
    elif x is not None:
        tally = Tally("features not finite")
        bad, kinds = non_finite(x)
        tally.add(bad, first, rel, *kinds)
        tally.report(log, rel)
    if {OFFSETS, EVENTS} <= arrays.keys():
        check_frame_runs(ds, arrays, n, rel, log, totals)
    elif OFFSETS in wanted:
        totals.complete = False
    if ds.kind == "none":
        return False
    if "labels" not in arrays:
        totals.complete = False
        return False
    return check_labels(ds, arrays["labels"], rel, index, log, totals)


def file_name(index: int) -> str:
    return f"npz/part-{index:05d}.npz"


def example_path(file: str, row: int, example_id: int) -> str:
    return file


def examples_per_file(storage: StorageConfig) -> int:
    return storage.shard_examples


def chunk_rows(storage: StorageConfig) -> int:
    return 1


def check_storage(storage: StorageConfig) -> None:
    """Plain numpy reads them: nothing to check."""


def advice(storage: Mapping[str, Any]) -> list[str]:
    return ["npz files load whole for every read: convert them with `--format hdf5`"]


# module-level functions only, so that the plug-in pickles (by reference to this module)
NPZ = SimpleNamespace(
    Reader=Reader,
    OWNED=re.compile(r"npz(/part-\d+\.npz)?"),
    file_name=file_name,
    example_path=example_path,
    examples_per_file=examples_per_file,
    chunk_rows=chunk_rows,
    check_storage=check_storage,
    advice=advice,
    write=write,
    renumber=renumber,
    check_file=check_file,
)


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def npz():
    """The format, registered as "npz" while this module's tests run."""
    FORMATS.register("npz", NPZ)
    yield NPZ
    FORMATS.unregister("npz")


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two class folders: WAV and FLAC, 16 and 44.1 kHz, one stereo file."""
    root = tmp_path_factory.mktemp("third") / "audio"
    write_audio(root / "dog" / "a.wav", 2.0, 16000, seed=1)
    write_audio(root / "dog" / "b.flac", 1.5, 44100, seed=2)
    write_audio(root / "cat" / "c.wav", 3.0, 16000, seed=3, channels=2)
    write_audio(root / "cat" / "d.flac", 1.2, 44100, seed=4)
    return root


@pytest.fixture(scope="module")
def built(npz, audio) -> tuple[Path, Path]:
    """(npz dataset, hdf5 dataset) of the same audio."""
    kw: dict[str, Any] = {"labels_from_folders": True, "overrides": SETS}
    return (
        build(audio, audio.parent / "npz", format="npz", **kw),
        build(audio, audio.parent / "hdf5", format="hdf5", **kw),
    )


# -- tests ----------------------------------------------------------------------------


def test_build_writes_npz_files_read_as_the_hdf5_build(built):
    ours, theirs = built
    paths = sorted(p.relative_to(ours).as_posix() for p in (ours / "npz").iterdir())
    assert paths == [f"npz/part-{i:05d}.npz" for i in range(3)]  # 9 windows, 3 a file
    assert all(NPZ.OWNED.fullmatch(p) for p in ["npz", *paths])
    with spectroprep.open_dataset(ours) as a, spectroprep.open_dataset(theirs) as b:
        assert a.config.storage.format == "npz" and [f.path for f in a.files] == paths
        np.testing.assert_array_equal(a.get_batch(np.arange(9))[0], b.get_batch(np.arange(9))[0])
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_array_equal(a[4][0], b[4][0])
    assert_same_examples(ours, theirs)  # also: verify(ours).ok


def test_worker_processes_know_the_registered_format(npz, audio, tmp_path):
    """Workers are forked from a fork server that imported the package before the
    registration: the pool registers the parent's plug-ins in each worker."""
    out = build(audio, tmp_path / "ds", labels_from_folders=True, format="npz", jobs=2)
    assert verify(out).ok
    one = build(audio, tmp_path / "one", labels_from_folders=True, format="npz")
    assert_same_examples(out, one)
    back = spectroprep.shard(out, tmp_path / "back", format="npz", shuffle=True, jobs=2)
    assert verify(back.datasets[""]).ok


def test_shuffled_batches_yield_every_example_once(built):
    with spectroprep.open_dataset(built[0]) as ds:
        seen = [y for _, y in ds.batches(4, shuffle=True, seed=0)]
        xs = np.concatenate([x for x, _ in ds.batches(4, shuffle=True, seed=0)])
        x_all, y_all = ds.get_batch(np.arange(len(ds)))
    assert sum(len(y) for y in seen) == 9
    order = [int(np.flatnonzero((x_all == x).all(axis=(1, 2)))[0]) for x in xs]
    assert sorted(order) == list(range(9)) and order != list(range(9))
    np.testing.assert_array_equal(np.concatenate(seen), y_all[order])


def test_verify_passes_then_names_a_corrupted_or_truncated_file(built, tmp_path):
    assert verify(built[0]).ok, verify(built[0]).problems
    copy = Path(shutil.copytree(built[0], tmp_path / "copy"))
    flipped, cut = copy / "npz/part-00001.npz", copy / "npz/part-00002.npz"
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside /features
    flipped.write_bytes(data)
    cut.write_bytes(cut.read_bytes()[:100])
    report = verify(copy)
    assert not report.ok
    lines = [p.line() for p in report.problems]
    named = {p.file for p in report.problems}
    assert {"npz/part-00001.npz", "npz/part-00002.npz"} <= named, lines
    assert any("Bad CRC-32" in line and "part-00001" in line for line in lines), lines
    assert any("not a readable .npz" in line and "part-00002" in line for line in lines), lines
    assert not any("part-00000" in line for line in lines), lines


def test_shard_converts_to_and_from_npz(built, tmp_path):
    ours, theirs = built
    to_hdf5 = spectroprep.shard(ours, tmp_path / "to_hdf5", format="hdf5", jobs=1)
    from_hdf5 = spectroprep.shard(theirs, tmp_path / "from_hdf5", format="npz", jobs=1)
    assert_same_examples(to_hdf5.datasets[""], ours)
    assert_same_examples(from_hdf5.datasets[""], theirs)
    assert (tmp_path / "from_hdf5" / "npz" / "part-00000.npz").is_file()


def test_the_command_line_knows_the_registered_format(npz, built, audio, tmp_path):
    runner = CliRunner()
    assert "npz" in runner.invoke(cli, ["build", "--help"]).output
    out, again = tmp_path / "ds", tmp_path / "again"
    args = ["build", audio, "--out", out, "--labels-from-folders", "--format", "npz"]
    result = runner.invoke(cli, [str(a) for a in [*args, "--set", SETS[0], "-q", "-j", "1"]])
    assert result.exit_code == 0, result.output
    assert "wrote 9 examples" in result.output
    assert_same_examples(out, built[1])
    result = runner.invoke(cli, ["shard", str(out), "--out", str(again), "--format", "npz", "-j1"])
    assert result.exit_code == 0, result.output
    assert_same_examples(again, built[0])
    FORMATS.unregister("npz")
    try:  # gone from the choices once unregistered
        result = runner.invoke(cli, [str(a) for a in [*args, "--overwrite"]])
        assert result.exit_code == 2 and "'npz' is not one of" in result.output
    finally:
        FORMATS.register("npz", NPZ)


@pytest.mark.parametrize("per_file", [1, 3])
def test_a_source_failing_to_decode_is_skipped_and_later_files_renumbered(
    npz, tmp_path, monkeypatch, per_file
):
    """An infinite sample is found only when decoding: its shard is written again
    without it, later ids renumbered (``renumber``), emptied files' names closed up."""
    audio = tmp_path / "audio"
    for i, seconds in enumerate([2.0, 3.0, 2.0, 1.0, 3.0], start=1):
        write_audio(audio / ("cat" if i % 2 else "dog") / f"clip{i}.wav", seconds, 16000, seed=i)
    x = np.full(2 * 16000, 0.1, dtype=np.float32)
    x[20000] = np.inf
    sf.write(audio / "cat" / "clip3.wav", x, 16000, subtype="FLOAT")  # windows 6 and 7 of 11
    renumbered: list[tuple[str, int]] = []
    monkeypatch.setattr(
        NPZ, "renumber", lambda p, first: renumbered.append((p.name, first)) or renumber(p, first)
    )
    kw: dict[str, Any] = {
        "labels_from_folders": True,
        "overrides": [f"storage.shard_examples={per_file}"],
    }
    with pytest.warns(SpectroprepWarning, match=r"left out .*clip3\.wav"):
        out = build(audio, tmp_path / "ds", format="npz", on_error="skip", **kw)
    assert renumbered, "no file after the gap was renumbered"
    for path, first in renumbered:
        assert _load(out / "npz" / path)["example_id"][0] == first
    (audio / "cat" / "clip3.wav").unlink()
    assert_same_examples(out, build(audio, tmp_path / "clean", format="hdf5", **kw))  # verifies
    assert len(list((out / "npz").iterdir())) == (9 if per_file == 1 else 4)


def test_frame_targets_go_through_the_format_as_runs(npz, audio, tmp_path):
    events = tmp_path / "events.tsv"
    events.write_text(
        "filename\tonset\toffset\tevent_label\n"
        "dog/a.wav\t0.25\t1.1\tbark\ncat/c.wav\t0.5\t2.9\tmeow\ncat/c.wav\t1.0\t1.4\tbark\n"
    )
    kw: dict[str, Any] = {"events": events, "overrides": SETS}
    ours = build(audio, tmp_path / "npz", format="npz", **kw)
    theirs = build(audio, tmp_path / "hdf5", format="hdf5", **kw)
    assert verify(ours).ok
    with (
        spectroprep.open_dataset(ours, targets="frames") as a,
        spectroprep.open_dataset(theirs, targets="frames") as b,
    ):
        frames = a.get_batch(np.arange(len(a)))[1]
        assert frames.any()
        np.testing.assert_array_equal(frames, b.get_batch(np.arange(len(b)))[1])
    with np.load(ours / "npz" / "part-00000.npz") as z:
        assert {"frame_events", "frame_event_offsets"} <= set(z.files)
