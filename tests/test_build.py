import csv
import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import (
    CORPUS_WINDOWS,
    assert_log_power_close,
    build,
    reference_audio,
    reference_default_power,
    reference_windows,
    tree_checksums,
    write_audio,
)

import spectroprep
from spectroprep.dataset.manifest import read_manifest
from spectroprep.errors import InputError, OutputError

NATURAL_ORDER = [
    "cat/clip1.flac",
    "cat/clip3.wav",
    "cat/clip20.wav",
    "dog/clip1.wav",
    "dog/clip2.flac",
    "dog/clip10.wav",
]
WINDOWS = CORPUS_WINDOWS


def assert_matches_independent_computation(ds, audio_root: Path):
    """Every example equals scipy on the source audio (decoded and resampled whole)."""
    rows = read_manifest(ds.path / "manifest.csv")
    assert len(rows) == len(ds)
    by_source: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_source.setdefault(row.source, []).append(i)
    for source, positions in by_source.items():
        x = reference_audio(audio_root / source, 16000)
        expected = reference_default_power(reference_windows(x, 16000, 16000, len(positions)))
        features, _ = ds.get_batch(positions)
        assert_log_power_close(features, expected)


@pytest.mark.parametrize("fmt", ["hdf5", "npy"])
def test_round_trip_matches_scipy_and_the_manifest(corpus, tmp_path, fmt):
    out = build(
        corpus,
        tmp_path / "ds",
        labels_from_folders=True,
        format=fmt,
        overrides=["storage.shard_examples=5", "storage.block_size=5"],
    )
    ds = spectroprep.open_dataset(out)
    assert len(ds) == sum(WINDOWS.values()) == 12
    assert ds.classes == ["cat", "dog"]
    assert ds.shape == (257, 101)
    assert ds.params["storage"]["format"] == fmt
    rows = read_manifest(out / "manifest.csv")
    # sources in natural order, each window once, ids 1..N
    assert [r.id for r in rows] == list(range(1, 13))
    assert list(dict.fromkeys(r.source for r in rows)) == NATURAL_ORDER
    assert [sum(r.source == s for r in rows) for s in NATURAL_ORDER] == list(WINDOWS.values())
    assert [r.label for r in rows] == [
        s.split("/")[0] for s in NATURAL_ORDER for _ in range(WINDOWS[s])
    ]
    # starts and real-audio durations of cat/clip1.flac (3.0 s) and dog/clip2.flac (1.2 s)
    assert [(r.start, r.duration) for r in rows[:3]] == [(0.0, 1.0), (1.0, 1.0), (2.0, 1.0)]
    clip2 = [(r.start, r.duration) for r in rows if r.source == "dog/clip2.flac"]
    assert clip2 == [(0.0, 1.0), (1.0, 0.2)]
    # every manifest path exists inside the dataset and holds that example
    for i, row in enumerate(rows):
        assert (out / row.path).is_file()
        features, label = ds[i]
        assert ds.classes[label] == row.label
        if fmt == "npy":
            np.testing.assert_array_equal(np.load(out / row.path, allow_pickle=False), features)
        else:
            with h5py.File(out / row.path) as h5:
                np.testing.assert_array_equal(h5["features"][row.index], features)
                assert h5["example_id"][row.index] == row.id
    assert_matches_independent_computation(ds, corpus)
    info = json.loads((out / "dataset.json").read_text())
    assert info["counts"]["examples"] == 12
    assert info["counts"]["per_class"] == {"cat": 6, "dog": 6}
    assert [f["examples"] for f in info["files"]] == [4, 4, 4]  # at most 5, equal
    assert info["files"][0]["path"] == (
        "shards/shard-00000.h5" if fmt == "hdf5" else "blocks/block-1"
    )


def test_hdf5_layout_is_chunked_compressed_and_self_describing(corpus, tmp_path):
    out = build(
        corpus,
        tmp_path / "ds",
        labels_from_folders=True,
        overrides=[
            "storage.compression=gzip:1",
            "storage.chunk_examples=2",
            "storage.dtype=float16",
        ],
    )
    with h5py.File(out / "shards" / "shard-00000.h5") as h5:
        features = h5["features"]
        assert features.shape == (12, 257, 101) and features.dtype == np.float16
        assert features.chunks == (2, 257, 101)
        assert features.compression == "gzip" and features.compression_opts == 1
        assert features.shuffle and features.fletcher32
        assert h5["labels"].dtype == np.int64 and h5["example_id"][0] == 1
        assert h5.attrs["spectrogram.n_fft"] == 512
        assert h5.attrs["storage.compression"] == "gzip:1"
        assert json.loads(h5.attrs["classes"]) == ["cat", "dog"]


@pytest.mark.parametrize("codec", ["lzf", "blosc2-lz4", "blosc2-zstd:3"])
def test_every_codec_reads_back_what_none_wrote(corpus, tmp_path, codec):
    plain = spectroprep.open_dataset(build(corpus, tmp_path / "none", labels_from_folders=True))
    packed = spectroprep.open_dataset(
        build(
            corpus,
            tmp_path / "packed",
            labels_from_folders=True,
            overrides=[f"storage.compression={codec}"],
        )
    )
    np.testing.assert_array_equal(packed.get_batch(range(12))[0], plain.get_batch(range(12))[0])
    filters = {"lzf": "lzf", "blosc2-lz4": "32026", "blosc2-zstd:3": "32026"}  # 32026: Blosc2
    with h5py.File(packed.path / packed.files[0].path) as h5:
        assert filters[codec] in h5["features"]._filters
    assert packed.files[0].bytes < plain.files[0].bytes


@pytest.mark.parametrize("fmt", ["hdf5", "npy"])
def test_output_is_byte_identical_for_any_number_of_jobs(corpus, tmp_path, fmt):
    args = dict(
        labels_from_folders=True,
        format=fmt,
        overrides=["storage.shard_examples=3", "storage.block_size=3"],
    )
    one = build(corpus, tmp_path / "one", **args, jobs=1)
    two = build(corpus, tmp_path / "two", **args, jobs=2)
    sums_one, sums_two = tree_checksums(one), tree_checksums(two)
    assert len(sums_one) > 4
    assert sums_one == sums_two


@pytest.mark.parametrize(
    "pad, lengths, expected",
    [
        ("zero", [0.4, 1.0, 2.3, 3.0], [1, 1, 3, 3]),
        ("drop", [0.4, 1.0, 2.3, 3.0], [0, 1, 2, 3]),
    ],
)
def test_window_counts_for_known_lengths(tmp_path, pad, lengths, expected):
    audio = tmp_path / "audio"
    for i, seconds in enumerate(lengths, start=1):
        write_audio(audio / f"clip{i}.wav", seconds, 16000, seed=i)
    ds = spectroprep.open_dataset(build(audio, tmp_path / "ds", overrides=[f"segment.pad={pad}"]))
    rows = read_manifest(ds.path / "manifest.csv")
    counts = [sum(r.source == f"clip{i}.wav" for r in rows) for i in range(1, 5)]
    assert counts == expected
    assert ds.label_kind == "none" and ds[0][1] is None


def test_overlapping_windows_and_seed_recipe(tmp_path):
    audio = tmp_path / "audio"
    write_audio(audio / "a.wav", 2.0, 16000, seed=1)  # resampled to 8 kHz
    ds = spectroprep.open_dataset(
        build(audio, tmp_path / "ds", config="seed-8k", overrides=["segment.hop=0.5"])
    )
    assert len(ds) == 3 and ds.shape == (257, 400)
    rows = read_manifest(ds.path / "manifest.csv")
    assert [r.start for r in rows] == [0.0, 0.5, 1.0]


def test_labels_from_csv_and_from_a_listing(corpus, tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "path,label\n"
        + "".join(f"{s},{'bark' if 'dog' in s else 'meow'}\n" for s in reversed(NATURAL_ORDER))
    )
    ds = spectroprep.open_dataset(build(corpus, tmp_path / "a", labels=labels))
    assert ds.classes == ["bark", "meow"]
    _, y = ds.get_batch(range(len(ds)))
    assert list(y) == [1] * 6 + [0] * 6

    listing = corpus / "list.csv"
    listing.write_text("path,label\ndog/clip10.wav,x\ncat/clip3.wav,y\n")
    ds = spectroprep.open_dataset(build(listing, tmp_path / "b"))
    rows = read_manifest(ds.path / "manifest.csv")
    assert [r.source for r in rows] == ["cat/clip3.wav", "dog/clip10.wav"]
    assert [r.label for r in rows] == ["y", "x"]


def test_label_problems_are_caught_before_anything_is_written(corpus, tmp_path):
    out = tmp_path / "ds"
    labels = tmp_path / "labels.csv"
    labels.write_text("path,label\ncat/clip1.flac,cat\nghost.wav,cat\n")
    with pytest.raises(InputError, match=r"labels\.csv:3: ghost\.wav is not among the input"):
        build(corpus, out, labels=labels)
    labels.write_text("path,label\ncat/clip1.flac,cat\n")
    with pytest.raises(InputError, match=r"clip3\.wav: no label in .*labels\.csv \(5 input file"):
        build(corpus, out, labels=labels)
    labels.write_text("path,label\ncat/clip1.flac,\n")
    with pytest.raises(InputError, match=r"labels\.csv:2: empty label$"):
        build(corpus, out, labels=labels)
    labels.write_text("file,class\n")
    with pytest.raises(InputError, match=r"labels\.csv: missing column\(s\) path, label"):
        build(corpus, out, labels=labels)
    assert not out.exists()


def test_input_problems_are_clear(tmp_path):
    with pytest.raises(InputError, match=r"nowhere: no such folder or file"):
        build(tmp_path / "nowhere", tmp_path / "ds")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no audio here")
    with pytest.raises(InputError, match=r"empty: no audio files found"):
        build(tmp_path / "empty", tmp_path / "ds")
    audio = tmp_path / "audio"
    write_audio(audio / "clip1.wav", 0.5, 16000)
    (audio / "clip2.wav").write_text("not audio")
    (audio / "clip3.flac").write_bytes(b"")
    with pytest.raises(
        InputError, match=r"2 unreadable input file\(s\):\n.*clip2\.wav.*\n.*clip3\.flac"
    ):
        build(audio, tmp_path / "ds")
    with pytest.raises(InputError, match=r"every file is empty or shorter than segment\.length"):
        build(audio / "clip1.wav", tmp_path / "ds", overrides=["segment.pad=drop"])
    with pytest.raises(InputError, match=r"clip1\.wav:1: not UTF-8 text"):
        build(audio / "clip1.wav", tmp_path / "ds", labels=audio / "clip1.wav")


def test_overwrite_never_deletes_files_a_build_did_not_write(corpus, tmp_path):
    out = tmp_path / "proj"
    (out / "blocks").mkdir(parents=True)
    (out / "blocks" / "notes.txt").write_text("precious")
    (out / "manifest.csv").write_text("mine")
    with pytest.raises(OutputError, match=r"will not overwrite, blocks/notes\.txt is not part"):
        build(corpus, out, overwrite=True)
    assert (out / "blocks" / "notes.txt").read_text() == "precious"
    assert (out / "manifest.csv").read_text() == "mine"


def test_a_failed_overwrite_puts_the_old_dataset_back(corpus, tmp_path):
    out = build(corpus, tmp_path / "ds", labels_from_folders=True)
    before = tree_checksums(out)
    # truncated after the header pass: only the worker decoding it finds out
    clip = corpus / "cat" / "clip1.flac"
    clip.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    with pytest.raises(InputError, match=r"clip1\.flac: (cannot decode audio|audio ends at)"):
        build(corpus, out, labels_from_folders=True, format="npy", overwrite=True)
    assert tree_checksums(out) == before
    assert len(spectroprep.open_dataset(out)) == 12


def test_output_that_is_a_file_is_refused(corpus, tmp_path):
    (tmp_path / "afile").write_text("")
    with pytest.raises(OutputError, match=r"afile/sub: cannot prepare the output folder"):
        build(corpus, tmp_path / "afile" / "sub")
    with pytest.raises(OutputError, match=r"afile: exists and is not a folder"):
        build(corpus, tmp_path / "afile")


def test_inputs_without_examples_are_listed_in_rejected_csv(tmp_path):
    audio = tmp_path / "audio"
    write_audio(audio / "clip1.wav", 1.5, 16000)
    write_audio(audio / "clip2.wav", 0.5, 16000)
    write_audio(audio / "clip3.wav", 0.0, 16000)
    out = build(audio, tmp_path / "ds", overrides=["segment.pad=drop"])
    with (out / "rejected.csv").open(newline="") as f:
        rejected = list(csv.DictReader(f))
    assert [r["path"] for r in rejected] == ["clip2.wav", "clip3.wav"]
    assert rejected[0]["reason"] == "shorter than one window (segment.length 1.0 s, pad = drop)"
    assert rejected[1]["reason"] == "no audio frames"
    info = json.loads((out / "dataset.json").read_text())
    assert (info["counts"]["sources"], info["counts"]["rejected"]) == (1, 2)
    padded = build(audio, tmp_path / "padded")  # pad = zero keeps clip2, still not clip3
    assert (padded / "rejected.csv").read_text().splitlines()[1:] == ["clip3.wav,no audio frames"]


def test_a_channel_the_file_lacks_is_caught_in_the_header_pass(corpus, tmp_path):
    with pytest.raises(InputError, match=r"5 unreadable.*\n.*clip3\.wav: audio\.mono = 1 but"):
        build(corpus, tmp_path / "ds", overrides=["audio.mono=1"])
    assert not (tmp_path / "ds").exists()


def test_refuses_a_non_empty_output_unless_overwriting_a_dataset(corpus, tmp_path):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="output folder is not empty"):
        build(corpus, out)
    with pytest.raises(OutputError, match="notes.txt is not part of a dataset"):
        build(corpus, out, overwrite=True)
    assert (out / "notes.txt").read_text() == "mine"
    (out / "notes.txt").unlink()
    build(corpus, out, format="npy")
    build(corpus, out, overwrite=True)  # replaces the npy dataset with an HDF5 one
    assert not (out / "blocks").exists() and (out / "shards").is_dir()


def test_a_few_hundred_files_of_mixed_formats_and_rates(tmp_path):
    """Acceptance: every example of a 240-file build equals scipy on its source audio."""
    audio = tmp_path / "audio"
    kinds = [
        ("wav", 16000, 1),
        ("flac", 44100, 1),
        ("wav", 8000, 2),
        ("flac", 22050, 2),
        ("ogg", 48000, 1),
        ("aiff", 11025, 1),
        ("wav", 32000, 1),
        ("flac", 16000, 2),
    ]
    for i in range(240):
        ext, rate, channels = kinds[i % len(kinds)]
        write_audio(
            audio / f"group{i % 3}" / f"clip{i}.{ext}",
            0.3 + (i % 7) * 0.35,
            rate,
            channels=channels,
            seed=i,
        )
    out = build(
        audio,
        tmp_path / "ds",
        labels_from_folders=True,
        jobs=2,
        overrides=["storage.shard_examples=64"],
    )
    ds = spectroprep.open_dataset(out)
    assert len(ds) > 240 and len(ds.files) > 4
    assert_matches_independent_computation(ds, audio)
