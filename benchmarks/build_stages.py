"""Where one shard task's time goes, stage by stage, on one core, beside the floors
of the work it cannot skip.

A shard of the default build (512 one-second windows of 16 kHz WAV into a
257 x 101 float32 log spectrogram each) is timed in this process through the
functions a build worker calls: decode (``audio.read_region``), features
(``features.spectrogram``), the normalisation statistics (``stats.BinStats.of``),
and the three steps of ``storage.hdf5.write``: the file image in memory
(``storage.hdf5.image``: chunks with fletcher32), its write with one call, and its
xxh3_128 from memory. Beside them, the floors: scipy's float32 rfft of the same
frames alone, ``np.log`` of the features alone, a float64 copy of the features
(the conversion the statistics need), the same bytes written with one
``ndarray.tofile``. Every stage runs once per round, REPEATS rounds, after one
warm-up round: a slow moment of a busy machine then spreads over all stages.

Imported by build_compare.py, which puts the table in RESULTS.md; or run alone::

    .venv/bin/python benchmarks/build_stages.py AUDIO_FOLDER
"""

from __future__ import annotations

import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

EXAMPLES = 512  # the default storage.shard_examples
REPEATS = 5
# the stages (by the start of their names) that store a shard once its features exist
WRITE_PATH = ("statistics", "HDF5 image", "write of the image", "xxh3_128")

Timed = dict[str, tuple[Callable[[], object], Callable[[], object]]]


def _interleaved(work: Timed) -> dict[str, float]:
    """Median wall milliseconds of each ``(task, before)`` over REPEATS rounds that run
    every task once, after one warm-up round; ``before`` runs untimed before each."""
    walls: dict[str, list[float]] = {name: [] for name in work}
    for lap in range(REPEATS + 1):
        for name, (task, before) in work.items():
            before()
            t0 = time.perf_counter()
            task()
            if lap:
                walls[name].append(time.perf_counter() - t0)
    return {name: 1e3 * statistics.median(times) for name, times in walls.items()}


def _nothing() -> None:
    pass


def measure(audio: Path) -> dict[str, dict[str, float]]:
    """Milliseconds per shard of EXAMPLES one-second windows: ``stages`` a build runs,
    ``floors`` of the same work."""
    import xxhash
    from scipy.fft import rfft

    from spectroprep.config import load_config
    from spectroprep.dataset.stats import BinStats
    from spectroprep.dataset.storage import hdf5
    from spectroprep.features.stft import spectrogram
    from spectroprep.ingest.audio.file import probe, read_region

    config = load_config()
    rate = config.audio.sample_rate
    files = sorted(audio.rglob("*.wav"))
    infos = [(path, probe(path)) for path in files]
    need = EXAMPLES * rate
    chosen, total = [], 0
    for path, info in itertools.cycle(infos):  # whole files until the shard is full
        if total >= need:
            break
        chosen.append((path, info))
        total += info.frames

    signal = np.empty(total, dtype=np.float32)

    def decode() -> None:  # each file's samples dropped once copied, as a build does
        at = 0
        for path, info in chosen:
            signal[at : at + info.frames] = read_region(path, info, 0, info.frames, config.audio)
            at += info.frames

    decode()
    windows = signal[:need].reshape(EXAMPLES, rate)
    spec = config.spectrogram
    features = spectrogram(windows, spec, rate)
    labels = {"labels": np.zeros(EXAMPLES, dtype=np.int64)}
    frames = np.zeros((8, features.shape[2], spec.n_fft), dtype=np.float32)
    log_input = np.abs(features) + 1
    log_output = np.empty_like(log_input)
    wide = np.empty(features.shape)

    def transforms() -> None:
        for _ in range(0, EXAMPLES, len(frames)):
            rfft(frames, axis=-1)  # each result dropped, as the build drops it

    def make_image() -> None:
        with hdf5.image(features, labels, 1, {}, config.storage):
            pass

    with tempfile.TemporaryDirectory(dir=audio.parent) as tmp:
        out = Path(tmp) / "out"  # written anew each time (as every shard is a new file)

        def remove() -> None:
            out.unlink(missing_ok=True)

        with hdf5.image(features, labels, 1, {}, config.storage) as view:
            image = bytes(view)  # the shard's bytes, for the write and hash stages
        stages = {
            "decode (soundfile, int16)": (decode, _nothing),
            "features (spectrogram)": (
                lambda: spectrogram(windows, spec, rate, out=features),
                _nothing,
            ),
            "statistics (per-bin mean, M2)": (lambda: BinStats.of(features), _nothing),
            "HDF5 image in memory (chunks + fletcher32)": (make_image, _nothing),
            "write of the image (one call)": (lambda: out.write_bytes(image), remove),
            "xxh3_128 of the image in memory": (
                lambda: xxhash.xxh3_128(image).hexdigest(),
                _nothing,
            ),
        }
        floors = {
            "rfft alone (scipy, float32, 8 windows a call)": (transforms, _nothing),
            "np.log alone (float32, in place)": (
                lambda: np.log(log_input, out=log_output),
                _nothing,
            ),
            "float64 copy of the features (into a kept array)": (
                lambda: np.copyto(wide, features),
                _nothing,
            ),
            "raw write of the same bytes (tofile)": (lambda: features.tofile(out), remove),
        }
        timed = _interleaved({**stages, **floors})
    return {
        "stages": {name: timed[name] for name in stages},
        "floors": {name: timed[name] for name in floors},
    }


def markdown(figures: dict[str, dict[str, float]]) -> list[str]:
    """The "Where a shard's time goes" part of RESULTS.md."""
    stages, floors = figures["stages"], figures["floors"]
    total = sum(stages.values())
    lines = [
        "### Where a shard's time goes (one core)",
        "",
        f"One shard of the default build ({EXAMPLES} one-second windows), each stage timed "
        f"alone in one process, median of {REPEATS} rounds that run every stage once:",
        "",
        "| stage | ms per shard | share |",
        "|---|---:|---:|",
    ]
    for name, ms in stages.items():
        lines.append(f"| {name} | {ms:.1f} | {ms / total:.0%} |")
    stored = sum(ms for name, ms in stages.items() if name.startswith(WRITE_PATH))
    lines += [
        f"| **sum** | **{total:.1f}** | {EXAMPLES / (total / 1e3):,.0f} audio-s/s per core |",
        "",
        f"Statistics, the HDF5 image, its write and its hash together: {stored:.1f} ms, "
        f"{stored / total:.0%} of the shard.",
        "",
        "| floor: the same work with nothing around it | ms per shard |",
        "|---|---:|",
        *(f"| {name} | {ms:.1f} |" for name, ms in floors.items()),
        "",
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(markdown(measure(Path(sys.argv[1])))))
