"""Whether a measured loader keeps up with a model's step time, and what to change."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..dataset.storage import get_format
from . import Rate

TRAINING_PATTERN = "shuffled epoch"  # what a training loop reads, when no DataLoader ran


@dataclass
class Verdict:
    """The answer to "is the data loader the bottleneck?": for a step time, whether the
    loader keeps up; without one, the shortest step it can feed at each worker count.
    ``pattern``: the reads judged, a DataLoader's when one was measured."""

    pattern: str
    step_ms: float | None
    needed: float | None  # examples/s the model consumes
    keeps_up: bool | None
    best: Rate
    feeds: list[Rate] = field(default_factory=list)  # the judged pattern at each count
    advice: list[str] = field(default_factory=list)
    best_batch: int = 64  # the batch size measured
    notes: list[str] = field(default_factory=list)  # said whether or not it keeps up

    def lines(self, batch_size: int) -> list[str]:
        rate = self.best.examples_per_s
        if self.step_ms is None or self.needed is None:
            shortest = [
                f"{r.workers} worker(s): a step of {_step_ms(r, batch_size):,.2f} ms or more"
                for r in self.feeds
            ]
            return [
                f"with a batch of {batch_size} ({self.pattern}), this loader feeds "
                + "; ".join(shortest)
                + " (give --step-ms for a verdict on your model)",
                *(f"- {line}" for line in self.notes),
            ]
        need = (
            f"the model takes a batch of {batch_size} every {self.step_ms:g} ms "
            f"({self.needed:,.0f} examples/s)"
        )
        if self.keeps_up:
            head = (
                f"keeps up: {rate:,.0f} examples/s with {self.best.workers} worker(s) "
                f"({self.pattern}), {rate / self.needed:.1f}x what {need}"
            )
        else:
            head = (
                f"does NOT keep up: at best {rate:,.0f} examples/s "
                f"({self.best.workers} worker(s), {self.pattern}), {rate / self.needed:.2f}x "
                f"what {need}; the data loader is the bottleneck"
            )
        return [head, *(f"- {line}" for line in [*self.notes, *self.advice])]

    def to_dict(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern,
            "step_ms": self.step_ms,
            "needed_examples_per_s": None if self.needed is None else round(self.needed, 1),
            "keeps_up": self.keeps_up,
            "best": self.best.to_dict(),
            "shortest_step_ms": {
                str(r.workers): round(_step_ms(r, self.best_batch), 3) for r in self.feeds
            },
            "advice": self.advice,
            "notes": self.notes,
        }


def _step_ms(rate: Rate, batch_size: int) -> float:
    """The shortest step (ms) ``rate`` feeds a batch of ``batch_size`` to."""
    return 1000 * batch_size / rate.examples_per_s if rate.examples_per_s else float("inf")


def _rates(rates: Sequence[Rate], pattern: str) -> list[Rate]:
    return sorted((r for r in rates if r.pattern == pattern), key=lambda r: r.workers)


def judged_pattern(rates: Sequence[Rate]) -> str:
    """A DataLoader's rates when measured (what training receives), else a shuffled epoch's."""
    loader = "torch DataLoader"
    return loader if any(r.pattern == loader for r in rates) else TRAINING_PATTERN


def verdict(
    rates: Sequence[Rate],
    step_ms: float | None,
    batch_size: int,
    info: dict[str, Any],
    dataset_bytes: int,
    memory_bytes: int | None,
) -> Verdict:
    """Compare the judged rates with what a step of ``step_ms`` needs: the fewest
    workers that keep up, or the fastest setting and what to change; without a step
    time, the shortest step each worker count feeds."""
    pattern = judged_pattern(rates)
    epoch = _rates(rates, pattern)
    if not epoch:
        raise ValueError(f"no {pattern} rates to judge: measure that pattern too")
    best = max(epoch, key=lambda r: r.examples_per_s)
    notes = _handoff_notes(epoch, batch_size) if pattern != TRAINING_PATTERN else []
    if step_ms is None:
        return Verdict(pattern, None, None, None, best, epoch, [], batch_size, notes)
    needed = batch_size / (step_ms / 1000)
    enough = [r for r in epoch if r.examples_per_s >= needed]
    if enough:
        return Verdict(pattern, step_ms, needed, True, enough[0], epoch, [], batch_size, notes)
    advice = _advice(epoch, info, dataset_bytes, memory_bytes)
    return Verdict(pattern, step_ms, needed, False, best, epoch, advice, batch_size, notes)


def _handoff_notes(loader: list[Rate], batch_size: int) -> list[str]:
    """When DataLoader workers deliver less than none: passing batches between processes
    costs more than reading them (a no-op producer of 6.6 MB batches reached 8,800
    examples/s through 2 workers on a 2-core machine, 71,800 without; docs/performance.md)."""
    alone = next((r for r in loader if r.workers == 0), None)
    slower = [r for r in loader if r.workers and alone and r.examples_per_s < alone.examples_per_s]
    if alone is None or not slower:
        return []
    worst = min(slower, key=lambda r: r.examples_per_s)
    return [
        f"DataLoader workers deliver less than none ({worst.examples_per_s:,.0f} examples/s "
        f"with {worst.workers} against {alone.examples_per_s:,.0f}): handing batches of "
        f"{worst.example_bytes * batch_size / 1e6:.1f} MB between processes costs more here than "
        "reading them; num_workers=0 reads ahead in a background thread all the same"
    ]


def _advice(
    epoch: list[Rate],
    info: dict[str, Any],
    dataset_bytes: int,
    memory_bytes: int | None,
) -> list[str]:
    storage = info["config"]["storage"]
    tips = []
    cores = os.cpu_count() or 1
    first, last = epoch[0], epoch[-1]
    growth = last.examples_per_s / first.examples_per_s if first.examples_per_s else 0.0
    if growth > 1.3 and last.workers < cores:
        tips.append(
            f"more workers: the rate grew {growth:.1f}x from {first.workers} to "
            f"{last.workers}; this machine has {cores} cores (try --workers {last.workers},{cores})"
        )
    tips += get_format(storage["format"]).advice(storage)
    if info["features"]["dtype"] == "float32":
        tips.append(
            "float32 features: `spectroprep shard DATASET --out NEW --dtype float16` "
            "halves the bytes read"
        )
    if memory_bytes and dataset_bytes > memory_bytes:
        tips.append(
            f"the dataset ({dataset_bytes / 1e9:.1f} GB) is larger than memory "
            f"({memory_bytes / 1e9:.1f} GB), so reads go to the disk: more workers keep more "
            "reads in flight; float16 halves the bytes"
        )
    if not tips:
        tips.append(
            "the reads are already at this machine's limit: a larger batch per step, "
            "or a faster machine, is what is left"
        )
    return tips
