"""dataset.json of a dataset derived by ``shard``: the source's description with the
new layout, counts, files and statistics, and a record of where it came from."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..config import Config
from ..dataset.datafile import ShardResult, label_counts
from ..dataset.frame_events import with_frame_storage
from ..dataset.layout import DATASET_JSON
from ..dataset.manifest import describe_columns
from ..dataset.stats import BinStats
from ..version import __version__


def dataset_fingerprint(root: Path) -> str:
    """sha256 of a dataset's dataset.json, which holds every data file's digest."""
    return hashlib.sha256((root / DATASET_JSON).read_bytes()).hexdigest()


def describe_derived(
    *,
    source: Mapping[str, Any],
    source_root: Path,
    config: Config,
    results: Sequence[ShardResult],
    sources: int,
    rejected: int,
    statistics: BinStats,
    source_statistics: Mapping[str, Any],
    extra_columns: Sequence[str],
    derivation: Mapping[str, Any],
    command: Sequence[str] | None,
) -> dict[str, Any]:
    """The content of a derived dataset's dataset.json. ``source``: the source's
    dataset.json; ``sources``: distinct source recordings in the new dataset;
    ``rejected``: rejected inputs it lists; ``statistics``: the features' statistics it
    records (the training split's); ``source_statistics``: the entry of its own
    source_statistics.npz; ``derivation``: how it was cut and ordered."""
    classes = source["labels"]["classes"]
    counts = label_counts(results, classes)
    provenance = source["provenance"]
    return {
        "format": source["format"],
        "format_version": source["format_version"],
        "config": config.to_dict(),
        "features": {"shape": source["features"]["shape"], "dtype": config.storage.dtype},
        "labels": with_frame_storage(source["labels"]),
        "counts": {
            "examples": sum(r.record.examples for r in results),
            "files": len(results),
            "sources": sources,
            "rejected": rejected,
            "constant_examples": sum(r.constant for r in results),
            "per_class": counts.get("per_class", {}),
            **({"active_frames": counts["active_frames"]} if "active_frames" in counts else {}),
        },
        "statistics": statistics.to_dict(),
        "source_statistics": dict(source_statistics),
        "files": [r.record.to_dict() for r in results],
        "manifest": describe_columns(extra_columns),
        "provenance": {
            "tool": f"spectroprep {__version__}",
            "command": list(command) if command is not None else None,
            "inputs": provenance["inputs"],
            "derived_from": {
                "path": str(source_root.resolve()),
                "fingerprint": dataset_fingerprint(source_root),
                "provenance": provenance,
            },
        },
        "derivation": dict(derivation),
    }
