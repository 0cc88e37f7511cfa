"""What a training loop's options cost, each beside a plain read in the same run: class
balance and per-example weights against plain shuffling, the batch transforms against
reading the batch, and a real torch DataLoader (hand-off included) against reading in the
training process, with ``spectroprep bench``'s own figure beside the hand-timed one.

It reads benchmarks/subsets.py's dataset (600 generated WAV/FLAC files, 2,381 examples of
257 x 101 float32 in 5 shards; built into WORKDIR/subsets when missing). Page cache warm.

Usage: python benchmarks/training_loop.py WORKDIR [--quick]; prints markdown.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from subsets import dataset, fmt_ms, interleaved  # noqa: E402

import spectroprep  # noqa: E402
from spectroprep import Compose, Mixup, SpecAugment  # noqa: E402

BATCH = 64


def epoch_rate(ds: spectroprep.Dataset, rounds: int, **options: object) -> float:
    """Examples/s of one epoch of ``ds.batches(64, ...)``, median of ``rounds``."""
    counts = {}

    def one(r: int) -> None:
        counts[r] = sum(len(x) for x, _ in ds.batches(BATCH, seed=r, epoch=r, **options))

    median = interleaved({"epoch": one}, rounds)["epoch"]
    return counts[0] / median


def sampling(path: Path, rounds: int) -> list[str]:
    ds = spectroprep.open_dataset(path)
    weights = np.random.default_rng(0).random(len(ds))
    cases = {
        "plain shuffle": {},
        'balance="class"': {"balance": "class"},
        "weights=": {"weights": weights},
    }
    counts: dict[str, int] = {}

    def reader(options: dict) -> object:
        def read(r: int) -> None:
            counts[str(options.keys())] = sum(
                len(x) for x, _ in ds.batches(BATCH, seed=r, epoch=r, **options)
            )

        return read

    times = interleaved({name: reader(o) for name, o in cases.items()}, rounds)
    base = len(ds) / times["plain shuffle"]
    lines = [
        f"| epoch of {len(ds):,} examples | examples/s | / plain shuffle |",
        "|---|---:|---:|",
    ]
    for name in cases:
        rate = len(ds) / times[name]
        lines.append(f"| {name} | {rate:,.0f} | {rate / base:.2f} |")
    return lines


def transforms(path: Path, rounds: int) -> list[str]:
    ds = spectroprep.open_dataset(path)
    order = np.random.default_rng(0).permutation(len(ds))[:BATCH]
    x, y = ds.get_batch(order)
    classes = len(ds.classes)
    kinds = {
        "SpecAugment (2 + 2 masks)": SpecAugment(),
        "Mixup (class ids to one-hot)": Mixup(0.2, classes),
        "both (Compose)": Compose(SpecAugment(), Mixup(0.2, classes)),
    }
    rng = np.random.default_rng(0)
    cases = {"read the batch (get_batch of 64 random)": lambda r: ds.get_batch(order)}
    for name, transform in kinds.items():  # on a copy, as batches() hands each batch out
        cases[name] = lambda r, t=transform: t(x.copy(), y, rng)
    cases["copy the batch (included above)"] = lambda r: x.copy()
    times = interleaved(cases, rounds * 10)
    read = times["read the batch (get_batch of 64 random)"]
    lines = ["| per batch of 64 | ms | / reading it |", "|---|---:|---:|"]
    for name, seconds in times.items():
        lines.append(f"| {name} | {fmt_ms(seconds)} | {seconds / read:.2f} |")
    return lines


def loader(path: Path, rounds: int) -> list[str]:
    import torch  # noqa: F401  (installed with the dev dependencies)
    from torch.utils.data import DataLoader

    from spectroprep.torch import BatchDataset

    def rate(workers: int) -> float:
        batches = BatchDataset(path, batch_size=BATCH, seed=0)
        dl = DataLoader(
            batches, batch_size=None, num_workers=workers, persistent_workers=workers > 0
        )
        count, start = 0, None
        for epoch in range(3):  # the first epoch starts the workers: not timed
            batches.set_epoch(epoch)
            for x, _ in dl:
                if epoch:
                    count += len(x)
            if not epoch:
                start = time.perf_counter()
        return count / (time.perf_counter() - start)

    hand = {w: [] for w in (0, 2)}
    for _ in range(rounds):
        for w in hand:
            hand[w].append(rate(w))
    bench = subprocess.run(
        [sys.executable, "-m", "spectroprep", "bench", str(path), "--workers", "0,2", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = {
        (r["pattern"], r["workers"]): r["examples_per_s"]
        for r in json.loads(bench.stdout)["results"]
    }
    lines = [
        "| workers | hand-timed DataLoader(BatchDataset), ex/s | `spectroprep bench`'s torch "
        "DataLoader, ex/s | bench's shuffled epoch (no hand-off), ex/s |",
        "|---:|---:|---:|---:|",
    ]
    for w, rates in hand.items():
        lines.append(
            f"| {w} | {np.median(rates):,.0f} | {rows['torch DataLoader', w]:,.0f} "
            f"| {rows['shuffled epoch', w]:,.0f} |"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    path, made = dataset(args.workdir, 60 if args.quick else 600)
    rounds = 3 if args.quick else 7
    print("## Training-loop options (benchmarks/training_loop.py)\n")
    print(
        f"benchmarks/subsets.py's dataset ({made}), page cache warm; medians of {rounds} "
        "interleaved rounds.\n"
    )
    print("### Balanced and weighted epochs against plain shuffling\n")
    print("\n".join(sampling(path, rounds)) + "\n")
    print("### Batch transforms against reading the batch\n")
    print("\n".join(transforms(path, rounds)) + "\n")
    print("### A real DataLoader against `spectroprep bench`\n")
    print("\n".join(loader(path, max(3, rounds // 2))) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
