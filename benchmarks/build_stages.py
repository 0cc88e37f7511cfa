"""Where one shard task's time goes, stage by stage, on one core, beside the floors
of the work it cannot skip.

A shard of the default build (512 one-second windows of 16 kHz WAV into a
257 x 101 float32 log spectrogram each) is timed in this process through the
functions a build worker calls: decode (``audio.read_region``), features
(``features.spectrogram``), the normalisation statistics (``stats.BinStats.of``),
the HDF5 write (``storage.hdf5.write``: chunks with fletcher32) and the sha256
of the written file (``layout.sha256_path``). Beside them, the floors: scipy's
float32 rfft of the same frames alone, ``np.log`` of the features alone, the same
bytes written with one ``ndarray.tofile``, and their sha256 from memory.

Imported by build_compare.py, which puts the table in RESULTS.md; or run alone::

    .venv/bin/python benchmarks/build_stages.py AUDIO_FOLDER
"""

from __future__ import annotations

import hashlib
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


def _ms(work: Callable[[], object], before: Callable[[], object] = lambda: None) -> float:
    """Median wall milliseconds of ``work`` over REPEATS runs, after one warm-up;
    ``before`` runs untimed before each."""
    before()
    work()
    walls = []
    for _ in range(REPEATS):
        before()
        t0 = time.perf_counter()
        work()
        walls.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(walls)


def measure(audio: Path) -> dict[str, dict[str, float]]:
    """Milliseconds per shard of EXAMPLES one-second windows: ``stages`` a build runs,
    ``floors`` of the same work."""
    from scipy.fft import rfft

    from spectroprep.audio import probe, read_region
    from spectroprep.config import load_config
    from spectroprep.features import spectrogram
    from spectroprep.layout import sha256_path
    from spectroprep.stats import BinStats
    from spectroprep.storage import hdf5

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

    def transforms() -> None:
        for _ in range(0, EXAMPLES, len(frames)):
            rfft(frames, axis=-1)  # each result dropped, as the build drops it

    with tempfile.TemporaryDirectory(dir=audio.parent) as tmp:
        out = Path(tmp) / "out"  # written anew each time (as every shard is a new file)

        def remove() -> None:
            out.unlink(missing_ok=True)

        hdf5.write(out, features, labels, 1, {}, config.storage)
        stages = {
            "decode (soundfile, int16)": _ms(decode),
            "features (spectrogram)": _ms(lambda: spectrogram(windows, spec, rate, out=features)),
            "statistics (per-bin mean, M2)": _ms(lambda: BinStats.of(features)),
            "sha256 of the written file": _ms(lambda: sha256_path(out)),
            "HDF5 write (chunks + fletcher32)": _ms(
                lambda: hdf5.write(out, features, labels, 1, {}, config.storage), remove
            ),
        }
        floors = {
            "rfft alone (scipy, float32, 8 windows a call)": _ms(transforms),
            "np.log alone (float32, in place)": _ms(lambda: np.log(log_input, out=log_output)),
            "raw write of the same bytes (tofile)": _ms(lambda: features.tofile(out), remove),
            "sha256 of the same bytes in memory": _ms(
                lambda: hashlib.sha256(features.data).digest()
            ),
        }
    return {"stages": stages, "floors": floors}


def markdown(figures: dict[str, dict[str, float]]) -> list[str]:
    """The "Where a shard's time goes" part of RESULTS.md."""
    stages, floors = figures["stages"], figures["floors"]
    total = sum(stages.values())
    lines = [
        "### Where a shard's time goes (one core)",
        "",
        f"One shard of the default build ({EXAMPLES} one-second windows), each stage timed "
        f"alone in one process, median of {REPEATS}:",
        "",
        "| stage | ms per shard | share |",
        "|---|---:|---:|",
    ]
    for name, ms in stages.items():
        lines.append(f"| {name} | {ms:.1f} | {ms / total:.0%} |")
    lines += [
        f"| **sum** | **{total:.1f}** | {EXAMPLES / (total / 1e3):,.0f} audio-s/s per core |",
        "",
        "| floor: the same work with nothing around it | ms per shard |",
        "|---|---:|",
        *(f"| {name} | {ms:.1f} |" for name, ms in floors.items()),
        "",
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(markdown(measure(Path(sys.argv[1])))))
