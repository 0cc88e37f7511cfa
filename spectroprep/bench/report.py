"""What ``spectroprep bench`` prints: a table of rates, or JSON, and the verdict."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..dataset.layout import tree_size
from . import PATTERNS, Rate
from .advice import Verdict, verdict


def memory_bytes() -> int | None:
    """This machine's RAM, where the system says."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def summarize_rates(
    path: Path,
    info: dict[str, Any],
    rates: Sequence[Rate],
    batch_size: int,
    seconds: float,
    step_ms: float | None,
) -> tuple[dict[str, Any], Verdict | None]:
    """The measurements as plain data, and the verdict when a step time is given."""
    size = tree_size(path)
    judged = None
    if step_ms is not None:
        judged = verdict(rates, step_ms, batch_size, info, size, memory_bytes())
    summary = {
        "dataset": str(path),
        "examples": sum(f["examples"] for f in info["files"]),
        "example_bytes": rates[0].example_bytes if rates else 0,
        "dataset_bytes": size,
        "format": info["config"]["storage"]["format"],
        "compression": info["config"]["storage"]["compression"],
        "dtype": info["features"]["dtype"],
        "batch_size": batch_size,
        "seconds_per_measurement": seconds,
        "cpu_count": os.cpu_count(),
        "results": [r.to_dict() for r in rates],
        "verdict": None if judged is None else judged.to_dict(),
    }
    return summary, judged


def table(summary: dict[str, Any], rates: Sequence[Rate]) -> list[str]:
    """The rates as a text table, one row per pattern, one column pair per worker count."""
    workers = sorted({r.workers for r in rates})
    head = f"{'pattern':<16}" + "".join(f"{f'{w} workers: ex/s':>20}{'MB/s':>9}" for w in workers)
    lines = [
        f"{summary['dataset']}: {summary['examples']:,} examples of "
        f"{summary['example_bytes'] / 1e3:,.1f} kB ({summary['format']}, "
        f"{summary['compression']}, {summary['dtype']}), batch {summary['batch_size']}, "
        f"{summary['seconds_per_measurement']:g} s per measurement, {summary['cpu_count']} cores",
        head,
    ]
    by_key = {(r.pattern, r.workers): r for r in rates}
    for pattern in PATTERNS:
        if not any(p == pattern for p, _ in by_key):
            continue
        cells = "".join(
            f"{by_key[pattern, w].examples_per_s:>20,.0f}{by_key[pattern, w].mb_per_s:>9,.0f}"
            for w in workers
        )
        lines.append(f"{pattern:<16}{cells}")
    return lines
