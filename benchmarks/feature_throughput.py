"""Feature throughput of spectroprep's spectrogram function against librosa, in one run.

For each preset, the same decoded audio (the build benchmark's four kinds of
synthetic clip, written as 16-bit PCM and read back as float32, at the
preset's sample rate) is cut into the preset's windows, then timed through:

* ``spectroprep.features.stft.spectrogram`` with ``spectrogram.precision`` float32
  (the default) and float64 (equal to librosa to 1e-5 in every bin);
* ``librosa.feature.melspectrogram`` (``librosa.stft`` power for the linear
  default preset) on all windows in one call, then ``librosa.power_to_db``
  (or ``np.log(S + eps)``) per window: librosa's fastest use;
* the same librosa calls once per window: what a hand-written loop does.

Both sides run on one thread (one BLAS thread, as in a build worker); each
figure is the median of ``--repeats`` passes over all windows, the routes
taking turns in each round. librosa gets the float32 windows, as
``librosa.load`` returns them; it multiplies them by a float64 window, so its
FFT runs in float64 too. The table also
gives the largest difference from the float64 librosa reference, and what
storing the features as float16 costs: the largest relative error over values
in float16's normal range (|x| >= 2**-14) and the largest absolute error.

Usage (from the repository root)::

    .venv/bin/python benchmarks/feature_throughput.py [--seconds S] [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf
from build_throughput import CLASSES, machine_facts, synth_clip
from threadpoolctl import threadpool_limits

import spectroprep
from spectroprep.config import Config, SpectrogramConfig
from spectroprep.features.stft import spectrogram

# speech-commands is left out: its uncentred frames of win_length samples (TensorFlow's
# framing) are not librosa's, whose uncentred frames span n_fft samples
PRESETS = ("default", "logmel-16k", "panns-32k")


def decoded_audio(rate: int, seconds: float, folder: Path) -> np.ndarray:
    """``seconds`` of the four clip kinds in turn, through a 16-bit WAV file, as float32."""
    rng = np.random.default_rng(0)
    part = seconds / len(CLASSES)
    x = np.concatenate([synth_clip(cls, part, rng, rate) for cls in CLASSES])
    path = folder / f"audio-{rate}.wav"
    sf.write(path, x, rate, subtype="PCM_16")
    return sf.read(path, dtype="float32")[0]


def librosa_power(windows: np.ndarray, spec: SpectrogramConfig, rate: int) -> np.ndarray:
    """librosa's power (or magnitude) spectrogram for the settings of ``spec``."""
    stft = dict(
        n_fft=spec.n_fft,
        hop_length=spec.hop_length,
        win_length=spec.win_length,
        window=spec.window,
        center=spec.center,
        pad_mode=spec.pad_mode,
    )
    if not spec.n_mels:
        return np.abs(librosa.stft(windows, **stft)) ** spec.power
    return librosa.feature.melspectrogram(
        y=windows,
        sr=rate,
        power=float(spec.power),
        n_mels=spec.n_mels,
        fmin=spec.fmin,
        fmax=spec.fmax or rate / 2,
        htk=spec.mel_scale == "htk",
        norm=None if spec.norm == "none" else spec.norm,
        **stft,
    )


def librosa_scaled(power: np.ndarray, spec: SpectrogramConfig) -> np.ndarray:
    """librosa's log or dB of one window's spectrogram."""
    if spec.scale == "db":
        ref = np.max if spec.ref == "max" else float(spec.ref)
        return librosa.power_to_db(power, ref=ref, amin=spec.amin, top_db=spec.top_db or None)
    return np.log(power + spec.eps) if spec.scale == "log" else power


def librosa_features(windows: np.ndarray, spec: SpectrogramConfig, rate: int) -> np.ndarray:
    power = librosa_power(windows, spec, rate)
    return np.stack([librosa_scaled(p, spec) for p in power])


def librosa_per_window(windows: np.ndarray, spec: SpectrogramConfig, rate: int) -> np.ndarray:
    return np.stack([librosa_scaled(librosa_power(w, spec, rate), spec) for w in windows])


def median_seconds(routes: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median wall time of each route; the routes take turns in every round, so a
    slow spell on this noisy machine hits all of them alike."""
    for fn in routes.values():
        fn()  # warm caches (filterbanks, FFT plans)
    walls: dict[str, list[float]] = {label: [] for label in routes}
    for _ in range(repeats):
        for label, fn in routes.items():
            t0 = time.perf_counter()
            fn()
            walls[label].append(time.perf_counter() - t0)
    return {label: statistics.median(w) for label, w in walls.items()}


def float16_errors(features: np.ndarray) -> tuple[float, float]:
    """(max relative error in float16's normal range, max absolute error) of storing as float16."""
    x = features.astype(np.float64)
    err = np.abs(features.astype(np.float16).astype(np.float64) - x)
    normal = np.abs(x) >= 2.0**-14
    return float((err[normal] / np.abs(x[normal])).max()), float(err.max())


def bench_preset(name: str, seconds: float, repeats: int, folder: Path) -> list[str]:
    config: Config = spectroprep.load_config(name)
    spec, rate, window = config.spectrogram, config.audio.sample_rate, config.window_samples
    x = decoded_audio(rate, seconds, folder)
    windows = x[: len(x) // window * window].reshape(-1, window)
    exact = spectroprep.load_config(name, ["spectrogram.precision=float64"]).spectrogram
    ours = spectrogram(windows, spec, rate)
    reference = librosa_features(windows.astype(np.float64), spec, rate)
    diff = np.abs(ours - reference)
    diff64 = np.abs(spectrogram(windows, exact, rate) - reference)
    unit = {"db": "dB", "log": "log units", "linear": ""}[spec.scale]
    rel16, abs16 = float16_errors(ours)
    routes = {
        "spectroprep, float32 FFT (default)": lambda: spectrogram(windows, spec, rate),
        "spectroprep, float64 FFT": lambda: spectrogram(windows, exact, rate),
        "librosa, one call for all windows": lambda: librosa_features(windows, spec, rate),
        "librosa, one call per window": lambda: librosa_per_window(windows, spec, rate),
    }
    with threadpool_limits(limits=1, user_api="blas"):
        walls = median_seconds(routes, repeats)
    librosa_best = walls["librosa, one call for all windows"]
    audio_s = len(windows) * window / rate
    shape = "x".join(map(str, ours.shape[1:]))
    rows = [
        f"| {name} | {label} | {len(windows) / wall:,.0f} | {audio_s / wall:,.0f} "
        f"| {librosa_best / wall:.2f} |"
        for label, wall in walls.items()
    ]
    print(
        f"  {name}: {shape}, max |ours - librosa float64| = {diff.max():.2g} {unit} "
        f"(float64 FFT {diff64.max():.2g}); "
        f"float16: max relative error {rel16:.2e}, max absolute {abs16:.2g} {unit}",
        file=sys.stderr,
        flush=True,
    )
    facts = (
        f"| {name} | {shape} | {len(windows)} | {diff.max():.2g} {unit} "
        f"| {diff64.max():.2g} {unit} | {rel16:.2e} "
        f"| {abs16:.2g} {unit} |"
    )
    return rows + [facts]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=120.0, help="audio per preset (default 120)")
    ap.add_argument("--repeats", type=int, default=7, help="passes per route; median (default 7)")
    args = ap.parse_args(argv)

    print("# spectroprep features vs librosa\n")
    print("Machine:")
    print("\n".join(machine_facts()))
    print(f"- librosa {librosa.__version__}")
    print(
        f"\n{args.seconds:g} s of audio per preset, one thread, median of {args.repeats} passes; "
        f"command: `{' '.join([Path(sys.executable).name, *sys.argv])}`\n",
        flush=True,
    )
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in PRESETS:
            results.append(bench_preset(name, args.seconds, args.repeats, Path(tmp)))
    print("| preset | route | windows/s | audio-s/s | × librosa (one call) |")
    print("|---|---|---:|---:|---:|")
    for rows in results:
        print("\n".join(rows[:-1]))
    print(
        "\n| preset | example shape | windows | max abs difference from librosa (float64): "
        "float32 FFT (default) | the same, float64 FFT "
        "| float16: max relative error (normal range) | float16: max absolute error |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for rows in results:
        print(rows[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
