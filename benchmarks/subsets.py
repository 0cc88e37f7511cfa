"""Folds without copies: what reading a subset with ``open_dataset(path, where=...)`` and
normalising it with its own statistics (merged from source_statistics.npz) cost, each
against what a user would do without them, measured in the same run.

A generated corpus (600 WAV and FLAC files of 1-6 s at 44.1 kHz, mono and stereo, random
levels and spectra; ``--quick``: 60 files) is labelled by a CSV whose ``fold`` column
puts each file in one of 5 folds at random (a balanced draw, so every fold's examples
are spread over every shard), and built once with ``spectroprep.build(audio, out,
labels=csv, metadata_columns=["fold"], jobs=2)`` and the default config (1 s windows,
257 x 101 float32). The dataset is kept in WORKDIR/subsets and rebuilt only when missing.

1. Reads, page cache warm (examples/s, median of interleaved rounds): one shuffled epoch
   ``for x, y in ds.batches(64, seed=r, epoch=r)`` of the whole dataset, of
   ``where={"fold": [1, 2, 3]}`` (60 %) and of ``where={"fold": 1}`` (20 %), each against
   the same examples read through the whole dataset in a random permutation of their
   positions, 64 at a time with ``whole.get_batch`` (a sampler over random indices); and
   the subset's own epoch order (``ds.epoch_order``) read 64 at a time with
   ``ds.get_batch``, which tells the order's part from that of ``batches``' window reads.
2. Statistics of a subset: ``open_dataset(where=TRAIN, normalize=True)`` less
   ``open_dataset(where=TRAIN)`` (the merge, reading source_statistics.npz included)
   against a float64 numpy pass over the subset's features; their largest differences;
   then ``GroupStats.merged(rows)`` alone on synthetic statistics of 10k to 1M sources.
3. Build side: ``feature_stats`` (totals and per-source statistics from one pass) against
   ``BinStats.of`` (totals only) on one shard-sized array; the size of
   source_statistics.npz against the dataset's data files.

Prints markdown; progress goes to stderr.

Usage: python benchmarks/subsets.py WORKDIR [--quick]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import lfilter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_throughput import git_commit  # noqa: E402
from read_scale import resident, warm  # noqa: E402

import spectroprep  # noqa: E402
from spectroprep.dataset.source_stats import read_source_statistics  # noqa: E402
from spectroprep.dataset.stats import BinStats, GroupStats, feature_stats  # noqa: E402
from spectroprep.read.subset import subset_statistics  # noqa: E402

RATE = 44100
FOLDS = 5
CLASSES = ("dog", "rain", "engine", "bird", "siren", "wind", "door", "voice")
TRAIN = {"fold": [1, 2, 3]}
ONE = {"fold": 1}
BATCH = 64


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- corpus and dataset


def clip(seconds: float, channels: int, rng: np.random.Generator) -> np.ndarray:
    """Noise through a random one-pole low-pass plus a few tones, at a random level."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    a = rng.uniform(0.0, 0.95)
    x = lfilter([1 - a], [1, -a], rng.standard_normal(n))
    for f in rng.uniform(100, 8000, int(rng.integers(1, 4))):
        x += rng.uniform(0.05, 0.5) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    x *= 10 ** rng.uniform(-2.5, 0) / max(np.abs(x).max(), 1e-9)
    if channels == 1:
        return x
    return np.stack([x, x * rng.uniform(0.3, 1.0) + 0.01 * rng.standard_normal(n)], axis=1)


def make_corpus(folder: Path, files: int, seed: int = 0) -> tuple[Path, Path, float]:
    """``files`` clips in folder/audio and folder/labels.csv (path, label, fold);
    returns the audio folder, the table and the audio seconds."""
    rng = np.random.default_rng(seed)
    audio = folder / "audio"
    audio.mkdir(parents=True)
    folds = rng.permutation(np.arange(files) % FOLDS) + 1
    rows, total = [], 0.0
    for i in range(files):
        seconds = float(rng.uniform(1.0, 6.0))
        channels = int(rng.integers(1, 3))
        ext, fmt = (".flac", "FLAC") if i % 2 else (".wav", "WAV")
        name = f"clip-{i:04d}{ext}"
        sf.write(audio / name, clip(seconds, channels, rng), RATE, format=fmt, subtype="PCM_16")
        rows.append((name, CLASSES[int(rng.integers(len(CLASSES)))], int(folds[i])))
        total += seconds
    table = folder / "labels.csv"
    with table.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "fold"])
        writer.writerows(rows)
    return audio, table, total


def dataset(work: Path, files: int) -> tuple[Path, str]:
    """The built dataset (built now when missing), and how it came to be."""
    root = work / "subsets" / f"files-{files}"
    out = root / "dataset"
    if (out / "dataset.json").is_file() and (out / "source_statistics.npz").is_file():
        return out, "reused from an earlier run"
    if root.exists():
        shutil.rmtree(root)
    log(f"writing {files} audio files into {root / 'audio'}")
    start = time.perf_counter()
    audio, table, seconds = make_corpus(root, files)
    made = time.perf_counter() - start
    log(f"building {out}")
    start = time.perf_counter()
    spectroprep.build(audio, out, labels=table, metadata_columns=["fold"], jobs=2)
    built = time.perf_counter() - start
    return out, (
        f"generated ({seconds:,.0f} audio s) in {made:.0f} s and built with 2 jobs in "
        f"{built:.0f} s in this run"
    )


# ---------------------------------------------------------------- timing helpers


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(cases: dict[str, Callable[[int], object]], rounds: int) -> dict[str, float]:
    """Median seconds of each case over ``rounds`` rounds, each round visiting every case
    once, in an order rotated from round to round (the machine is noisy)."""
    names = list(cases)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(timed(lambda name=name, r=r: cases[name](r)))
    return {name: statistics.median(t) for name, t in times.items()}


def fmt_ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:,.2f}" if ms < 10 else f"{ms:,.1f}" if ms < 100 else f"{ms:,.0f}"


# ---------------------------------------------------------------- 1. reads


def epoch_reader(ds: spectroprep.Dataset, epochs: int) -> Callable[[int], int]:
    """``epochs`` shuffled epochs of ``ds``, as a user writes them."""

    def run(r: int) -> int:
        n = 0
        for e in range(epochs):
            for x, _ in ds.batches(BATCH, seed=r, epoch=r * epochs + e):
                n += len(x)
        return n

    return run


def order_reader(ds: spectroprep.Dataset, epochs: int) -> Callable[[int], int]:
    """The same epochs' order (``ds.epoch_order``), read 64 at a time with ``ds.get_batch``:
    the chunk-aware order without ``batches``' window reads."""

    def run(r: int) -> int:
        n = 0
        for e in range(epochs):
            order = ds.epoch_order(seed=r, epoch=r * epochs + e)
            for i in range(0, len(order), BATCH):
                x, _ = ds.get_batch(order[i : i + BATCH])
                n += len(x)
        return n

    return run


def permutation_reader(
    whole: spectroprep.Dataset, positions: np.ndarray, epochs: int
) -> Callable[[int], int]:
    """The same examples through the whole dataset: a random permutation, 64 at a time."""

    def run(r: int) -> int:
        rng = np.random.default_rng([r, 1])
        n = 0
        for _ in range(epochs):
            perm = rng.permutation(positions)
            for i in range(0, len(perm), BATCH):
                x, _ = whole.get_batch(perm[i : i + BATCH])
                n += len(x)
        return n

    return run


def reads(path: Path, rounds: int, least: int) -> list[str]:
    whole = spectroprep.open_dataset(path)
    subsets = {
        "whole dataset": whole,
        'where={"fold": [1, 2, 3]}': spectroprep.open_dataset(path, where=TRAIN),
        'where={"fold": 1}': spectroprep.open_dataset(path, where=ONE),
    }
    files = [str(path / f.path) for f in whole.files]
    warm(files)
    cached = resident(files)
    data_mb = sum(f.bytes for f in whole.files) / 1e6
    available = int(
        next(
            x for x in Path("/proc/meminfo").read_text().splitlines() if "MemAvailable" in x
        ).split()[1]
    )
    cases: dict[str, Callable[[int], int]] = {}
    epochs: dict[str, int] = {}
    for name, ds in subsets.items():
        epochs[name] = max(1, -(-least // len(ds)))  # every case reads about as many examples
        cases[f"{name}|epoch"] = epoch_reader(ds, epochs[name])
        cases[f"{name}|order"] = order_reader(ds, epochs[name])
        cases[f"{name}|base"] = permutation_reader(whole, ds.ids - 1, epochs[name])
        cases[f"{name}|epoch"](0)  # untimed: opens the files, fills numpy's caches
    seconds = interleaved(cases, rounds)
    after = resident(files)
    lines = [
        f"### Reading a subset (examples/s, median of {rounds} interleaved rounds)",
        "",
        "Shuffled epoch: `for x, y in ds.batches(64, seed=r, epoch=r)` (prefetch 2, the "
        "default) on the dataset opened with `where`. Random permutation: the same examples "
        "read through the whole dataset, `whole.get_batch(perm[i:i+64])` over a random "
        "permutation of `sub.ids - 1`, what a sampler over random indices does without "
        "`where`. Epoch order: the subset's own shuffled order, `sub.epoch_order(seed=r, "
        "epoch=r)`, read 64 at a time with `sub.get_batch` (the chunk-aware order without "
        "`batches`' reads of 1,024-example windows, each then copied out batch by batch). "
        f"Each round reads each case's epochs until about {least:,} examples (the epochs "
        "column); the cases' order rotates from round to round.",
        "",
        "| examples | share | epochs a round | shuffled epoch | epoch order, 64 at a time "
        "| random permutation | shuffled epoch / permutation | epoch order / permutation |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, ds in subsets.items():
        n = len(ds) * epochs[name]
        epoch, order, base = (n / seconds[f"{name}|{k}"] for k in ("epoch", "order", "base"))
        lines.append(
            f"| {name} | {len(ds) / len(whole):.0%} ({len(ds):,}) | {epochs[name]} | "
            f"{epoch:,.0f} | {order:,.0f} | {base:,.0f} | {epoch / base:.2f} | "
            f"{order / base:.2f} |"
        )
    lines += [
        "",
        f"Page cache: the {len(files)} data files ({data_mb:,.0f} MB) fit in memory "
        f"({available / 2**20:.1f} GiB available) and were read through first: "
        f"{cached:.0%} of their pages were resident before the rounds and {after:.0%} "
        "after (mincore), so these are warm reads, no disk; the figures measure the "
        "reader's own work (a subset's runs of adjacent rows against scattered single rows).",
    ]
    return lines


# ---------------------------------------------------------------- 2. statistics


def numpy_pass(ds: spectroprep.Dataset, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Per-bin mean and std of every feature of ``ds``, summed in float64."""
    s1 = np.zeros(ds.shape[0])
    s2 = np.zeros(ds.shape[0])
    for lo in range(0, len(ds), chunk):
        x, _ = ds.get_batch(np.arange(lo, min(lo + chunk, len(ds))))
        x = x.astype(np.float64)
        s1 += x.sum(axis=(0, 2))
        s2 += (x * x).sum(axis=(0, 2))
    count = len(ds) * ds.shape[1]
    mean = s1 / count
    return mean, np.sqrt(np.maximum(s2 / count - mean * mean, 0.0))


def subset_stats(path: Path, rounds: int) -> list[str]:
    sub = spectroprep.open_dataset(path, where=TRAIN)
    open_times = interleaved(
        {
            "plain": lambda r: spectroprep.open_dataset(path, where=TRAIN),
            "normalize": lambda r: spectroprep.open_dataset(path, where=TRAIN, normalize=True),
        },
        rounds,
    )
    merge = open_times["normalize"] - open_times["plain"]
    numpy_s = statistics.median(timed(lambda: numpy_pass(sub)) for _ in range(max(3, rounds // 3)))
    mean_np, std_np = numpy_pass(sub)
    merged = subset_statistics(
        read_source_statistics(path, sub.info), sub.ids - 1, sub.manifest, TRAIN, path
    )
    mean_m, std_m = np.asarray(merged["mean"]), np.asarray(merged["std"])
    normed = spectroprep.open_dataset(path, where=TRAIN, normalize=True)
    pick = np.random.default_rng(0).choice(len(sub), min(64, len(sub)), replace=False)
    x_norm, _ = normed.get_batch(pick)
    x_raw, _ = sub.get_batch(pick)
    by_hand = (x_raw.astype(np.float64) - mean_np[:, None]) / std_np[:, None]
    sources = read_source_statistics(path, sub.info)
    held = len(np.unique(sources.example_group[sub.ids - 1]))
    return [
        "### Statistics of a subset",
        "",
        f'`where={{"fold": [1, 2, 3]}}`: {len(sub):,} examples of {held} of the dataset\'s '
        f"{len(sources)} sources. Merge: median time of `open_dataset(path, where=TRAIN, "
        "normalize=True)` less that of `open_dataset(path, where=TRAIN)`, interleaved, "
        f"{rounds} rounds (reading source_statistics.npz, its checks and the merge). Numpy "
        "pass: `get_batch` of 256 examples at a time through the subset, per-bin sum and "
        "sum of squares in float64 (median of "
        f"{max(3, rounds // 3)}).",
        "",
        "| | ms |",
        "|---|---:|",
        f"| open_dataset(where=TRAIN) | {fmt_ms(open_times['plain'])} |",
        f"| open_dataset(where=TRAIN, normalize=True) | {fmt_ms(open_times['normalize'])} |",
        f"| merge (the difference) | {fmt_ms(merge)} |",
        f"| numpy pass over the subset's features | {fmt_ms(numpy_s)} |",
        f"| numpy pass / merge | {numpy_s / max(merge, 1e-9):,.0f}x |",
        "",
        f"Merged against the numpy pass: largest difference of a bin's mean "
        f"{np.abs(mean_m - mean_np).max():.1e}, of its std {np.abs(std_m - std_np).max():.1e} "
        f"(values {mean_np.min():.1f} to {mean_np.max():.1f}, stds {std_np.min():.2f} to "
        f"{std_np.max():.2f}); 64 normalised examples from `normalize=True` differ from "
        f"(x - numpy mean) / numpy std by at most {np.abs(x_norm - by_hand).max():.1e} "
        "(float32 features).",
    ]


def synthetic_groups(sources: int, bins: int, rng: np.random.Generator) -> GroupStats:
    """Statistics of ``sources`` sources of 1-30 one-second examples (101 frames each)."""
    count = rng.integers(1, 31, sources).astype(np.int64) * 101
    mean = rng.normal(-10.0, 3.0, (sources, bins))
    m2 = rng.uniform(5.0, 40.0, (sources, bins)) * count[:, None]
    return GroupStats(np.zeros(0, np.int64), np.arange(sources), count, mean, m2)


def merge_at_scale(sizes: list[tuple[int, int]], rounds: int) -> list[str]:
    rng = np.random.default_rng(0)
    lines = [
        "### Merging at scale (no dataset)",
        "",
        "`GroupStats.merged(rows)` on synthetic per-source statistics (count, mean and M2 "
        "of each source and bin in float64), `rows` 60 % of the sources drawn at random, "
        f"ascending; median of {rounds}. Per-source arrays: the mean and M2 in memory "
        "(and, stored, in source_statistics.npz).",
        "",
        "| sources | bins | per-source arrays MB | merged(rows) ms | ns per source and bin |",
        "|---:|---:|---:|---:|---:|",
    ]
    for sources, bins in sizes:
        log(f"merge: {sources:,} sources x {bins} bins")
        groups = synthetic_groups(sources, bins, rng)
        rows = np.sort(rng.choice(sources, int(0.6 * sources), replace=False))
        groups.merged(rows)
        took = statistics.median(timed(lambda g=groups, k=rows: g.merged(k)) for _ in range(rounds))
        mb = (groups.mean.nbytes + groups.m2.nbytes + groups.count.nbytes) / 1e6
        lines.append(
            f"| {sources:,} | {bins} | {mb:,.0f} | {fmt_ms(took)} | "
            f"{took * 1e9 / (len(rows) * bins):.2f} |"
        )
        del groups
    return lines


# ---------------------------------------------------------------- 3. build side


def build_side(path: Path, rounds: int) -> list[str]:
    rng = np.random.default_rng(0)
    x = rng.normal(-10.0, 5.0, (512, 257, 101)).astype(np.float32)
    sizes = np.full(100, 5)
    sizes[rng.choice(100, 12, replace=False)] += 1  # 512 examples: 88 of 5, 12 of 6
    groups = np.repeat(np.arange(100), sizes)
    times = interleaved(
        {"of": lambda r: BinStats.of(x), "groups": lambda r: feature_stats(x, groups)}, rounds
    )
    total, per = feature_stats(x, groups)
    alone = BinStats.of(x)
    same = np.abs(total.mean - alone.mean).max(), np.abs(total.std - alone.std).max()
    merged = per.merged()
    info = json.loads((path / "dataset.json").read_text())
    data = sum(f["bytes"] for f in info["files"])
    stats_bytes = (path / "source_statistics.npz").stat().st_size
    entry = info.get("source_statistics", {})
    sources = entry.get("sources", 0)
    examples = sum(f["examples"] for f in info["files"])
    return [
        "### Build side: per-source statistics",
        "",
        "One shard-sized array, 512 x 257 x 101 float32 (53 MB; normal, mean -10, std 5), "
        f"median of {rounds} interleaved rounds:",
        "",
        "| | ms |",
        "|---|---:|",
        f"| `BinStats.of(x)` (the shard's totals) | {fmt_ms(times['of'])} |",
        f"| `feature_stats(x, groups)` (totals and 100 sources of 5-6 examples) "
        f"| {fmt_ms(times['groups'])} |",
        f"| ratio | {times['groups'] / times['of']:.2f} |",
        "",
        f"Both give the same totals (largest difference of a mean {same[0]:.1e}, of a std "
        f"{same[1]:.1e}); the 100 sources merged back differ from them by at most "
        f"{np.abs(merged.mean - total.mean).max():.1e} (mean) and "
        f"{np.abs(merged.std - total.std).max():.1e} (std).",
        "",
        f"Size on disk, this dataset: source_statistics.npz {stats_bytes / 1e6:.2f} MB "
        f"({sources} sources, {examples:,} examples) against {data / 1e6:,.0f} MB of data "
        f"files: {stats_bytes / data:.2%} ({stats_bytes / max(sources, 1) / 1e3:.1f} kB "
        f"a source, {stats_bytes / max(examples, 1):,.0f} bytes an example).",
    ]


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workdir", type=Path, help="scratch folder (the dataset is kept in it)")
    ap.add_argument("--quick", action="store_true", help="60 files, fewer rounds: a smoke test")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    files = 60 if args.quick else 600
    rounds = 3 if args.quick else 7
    path, how = dataset(args.workdir, files)
    whole = spectroprep.open_dataset(path)
    fold = whole.manifest.extra["fold"]
    fold_sizes = [int((fold.codes == fold.values.index(str(k))).sum()) for k in range(1, 6)]
    log("reads")
    read_lines = reads(path, rounds, least=len(whole) if args.quick else 2 * len(whole))
    log("statistics of a subset")
    stats_lines = subset_stats(path, 5 if args.quick else 21)
    scale = [(10_000, 64)] if args.quick else [(10_000, 64), (100_000, 64), (100_000, 257)]
    scale += [] if args.quick else [(1_000_000, 64)]
    log("merge at scale")
    scale_lines = merge_at_scale(scale, rounds)
    log("build side")
    build_lines = build_side(path, rounds)
    total = time.perf_counter() - started
    load = os.getloadavg()[0]
    print(
        "\n".join(
            [
                "## Folds without copies: subsets and their statistics",
                "",
                f"`python benchmarks/subsets.py{' --quick' if args.quick else ''}` "
                f"(git {git_commit()}; {total:.0f} s; 1-minute load average {load:.2f} at the "
                "end). Dataset: "
                f"{files} generated WAV/FLAC files of 1-6 s at 44.1 kHz (mono and stereo), "
                f"{how}; `spectroprep.build(audio, out, labels=csv, "
                f'metadata_columns=["fold"], jobs=2)`, default config: {len(whole):,} '
                f"examples of {whole.shape[0]} x {whole.shape[1]} float32 in "
                f"{len(whole.files)} shard{'s' if len(whole.files) > 1 else ''}; folds drawn at "
                "random per file, examples per "
                f"fold {', '.join(f'{n:,}' for n in fold_sizes)}.",
                "",
                *read_lines,
                "",
                *stats_lines,
                "",
                *scale_lines,
                "",
                *build_lines,
                "",
            ]
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
