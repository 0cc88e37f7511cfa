"""The measurements the code's choices rest on, made again side by side in one run
(docs/performance.md cites them): each choice against the road not taken.

* FFT batch size (features/stft.py): scipy's float32 ``rfft`` of the frames of 1, 8,
  64 and 400 one-second windows a call (16 kHz, 512-point frames, hop 160).
* Short frames (features/stft.py): 20-sample frames zero-padded to 512 points, through
  a precomputed real DFT matrix against the FFT.
* float16 (dataset/storage/hdf5.py): float32 features converted in numpy before the
  HDF5 write, against HDF5 converting them.
* Reused buffers (features/stft.py): a multi-megabyte power buffer reused call after
  call, against a fresh one each call.
* Resampling block size (ingest/audio/resample.py): soxr HQ over output blocks of 2^14
  to 2^20 samples, against one call.
* Resamplers (ingest/audio/resample.py, docs/audio.md): soxr HQ and VHQ against
  scipy's ``resample_poly``: gain near the new Nyquist frequency, and time.
* Decoding (ingest/audio/decode.py): a minute of stereo WAV, FLAC, Vorbis and MP3 decoded
  in blocks into one mono buffer, against the whole file as float32 then its mean.
* A shuffled epoch's window buffer (read/epochs.py), subset lookup (read/subset.py) and
  a DataLoader's hand-off of ready batches (bench/advice.py).
* Import costs (features/tapers.py, ingest/audio/resample.py): a fresh interpreter
  importing numpy, scipy.fft, scipy.signal.
* tf.data hand-off (tensorflow.py), when .venv-tf exists: a ``tf.numpy_function`` map
  handing 6.6 MB batches to TensorFlow from 64-byte aligned arrays, against numpy's
  own allocation.

Medians of interleaved repeats. Usage: python benchmarks/code_choices.py [--quick];
prints markdown.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import h5py
import numpy as np
import scipy.fft

HERE = Path(__file__).resolve().parent
TF_PYTHON = HERE.parent / ".venv-tf" / "bin" / "python"
FRAMES = 101  # a one-second window at a 10 ms hop
N_FFT = 512


def _median_seconds(cases: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            cases[name]()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def fft_batches(rounds: int) -> list[str]:
    """µs per one-second window, by windows per rfft call (400 windows in all)."""
    rng = np.random.default_rng(0)
    frames = rng.standard_normal((400 * FRAMES, N_FFT)).astype(np.float32)

    def run(windows: int) -> Callable[[], object]:
        step = windows * FRAMES
        return lambda: [
            scipy.fft.rfft(frames[i : i + step], axis=1) for i in range(0, len(frames), step)
        ]

    sizes = (1, 8, 64, 400)
    times = _median_seconds({str(w): run(w) for w in sizes}, rounds)
    base = times["8"]
    lines = ["| windows per call | µs per window | / 8 per call |", "|---:|---:|---:|"]
    for w in sizes:
        lines.append(f"| {w} | {times[str(w)] / 400 * 1e6:,.0f} | {times[str(w)] / base:.2f} |")
    return lines


def short_frames(rounds: int) -> list[str]:
    """20-sample frames (the 8 kHz preset's 2.5 ms) zero-padded to 512 points."""
    rng = np.random.default_rng(1)
    width, windows = 20, 64
    frames = rng.standard_normal((windows * 401, width)).astype(np.float32)
    k = np.arange(N_FFT // 2 + 1)
    angle = 2 * np.pi * np.outer(np.arange(width), k) / N_FFT
    dft = np.concatenate([np.cos(angle), -np.sin(angle)], axis=1).astype(np.float32)
    padded = np.zeros((len(frames), N_FFT), dtype=np.float32)

    def by_fft() -> object:
        padded[:, :width] = frames
        return scipy.fft.rfft(padded, axis=1)

    times = _median_seconds({"fft": by_fft, "dft": lambda: frames @ dft}, rounds)
    return [
        "| 20-sample frames, 64 windows | ms | / DFT matrix |",
        "|---|---:|---:|",
        f"| zero-padded 512-point rfft | {times['fft'] * 1e3:.1f} | "
        f"{times['fft'] / times['dft']:.2f} |",
        f"| 20 × 514 real DFT matrix product | {times['dft'] * 1e3:.1f} | 1.00 |",
    ]


def float16_writes(rounds: int) -> list[str]:
    """512 examples of 257 x 101 float32 written as float16 one-example chunks."""
    features = np.random.default_rng(2).standard_normal((512, 257, FRAMES)).astype(np.float32)
    folder = Path(tempfile.mkdtemp(prefix="code-choices-"))

    def write(convert_first: bool) -> Callable[[], object]:
        def run() -> None:
            with h5py.File(folder / "f.h5", "w") as h5:
                data = features.astype(np.float16) if convert_first else features
                dset = h5.create_dataset(
                    "features", shape=features.shape, dtype=np.float16, chunks=(1, 257, FRAMES)
                )
                dset[...] = data

        return run

    times = _median_seconds({"numpy": write(True), "hdf5": write(False)}, rounds)
    return [
        "| float16 shard of 512 examples | ms | / numpy converts |",
        "|---|---:|---:|",
        f"| numpy converts, then write | {times['numpy'] * 1e3:.0f} | 1.00 |",
        f"| HDF5 converts while writing | {times['hdf5'] * 1e3:.0f} | "
        f"{times['hdf5'] / times['numpy']:.2f} |",
    ]


def reused_buffers(rounds: int) -> list[str]:
    """The power spectra of 8 one-second windows (808 x 257 float32, 0.8 MB) and their
    frames (808 x 512, 1.7 MB), 50 calls: into one buffer, or fresh ones each call."""
    frames = np.random.default_rng(3).standard_normal((8 * FRAMES, N_FFT)).astype(np.float32)
    power = np.empty((len(frames), N_FFT // 2 + 1), dtype=np.float32)
    framed = np.empty_like(frames)

    def reused() -> None:
        for _ in range(50):
            np.multiply(frames, 0.5, out=framed)
            spectrum = scipy.fft.rfft(framed, axis=1)
            np.abs(spectrum, out=power)

    def fresh() -> None:
        for _ in range(50):
            again = frames * 0.5
            spectrum = scipy.fft.rfft(again, axis=1)
            np.abs(spectrum).astype(np.float32)

    times = _median_seconds({"reused": reused, "fresh": fresh}, rounds)
    return [
        "| 50 batches of 8 windows | ms | / reused |",
        "|---|---:|---:|",
        f"| buffers reused | {times['reused'] * 1e3:.1f} | 1.00 |",
        f"| fresh buffers each call | {times['fresh'] * 1e3:.1f} | "
        f"{times['fresh'] / times['reused']:.2f} |",
    ]


def resample_blocks(rounds: int) -> list[str]:
    """soxr HQ, 44.1 -> 16 kHz, two minutes of noise in output blocks of N samples (each
    with a 2,048-sample margin of input on either side), and in one call."""
    import soxr

    signal = np.random.default_rng(5).standard_normal(120 * 44100).astype(np.float32)
    out_total = len(signal) * 160 // 441
    margin = 2048

    def blocks(size: int) -> Callable[[], object]:
        def run() -> None:
            for lo in range(0, out_total, size):
                first = max(0, lo * 441 // 160 - margin)
                last = min(len(signal), (lo + size) * 441 // 160 + margin)
                soxr.resample(signal[first:last], 44100, 16000, quality="HQ")

        return run

    cases = {f"2^{p}": blocks(2**p) for p in (14, 16, 18, 20)}
    cases["one call"] = lambda: soxr.resample(signal, 44100, 16000, quality="HQ")
    times = _median_seconds(cases, rounds)
    base = times["2^18"]
    lines = ["| output block | ms per minute of input | / 2^18 |", "|---|---:|---:|"]
    for name, seconds in times.items():
        lines.append(f"| {name} | {seconds / 2 * 1e3:.1f} | {seconds / base:.2f} |")
    return lines


def resamplers(rounds: int) -> list[str]:
    """44.1 -> 16 kHz: each resampler's gain for sines near the new Nyquist frequency
    (2 s each, edges left out), and its time for a minute of mono float32."""
    import scipy.signal
    import soxr

    rate, new = 44100, 16000
    nyquist = new / 2
    t = np.arange(2 * rate) / rate
    kinds: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "soxr HQ": lambda x: soxr.resample(x, rate, new, quality="HQ"),
        "soxr VHQ": lambda x: soxr.resample(x, rate, new, quality="VHQ"),
        "resample_poly": lambda x: scipy.signal.resample_poly(x, 160, 441),
    }
    fractions = (0.8, 0.9, 0.92, 0.93, 0.95, 0.97, 0.99, 1.05)

    def gain_db(resample: Callable[[np.ndarray], np.ndarray], fraction: float) -> float:
        sine = np.sin(2 * np.pi * fraction * nyquist * t).astype(np.float32)
        out = resample(sine)[new // 4 : -new // 4]
        rms = float(np.sqrt(np.mean(out.astype(np.float64) ** 2)))
        return 20 * np.log10(max(rms, 1e-12) / np.sqrt(0.5))

    minute = np.random.default_rng(6).standard_normal(60 * rate).astype(np.float32)
    times = _median_seconds({k: (lambda f=f: f(minute)) for k, f in kinds.items()}, rounds)
    head = " | ".join(f"{f:.2f}" for f in fractions)
    lines = [
        f"| resampler | gain (dB) at {head} of the new Nyquist | ms per minute | / soxr HQ |",
        "|---|" + "---:|" * (len(fractions) + 2),
    ]
    for kind, resample in kinds.items():
        gains = " | ".join(f"{gain_db(resample, f):.3g}" for f in fractions)
        lines.append(
            f"| {kind} | {gains} | {times[kind] * 1e3:.0f} | {times[kind] / times['soxr HQ']:.2f} |"
        )
    return lines


def decoding(rounds: int) -> list[str]:
    """A minute of 44.1 kHz stereo decoded and mixed to mono: spectroprep's route (blocks
    of 65,536 frames into one buffer, PCM_16 read as int16) against reading the whole
    file as float32 and taking the channel mean."""
    import soundfile as sf

    from spectroprep.ingest.audio.decode import decode_mono

    rate = 44100
    t = np.arange(60 * rate) / rate
    rng = np.random.default_rng(7)
    stereo = 0.3 * np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)], 1)
    stereo = (stereo + 0.01 * rng.standard_normal(stereo.shape)).astype(np.float32)
    folder = Path(tempfile.mkdtemp(prefix="code-choices-"))
    files = {
        "WAV PCM_16": (folder / "a.wav", "PCM_16"),
        "FLAC": (folder / "a.flac", "PCM_16"),
        "Vorbis": (folder / "a.ogg", "VORBIS"),
        "MP3": (folder / "a.mp3", "MPEG_LAYER_III"),
    }
    cases: dict[str, Callable[[], object]] = {}
    for name, (path, subtype) in files.items():
        with sf.SoundFile(path, "w", rate, 2, subtype=subtype) as f:
            for lo in range(0, len(stereo), rate):  # a second at a time, as encoders like
                f.write(stereo[lo : lo + rate])
        frames = sf.info(str(path)).frames
        cases[f"{name} ours"] = lambda p=path, s=subtype, n=frames: decode_mono(
            p, s, 2, rate, 0, n, "mean", seek_limit=n, promised=n
        )
        cases[f"{name} whole"] = lambda p=path: sf.read(p, dtype="float32")[0].mean(axis=1)
    times = _median_seconds(cases, rounds)
    lines = [
        "| one minute, 44.1 kHz stereo, to mono | ours, ms | whole file as float32, ms | / ours |",
        "|---|---:|---:|---:|",
    ]
    for name in files:
        ours, whole = times[f"{name} ours"], times[f"{name} whole"]
        lines.append(f"| {name} | {ours * 1e3:.0f} | {whole * 1e3:.0f} | {whole / ours:.2f} |")
    return lines


def window_buffer(rounds: int) -> list[str]:
    """A shuffled epoch's window of 1,024 examples (106 MB at 257 x 101 float32): a new
    array filled for every window, against one array filled again."""
    shape = (1024, 257, FRAMES)
    kept = np.empty(shape, dtype=np.float32)

    def fresh() -> None:
        np.empty(shape, dtype=np.float32).fill(1.0)

    times = _median_seconds({"kept": lambda: kept.fill(1.0), "fresh": fresh}, rounds)
    return [
        "| fill a 106 MB window | ms | / kept |",
        "|---|---:|---:|",
        f"| one array, kept | {times['kept'] * 1e3:.0f} | 1.00 |",
        f"| a new array each window | {times['fresh'] * 1e3:.0f} | "
        f"{times['fresh'] / times['kept']:.2f} |",
    ]


def subset_lookup(rounds: int) -> list[str]:
    """1,000 source names looked up among 100,000 distinct ones: a loop over the distinct
    values for each name asked, against a dict from name to code (read/subset.py)."""
    names = [f"clip-{i:06d}.flac" for i in range(100_000)]
    asked = names[::100]

    def by_loop() -> object:
        return [next(code for code, name in enumerate(names) if name == a) for a in asked]

    def by_dict() -> object:
        codes = {name: code for code, name in enumerate(names)}
        return [codes[a] for a in asked]

    times = _median_seconds({"loop": by_loop, "dict": by_dict}, max(1, rounds // 3))
    return [
        "| 1,000 names among 100,000 | s | / dict |",
        "|---|---:|---:|",
        f"| a loop over the distinct values per name | {times['loop']:.2f} | "
        f"{times['loop'] / times['dict']:,.0f} |",
        f"| a dict from name to code | {times['dict']:.3f} | 1 |",
    ]


def dataloader_handoff(rounds: int) -> list[str]:
    """A torch DataLoader whose dataset only copies a ready (64, 257, 101) float32 batch
    (6.6 MB): what handing batches to the training process costs, without workers and
    with 2 (bench/advice.py's note rests on it)."""
    try:
        import torch
        from torch.utils.data import DataLoader, IterableDataset
    except ImportError:
        return ["(not measured: torch is not installed)"]
    ready = torch.from_numpy(np.ones((64, 257, FRAMES), dtype=np.float32))

    class Copies(IterableDataset):
        def __iter__(self) -> Iterator[torch.Tensor]:
            info = torch.utils.data.get_worker_info()
            share = 60 if info is None else 60 // info.num_workers
            return (ready.clone() for _ in range(share))

    def run(workers: int) -> Callable[[], object]:
        loader = DataLoader(Copies(), batch_size=None, num_workers=workers)
        return lambda: sum(len(x) for x in loader)

    times = _median_seconds({"0": run(0), "2": run(2)}, max(3, rounds // 2))
    lines = ["| DataLoader workers | examples/s | / 0 workers |", "|---:|---:|---:|"]
    for workers in ("0", "2"):
        rate = 60 * 64 / times[workers]
        lines.append(f"| {workers} | {rate:,.0f} | {times['0'] / times[workers]:.2f} |")
    return lines


def imports(rounds: int) -> list[str]:
    modules = ["numpy", "numpy, scipy.fft", "numpy, scipy.signal"]

    def run(module: str) -> Callable[[], object]:
        return lambda: subprocess.run([sys.executable, "-c", f"import {module}"], check=True)

    times = _median_seconds({m: run(m) for m in modules}, rounds)
    base = times["numpy"]
    lines = ["| a fresh interpreter imports | s | beyond numpy, s |", "|---|---:|---:|"]
    for m in modules:
        lines.append(f"| {m} | {times[m]:.2f} | {times[m] - base:.2f} |")
    return lines


_TF_CASE = r"""
import os, sys, time, statistics
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, tensorflow as tf
aligned = sys.argv[1] == "aligned"
source = np.random.default_rng(4).standard_normal((64, 257, 101)).astype(np.float32)
def batch(i):
    if aligned:
        raw = np.empty(source.nbytes + 64, np.uint8)
        skip = -raw.ctypes.data % 64
        out = raw[skip : skip + source.nbytes].view(np.float32).reshape(source.shape)
    else:
        out = np.empty(source.shape, np.float32)
    out[...] = source
    return out
pipe = tf.data.Dataset.range(40).map(
    lambda i: tf.numpy_function(batch, [i], tf.float32, stateful=False), num_parallel_calls=1
).prefetch(2)
times = []
for _ in range(4):
    start = time.perf_counter()
    for x in pipe:
        pass
    times.append(time.perf_counter() - start)
print(statistics.median(times[1:]) / 40)
"""


def tf_handoff(rounds: int) -> list[str]:
    if not TF_PYTHON.is_file():
        return ["(not measured: .venv-tf is missing; `make install-tf`)"]

    def run(kind: str) -> float:
        out = subprocess.run(
            [str(TF_PYTHON), "-c", _TF_CASE, kind], capture_output=True, text=True, check=True
        )
        return float(out.stdout.split()[-1])

    per = {"aligned": [], "numpy": []}
    for r in range(rounds):
        for kind in ["aligned", "numpy"] if r % 2 == 0 else ["numpy", "aligned"]:
            per[kind].append(run(kind))
    median = {k: statistics.median(v) for k, v in per.items()}
    return [
        "| 6.6 MB batches through `tf.numpy_function` | ms per batch | / aligned |",
        "|---|---:|---:|",
        f"| 64-byte aligned arrays (TensorFlow takes them as they are) | "
        f"{median['aligned'] * 1e3:.2f} | 1.00 |",
        f"| numpy's own arrays (TensorFlow copies them) | {median['numpy'] * 1e3:.2f} | "
        f"{median['numpy'] / median['aligned']:.2f} |",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds = 3 if args.quick else 7
    print("## The code's choices (benchmarks/code_choices.py)\n")
    print(f"Medians of {rounds} interleaved rounds.\n")
    sections = [
        ("FFT batch size", fft_batches),
        ("Short frames: a DFT matrix against the FFT", short_frames),
        ("float16: who converts", float16_writes),
        ("Reused buffers against fresh ones", reused_buffers),
        ("Resampling block size", resample_blocks),
        ("Resamplers: gain near the new Nyquist frequency, and time", resamplers),
        ("Decoding and mixing to mono", decoding),
        ("A shuffled epoch's window buffer", window_buffer),
        ("Subset lookup", subset_lookup),
        ("A DataLoader's hand-off", dataloader_handoff),
        ("Import costs", imports),
        ("tf.data: aligned arrays against numpy's", tf_handoff),
    ]
    for title, measure in sections:
        print(f"### {title}\n")
        print("\n".join(measure(rounds)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
