"""Read throughput of the spectroprep reader against one .npy per example and the
mmap limit, side by side in one run on the same examples; and the peak RSS of a
full shuffled epoch.

Synthesises a corpus, builds it with spectroprep in several layouts (float32 and
float16 without compression, float32 with Blosc2-LZ4), writes the float32
examples once more as one .npy file per example (the usual first attempt) and as
one big .npy array read through ``np.load(mmap_mode="r")`` (the practical
ceiling), then times, page cache warm, median of ``--rounds`` rounds of
``--seconds`` each:

* random single: one example at a random position;
* random batch: 64 random positions (``get_batch``; np.load of 64 files and
  np.stack; fancy indexing of the memory map);
* sequential and shuffled epoch: ``batches(64, shuffle=False/True, prefetch=0)``
  (for .npy files: np.load in file order / in a random order).

Usage: python benchmarks/reader_throughput.py [WORKDIR] [--files N] [--seconds S]
    [--json OUT.json] [--markdown OUT.md] [--quick]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_throughput import make_corpus  # noqa: E402

BATCH = 64
LAYOUTS = {  # label: build overrides
    "float32, none (default)": [],
    "float16, none": ["storage.dtype=float16"],
    "float32, blosc2-lz4": ["storage.compression=blosc2-lz4"],
}
PATTERNS = ("random single", "random batch", "sequential", "shuffled epoch")


def rate(steps: Iterator[int], seconds: float) -> float:
    """Examples per second over about ``seconds`` of ``steps`` (examples per step)."""
    warm = time.perf_counter() + 0.1
    for _ in steps:
        if time.perf_counter() > warm:
            break
    count, start = 0, time.perf_counter()
    for got in steps:
        count += got
        if time.perf_counter() - start > seconds:
            break
    return count / (time.perf_counter() - start)


def spectroprep_steps(path: Path, pattern: str, rng: np.random.Generator) -> Iterator[int]:
    """The reads ``spectroprep bench`` times, in this process."""
    from spectroprep import ShardSampler, open_dataset
    from spectroprep.bench import reads

    ds = open_dataset(path)
    return reads(ds, pattern, BATCH, ShardSampler(ds), rng)


def npy_files_steps(files: list[Path], pattern: str, rng: np.random.Generator) -> Iterator[int]:
    n = len(files)
    while True:
        if pattern == "random single":
            for i in rng.integers(0, n, 256).tolist():
                np.load(files[i])
                yield 1
        elif pattern == "random batch":
            yield len(np.stack([np.load(files[i]) for i in rng.integers(0, n, BATCH)]))
        else:
            order = rng.permutation(n) if pattern == "shuffled epoch" else np.arange(n)
            for lo in range(0, n, BATCH):
                yield len(np.stack([np.load(files[i]) for i in order[lo : lo + BATCH]]))


def mmap_steps(big: Path, pattern: str, rng: np.random.Generator) -> Iterator[int]:
    array = np.load(big, mmap_mode="r")
    n = len(array)
    while True:
        if pattern == "random single":
            for i in rng.integers(0, n, 256).tolist():
                np.array(array[i])
                yield 1
        elif pattern == "random batch":
            yield len(array[np.sort(rng.integers(0, n, BATCH))])
        else:
            order = rng.permutation(n) if pattern == "shuffled epoch" else np.arange(n)
            for lo in range(0, n, BATCH):
                yield len(array[np.sort(order[lo : lo + BATCH])])


def measure(
    make: Callable[[str, np.random.Generator], Iterator[int]], seconds: float, rounds: int
) -> dict[str, float]:
    out = {}
    for pattern in PATTERNS:
        rates = [rate(make(pattern, np.random.default_rng(r)), seconds) for r in range(rounds)]
        out[pattern] = statistics.median(rates)
    return out


EPOCH_RSS = """
import sys, time
from spectroprep import open_dataset

def status(key):  # kB; VmHWM restarts at exec, unlike ru_maxrss, which keeps the parent's
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])

ds = open_dataset(sys.argv[1])
ds.get_batch([0])
before = status("VmRSS")
n = 0
start = time.perf_counter()
for x, y in ds.batches(64, seed=1, prefetch=2):
    n += len(x)
took = time.perf_counter() - start
print(n, before, status("VmHWM"), took)
"""


def epoch_rss(path: Path) -> dict[str, float]:
    """Peak RSS of a fresh process reading one shuffled epoch with prefetch 2."""
    out = subprocess.run(
        [sys.executable, "-c", EPOCH_RSS, str(path)], capture_output=True, text=True, check=True
    ).stdout.split()
    n, before, peak, took = int(out[0]), int(out[1]), int(out[2]), float(out[3])
    return {
        "examples": n,
        "rss_after_open_mb": before / 1024,
        "peak_rss_mb": peak / 1024,
        "epoch_seconds": took,
    }


def tree_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workdir", nargs="?", default="bench-work/reader")
    ap.add_argument("--files", type=int, default=80, help="audio files of 32 s (default 80)")
    ap.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    ap.add_argument("--rounds", type=int, default=3, help="measurements per cell; median")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--markdown", type=Path, help="write the markdown section here")
    ap.add_argument("--quick", action="store_true", help="smoke test: 8 files, short rounds")
    args = ap.parse_args(argv)
    if args.quick:
        args.files, args.seconds, args.rounds = 8, 0.2, 1
    started = time.perf_counter()

    from spectroprep import build, open_dataset

    work = Path(args.workdir)
    if work.exists():
        shutil.rmtree(work)
    audio = work / "audio"
    make_corpus(audio, args.files, 32.0, flac=False)
    built = {}
    for label, overrides in LAYOUTS.items():
        out = work / label.split(" (")[0].replace(", ", "-")
        build(audio, out, labels_from_folders=True, jobs=2, overrides=overrides)
        built[label] = out
    with open_dataset(built["float32, none (default)"]) as ds:
        every = ds.get_batch(range(len(ds)))[0]
    per_example = work / "npy-per-example"
    per_example.mkdir()
    files = []
    for i, example in enumerate(every):
        files.append(per_example / f"{i}.npy")
        np.save(files[-1], example)
    big = work / "all.npy"
    np.save(big, every)
    n, example_kb = len(every), every[0].nbytes / 1e3
    del every

    results: dict[str, dict[str, float]] = {}
    for label, path in built.items():
        results[f"spectroprep {label}"] = measure(
            lambda p, rng, path=path: spectroprep_steps(path, p, rng), args.seconds, args.rounds
        )
        print(f"  measured {label}", file=sys.stderr, flush=True)
    results["one .npy per example"] = measure(
        lambda p, rng: npy_files_steps(files, p, rng), args.seconds, args.rounds
    )
    results["one big .npy, mmap (the limit)"] = measure(
        lambda p, rng: mmap_steps(big, p, rng), args.seconds, args.rounds
    )
    rss = epoch_rss(built["float32, none (default)"])
    npy = results["one .npy per example"]
    limit = results["one big .npy, mmap (the limit)"]
    ratios = {}
    for label in LAYOUTS:
        mine = results[f"spectroprep {label}"]
        ratios[label] = {
            "random_batch_over_npy": mine["random batch"] / npy["random batch"],
            "random_batch_over_mmap": mine["random batch"] / limit["random batch"],
            "shuffled_over_sequential": mine["shuffled epoch"] / mine["sequential"],
            "shuffled_over_npy": mine["shuffled epoch"] / npy["shuffled epoch"],
        }
    figures = {
        "examples": n,
        "example_kb": example_kb,
        "sizes_mb": {label: tree_mb(path) for label, path in built.items()},
        "rates": results,
        "ratios": ratios,
        "epoch_rss": rss,
        "seconds": time.perf_counter() - started,
    }
    text = markdown(figures, args)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    if args.markdown:
        args.markdown.write_text(text)
    shutil.rmtree(work)
    return 0


def markdown(f: dict, args: argparse.Namespace) -> str:
    lines = [
        "## Reading",
        "",
        f"{f['examples']:,} examples of {f['example_kb']:.1f} kB (257 x 101 float32) from "
        f"{args.files} synthetic 32 s WAV files; page cache warm; examples/s, median of "
        f"{args.rounds} rounds of {args.seconds:g} s, one process, batches of {BATCH}, "
        "no prefetch thread.",
        "",
        "| store | " + " | ".join(PATTERNS) + " |",
        "|---|" + "---:|" * len(PATTERNS),
    ]
    for label, row in f["rates"].items():
        lines.append(f"| {label} | " + " | ".join(f"{row[p]:,.0f}" for p in PATTERNS) + " |")
    lines += [
        "",
        "| spectroprep layout | size MB | random batch / .npy per example | random batch / "
        "mmap limit | shuffled epoch / sequential | shuffled epoch / .npy per example |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, r in f["ratios"].items():
        lines.append(
            f"| {label} | {f['sizes_mb'][label]:,.1f} | {r['random_batch_over_npy']:.2f} | "
            f"{r['random_batch_over_mmap']:.2f} | {r['shuffled_over_sequential']:.2f} | "
            f"{r['shuffled_over_npy']:.2f} |"
        )
    e = f["epoch_rss"]
    lines += [
        "",
        f"Peak RSS of one shuffled epoch ({e['examples']:,} examples, "
        f"{f['sizes_mb']['float32, none (default)']:,.0f} MB of features, batches of 64, "
        f"prefetch 2, shuffle window 1,024 examples) in a fresh process: "
        f"**{e['peak_rss_mb']:,.0f} MB**, of which {e['rss_after_open_mb']:,.0f} MB is the "
        f"interpreter with the dataset open; the epoch took {e['epoch_seconds']:.2f} s.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
