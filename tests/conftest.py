"""Shared test helpers: real audio written with numpy + soundfile in tmp dirs."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.signal
import soundfile as sf
import soxr

import spectroprep

# the corpus fixture's files in natural order, and their windows (1 s windows and hop,
# the last one zero-padded)
CORPUS_WINDOWS = {
    "cat/clip1.flac": 3,
    "cat/clip3.wav": 1,
    "cat/clip20.wav": 2,
    "dog/clip1.wav": 3,
    "dog/clip2.flac": 2,
    "dog/clip10.wav": 1,
}


def tree_checksums(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, by relative path."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def run_command(*args: object, **popen: Any) -> subprocess.CompletedProcess[str]:
    """``python -m spectroprep ARGS`` in a subprocess (real worker processes, real signals)."""
    return subprocess.run(
        [sys.executable, "-m", "spectroprep", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        **popen,
    )


def process_marker() -> tuple[dict[str, str], str]:
    """(an environment for a command, the marker its processes carry): every process
    the command starts inherits the marker, so ``left_behind`` finds them."""
    token = uuid.uuid4().hex
    return {**os.environ, "SPECTROPREP_TEST_RUN": token}, f"SPECTROPREP_TEST_RUN={token}"


def left_behind(marker: str, grace: float = 2.0) -> list[int]:
    """Processes still carrying ``marker`` ``grace`` seconds after their command ended
    (a worker takes a moment to notice that its parent is gone)."""
    deadline = time.monotonic() + grace
    while True:
        found = []
        for entry in Path("/proc").iterdir():
            with contextlib.suppress(OSError):  # gone, or not ours to read
                if entry.name.isdigit() and marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def positions_by_bytes(path: Path) -> dict[bytes, int]:
    """Each example's position in the dataset at ``path``, by its feature bytes (the
    small test datasets have no two examples alike)."""
    with spectroprep.open_dataset(path) as ds:
        x, _ = ds.get_batch(range(len(ds)))
    return {row.tobytes(): i for i, row in enumerate(x)}


def build(audio: Path, out: Path, **kwargs) -> Path:
    """``spectroprep.build`` on one worker process unless ``jobs`` is given."""
    kwargs.setdefault("jobs", 1)
    return spectroprep.build(audio, out, **kwargs)


def signal(seconds: float, rate: int, seed: int = 0, channels: int = 1) -> np.ndarray:
    """A tone sweep plus noise with a known seed: (frames,) or (frames, channels) in [-0.5, 0.5]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * rate))) / rate
    f0 = 150 + 40 * (seed % 17)
    x = 0.3 * np.sin(2 * np.pi * (f0 + 300 * t) * t) + 0.1 * rng.standard_normal(len(t))
    if channels == 1:
        return x
    return np.stack([x * (1 - 0.3 * c) + 0.05 * c for c in range(channels)], axis=1)


def scene(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    """A recording-like mix with a wide dynamic range, peak 0.8: a voiced tone with
    vibrato and harmonics, decaying plucks, gated low-pass noise and digital silence."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    phase = 2 * np.pi * np.cumsum(220 * (1 + 0.02 * np.sin(2 * np.pi * 5 * t))) / rate
    x = sum(0.2 / h * np.sin(h * phase) for h in range(1, 8)) * (t % 2 < 1.2)
    for onset in rng.uniform(0, max(seconds - 0.5, 0), 3 * int(seconds) + 1):
        i = int(onset * rate)
        m = np.arange(min(n - i, int(0.4 * rate))) / rate
        x[i : i + len(m)] += 0.3 * np.exp(-12 * m) * np.sin(2 * np.pi * rng.uniform(300, 3000) * m)
    noise = scipy.signal.lfilter([1.0], [1.0, -0.95], rng.standard_normal(n))
    x += 0.01 * noise * (np.sin(2 * np.pi * 0.3 * t) > 0)
    x[int(0.3 * n) : int(0.35 * n)] = 0
    return 0.8 * x / np.abs(x).max()


def write_audio(
    path: Path,
    seconds: float,
    rate: int,
    *,
    channels: int = 1,
    seed: int = 0,
    subtype: str | None = None,
) -> Path:
    """Write a test clip; the format follows the extension (16-bit PCM, Vorbis for .ogg)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subtype = subtype or ("VORBIS" if path.suffix == ".ogg" else "PCM_16")
    sf.write(path, signal(seconds, rate, seed, channels), rate, subtype=subtype)
    return path


def assert_same_examples(ours: Path, theirs: Path) -> None:
    """Both datasets hold the same examples (by source and start), with the same
    features and labels, however their files cut them; ours verifies, its ids 1..N."""
    from spectroprep.dataset.manifest import read_manifest
    from spectroprep.verify import verify

    def by_window(root: Path) -> dict[tuple[str, float], int]:
        rows = read_manifest(root / "manifest.csv")
        assert [r.id for r in rows] == list(range(1, len(rows) + 1))
        return {(r.source, r.start): r.id for r in rows}

    a, b = by_window(ours), by_window(theirs)
    assert a.keys() == b.keys()
    with spectroprep.open_dataset(ours) as x, spectroprep.open_dataset(theirs) as y:
        keys = sorted(a)
        xs, ys = x.get_batch([a[k] - 1 for k in keys]), y.get_batch([b[k] - 1 for k in keys])
        np.testing.assert_array_equal(xs[0], ys[0])
        if xs[1] is not None:
            np.testing.assert_array_equal(xs[1], ys[1])
    assert verify(ours).ok


def write_blocks(path: Path, x: np.ndarray, rate: int, **kwargs: Any) -> Path:
    """Write ``x`` a second at a time (libsndfile's Vorbis encoder crashes on
    minute-long single writes); ``kwargs`` go to ``soundfile.SoundFile``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    channels = 1 if x.ndim == 1 else x.shape[1]
    with sf.SoundFile(path, "w", rate, channels, **kwargs) as f:
        for lo in range(0, len(x), rate):
            f.write(x[lo : lo + rate])
    return path


# MPEG audio frame headers: kbit/s by bitrate index, Hz by rate index, per version bits
_MP3_KBPS = {
    3: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    0: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def mp3_frame_length(data: bytes, pos: int) -> int:
    """Bytes of the Layer III frame whose header starts at ``pos``."""
    header = int.from_bytes(data[pos : pos + 4], "big")
    assert header >> 21 == 0x7FF, f"no frame sync at byte {pos}"
    version, index = (header >> 19) & 3, (header >> 12) & 15
    rate, padding = _MP3_RATES[version][(header >> 10) & 3], (header >> 9) & 1
    per_frame = 144 if version == 3 else 72
    return per_frame * _MP3_KBPS[version][index] * 1000 // rate + padding


def strip_mp3_info_frame(path: Path, repeat: int = 1) -> Path:
    """Remove the Xing/Info frame libsndfile's encoder writes first, so the file's
    length becomes an estimate, as in MP3s from many encoders; ``repeat`` > 1 chains
    the remaining frames that many times (a long file without encoding one)."""
    data = path.read_bytes()
    first = mp3_frame_length(data, 0)
    assert b"Xing" in data[:first] or b"Info" in data[:first]
    path.write_bytes(data[first:] * repeat)
    return path


def decode_to_end(path: Path) -> np.ndarray:
    """Every frame libsndfile decodes, as float32 (frames, channels), read until it
    stops (``soundfile.read`` would trust the header's length)."""
    parts = []
    with sf.SoundFile(path) as f:
        while len(part := f.read(1 << 16, dtype="float32", always_2d=True)):
            parts.append(part)
    return np.concatenate(parts)


def reference_audio(path: Path, rate: int, resampler: str = "soxr_hq") -> np.ndarray:
    """Independent decode: whole file in float64, channel mean, then a whole-file
    ``soxr.resample`` (HQ or VHQ) or ``scipy.signal.resample_poly`` to ``rate``."""
    x, file_rate = sf.read(path, dtype="float64", always_2d=True)
    x = x.mean(axis=1)
    if file_rate == rate:
        return x
    if resampler == "scipy":
        g = np.gcd(file_rate, rate)
        return scipy.signal.resample_poly(x, rate // g, file_rate // g)
    return soxr.resample(x, file_rate, rate, quality=resampler.removeprefix("soxr_").upper())


def reference_windows(x: np.ndarray, window: int, hop: int, count: int) -> np.ndarray:
    """``count`` windows of ``x``, zero-padded at the end."""
    padded = np.zeros(max(len(x), (count - 1) * hop + window))
    padded[: len(x)] = x
    return np.stack([padded[i * hop : i * hop + window] for i in range(count)])


def reference_default_power(windows: np.ndarray, boundary: str = "zeros") -> np.ndarray:
    """Power spectrogram of configs/default.toml by scipy.signal.stft:
    hann(400) periodic, 512-point FFT, hop 160, frames centred on t * 160 with
    zeros outside the window (boundary='zeros' pads nperseg // 2 = 200 samples;
    'even' mirrors the signal as pad_mode = "reflect" does)."""
    _, _, z = scipy.signal.stft(
        windows,
        window="hann",
        nperseg=400,
        noverlap=240,
        nfft=512,
        detrend=False,
        return_onesided=True,
        boundary=boundary,
        padded=False,
        scaling="spectrum",
    )
    w = scipy.signal.get_window("hann", 400)
    return np.abs(z) ** 2 * w.sum() ** 2


def assert_log_power_close(features: np.ndarray, power: np.ndarray, eps: float = 1e-6) -> None:
    """``features`` = log(power + eps), judged on the power scale, for features
    built from a file: the build decodes and resamples in float32 while the
    reference does so in float64, so weak bins differ by more than the features'
    own 1e-5 (that is checked on identical audio in test_features)."""
    assert features.shape == power.shape
    ours = np.exp(features.astype(np.float64)) - eps
    np.testing.assert_allclose(ours, power, rtol=2e-4, atol=2e-6 * power.max() + eps * 1e-3)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A small labelled corpus: class folders, WAV and FLAC, 8/16/44.1 kHz, one stereo file."""
    root = tmp_path / "audio"
    write_audio(root / "dog" / "clip1.wav", 2.5, 16000, seed=1)
    write_audio(root / "dog" / "clip2.flac", 1.2, 44100, seed=2)
    write_audio(root / "dog" / "clip10.wav", 0.6, 8000, seed=3)
    write_audio(root / "cat" / "clip1.flac", 3.0, 16000, seed=4, channels=2)
    write_audio(root / "cat" / "clip3.wav", 1.0, 8000, seed=5)
    write_audio(root / "cat" / "clip20.wav", 2.0, 44100, seed=6, subtype="FLOAT")
    return root


# 0.1 s windows: ~110 small examples from 11.3 s of audio, in many shards
SMALL = ["segment.length=0.1", "segment.hop=0.1", "storage.shard_examples=13"]


@pytest.fixture(scope="session")
def small_audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six WAV files in two class folders, shared by the tests that only read."""
    root = tmp_path_factory.mktemp("small") / "audio"
    for k, seconds in enumerate([2.5, 1.2, 0.6, 3.0, 1.0, 3.0]):
        write_audio(root / ("cat" if k % 2 else "dog") / f"clip{k}.wav", seconds, 16000, seed=k)
    return root


@pytest.fixture(scope="session")
def unlabelled(small_audio: Path) -> Path:
    """The small audio built without labels (as for self-supervised pretraining)."""
    out = small_audio.parent / "unlabelled"
    if not (out / "dataset.json").exists():
        spectroprep.build(small_audio, out, jobs=1, overrides=SMALL)
    return out


def build_small(audio: Path, name: str, *overrides: str, format: str = "hdf5") -> Path:
    """A dataset of ``small_audio`` in 0.1 s windows, 13 examples per shard, built
    once per name (beside the audio)."""
    out = audio.parent / name
    if (out / "dataset.json").exists():
        return out
    return spectroprep.build(
        audio,
        out,
        labels_from_folders=True,
        format=format,
        jobs=1,
        overrides=[*SMALL, *overrides],
    )


def write_esc50(root: Path) -> Path:
    """An ESC-50 layout: meta/esc50.csv and a flat audio/ folder (44.1 kHz, 5 s clips
    in the corpus; shorter here), five clips of three classes in three folds."""
    rows = [
        ("1-100032-A-0.wav", 1, 0, "dog", "True", 100032, "A"),
        ("1-110389-A-0.wav", 1, 0, "dog", "True", 110389, "A"),
        ("2-102414-A-1.wav", 2, 1, "rooster", "True", 102414, "A"),
        ("2-102414-B-1.wav", 2, 1, "rooster", "True", 102414, "B"),
        ("3-104632-A-10.wav", 3, 10, "rain", "False", 104632, "A"),
    ]
    for k, row in enumerate(rows):
        write_audio(root / "audio" / row[0], 1.0 + 0.5 * k, 44100, seed=k)
    (root / "meta").mkdir()
    with (root / "meta" / "esc50.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["filename", "fold", "target", "category", "esc10", "src_file", "take"])
        writer.writerows(rows)
    return root
