"""``spectroprep shard`` on real built datasets: re-layout round trips, shuffling,
splits without leakage, stratification, statistics, provenance and bad arguments."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import build, run_command, tree_checksums, write_audio

from spectroprep.dataset.manifest import read_manifest
from spectroprep.dataset.stats import BinStats
from spectroprep.errors import ConfigError, DatasetError, InputError
from spectroprep.read.reader import open_dataset
from spectroprep.reshard import shard
from spectroprep.reshard.split import assign_groups
from spectroprep.verify import verify

# unbalanced classes: 24 / 11 / 5 source files of 1 to 3 windows each
CLASSES = {"bird": 24, "car": 11, "dog": 5}
SMALL = ("storage.shard_examples=7", "storage.block_size=5", "storage.chunk_examples=2")
EVENTS = (
    "filename\tonset\toffset\tevent_label\nbird4.wav\t0.5\t1.5\tsong\ncar2.wav\t0.2\t0.6\thorn\n"
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Datasets built once from 40 files with speaker and fold metadata: labelled
    from folders (HDF5 and npy), and with events (frame targets)."""
    base = tmp_path_factory.mktemp("shard")
    meta = ["path,speaker,fold"]
    seed = 0
    for cls, files in CLASSES.items():
        for i in range(files):
            name = f"{cls}/{cls}{i}.wav"
            write_audio(base / "audio" / name, 1.0 + seed % 3, 8000, seed=seed)
            meta.append(f"{name},spk{seed % 7},{seed % 3 + 1}")
            seed += 1
    (base / "meta.csv").write_text("\n".join(meta) + "\n")
    (base / "events.tsv").write_text(EVENTS)
    common = {"metadata": base / "meta.csv", "overrides": SMALL}
    return {
        "hdf5": build(base / "audio", base / "hdf5", labels_from_folders=True, **common),
        "npy": build(
            base / "audio", base / "npy", labels_from_folders=True, format="npy", **common
        ),
        "events": build(base / "audio", base / "events", events=base / "events.tsv", **common),
    }


def features(path: Path) -> np.ndarray:
    with open_dataset(path) as ds:
        return ds.get_batch(np.arange(len(ds)))[0]


def file_hashes(root: Path, pattern: str) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.glob(pattern))]


def origin_ids(path: Path) -> np.ndarray:
    return np.array([int(r.extra["origin_id"]) for r in read_manifest(path / "manifest.csv")])


def info(path: Path) -> dict:
    return json.loads((path / "dataset.json").read_text())


def test_hdf5_npy_hdf5_round_trip_is_bit_identical(built, tmp_path):
    src = built["hdf5"]
    npy = shard(src, tmp_path / "npy", format="npy", jobs=2).datasets[""]
    back = shard(npy, tmp_path / "back", format="hdf5", jobs=2).datasets[""]
    for path in (npy, back):
        assert verify(path).ok
    original = features(src)
    assert original.dtype == np.float32
    assert np.array_equal(features(npy), original)
    assert np.array_equal(features(back), original)
    # the same layout gives the same shard files, to the byte
    assert file_hashes(back, "shards/*.h5") == file_hashes(src, "shards/*.h5")
    rows, again = read_manifest(src / "manifest.csv"), read_manifest(back / "manifest.csv")
    assert [(r.id, r.label, r.source, r.start, r.duration, r.extra["speaker"]) for r in rows] == [
        (r.id, r.label, r.source, r.start, r.duration, r.extra["speaker"]) for r in again
    ]
    assert [r.extra["origin_id"] for r in again] == [str(r.id) for r in rows]
    with open_dataset(src) as a, open_dataset(back) as b:
        assert np.array_equal(a.labels, b.labels)


def test_events_keep_their_frame_targets_through_npy(built, tmp_path):
    src = built["events"]
    npy = shard(src, tmp_path / "npy", format="npy", shuffle=True, seed=5, jobs=1).datasets[""]
    assert verify(npy).ok
    order = origin_ids(npy) - 1
    with open_dataset(src, targets="frames") as a, open_dataset(npy, targets="frames") as b:
        x, frames = a.get_batch(order)
        y, frames_b = b.get_batch(np.arange(len(b)))
        assert np.array_equal(x, y) and np.array_equal(frames, frames_b)
        assert frames.any()
    assert info(npy)["counts"]["active_frames"] == info(src)["counts"]["active_frames"]


def test_shuffle_is_a_deterministic_permutation(built, tmp_path):
    src = built["npy"]
    first = shard(src, tmp_path / "a", format="hdf5", shuffle=True, seed=7, jobs=2).datasets[""]
    again = shard(src, tmp_path / "b", format="hdf5", shuffle=True, seed=7, jobs=1).datasets[""]
    other = shard(src, tmp_path / "c", format="hdf5", shuffle=True, seed=8, jobs=2).datasets[""]
    n = len(open_dataset(src))
    order = origin_ids(first)
    assert sorted(order.tolist()) == list(range(1, n + 1))
    assert not np.array_equal(order, np.arange(1, n + 1))
    assert file_hashes(first, "shards/*.h5") == file_hashes(again, "shards/*.h5")
    assert not np.array_equal(origin_ids(other), order)
    # every example is the source example its origin id names, with its label
    with open_dataset(src) as a, open_dataset(first) as b:
        x, y = a.get_batch(order - 1)
        x2, y2 = b.get_batch(np.arange(n))
        assert np.array_equal(x, x2) and np.array_equal(y, y2)
    by_id = {r.id: r for r in read_manifest(src / "manifest.csv")}
    for row in read_manifest(first / "manifest.csv"):
        old = by_id[int(row.extra["origin_id"])]
        assert (row.source, row.start, row.label) == (old.source, old.start, old.label)
    assert info(first)["derivation"]["shuffle"] == {"seed": 7}
    assert verify(first, recompute=4).ok  # the audio root travels with the provenance


@pytest.mark.parametrize("group_by", ["source", "speaker"])
def test_no_group_is_in_two_splits(built, tmp_path, group_by):
    done = shard(
        built["hdf5"],
        tmp_path / "split",
        split="train=0.6,val=0.2,test=0.2",
        group_by=group_by,
        shuffle=True,
        jobs=2,
    )
    assert list(done.datasets) == ["train", "val", "test"]
    groups, seen = {}, []
    for name, path in done.datasets.items():
        assert verify(path).ok
        rows = read_manifest(path / "manifest.csv")
        key = (lambda r: r.source) if group_by == "source" else (lambda r: r.extra[group_by])
        groups[name] = {key(r) for r in rows}
        seen += [int(r.extra["origin_id"]) for r in rows]
    assert sorted(seen) == list(range(1, len(open_dataset(built["hdf5"])) + 1))
    names = list(groups)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not groups[a] & groups[b], (a, b)
    assert 0.4 < done.shares["train"]["share"] < 0.8


def test_stratified_shares_follow_the_ratios_on_unbalanced_classes(built, tmp_path):
    ratios = {"train": 0.6, "val": 0.2, "test": 0.2}
    done = shard(
        built["npy"],
        tmp_path / "split",
        split=",".join(f"{k}={v}" for k, v in ratios.items()),
        stratify=True,
        jobs=1,
    )
    counts = {name: info(path)["counts"]["per_class"] for name, path in done.datasets.items()}
    totals = {c: sum(counts[s][c] for s in counts) for c in CLASSES}
    for name, ratio in ratios.items():
        for cls in CLASSES:
            share = counts[name][cls] / totals[cls]
            assert abs(share - ratio) <= 0.1, (name, cls, share)
            assert done.shares[name]["per_class"][cls] == pytest.approx(share, abs=1e-4)
        assert abs(done.shares[name]["share"] - ratio) <= 0.05
    record = info(done.datasets["val"])["derivation"]["split"]
    assert record["stratify"] and record["achieved"] == done.shares


def test_every_split_records_the_training_statistics_recomputed(built, tmp_path):
    done = shard(built["hdf5"], tmp_path / "s", split="train=0.7,test=0.3", dtype="float16", jobs=2)
    train = done.datasets["train"]
    stored = features(train)
    assert stored.dtype == np.float16
    x = stored.astype(np.float64)
    stats = info(train)["statistics"]
    np.testing.assert_allclose(stats["mean"], x.mean(axis=(0, 2)), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(stats["std"], x.std(axis=(0, 2)), rtol=1e-10)
    assert stats["global"]["mean"] == pytest.approx(x.mean(), rel=1e-12)
    assert info(done.datasets["test"])["statistics"] == stats
    assert info(done.datasets["test"])["derivation"]["split"]["statistics_from"] == "train"
    # the test split's own statistics differ: they were not used
    own = BinStats.of(features(done.datasets["test"])).to_dict()
    assert own["mean"] != stats["mean"]
    # a plain re-layout recomputes the source's statistics (same values, float64 sums)
    whole = shard(built["hdf5"], tmp_path / "whole", shard_size="1MB", jobs=1).datasets[""]
    np.testing.assert_allclose(
        info(whole)["statistics"]["std"], info(built["hdf5"])["statistics"]["std"], rtol=1e-12
    )


def test_layout_options_and_provenance(built, tmp_path):
    src = built["hdf5"]
    out = shard(
        src, tmp_path / "o", shard_size="1MB", chunk_size=4, compression="gzip:1", jobs=1
    ).datasets[""]
    description = info(out)
    shape = description["features"]["shape"]
    per_example = shape[0] * shape[1] * 4
    assert description["config"]["storage"]["shard_examples"] == 10**6 // per_example
    assert description["config"]["storage"]["compression"] == "gzip:1"
    with h5py.File(out / "shards/shard-00000.h5") as h5:
        assert h5["features"].chunks[0] == 4
        assert h5["features"].compression == "gzip"
    assert np.array_equal(features(out), features(src))
    derived = description["provenance"]["derived_from"]
    assert derived["fingerprint"] == hashlib.sha256((src / "dataset.json").read_bytes()).hexdigest()
    assert derived["provenance"] == info(src)["provenance"]
    assert description["provenance"]["inputs"] == info(src)["provenance"]["inputs"]
    assert verify(out).ok


def test_split_column_uses_the_predefined_folds(built, tmp_path):
    done = shard(built["hdf5"], tmp_path / "folds", split_column="fold", jobs=1)
    assert list(done.datasets) == ["fold-1", "fold-2", "fold-3"]
    assert done.statistics_from is None  # no "train" split: each keeps its own
    for name, path in done.datasets.items():
        assert verify(path).ok
        assert {r.extra["fold"] for r in read_manifest(path / "manifest.csv")} == {name[-1]}
        assert info(path)["derivation"]["split"]["statistics_from"] == name
    again = shard(built["hdf5"], tmp_path / "f2", split_column="fold", train_split="fold-1", jobs=1)
    stats = info(again.datasets["fold-1"])["statistics"]
    assert info(again.datasets["fold-3"])["statistics"] == stats


def test_a_non_empty_output_is_refused_unless_overwritten(built, tmp_path):
    out = tmp_path / "o"
    shard(built["hdf5"], out, split="train=0.5,test=0.5", jobs=1)
    before = file_hashes(out, "*/dataset.json")
    with pytest.raises(Exception, match="not empty"):
        shard(built["hdf5"], out, jobs=1)
    assert file_hashes(out, "*/dataset.json") == before
    shard(built["hdf5"], out, shuffle=True, overwrite=True, jobs=1)
    assert verify(out).ok and not (out / "train").exists()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(Exception, match="notes.txt is not part of a dataset"):
        shard(built["hdf5"], out, overwrite=True, jobs=1)


def test_a_damaged_source_stops_with_its_name_and_leaves_nothing(built, tmp_path):
    src = Path(shutil.copytree(built["hdf5"], tmp_path / "src"))
    shard_file = src / "shards" / "shard-00001.h5"
    with h5py.File(shard_file) as h5:
        offset = h5["features"].id.get_chunk_info(0).byte_offset
    data = bytearray(shard_file.read_bytes())
    data[offset + 100] ^= 0xFF
    shard_file.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="shard-00001.h5: cannot read"):
        shard(src, tmp_path / "out", jobs=2)
    assert not (tmp_path / "out").exists()
    # over an earlier dataset: it is put back as it was
    earlier = shard(built["hdf5"], tmp_path / "earlier", format="npy", jobs=1).datasets[""]
    before = tree_checksums(earlier)
    with pytest.raises(DatasetError, match="shard-00001.h5: cannot read"):
        shard(src, earlier, overwrite=True, jobs=2)
    assert tree_checksums(earlier) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--split", "train=0.8,val=0.1,test=0.2"], "the ratios sum to 1.1, not 1"),
        (["--split", "train=0.8,val"], "'val' is not NAME=RATIO"),
        (["--split", "train=0.5,test=0.5", "--group-by", "site"], "no column 'site'"),
        (["--split-column", "room"], "no column 'room'"),
        (["--shard-size", "lots"], "not a number of examples or a size like 256MB"),
        (["--stratify"], "--stratify and --group-by apply to --split"),
    ],
)
def test_bad_arguments_give_one_line(built, tmp_path, args, message):
    done = run_command("shard", built["hdf5"], "--out", tmp_path / "o", "-q", *args)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert not (tmp_path / "o").exists()


def test_a_missing_source_is_one_line(tmp_path):
    done = run_command("shard", tmp_path / "nope", "--out", tmp_path / "o")
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {tmp_path / 'nope'}: no such dataset folder"


def test_unlabelled_and_nested_requests_are_refused(tmp_path):
    write_audio(tmp_path / "audio" / "a.wav", 1.0, 8000)
    write_audio(tmp_path / "audio" / "b.wav", 1.0, 8000, seed=1)
    ds = build(tmp_path / "audio", tmp_path / "unlabelled")
    with pytest.raises(ConfigError, match="--stratify needs a labelled dataset"):
        shard(ds, tmp_path / "o", split="train=0.5,test=0.5", stratify=True)
    for out in (ds, ds / "inside", tmp_path):
        with pytest.raises(InputError, match="must be outside"):
            shard(ds, out, overwrite=True)
    assert verify(ds).ok
    with pytest.raises(ConfigError, match="split test would be empty"):
        shard(ds, tmp_path / "o", split="train=0.9,val=0.05,test=0.05")
    assert not (tmp_path / "o").exists()


def test_the_command_reports_the_achieved_shares(built, tmp_path):
    done = run_command(
        "shard",
        built["npy"],
        "--out",
        tmp_path / "o",
        "--split",
        "train=0.8,test=0.2",
        "--stratify",
        "--shuffle",
        "--seed",
        "1",
        "-j",
        "2",
        "-q",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("train: ") and "(asked 0.8); per class" in lines[0]
    assert lines[1].startswith("test: ")
    command = info(tmp_path / "o" / "train")["provenance"]["command"]
    assert command[:2] == ["spectroprep", "shard"] and "--stratify" in command
    summary = run_command("info", tmp_path / "o" / "test").stdout
    assert f"derived   from {built['npy'].resolve()}, split test, shuffled (seed 1)" in summary


@pytest.mark.parametrize("stratify", [False, True])
def test_few_groups_still_fill_every_split(stratify):
    sizes = np.full(8, 3)  # 8 equal files of 4 classes: 0.1 of them is less than one file
    counts = np.zeros((8, 4), dtype=np.int64)
    counts[np.arange(8), np.arange(8) % 4] = sizes
    split_of = assign_groups(sizes, [0.8, 0.1, 0.1], 0, counts if stratify else None)
    assert np.bincount(split_of, minlength=3).tolist() == [6, 1, 1]
