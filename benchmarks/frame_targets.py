"""Frame targets stored as runs against the dense arrays stored before, side by side.

Two event datasets of AudioSet's shape are built from generated audio: 10-s clips
(16 kHz mono WAV) cut into one 10-s example each, 64-band log-mel at a 10 ms hop
(1,001 frames, float32 features: 256 KB an example), strong labels drawn like
AudioSet's (1-8 events a clip, log-normal durations of 0.1-10 s) over 10 classes
and over 527 (``--classes`` lists them all, so C = 527 whatever occurs). For each:

* bytes per example of the frame targets as stored (the runs' arrays in the HDF5
  shards, their storage size) against the dense (T, C) uint8 array stored before,
  and against the example's features;
* the cost of decoding: random batches of 64 with ``targets="frames"`` (features and
  decoded frame targets) against ``targets="labels"`` (features and weak labels):
  examples/s, median of interleaved rounds; and the decoding alone (runs to a dense
  (64, T, C) batch) against the floor of any dense storage, copying the same rows out
  of a dense array already in memory.

Usage: python benchmarks/frame_targets.py WORKDIR [--clips N] [--rounds N]; prints markdown.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import statistics
import sys
import time
import warnings
from pathlib import Path

import h5py
import numpy as np
import soundfile as sf

import spectroprep
from spectroprep.dataset.frame_events import EVENTS, OFFSETS, decode_into, encode

RATE = 16000
CLIP_S = 10.0
BATCH = 64
OVERRIDES = [
    "segment.length=10.0",
    "segment.hop=10.0",
    "spectrogram.n_mels=64",
    "storage.shard_examples=64",
]


def make_corpus(root: Path, clips: int, classes: int, seed: int) -> tuple[Path, Path, Path]:
    """``clips`` WAV files, their events TSV and a class list of ``classes`` names."""
    rng = np.random.default_rng(seed)
    audio = root / "audio"
    audio.mkdir(parents=True)
    rows = []
    n = int(CLIP_S * RATE)
    for k in range(clips):
        x = 0.05 * rng.standard_normal(n)
        for _ in range(int(rng.integers(1, 9))):
            cls = int(rng.integers(classes))
            length = float(np.clip(rng.lognormal(0.0, 1.0), 0.1, CLIP_S))
            onset = float(rng.uniform(0, CLIP_S - length))
            i, j = int(onset * RATE), int((onset + length) * RATE)
            x[i:j] += 0.3 * np.sin(2 * np.pi * (200 + 15 * cls) * np.arange(j - i) / RATE)
            rows.append((f"clip{k}.wav", f"{onset:.3f}", f"{onset + length:.3f}", f"c{cls}"))
        sf.write(audio / f"clip{k}.wav", 0.5 * x / np.abs(x).max(), RATE, subtype="PCM_16")
    events = root / "events.tsv"
    with events.open("w", newline="") as f:
        writer = csv.writer(f, delimiter="\t")
        writer.writerow(["filename", "onset", "offset", "event_label"])
        writer.writerows(rows)
    names = root / "classes.txt"
    names.write_text("".join(f"c{c}\n" for c in range(classes)))
    return audio, events, names


def stored_frame_bytes(dataset: Path) -> int:
    """Bytes the frame targets' runs take in the shards (HDF5 storage size)."""
    total = 0
    for shard in sorted((dataset / "shards").glob("*.h5")):
        with h5py.File(shard) as h5:
            total += sum(h5[name].id.get_storage_size() for name in (OFFSETS, EVENTS))
    return total


def read_rate(ds: spectroprep.Dataset, batches: list[np.ndarray]) -> float:
    start = time.perf_counter()
    for batch in batches:
        ds.get_batch(batch)
    return len(batches) * BATCH / (time.perf_counter() - start)


def measure(work: Path, clips: int, classes: int, rounds: int) -> dict[str, float]:
    root = work / f"c{classes}"
    shutil.rmtree(root, ignore_errors=True)
    audio, events, names = make_corpus(root, clips, classes, seed=classes)
    out = root / "ds"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spectroprep.build(audio, out, events=events, classes=names, overrides=OVERRIDES, jobs=2)
    labels = spectroprep.open_dataset(out)
    frames = spectroprep.open_dataset(out, targets="frames")
    n = len(labels)
    bins, t = labels.shape
    c = len(labels.classes)
    rng = np.random.default_rng(0)
    rates: dict[str, list[float]] = {"labels": [], "frames": []}
    for _ in range(rounds):
        batches = [rng.integers(0, n, BATCH) for _ in range(max(1, 4 * n // BATCH))]
        for name, ds in (("labels", labels), ("frames", frames)):  # interleaved
            rates[name].append(read_rate(ds, batches))
    x, y = frames.get_batch(np.arange(n))
    runs = stored_frame_bytes(out) / n
    stored = encode(y)
    decode_s, copy_s = [], []
    out_batch = np.empty((BATCH, t, c), dtype=np.uint8)
    slots = np.arange(BATCH)
    for _ in range(rounds * 20):
        rows = np.sort(rng.integers(0, n, BATCH))
        start = time.perf_counter()
        decode_into(stored[OFFSETS], stored[EVENTS], rows, out_batch, slots)
        middle = time.perf_counter()
        np.take(y, rows, axis=0, out=out_batch)
        copy_s.append(time.perf_counter() - middle)
        decode_s.append(middle - start)
    return {
        "classes": c,
        "frames": t,
        "examples": n,
        "active_share": float(y.mean()),
        "runs_bytes": runs,
        "dense_bytes": t * c,
        "feature_bytes": bins * t * x.dtype.itemsize,
        "labels_rate": statistics.median(rates["labels"]),
        "frames_rate": statistics.median(rates["frames"]),
        "decode_ms": 1e3 * statistics.median(decode_s),
        "copy_ms": 1e3 * statistics.median(copy_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--clips", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    work = args.workdir / "frame-targets"
    work.mkdir(parents=True, exist_ok=True)
    results = [measure(work, args.clips, c, args.rounds) for c in (10, 527)]
    print("## Frame targets as runs (AudioSet's shape)\n")
    print(
        f"{args.clips} generated 10-s clips with 1-8 events each, one 10-s example per clip "
        "(64 mel bands, 10 ms hop), HDF5 shards of 64; random batches of 64, median of "
        f"{args.rounds} interleaved rounds. Bytes per example of the frame targets as stored "
        "(runs) against the dense (T, C) uint8 array stored before.\n"
    )
    print(
        "| classes | frames | active cells | runs, bytes/example | dense, bytes/example "
        "| dense / runs | features, bytes/example | reads with frames, ex/s | with weak "
        "labels, ex/s | frames / labels | decode a batch, ms | copy it from dense in RAM, ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['classes']} | {r['frames']} | {r['active_share']:.2%} | {r['runs_bytes']:,.0f} "
            f"| {r['dense_bytes']:,} | {r['dense_bytes'] / r['runs_bytes']:,.0f}x "
            f"| {r['feature_bytes']:,} | {r['frames_rate']:,.0f} | {r['labels_rate']:,.0f} "
            f"| {r['frames_rate'] / r['labels_rate']:.2f} | {r['decode_ms']:.2f} "
            f"| {r['copy_ms']:.2f} |"
        )
    print()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
