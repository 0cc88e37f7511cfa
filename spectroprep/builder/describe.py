"""What the parent writes about a built dataset: manifest rows, dataset.json, and the
rejected inputs."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..config import Config
from ..dataset.frame_events import with_frame_storage
from ..dataset.layout import FORMAT_NAME, FORMAT_VERSION, FileRecord
from ..dataset.manifest import ManifestRow, describe_columns
from ..dataset.stats import BinStats
from ..dataset.storage import get_format
from ..features.stft import feature_shape
from ..ingest.headers import Source
from ..ingest.labels.model import LabelSet
from ..ingest.labels.targets import Targets
from ..ingest.metadata import Metadata
from ..ingest.segments import short_tail
from ..version import __version__
from .tasks import ShardTask


def manifest_rows(
    tasks: Iterable[ShardTask],
    records: Sequence[FileRecord],
    config: Config,
    labels: LabelSet,
    targets: Targets,
    metadata: Metadata,
) -> Iterator[ManifestRow]:
    """One row per example in id order (the natural order of their paths), streamed."""
    fmt = get_format(config.storage.format)
    rate, window, hop = config.audio.sample_rate, config.window_samples, config.hop_samples
    for task, record in zip(tasks, records, strict=True):
        row = 0
        for part in task.parts:
            source, region = part.source, part.region
            values = targets.labels(part.labels, region.first, region.count)
            names = [""] * region.count if values is None else [labels.names(v) for v in values]
            extra = metadata.of(source.name)
            for w, name in enumerate(names, start=region.first):
                example_id = task.first_example + row + 1
                start = w * hop
                yield ManifestRow(
                    example_id,
                    fmt.example_path(record.path, row, example_id),
                    row,
                    name,
                    source.file,
                    (source.offset + start) / rate,
                    min(window, source.samples - start) / rate,
                    extra,
                )
                row += 1


def inputs_fingerprint(sources: Iterable[Source]) -> str:
    """sha256 of every input's name, size and header: changes when the inputs do."""
    h = hashlib.sha256()
    for s in sources:
        i = s.info
        fields = (s.name, s.path.stat().st_size, i.frames, i.sample_rate, i.channels, i.subtype)
        h.update(("\t".join(map(str, fields)) + "\n").encode())
    return h.hexdigest()


def rejected_rows(sources: Iterable[Source], config: Config) -> list[tuple[str, str]]:
    """(source, reason) for every readable input that yields no example."""
    if config.segment.pad == "drop":
        length = config.segment.length
        too_short = f"shorter than one window (segment.length {length} s, pad = drop)"
    else:
        too_short = f"shorter than segment.min_last ({config.segment.min_last:g} s)"
    return [
        (s.name, "no audio frames" if s.info.frames == 0 else too_short)
        for s in sources
        if s.windows == 0
    ]


def describe(
    *,
    config: Config,
    labels: LabelSet,
    targets: Targets,
    counts: Mapping[str, dict[str, int]],
    constant_examples: int,
    stats: BinStats,
    source_statistics: Mapping[str, Any],
    sources: Sequence[Source],
    rejected: Sequence[tuple[str, str]],
    records: Sequence[FileRecord],
    command: Sequence[str] | None,
    audio_root: Path,
    metadata: Metadata,
) -> dict[str, Any]:
    """The content of dataset.json; ``counts``: label counts by class name
    (``dataset.datafile.label_counts``); ``constant_examples``: examples of one value
    all over;
    ``stats``: the features' statistics per frequency bin; ``source_statistics``: the
    entry of source_statistics.npz (``dataset.source_stats``); ``sources``: the inputs
    built from; ``rejected``: (name, reason) of every input that gave no example;
    ``audio_root``: the folder the sources' names are relative to (``verify
    --recompute`` finds them there); ``metadata``: the manifest's extra columns."""
    bins, frames = feature_shape(config.window_samples, config.spectrogram)
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "config": config.to_dict(),
        "features": {"shape": [bins, frames], "dtype": config.storage.dtype},
        "labels": with_frame_storage(
            {"kind": labels.kind, "classes": list(labels.classes), **targets.params(config)}
        ),
        "counts": {
            "examples": sum(r.examples for r in records),
            "files": len(records),
            "sources": sum(1 for s in sources if s.windows),
            "rejected": len(rejected),
            "constant_examples": constant_examples,
            # inputs whose last, zero-padded window segment.min_last left out
            "short_tails": sum(1 for s in sources if s.windows and short_tail(s.samples, config)),
            "per_class": counts.get("per_class", {}),
            **({"active_frames": counts["active_frames"]} if targets.has_frames else {}),
        },
        "statistics": stats.to_dict(),
        "source_statistics": dict(source_statistics),
        "files": [r.to_dict() for r in records],
        "manifest": describe_columns(metadata.columns),
        "provenance": {
            "tool": f"spectroprep {__version__}",
            "command": list(command) if command is not None else None,
            "inputs": {
                "root": str(audio_root.resolve()),
                "files": len({s.file for s in sources} | {name for name, _ in rejected}),
                # a segment counts its own seconds, a file all of its own
                "seconds": round(
                    sum(
                        s.samples / config.audio.sample_rate if s.segment_of else s.info.seconds
                        for s in sources
                    ),
                    6,
                ),
                "fingerprint": inputs_fingerprint(sources),
            },
        },
    }
