"""``spectroprep verify`` on real built datasets: clean ones pass, and each kind of
damage, done to a fresh copy, is reported naming the file and the example."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import xxhash
from click.testing import CliRunner, Result
from conftest import build, write_audio

import spectroprep
from spectroprep.cli.main import cli
from spectroprep.config import load_config
from spectroprep.dataset.layout import JOURNAL
from spectroprep.dataset.storage import hdf5
from spectroprep.naming import natural_sorted
from spectroprep.verify import verify

# natural order: cat/meow2 (ids 1-3), cat/meow3 (4), dog/bark1 (5-7), dog/bark10 (8-9);
# shards and blocks of 3 examples, HDF5 chunks of 2: shard 1 holds ids 4-6 in chunks 4-5, 6
AUDIO = {
    "cat/meow2.wav": (3.0, 16000),
    "cat/meow3.wav": (0.5, 16000),
    "dog/bark1.wav": (2.5, 16000),
    "dog/bark10.wav": (1.2, 8000),
}
SMALL = ("storage.shard_examples=3", "storage.block_size=3", "storage.chunk_examples=2")
EVENTS = (
    "filename\tonset\toffset\tevent_label\nbark1.wav\t0.5\t1.5\tbark\nmeow2.wav\t0.2\t0.6\tmeow\n"
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Clean datasets, built once: labelled from folders (float32) and with events
    (float16, frame targets), each as HDF5 and as npy; and an unlabelled one."""
    base = tmp_path_factory.mktemp("verify")
    for seed, (name, (seconds, rate)) in enumerate(AUDIO.items()):
        write_audio(base / "audio" / name, seconds, rate, seed=seed)
    (base / "events.tsv").write_text(EVENTS)
    out = {}
    for fmt in ("hdf5", "npy"):
        out[fmt] = build(
            base / "audio", base / fmt, labels_from_folders=True, format=fmt, overrides=SMALL
        )
        out[f"events-{fmt}"] = build(
            base / "audio",
            base / f"events-{fmt}",
            events=base / "events.tsv",
            format=fmt,
            overrides=(*SMALL, "storage.dtype=float16"),
        )
    out["unlabelled"] = build(base / "audio", base / "unlabelled", overrides=SMALL)
    return out


def run(*args: object) -> Result:
    result = CliRunner().invoke(cli, ["verify", *map(str, args)])
    # anything but a clean exit is a crash with a traceback
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def copy(built: dict[str, Path], name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(built[name], tmp_path / name))


@pytest.mark.parametrize("name", ["hdf5", "npy", "events-hdf5", "events-npy", "unlabelled"])
def test_a_clean_dataset_passes_also_when_recomputed(built, name):
    result = run(built[name], "--recompute", 100)
    assert result.exit_code == 0, result.output
    first, last = result.stdout.splitlines()
    assert first.startswith("recomputed 9 of 9 example(s) from their source audio: max difference")
    assert last == "ok: 9 examples in 3 files"
    assert "problem" not in result.stderr and "recomputed" not in result.stderr


# -- damage, one kind at a time ----------------------------------------------------


def flip_feature_byte(ds: Path) -> None:
    """One byte inside the first /features chunk of shard 1 (examples 4 and 5)."""
    shard = ds / "shards/shard-00001.h5"
    with h5py.File(shard) as h5:
        chunk = h5["features"].id.get_chunk_info(0)
    data = bytearray(shard.read_bytes())
    data[chunk.byte_offset + chunk.size // 2] ^= 0x10
    shard.write_bytes(bytes(data))


def flip_npy_byte(ds: Path) -> None:
    """The lowest byte of the last value of example 5: still finite, and npy files
    carry no checksum, so only the block's digest sees it."""
    path = ds / "blocks/block-2/id-5.npy"
    data = bytearray(path.read_bytes())
    data[-4] ^= 0x01
    path.write_bytes(bytes(data))


def truncate(ds: Path) -> None:
    shard = ds / "shards/shard-00002.h5"
    shard.write_bytes(shard.read_bytes()[:4000])


def set_features(ds: Path, shard: int, rows: slice, value: float) -> None:
    with h5py.File(ds / f"shards/shard-{shard:05d}.h5", "r+") as h5:
        h5["features"][rows] = value


def nan_in_npy(ds: Path) -> None:
    path = ds / "blocks/block-2/id-5.npy"
    x = np.load(path)
    x[10, 3] = np.nan
    np.save(path, x)


def h5_label(ds: Path) -> None:
    with h5py.File(ds / "shards/shard-00000.h5", "r+") as h5:
        h5["labels"][1] = 7


def h5_relabel(ds: Path) -> None:
    """Example 1 becomes a dog: a valid label, but not the manifest's nor the counts'."""
    with h5py.File(ds / "shards/shard-00000.h5", "r+") as h5:
        h5["labels"][0] = 1


def npy_label(ds: Path) -> None:
    path = ds / "blocks/block-1/labels.npy"
    labels = np.load(path)
    labels[1] = 7
    np.save(path, labels)


def h5_frame_runs(ds: Path) -> None:
    """The first run of the first shard labels a class the dataset does not have."""
    with h5py.File(ds / "shards/shard-00000.h5", "r+") as h5:
        assert len(h5["frame_events"]) > 0
        h5["frame_events"][0, 0] = 7


def npy_frame_runs(ds: Path) -> None:
    """A run of the first block with any that ends past the last frame."""
    for path in sorted(ds.glob("blocks/block-*/frame_events.npy")):
        events = np.load(path)
        if len(events):
            events[0, 2] = 500
            np.save(path, events)
            return
    raise AssertionError("no frame events to damage")


def edit_manifest(ds: Path, change: Callable[[list[str]], None]) -> None:
    """``change`` the manifest's lines in place (line 1 is lines[0], the header)."""
    path = ds / "manifest.csv"
    lines = path.read_text().splitlines()
    change(lines)
    path.write_text("\n".join(lines) + "\n")


def duplicate_row(lines: list[str]) -> None:
    lines.insert(4, lines[3])  # id 3 (line 4) again on line 5


def path_outside(lines: list[str]) -> None:
    fields = lines[2].split(",")
    fields[1] = "../outside"
    lines[2] = ",".join(fields)


def many_bad_ids(lines: list[str]) -> None:
    last = lines[-1].split(",")
    lines.extend(",".join([str(i), *last[1:]]) for i in range(10, 22))


def swap_rows(lines: list[str]) -> None:
    lines[1], lines[2] = lines[2], lines[1]  # ids 2, 1 on lines 2, 3


def wrong_label(lines: list[str]) -> None:
    lines[1] = lines[1].replace(",cat,", ",dog,")


def edit_json(ds: Path, change: Callable[[dict], None]) -> None:
    info = json.loads((ds / "dataset.json").read_text())
    change(info)
    (ds / "dataset.json").write_text(json.dumps(info))


def h5_float64(ds: Path) -> None:
    """/features of shard 0 rewritten as float64, with the same layout and filters."""
    with h5py.File(ds / "shards/shard-00000.h5", "r+") as h5:
        x = h5["features"][()]
        del h5["features"]
        h5.create_dataset(
            "features", data=x.astype(np.float64), chunks=(2, *x.shape[1:]), fletcher32=True
        )


def npy_float64(ds: Path) -> None:
    path = ds / "blocks/block-1/id-2.npy"
    np.save(path, np.load(path).astype(np.float64))


def change_attribute(ds: Path) -> None:
    with h5py.File(ds / "shards/shard-00001.h5", "r+") as h5:
        h5.attrs["spectrogram.n_fft"] = 1024


def add_stray_files(ds: Path) -> None:
    (ds / "shards/notes.txt").write_text("hello")
    (ds / "extra").mkdir()
    (ds / "extra/a.npy").write_text("")


def add_stray_npy(ds: Path) -> None:
    shutil.copy(ds / "blocks/block-1/id-1.npy", ds / "blocks/block-1/id-99.npy")


DAMAGE = {
    # name: (dataset, damage, lines that must start the output's problem lines)
    "flipped byte": (
        "hdf5",
        flip_feature_byte,
        [
            "shards/shard-00001.h5: example 4: /features chunk (examples 4..5) fails its checksum",
            "shards/shard-00001.h5: xxh3_128 differs from dataset.json",
        ],
    ),
    "flipped npy byte": (
        "npy",
        flip_npy_byte,
        [
            "blocks/block-2: xxh3_128 differs from dataset.json (changed since the build)",
        ],
    ),
    "truncated shard": (
        "hdf5",
        truncate,
        [
            "shards/shard-00002.h5: 4000 bytes, dataset.json says",
            "shards/shard-00002.h5: HDF5 cannot open it (Unable to synchronously open file "
            "(truncated file",
        ],
    ),
    "deleted example": (
        "npy",
        lambda ds: (ds / "blocks/block-2/id-5.npy").unlink(),
        [
            "blocks/block-2/id-5.npy: example 5: missing",
            "blocks/block-2: xxh3_128 differs from dataset.json",
        ],
    ),
    "stray files hdf5": (
        "hdf5",
        add_stray_files,
        [
            "shards/notes.txt: not part of the dataset (dataset.json does not list it)",
            "extra: folder not part of the dataset",
        ],
    ),
    "stray file npy": (
        "npy",
        add_stray_npy,
        [
            "blocks/block-1/id-99.npy: not part of the dataset (dataset.json does not list it)",
        ],
    ),
    "duplicated row": (
        "hdf5",
        lambda ds: edit_manifest(ds, duplicate_row),
        [
            "manifest.csv:5: example 3: repeats line 4",
            "manifest.csv: 10 rows, dataset.json counts 9 examples",
            "manifest.csv: 4 rows name shards/shard-00000.h5, which dataset.json says holds 3",
        ],
    ),
    "NaN hdf5": (
        "hdf5",
        lambda ds: set_features(ds, 1, slice(1, 2), np.nan),
        [
            "shards/shard-00001.h5: example 5: features not finite (NaN)\n",
        ],
    ),
    "NaN everywhere in a shard": (
        "hdf5",
        lambda ds: set_features(ds, 2, slice(0, 3), np.nan),
        [
            "shards/shard-00002.h5: example 7: features not finite (NaN); "
            "2 more example(s) in shards/shard-00002.h5\n",
        ],
    ),
    "NaN npy": (
        "npy",
        nan_in_npy,
        [
            "blocks/block-2/id-5.npy: example 5: features not finite (NaN)\n",
        ],
    ),
    "label out of range hdf5": (
        "hdf5",
        h5_label,
        [
            "shards/shard-00000.h5: example 2: label 7 is not a class id (0..1, or -1 for none)",
        ],
    ),
    "label out of range npy": (
        "npy",
        npy_label,
        [
            "blocks/block-1/labels.npy: example 2: label 7 is not a class id (0..1, "
            "or -1 for none)",
        ],
    ),
    "frame target out of range": (
        "events-npy",
        npy_frame_runs,
        [
            "blocks/block-1/frame_events.npy: frame_events hold a run outside 2 classes and "
            "101 frames",
        ],
    ),
    "frame run of no class": (
        "events-hdf5",
        h5_frame_runs,
        ["shards/shard-00000.h5: frame_events hold a run outside 2 classes and 101 frames"],
    ),
    "manifest path outside": (
        "npy",
        lambda ds: edit_manifest(ds, path_outside),
        [
            "manifest.csv:3: example 2: path ../outside leads out of the dataset folder",
        ],
    ),
    "label changed": (
        "hdf5",
        h5_relabel,
        [
            "dataset.json: counts.per_class['cat'] is 4, the label arrays hold 3",
            "dataset.json: counts.per_class['dog'] is 5, the label arrays hold 6",
            "manifest.csv:2: example 1: label 'cat', but shards/shard-00000.h5 stores 'dog'",
        ],
    ),
    "many bad rows are capped": (
        "npy",
        lambda ds: edit_manifest(ds, many_bad_ids),
        ["manifest.csv:20: example 19: id outside 1..9", "manifest.csv: 21 rows"]
        + ["manifest.csv: 2 more problem(s) of this kind: ids out of range"],
    ),
    "compression differs": (
        "hdf5",
        lambda ds: edit_json(ds, lambda info: info["config"]["storage"].update(compression="gzip")),
        [
            "shards/shard-00000.h5: /features has filters [fletcher32], storage config gives "
            "[shuffle[4], deflate[4], fletcher32]",
            "shards/shard-00000.h5: attribute storage.compression is 'none', dataset.json "
            "records 'gzip'",
        ],
    ),
    "chunks differ": (
        "events-hdf5",
        lambda ds: edit_json(ds, lambda info: info["config"]["storage"].update(chunk_examples=3)),
        [
            "shards/shard-00000.h5: /features is chunked (2, 257, 101), expected (3, 257, 101)",
        ],
    ),
    "rows swapped": (
        "npy",
        lambda ds: edit_manifest(ds, swap_rows),
        [
            "manifest.csv:2: example 2: follows id 0: ids go 1..9 in order",
            "manifest.csv:3: example 1: path blocks/block-1/id-1.npy sorts before "
            "blocks/block-1/id-2.npy above it (natural order)",
        ],
    ),
    "manifest label differs": (
        "hdf5",
        lambda ds: edit_manifest(ds, wrong_label),
        [
            "manifest.csv:2: example 1: label 'dog', but shards/shard-00000.h5 stores 'cat'",
        ],
    ),
    "listed shard missing": (
        "hdf5",
        lambda ds: (ds / "shards/shard-00002.h5").unlink(),
        [
            "shards/shard-00002.h5: listed in dataset.json but missing",
        ],
    ),
    "listed block missing": (
        "npy",
        lambda ds: shutil.rmtree(ds / "blocks/block-3"),
        [
            "blocks/block-3: listed in dataset.json but missing",
        ],
    ),
    "wrong dtype hdf5": (
        "hdf5",
        h5_float64,
        [
            "shards/shard-00000.h5: /features is float64, expected float32",
        ],
    ),
    "wrong dtype npy": (
        "npy",
        npy_float64,
        [
            "blocks/block-1/id-2.npy: example 2: holds float64 (257, 101), expected float32 "
            "(257, 101)",
        ],
    ),
    "attribute changed": (
        "events-hdf5",
        change_attribute,
        [
            "shards/shard-00001.h5: attribute spectrogram.n_fft is 1024, dataset.json records 512",
        ],
    ),
}


@pytest.mark.parametrize("case", DAMAGE)
def test_each_kind_of_damage_is_named(built, tmp_path, case):
    name, damage, expected = DAMAGE[case]
    ds = copy(built, name, tmp_path)
    damage(ds)
    result = run(ds)
    assert result.exit_code == 1
    lines = result.stdout.splitlines(keepends=True)
    for start in expected:
        assert any(line.startswith(start) for line in lines), (start, result.stdout)
    assert lines[-1] == f"failed: {len(lines) - 1} problem(s) in {ds}\n"


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (
            lambda ds: (ds / "dataset.json").unlink(),
            "dataset.json: not a complete spectroprep dataset (no dataset.json)",
        ),
        (
            lambda ds: edit_json(ds, lambda info: info.update(format_version=2)),
            "dataset.json: format version 2 is not supported (this spectroprep reads version 1)",
        ),
    ],
    ids=["missing", "unknown version"],
)
def test_an_unusable_dataset_json_is_the_one_problem(built, tmp_path, damage, expected):
    ds = copy(built, "npy", tmp_path)
    damage(ds)
    result = run(ds)
    assert result.exit_code == 1
    assert result.stdout == f"{expected}\nfailed: 1 problem(s) in {ds}\n"


def test_a_leftover_build_journal_is_named(built, tmp_path):
    ds = copy(built, "hdf5", tmp_path)
    (ds / JOURNAL).write_text('{"shard": 0}\n')
    result = run(ds)
    assert result.exit_code == 1
    assert result.stdout == (
        f"{JOURNAL}: left over from an interrupted build (run the build again with --resume "
        f"to finish it)\nfailed: 1 problem(s) in {ds}\n"
    )


def test_a_missing_folder_is_a_problem(tmp_path):
    result = run(tmp_path / "nowhere")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == f"{tmp_path / 'nowhere'}: no such folder"


def test_json_carries_the_same_problems(built, tmp_path):
    ds = copy(built, "hdf5", tmp_path)
    set_features(ds, 1, slice(1, 2), np.inf)
    text, as_json = run(ds), run(ds, "--json")
    assert text.exit_code == as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert report["ok"] is False and (report["examples"], report["files"]) == (9, 3)
    assert [p["line"] for p in report["problems"]] == text.stdout.splitlines()[:-1]
    assert {"file": "shards/shard-00001.h5", "example": 5} in [
        {"file": p["file"], "example": p["example"]} for p in report["problems"]
    ]
    undamaged = json.loads(run(built["hdf5"], "--json").stdout)
    assert report["warnings"] == undamaged["warnings"]  # the tiny corpus's own, no more

    report = json.loads(run(built["npy"], "--json").stdout)
    assert {k: report[k] for k in ("ok", "examples", "files", "problems", "recomputed")} == {
        "ok": True,
        "examples": 9,
        "files": 3,
        "problems": [],
        "recomputed": None,
    }


# -- digests ------------------------------------------------------------------------


def digest_of(path: Path, new: Callable[[], Any] = xxhash.xxh3_128) -> str:
    """A file's digest, or a block folder's: each file's name, a NUL and its bytes,
    in natural order of the names."""
    h = new()
    if path.is_file():
        h.update(path.read_bytes())
    else:
        for name in natural_sorted(p.name for p in path.iterdir()):
            h.update(name.encode() + b"\0" + (path / name).read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("name", ["hdf5", "npy", "events-npy"])
def test_dataset_json_names_the_xxh3_128_digest_of_each_file(built, name):
    files = json.loads((built[name] / "dataset.json").read_text())["files"]
    assert len(files) == 3
    for record in files:
        assert list(record) == ["path", "examples", "bytes", "xxh3_128"]
        assert record["xxh3_128"] == digest_of(built[name] / record["path"])


@pytest.mark.parametrize(
    ("name", "damage", "damaged"),
    [
        ("hdf5", flip_feature_byte, "shards/shard-00001.h5"),
        ("npy", flip_npy_byte, "blocks/block-2"),
    ],
)
def test_a_dataset_json_with_sha256_records_still_verifies_and_opens(
    built, tmp_path, name, damage, damaged
):
    """As datasets written before xxh3_128 record their files; their digests still
    guard the files."""
    ds = copy(built, name, tmp_path)

    def to_sha256(info: dict) -> None:
        for record in info["files"]:
            del record["xxh3_128"]
            record["sha256"] = digest_of(ds / record["path"], hashlib.sha256)

    edit_json(ds, to_sha256)
    result = run(ds)
    assert result.exit_code == 0, result.output
    with spectroprep.open_dataset(ds) as old, spectroprep.open_dataset(built[name]) as new:
        x, y = old.get_batch(np.arange(len(old)))
        x2, y2 = new.get_batch(np.arange(len(new)))
        assert np.array_equal(x, x2) and np.array_equal(y, y2)
    damage(ds)
    result = run(ds)
    assert result.exit_code == 1
    assert f"{damaged}: sha256 differs from dataset.json (changed since the build)\n" in (
        result.stdout
    )


def test_a_record_without_a_known_digest_is_malformed(built, tmp_path):
    ds = copy(built, "hdf5", tmp_path)

    def to_md5(info: dict) -> None:
        record = info["files"][0]
        record["md5"] = record.pop("xxh3_128")

    edit_json(ds, to_md5)
    result = run(ds)
    assert result.exit_code == 1
    assert result.stdout.startswith(
        "dataset.json: shards/shard-00000.h5: dataset.json gives md5 for this file, "
        "not one digest of xxh3_128 or sha256\n"
    )


def test_a_shard_is_the_same_bytes_whatever_was_written_before(tmp_path):
    """Shard images are made in a buffer each thread keeps: what an earlier, larger
    shard left there never shows in a later one."""
    storage = load_config().storage
    rng = np.random.default_rng(0)
    small = rng.standard_normal((3, 4, 5)).astype(np.float32)
    labels = {"labels": np.arange(3, dtype=np.int64)}
    written = {}

    def write(name: str, features: np.ndarray, attrs: dict[str, Any]) -> None:
        path = tmp_path / name
        digest = hdf5.write(path, features, labels, 1, attrs, storage)
        written[name] = (path.read_bytes(), digest)

    fresh = threading.Thread(target=write, args=("fresh.h5", small, {}))  # a new buffer
    fresh.start()
    fresh.join()
    large = rng.standard_normal((3, 40, 50)).astype(np.float32) + 1
    write("large.h5", large, {f"key{i}": "x" * 100 for i in range(50)})
    write("after.h5", small, {})
    (a, digest_a), (b, digest_b) = written["fresh.h5"], written["after.h5"]
    assert a == b and digest_a == digest_b == xxhash.xxh3_128(a).hexdigest()


def test_a_shard_image_reads_as_a_sparse_file():
    """Bytes HDF5 has not written are zeros, even in a buffer an earlier shard filled."""
    image = hdf5._ImageFile(bytearray(b"\xff" * 64))
    image.seek(8)
    image.write(b"ab")
    image.truncate(16)
    with image.image() as view:
        assert bytes(view) == bytes(8) + b"ab" + bytes(6)


def test_a_failed_allocation_reaches_the_caller_not_hdf5(tmp_path, monkeypatch):
    """HDF5 crashes the process when a write fails and the file is then closed: the
    image keeps the error from it and raises it once HDF5 is done."""

    def no_memory(self: hdf5._ImageFile, size: int) -> None:
        raise MemoryError

    monkeypatch.setattr(hdf5._ImageFile, "_reserve", no_memory)
    features = np.zeros((2, 3, 4), dtype=np.float32)
    with pytest.raises(MemoryError):
        hdf5.write(tmp_path / "shard.h5", features, {}, 1, {}, load_config().storage)
    assert not (tmp_path / "shard.h5").exists()


# -- recompute ----------------------------------------------------------------------


def with_own_audio(built: dict[str, Path], name: str, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of a dataset whose dataset.json points at a copy of its audio."""
    ds = copy(built, name, tmp_path)
    audio = Path(shutil.copytree(built[name].parent / "audio", tmp_path / "audio"))
    edit_json(ds, lambda info: info["provenance"]["inputs"].update(root=str(audio)))
    return ds, audio


@pytest.mark.parametrize("name", ["hdf5", "events-npy"])
def test_recompute_finds_a_source_that_changed(built, tmp_path, name):
    ds, audio = with_own_audio(built, name, tmp_path)
    write_audio(audio / "dog/bark10.wav", *AUDIO["dog/bark10.wav"], seed=99)  # same length
    result = run(ds, "--recompute", 100)
    assert result.exit_code == 1
    changed = [line for line in result.stdout.splitlines() if "features differ" in line]
    assert [line.split(": features differ")[0] for line in changed] == (
        ["shards/shard-00002.h5: example 8", "shards/shard-00002.h5: example 9"]
        if name == "hdf5"
        else ["blocks/block-3/id-8.npy: example 8", "blocks/block-3/id-9.npy: example 9"]
    )
    assert "from dog/bark10.wav at 1 s (max difference" in changed[1]
    assert run(ds).exit_code == 0  # without --recompute nothing is wrong with the files


def test_recompute_only_warns_when_a_source_is_gone(built, tmp_path):
    ds, audio = with_own_audio(built, "npy", tmp_path)
    (audio / "cat/meow3.wav").unlink()
    result = run(ds, "--recompute", 9)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "recomputed 8 of 9 example(s) from their source audio: max difference 0 (0 of the "
        "example's range)",
        "ok: 9 examples in 3 files",
    ]
    gone = [line for line in result.stderr.splitlines() if "not recomputed" in line]
    assert gone == [f"warning: example 4: not recomputed: source {audio / 'cat/meow3.wav'} is gone"]


def test_recompute_picks_n_examples_with_the_seed(built, tmp_path):
    ds, audio = with_own_audio(built, "hdf5", tmp_path)
    shutil.rmtree(audio)  # every recomputed example warns: the warnings tell which they are

    def picked(n: int, seed: int) -> list[int | None]:
        warnings = verify(ds, recompute=n, seed=seed).warnings
        return [w.example for w in warnings if "not recomputed" in w.message]

    assert len(set(picked(4, seed=1))) == 4
    assert picked(4, seed=1) == picked(4, seed=1) != picked(4, seed=2)
    assert sorted(picked(100, seed=0)) == list(range(1, 10))
    assert picked(0, seed=0) == []
