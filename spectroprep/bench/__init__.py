"""``spectroprep bench``: how fast a dataset reads, the way training reads it.

Four access patterns, each for a fixed time after a short warm-up, in the calling
process (0 workers) or in N worker processes that each read their own whole
shards (as ``ShardSampler`` gives DataLoader workers):

* sequential: ``batches(shuffle=False)``;
* random single: ``ds[i]`` at random positions;
* random batch: ``get_batch`` of ``batch_size`` random positions;
* shuffled epoch: ``batches(shuffle=True)``, what a training loop reads;
* with torch installed, a real ``DataLoader`` over ``BatchDataset`` (``loader.py``):
  what the training process receives, hand-off from the workers included.

The other rates count examples delivered as numpy arrays in the reading processes.
With ``cold``, the dataset's pages are taken out of the page cache before each
measurement (``cache.py``), so the reads go to the disk.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..read.reader import Dataset, open_dataset
from ..read.sampler import ShardSampler
from .cache import dataset_files, evict

PATTERNS = ("sequential", "random single", "random batch", "shuffled epoch")
WARM_UP_S = 0.2


@dataclass(frozen=True)
class Rate:
    """One measurement: ``examples`` read in ``seconds`` by ``workers`` processes."""

    pattern: str
    workers: int
    examples: int
    seconds: float
    example_bytes: int

    @property
    def examples_per_s(self) -> float:
        return self.examples / self.seconds if self.seconds else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.examples_per_s * self.example_bytes / 1e6

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "examples_per_s": round(self.examples_per_s, 1),
            "mb_per_s": round(self.mb_per_s, 1),
        }


def reads(
    ds: Dataset,
    pattern: str,
    batch_size: int,
    sampler: ShardSampler,
    rng: np.random.Generator | None = None,
) -> Iterator[int]:
    """Endless reads of one pattern by one reader (random positions from ``rng``,
    by default seeded with the reader's part); yields examples read per step."""
    rng = np.random.default_rng(sampler.part) if rng is None else rng
    n = len(ds)
    epoch = 0
    while True:
        if pattern == "random single":
            for i in rng.integers(0, n, 256).tolist():
                ds[i]
                yield 1
        elif pattern == "random batch":
            yield len(ds.get_batch(rng.integers(0, n, batch_size))[0])
        else:
            if not sampler.shards:
                return
            shuffle = pattern == "shuffled epoch"
            sampler.set_epoch(epoch)
            for x, _ in sampler.batches(batch_size, shuffle=shuffle, seed=0, prefetch=0):
                yield len(x)
            epoch += 1


def timed_steps(steps: Iterator[int], seconds: float, warm_up_s: float) -> tuple[int, float]:
    """Examples of ``steps`` (examples per step) in about ``seconds`` after ``warm_up_s``
    of untimed ones, and the exact time taken."""
    end = time.perf_counter() + warm_up_s
    for _ in steps:
        if time.perf_counter() >= end:
            break
    count = 0
    start = time.perf_counter()
    end = start + seconds
    for got in steps:
        count += got
        if time.perf_counter() >= end:
            break
    return count, time.perf_counter() - start


def _timed(
    ds: Dataset, pattern: str, batch_size: int, sampler: ShardSampler, seconds: float
) -> tuple[int, float]:
    """Examples read in about ``seconds`` after a warm-up, and the exact time taken."""
    return timed_steps(reads(ds, pattern, batch_size, sampler), seconds, WARM_UP_S)


def _worker(
    path: str, pattern: str, batch_size: int, part: int, parts: int, seconds: float, start: Any
) -> tuple[int, float]:
    ds = open_dataset(path)
    sampler = ShardSampler(ds, worker=part, num_workers=parts)
    start.wait()
    return _timed(ds, pattern, batch_size, sampler, seconds)


def measure(
    path: str | Path,
    pattern: str,
    workers: int,
    batch_size: int = 64,
    seconds: float = 1.0,
    cold: bool = False,
) -> Rate:
    """Read ``pattern`` for ``seconds`` with ``workers`` processes (0: in this one),
    with the dataset out of the page cache first when ``cold``."""
    from .loader import loader_patterns, loader_rate

    known = (*PATTERNS, *loader_patterns())
    if pattern not in known:
        raise ValueError(f"pattern must be one of {', '.join(known)}, not {pattern!r}")
    ds = open_dataset(path)
    if cold:
        evict(dataset_files(Path(path), ds.info))
    if pattern not in PATTERNS:
        return loader_rate(Path(path), pattern, workers, batch_size, seconds, ds.example_bytes)
    if workers == 0:
        count, took = _timed(ds, pattern, batch_size, ShardSampler(ds), seconds)
        return Rate(pattern, 0, count, took, ds.example_bytes)
    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    manager = context.Manager()
    with manager, context.Pool(workers) as pool:
        start = manager.Barrier(workers)
        jobs = [
            pool.apply_async(
                _worker, (str(path), pattern, batch_size, part, workers, seconds, start)
            )
            for part in range(workers)
        ]
        results = [job.get() for job in jobs]
    count = sum(c for c, _ in results)
    return Rate(pattern, workers, count, max(t for _, t in results), ds.example_bytes)


def run(
    path: str | Path,
    workers: Sequence[int] = (0, 1, 2),
    batch_size: int = 64,
    seconds: float = 1.0,
    patterns: Sequence[str] | None = None,
    cold: bool = False,
) -> list[Rate]:
    """Every pattern (by default the four, then the DataLoader's where torch is
    installed) with every worker count."""
    from .loader import loader_patterns

    patterns = (*PATTERNS, *loader_patterns()) if patterns is None else patterns
    return [measure(path, p, w, batch_size, seconds, cold) for p in patterns for w in workers]
