"""Label kinds end to end: expectations are computed here, independently of spectroprep.

Weak labels are worked out with exact fractions of seconds; frame centres come
from scipy (scipy.signal.stft for centred frames, scipy.signal.spectrogram
otherwise), so the frame-grid convention is checked against another library.
"""

from __future__ import annotations

import csv
import json
from fractions import Fraction
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.signal
import soundfile as sf
from click.testing import CliRunner
from conftest import build, write_audio

import spectroprep
from spectroprep.cli.main import cli
from spectroprep.dataset.manifest import read_manifest
from spectroprep.errors import DatasetError

RATE = 16000


def write_table(path: Path, rows: list[tuple[str, ...]], delimiter: str = "\t") -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f, delimiter=delimiter, lineterminator="\n")
        writer.writerow(["filename", "onset", "offset", "event_label"])
        writer.writerows(rows)
    return path


# -- independent expectations --------------------------------------------------


def frame_centres(overrides: dict[str, object], window: int) -> list[Fraction]:
    """Frame centre times (s, from the window start) as scipy defines them."""
    win, hop, n_fft = 400, 160, 512
    x = np.zeros(window)
    if overrides.get("spectrogram.center", True):
        _, t, _ = scipy.signal.stft(
            x, fs=RATE, nperseg=win, noverlap=win - hop, nfft=n_fft, boundary="zeros", padded=False
        )
    else:
        _, t, _ = scipy.signal.spectrogram(x, fs=RATE, nperseg=win, noverlap=win - hop, nfft=n_fft)
    return [Fraction(round(2 * c * RATE), 2 * RATE) for c in t]


def union_in(events: list[tuple[Fraction, Fraction]], lo: Fraction, hi: Fraction) -> Fraction:
    """Seconds of [lo, hi) covered by the union of ``events``."""
    covered, reach = Fraction(0), lo
    for onset, offset in sorted(events):
        start, stop = max(onset, reach), min(offset, hi)
        if stop > start:
            covered += stop - start
            reach = stop
    return covered


def merged(events: list[tuple[Fraction, Fraction]]) -> list[tuple[Fraction, Fraction]]:
    out: list[list[Fraction]] = []
    for onset, offset in sorted(events):
        if out and onset <= out[-1][1]:
            out[-1][1] = max(out[-1][1], offset)
        else:
            out.append([onset, offset])
    return [(a, b) for a, b in out]


def expected_targets(events, classes, duration, length, hop, min_overlap, centres):
    """Weak labels (W, C) and frame targets (W, T, C) of one file, by the documented rules."""
    n_windows = 1 + int((duration - length) // hop) if duration >= length else 1
    if (n_windows - 1) * hop + length < duration:
        n_windows += 1
    weak = np.zeros((n_windows, len(classes)), np.uint8)
    frames = np.zeros((n_windows, len(centres), len(classes)), np.uint8)
    for c, name in enumerate(classes):
        mine = [(a, min(b, duration)) for a, b, label in events if label == name and a < duration]
        for w in range(n_windows):
            lo, hi = w * hop, w * hop + length
            covered = union_in(mine, lo, hi)
            whole = any(lo <= a and b <= hi for a, b in merged(mine))
            weak[w, c] = covered > 0 and (covered >= min(min_overlap, length) or whole)
            for t, centre in enumerate(centres):
                at = lo + centre
                frames[w, t, c] = lo <= at < hi and any(a <= at < b for a, b in mine)
    return weak, frames


# -- events --------------------------------------------------------------------

EVENTS = [  # (file, onset, offset, label) as written in the table
    ("a.wav", "1.0", "2.0", "dog"),  # exactly on window and frame boundaries
    ("a.wav", "0.25", "0.3", "cat"),  # shorter than min_overlap, inside one window
    ("a.wav", "2.95", "3.02", "cat"),  # short, across a window boundary
    ("a.wav", "1.9", "2.1", "bird"),  # exactly min_overlap in two windows
    ("a.wav", "1.95", "2.05", "bird"),  # overlaps the one before (merged)
    ("b.wav", "0.0", "0.0125", "dog"),  # ends on a frame centre (10 ms frames)
    ("b.wav", "2.3", "9.0", "cat"),  # past the end of b.wav (2.5 s): clipped
]
DURATIONS = {"a.wav": Fraction(4), "b.wav": Fraction(5, 2), "c.wav": Fraction(3, 2)}


@pytest.fixture
def event_corpus(tmp_path: Path) -> Path:
    root = tmp_path / "audio"
    for seed, (name, seconds) in enumerate(DURATIONS.items()):
        write_audio(root / name, float(seconds), RATE, seed=seed)
    write_table(tmp_path / "events.tsv", EVENTS)
    return root


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"segment.hop": 0.5},
        {"spectrogram.center": False, "labels.min_overlap": 0.05},
        {"segment.length": 0.5, "segment.hop": 0.25, "labels.min_overlap": 1.0},
    ],
    ids=["default", "overlapping", "uncentred", "short-windows"],
)
@pytest.mark.parametrize("fmt", ["hdf5", "npy"])
def test_events_give_the_expected_weak_labels_and_frame_targets(
    event_corpus, tmp_path, overrides, fmt
):
    out = tmp_path / "ds"
    with pytest.warns(spectroprep.errors.LabelWarning, match=r"events\.tsv:8: b\.wav"):
        build(
            event_corpus,
            out,
            events=tmp_path / "events.tsv",
            format=fmt,
            overrides=[f"{k}={json.dumps(v)}" for k, v in overrides.items()]
            + ["storage.block_size=5", "storage.shard_examples=5"],
        )
    length = Fraction(str(overrides.get("segment.length", 1.0)))
    hop = Fraction(str(overrides.get("segment.hop", 1.0)))
    min_overlap = Fraction(str(overrides.get("labels.min_overlap", 0.1)))
    centres = frame_centres(overrides, int(length * RATE))
    classes = ["bird", "cat", "dog"]
    events = [(f, Fraction(a), Fraction(b), label) for f, a, b, label in EVENTS]

    ds = spectroprep.open_dataset(out)
    frames_ds = spectroprep.open_dataset(out, targets="frames")
    assert ds.classes == classes and ds.label_kind == "events"
    rows = read_manifest(out / "manifest.csv")
    X, weak = ds.get_batch(range(len(ds)))
    _, frames = frames_ds.get_batch(range(len(ds)))
    assert weak.dtype == np.uint8 and frames.dtype == np.uint8
    assert frames.shape == (len(ds), ds.shape[1], 3)

    start = 0
    per_class, active = np.zeros(3, int), np.zeros(3, int)
    for name, duration in DURATIONS.items():
        mine = [(a, b, label) for f, a, b, label in events if f == name]
        want_weak, want_frames = expected_targets(
            mine, classes, duration, length, hop, min_overlap, centres
        )
        n = len(want_weak)
        assert [r.source for r in rows[start : start + n]] == [name] * n
        np.testing.assert_array_equal(weak[start : start + n], want_weak, err_msg=name)
        np.testing.assert_array_equal(frames[start : start + n], want_frames, err_msg=name)
        for r, labels in zip(rows[start : start + n], want_weak, strict=True):
            assert r.label == ";".join(c for c, on in zip(classes, labels, strict=True) if on)
        x, y = frames_ds[start + n - 1]  # single reads agree with batches
        np.testing.assert_array_equal(y, want_frames[-1])
        per_class += want_weak.sum(axis=0, dtype=int)
        active += want_frames.sum(axis=(0, 1), dtype=int)
        start += n
    assert start == len(ds)  # c.wav has no events: all-zero negatives
    assert not weak[-2:].any() and not frames[-2:].any()

    info = ds.info
    assert info["counts"]["per_class"] == dict(zip(classes, per_class.tolist(), strict=True))
    assert info["counts"]["active_frames"] == dict(zip(classes, active.tolist(), strict=True))
    assert info["labels"]["min_overlap"] == float(min_overlap)
    assert info["labels"]["frames"]["first_centre"] == float(centres[0])
    assert info["labels"]["frames"]["step"] == 160 / RATE


def _runs(frames):
    """(example, class, first frame, end frame) of every run of active frames, by numpy."""
    runs = []
    for k, example in enumerate(frames):
        for c in range(example.shape[1]):
            edges = np.diff(np.r_[0, example[:, c].astype(int), 0])
            runs += [
                (k, c, a, b)
                for a, b in zip(
                    np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True
                )
            ]
    return runs


def test_frame_targets_are_stored_as_their_runs(event_corpus, tmp_path):
    with pytest.warns(spectroprep.errors.LabelWarning):
        build(
            event_corpus,
            tmp_path / "h5",
            events=tmp_path / "events.tsv",
            overrides=["storage.chunk_examples=2", "storage.compression='gzip'"],
        )
    frames = spectroprep.open_dataset(tmp_path / "h5", targets="frames").get_batch(range(9))[1]
    assert frames.any()
    with h5py.File(tmp_path / "h5" / "shards" / "shard-00000.h5") as h5:
        assert "frame_targets" not in h5
        offsets, events = h5["frame_event_offsets"][()], h5["frame_events"][()]
        assert offsets.dtype == np.int64 and events.dtype == np.int32
        assert h5["labels"].dtype == np.uint8 and h5["labels"].shape == (9, 3)
    stored = [(k, *events[i]) for k in range(9) for i in range(offsets[k], offsets[k + 1])]
    assert stored == _runs(frames)
    info = json.loads((tmp_path / "h5" / "dataset.json").read_text())
    assert info["labels"]["frames"]["storage"] == "runs"

    with pytest.warns(spectroprep.errors.LabelWarning):
        build(
            event_corpus,
            tmp_path / "npy",
            events=tmp_path / "events.tsv",
            format="npy",
            overrides=["storage.block_size=4"],
        )
    blocks = sorted((tmp_path / "npy" / "blocks").iterdir())
    sizes = [len(np.load(b / "frame_event_offsets.npy")) - 1 for b in blocks]
    assert sizes == [3, 3, 3]  # at most 4 a block, equal
    assert np.load(blocks[0] / "labels.npy").shape == (3, 3)
    npy_frames = spectroprep.open_dataset(tmp_path / "npy", targets="frames").get_batch(range(9))[1]
    np.testing.assert_array_equal(npy_frames, frames)


def test_dense_frame_targets_of_an_earlier_build_still_read_verify_and_reshard(
    event_corpus, tmp_path
):
    """Before runs, npy blocks held frame_targets.npy (N, T, C) uint8 and dataset.json
    no labels.frames.storage: such a dataset is made here from a new one."""
    from spectroprep.dataset.layout import digest_path, tree_size

    out = tmp_path / "old"
    with pytest.warns(spectroprep.errors.LabelWarning):
        build(
            event_corpus,
            out,
            events=tmp_path / "events.tsv",
            format="npy",
            overrides=["storage.block_size=4"],
        )
    with spectroprep.open_dataset(out, targets="frames") as ds:
        x, frames = ds.get_batch(range(len(ds)))
    info = json.loads((out / "dataset.json").read_text())
    start = 0
    for record in info["files"]:
        block = out / record["path"]
        n = record["examples"]
        np.save(block / "frame_targets.npy", frames[start : start + n])
        (block / "frame_events.npy").unlink()
        (block / "frame_event_offsets.npy").unlink()
        record["bytes"], record["xxh3_128"] = tree_size(block), digest_path(block)
        start += n
    del info["labels"]["frames"]["storage"]
    (out / "dataset.json").write_text(json.dumps(info))
    from spectroprep.verify import verify

    assert verify(out).ok
    with spectroprep.open_dataset(out, targets="frames") as ds:
        got = ds.get_batch(np.arange(len(ds))[::-1])[1]
        np.testing.assert_array_equal(got, frames[::-1])
        np.testing.assert_array_equal(ds[3][1], frames[3])
    spectroprep.shard(out, tmp_path / "new", format="hdf5", jobs=1)
    assert verify(tmp_path / "new").ok
    with spectroprep.open_dataset(tmp_path / "new", targets="frames") as ds:
        np.testing.assert_array_equal(ds.get_batch(range(len(ds)))[1], frames)
        assert ds.info["labels"]["frames"]["storage"] == "runs"


def test_active_frames_converted_to_seconds_match_the_events(tmp_path):
    """Acceptance: tone bursts at annotated times, several rates, through the CLI;
    runs of active frames, converted back to seconds, match each event within one hop."""
    root = tmp_path / "audio"
    annotations = {  # file: (rate, seconds, [(onset, offset, label)])
        "street/x1.wav": (16000, 6.0, [(0.4, 1.7, "horn"), (2.2, 5.35, "engine")]),
        "street/x2.flac": (44100, 4.5, [(0.0, 0.8, "engine"), (3.1, 4.5, "horn")]),
        "park/y1.wav": (22050, 5.2, [(1.05, 1.3, "bird"), (1.2, 3.9, "horn")]),
        "park/y2.wav": (8000, 2.0, []),
    }
    rows = []
    for name, (rate, seconds, events) in annotations.items():
        rng = np.random.default_rng(len(name))
        t = np.arange(int(seconds * rate)) / rate
        x = 0.01 * rng.standard_normal(len(t))
        for onset, offset, label in events:
            burst = (t >= onset) & (t < offset)
            x[burst] += 0.4 * np.sin(
                2 * np.pi * {"horn": 440, "engine": 90, "bird": 3000}[label] * t[burst]
            )
            rows.append((Path(name).name, str(onset), str(offset), label))
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / name, x, rate)
    write_table(tmp_path / "events.csv", rows, delimiter=",")
    out = tmp_path / "ds"
    result = CliRunner().invoke(
        cli,
        [
            "build",
            str(root),
            "--out",
            str(out),
            "--events",
            str(tmp_path / "events.csv"),
            "--set",
            "segment.hop=0.5",
            "--jobs",
            "2",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output

    ds = spectroprep.open_dataset(out, targets="frames")
    grid = ds.info["labels"]["frames"]
    step = grid["step"]
    manifest = read_manifest(out / "manifest.csv")
    _, frames = ds.get_batch(range(len(ds)))
    for name, (_, _, events) in annotations.items():
        for c, label in enumerate(ds.classes):
            times = sorted(
                {
                    round(row.start + grid["first_centre"] + t * step, 6)
                    for i, row in enumerate(manifest)
                    if row.source == name
                    for t in np.flatnonzero(frames[i, :, c])
                }
            )
            runs = []
            for time in times:
                if runs and time - runs[-1][1] <= step + 1e-6:
                    runs[-1][1] = time
                else:
                    runs.append([time, time])
            want = merged([(onset, offset) for onset, offset, lab in events if lab == label])
            assert len(runs) == len(want), (name, label, runs, want)
            for (first, last), (onset, offset) in zip(runs, want, strict=True):
                assert abs(first - onset) <= step and abs(last + step - offset) <= step


# -- clip labels ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["hdf5", "npy"])
def test_multi_label_round_trip(corpus, tmp_path, fmt):
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "path,label\n"
        "cat/clip1.flac, meow ; purr\n"
        "cat/clip3.wav,meow\n"
        "cat/clip20.wav,purr;meow;purr\n"
        "dog/clip1.wav,bark\n"
        "dog/clip2.flac,bark;growl\n"
        "dog/clip10.wav,growl\n"
    )
    ds = spectroprep.open_dataset(build(corpus, tmp_path / "ds", labels=labels, format=fmt))
    classes = ["bark", "growl", "meow", "purr"]
    assert ds.classes == classes and ds.label_kind == "multi"
    windows = {  # file: (windows, classes)
        "cat/clip1.flac": (3, {"meow", "purr"}),
        "cat/clip3.wav": (1, {"meow"}),
        "cat/clip20.wav": (2, {"meow", "purr"}),
        "dog/clip1.wav": (3, {"bark"}),
        "dog/clip2.flac": (2, {"bark", "growl"}),
        "dog/clip10.wav": (1, {"growl"}),
    }
    want = np.array(
        [[c in names for c in classes] for n, names in windows.values() for _ in range(n)],
        dtype=np.uint8,
    )
    _, y = ds.get_batch(range(len(ds)))
    np.testing.assert_array_equal(y, want)
    assert y.dtype == np.uint8
    np.testing.assert_array_equal(ds[4][1], want[4])
    manifest = read_manifest(ds.path / "manifest.csv")
    assert [r.label for r in manifest][:4] == ["meow;purr"] * 3 + ["meow"]
    assert ds.info["counts"]["per_class"] == {"bark": 5, "growl": 3, "meow": 6, "purr": 5}
    assert "active_frames" not in ds.info["counts"]


def test_a_vocabulary_fixes_class_order_and_ids(corpus, tmp_path):
    vocab = tmp_path / "classes.txt"
    vocab.write_text("dog\nzebra\ncat\n\n")
    ds = spectroprep.open_dataset(
        build(corpus, tmp_path / "ds", labels_from_folders=True, classes=vocab)
    )
    assert ds.classes == ["dog", "zebra", "cat"] and ds.label_kind == "single"
    assert list(ds.labels) == [2] * 6 + [0] * 6  # cat files come first in natural order
    assert ds.info["counts"]["per_class"] == {"dog": 6, "zebra": 0, "cat": 6}
    with h5py.File(ds.path / "shards" / "shard-00000.h5") as h5:
        assert h5["labels"].dtype == np.int64 and json.loads(h5.attrs["classes"]) == ds.classes


# -- per-window labels -----------------------------------------------------------


@pytest.mark.parametrize("fmt", ["hdf5", "npy"])
def test_per_window_class_ids_and_names(corpus, tmp_path, fmt):
    counts = {"cat/clip1.flac": 3, "cat/clip3.wav": 1, "cat/clip20.wav": 2,
              "dog/clip1.wav": 3, "dog/clip2.flac": 2, "dog/clip10.wav": 1}  # fmt: skip
    ids = {name: (np.arange(n) + i) % 4 for i, (name, n) in enumerate(counts.items())}
    for name, values in ids.items():
        np.save(corpus / name.replace(Path(name).suffix, "-lbl.npy"), values.astype(np.int16))
    ds = spectroprep.open_dataset(
        build(corpus, tmp_path / "ids", labels_per_window=True, format=fmt)
    )
    want = np.concatenate(list(ids.values()))
    assert ds.label_kind == "per-window" and ds.classes == ["0", "1", "2", "3"]
    np.testing.assert_array_equal(ds.labels, want)
    assert ds.labels.dtype == np.int64
    assert [r.label for r in read_manifest(ds.path / "manifest.csv")] == [str(v) for v in want]

    names = np.array(["noise", "speech", "music", "speech10"])
    for name, values in ids.items():
        np.save(corpus / name.replace(Path(name).suffix, "-lbl.npy"), names[values])
    vocab = tmp_path / "classes.txt"
    vocab.write_text("speech\nmusic\nnoise\nspeech10\n")
    ds = spectroprep.open_dataset(
        build(corpus, tmp_path / "names", labels_per_window=True, classes=vocab, format=fmt)
    )
    assert ds.classes == ["speech", "music", "noise", "speech10"]
    np.testing.assert_array_equal(ds.labels, [ds.classes.index(n) for n in names[want]])
    ds = spectroprep.open_dataset(build(corpus, tmp_path / "sorted", labels_per_window=True))
    assert ds.classes == ["music", "noise", "speech", "speech10"]


# -- unlabelled --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["hdf5", "npy"])
def test_unlabelled_datasets_have_no_label_arrays(corpus, tmp_path, fmt):
    ds = spectroprep.open_dataset(build(corpus, tmp_path / "ds", format=fmt))
    assert ds.label_kind == "none" and ds.classes == [] and ds.labels is None
    x, y = ds[0]
    assert y is None and x.shape == ds.shape
    assert ds.get_batch([0, 3])[1] is None
    if fmt == "hdf5":
        with h5py.File(ds.path / "shards" / "shard-00000.h5") as h5:
            assert set(h5) == {"features", "example_id"}
    else:
        assert not list(ds.path.rglob("labels.npy"))
    assert {r.label for r in read_manifest(ds.path / "manifest.csv")} == {""}
    with pytest.raises(DatasetError, match="has no frame targets"):
        spectroprep.open_dataset(ds.path, targets="frames")
    with pytest.raises(ValueError, match="targets must be one of"):
        spectroprep.open_dataset(ds.path, targets="weak")


def test_multi_label_can_be_asked_for_when_every_file_has_one_class(corpus, tmp_path):
    ds = spectroprep.open_dataset(
        build(corpus, tmp_path / "ds", labels_from_folders=True, multi_label=True)
    )
    assert ds.label_kind == "multi" and ds.classes == ["cat", "dog"]
    np.testing.assert_array_equal(ds.labels, [[1, 0]] * 6 + [[0, 1]] * 6)


def test_an_odd_window_length_still_marks_the_first_frame(tmp_path):
    """With win_length 401 frame centres fall half a sample off the grid; they are
    rounded, so an event over the whole file activates every frame but the last
    (centred on the window's end)."""
    write_audio(tmp_path / "audio" / "a.wav", 2.0, RATE)
    write_table(tmp_path / "events.tsv", [("a.wav", "0", "2", "hum")])
    build(
        tmp_path / "audio",
        tmp_path / "ds",
        events=tmp_path / "events.tsv",
        overrides=["spectrogram.win_length=401"],
    )
    _, frames = spectroprep.open_dataset(tmp_path / "ds", targets="frames").get_batch([0, 1])
    assert frames.shape == (2, 101, 1)
    assert frames[:, :100].all() and not frames[:, 100].any()


def test_damaged_frame_runs_are_named_when_read_not_decoded_wrong(event_corpus, tmp_path):
    out = tmp_path / "ds"
    with pytest.warns(spectroprep.errors.LabelWarning):
        build(event_corpus, out, events=tmp_path / "events.tsv", format="npy",
              overrides=["storage.block_size=4"])  # fmt: skip
    path = out / "blocks" / "block-1" / "frame_events.npy"
    events = np.load(path)
    events[0, 0] = -1  # a class index numpy would wrap to the last class
    np.save(path, events)
    ds = spectroprep.open_dataset(out, targets="frames")
    with pytest.raises(DatasetError, match=r"blocks/block-1: frame_events hold a run outside"):
        ds.get_batch([0])
    info = json.loads((out / "dataset.json").read_text())
    info["labels"]["frames"]["storage"] = "bits"
    (out / "dataset.json").write_text(json.dumps(info))
    with pytest.raises(DatasetError, match="labels.frames.storage 'bits' is neither"):
        spectroprep.open_dataset(out, targets="frames")


def test_frame_runs_out_of_order_or_overlapping_are_named():
    from spectroprep.dataset.frame_events import encode, runs_problem

    frames = np.zeros((2, 20, 3), dtype=np.uint8)
    frames[0, 2:5, 1] = frames[0, 8:9, 1] = frames[0, 0:20, 2] = frames[1, 3:4, 0] = 1
    runs = encode(frames)
    offsets, events = runs["frame_event_offsets"], runs["frame_events"]
    assert events.tolist() == [[1, 2, 5], [1, 8, 9], [2, 0, 20], [0, 3, 4]]
    assert runs_problem(offsets, events, 2, 20, 3) is None
    for bad in ([[1, 8, 9], [1, 2, 5], [2, 0, 20], [0, 3, 4]],  # out of order
                [[1, 2, 5], [1, 5, 9], [2, 0, 20], [0, 3, 4]]):  # touching: one run  # fmt: skip
        assert "row 1 does not follow the run before it" in runs_problem(
            offsets, np.array(bad, dtype=np.int32), 2, 20, 3
        )
