"""Shared test helpers: real audio written with numpy + soundfile in tmp dirs."""

from __future__ import annotations

import hashlib
import subprocess
import sys
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
