"""Whether a measured loader keeps up with a model's step time, and what to change."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..dataset.storage import get_format
from . import Rate

TRAINING_PATTERN = "shuffled epoch"


@dataclass
class Verdict:
    """The answer to "is the data loader the bottleneck?" for one step time."""

    step_ms: float
    needed: float  # examples/s the model consumes
    keeps_up: bool
    best: Rate
    advice: list[str] = field(default_factory=list)

    def lines(self, batch_size: int) -> list[str]:
        rate = self.best.examples_per_s
        need = (
            f"the model takes a batch of {batch_size} every {self.step_ms:g} ms "
            f"({self.needed:,.0f} examples/s)"
        )
        if self.keeps_up:
            head = (
                f"keeps up: {rate:,.0f} examples/s with {self.best.workers} worker(s), "
                f"{rate / self.needed:.1f}x what {need}"
            )
        else:
            head = (
                f"does NOT keep up: at best {rate:,.0f} examples/s "
                f"({self.best.workers} worker(s)), {rate / self.needed:.2f}x what {need}; "
                "the data loader is the bottleneck"
            )
        return [head, *(f"- {line}" for line in self.advice)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "step_ms": self.step_ms,
            "needed_examples_per_s": round(self.needed, 1),
            "keeps_up": self.keeps_up,
            "best": self.best.to_dict(),
            "advice": self.advice,
        }


def _rates(rates: Sequence[Rate], pattern: str) -> list[Rate]:
    return sorted((r for r in rates if r.pattern == pattern), key=lambda r: r.workers)


def verdict(
    rates: Sequence[Rate],
    step_ms: float,
    batch_size: int,
    info: dict[str, Any],
    dataset_bytes: int,
    memory_bytes: int | None,
) -> Verdict:
    """Compare the shuffled-epoch rates with what a step of ``step_ms`` needs; the
    fewest workers that keep up, or the fastest setting and what to change."""
    needed = batch_size / (step_ms / 1000)
    epoch = _rates(rates, TRAINING_PATTERN)
    enough = [r for r in epoch if r.examples_per_s >= needed]
    if enough:
        return Verdict(step_ms, needed, True, enough[0])
    best = max(epoch, key=lambda r: r.examples_per_s)
    return Verdict(
        step_ms, needed, False, best, _advice(rates, best, info, dataset_bytes, memory_bytes)
    )


def _advice(
    rates: Sequence[Rate],
    best: Rate,
    info: dict[str, Any],
    dataset_bytes: int,
    memory_bytes: int | None,
) -> list[str]:
    storage = info["config"]["storage"]
    tips = []
    epoch = _rates(rates, TRAINING_PATTERN)
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
