"""What ``spectroprep bench`` prints: a table of rates, or JSON, and the verdict."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..dataset.layout import tree_size
from . import Rate
from .advice import Verdict, verdict
from .cache import available_memory, dataset_files, resident

_NAME = 26  # the pattern column's width


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
    cache: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], Verdict]:
    """The measurements as plain data, and the verdict (for ``step_ms``, or the
    shortest step each worker count feeds); ``cache``: what ``page_cache`` found."""
    size = tree_size(path)
    judged = verdict(rates, step_ms, batch_size, info, size, memory_bytes())
    loader = any(r.pattern.startswith("torch DataLoader") for r in rates)
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
        "verdict": judged.to_dict(),
        "handoff_measured": loader,
        "page_cache": cache,
    }
    return summary, judged


def page_cache(path: Path, info: dict[str, Any], cold: bool) -> dict[str, Any]:
    """How much of the dataset was in the page cache before the measurements, whether it
    fits there, and whether each measurement started with it taken out (``cold``)."""
    files = dataset_files(path, info)
    size = sum(os.path.getsize(f) for f in files)
    available = available_memory()
    return {
        "resident_before": round(resident(files), 4),
        "data_bytes": size,
        "available_bytes": available,
        "fits": None if available is None else size < available,
        "cold": cold,
    }


def cache_lines(cache: dict[str, Any], loader: bool) -> list[str]:
    """What the figures include: memory or disk, and the hand-off to training."""
    where = (
        "cold: each measurement began with the dataset out of the page cache, so reads went "
        "to the disk"
        if cache["cold"]
        else f"{cache['resident_before']:.0%} of the dataset was in the page cache before the "
        "measurements"
        + (
            ""
            if cache["fits"] is None
            else f"; it {'fits' if cache['fits'] else 'does NOT fit'} in the memory available "
            f"({cache['data_bytes'] / 1e9:.2f} of {cache['available_bytes'] / 1e9:.1f} GB)"
        )
        + " (--cold measures the disk)"
    )
    handoff = (
        "torch DataLoader: batches as the training process receives them"
        if loader
        else "torch is not installed: the figures leave out handing batches to the training process"
    )
    return [where, handoff]


def table(summary: dict[str, Any], rates: Sequence[Rate]) -> list[str]:
    """The rates as a text table, one row per pattern, one column pair per worker count."""
    workers = sorted({r.workers for r in rates})
    head = f"{'pattern':<{_NAME}}" + "".join(
        f"{f'{w} workers: ex/s':>20}{'MB/s':>9}" for w in workers
    )
    lines = [
        f"{summary['dataset']}: {summary['examples']:,} examples of "
        f"{summary['example_bytes'] / 1e3:,.1f} kB ({summary['format']}, "
        f"{summary['compression']}, {summary['dtype']}), batch {summary['batch_size']}, "
        f"{summary['seconds_per_measurement']:g} s per measurement, {summary['cpu_count']} cores",
        head,
    ]
    by_key = {(r.pattern, r.workers): r for r in rates}
    for pattern in dict.fromkeys(r.pattern for r in rates):
        cells = "".join(
            f"{by_key[pattern, w].examples_per_s:>20,.0f}{by_key[pattern, w].mb_per_s:>9,.0f}"
            for w in workers
        )
        lines.append(f"{pattern:<{_NAME}}{cells}")
    return lines
