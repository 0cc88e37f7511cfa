"""A short human summary of a dataset (``spectroprep info``, the demo, a build's last
lines): what it holds, how it was made, and what in it may be a mistake."""

from __future__ import annotations

import csv
from typing import Any

from ..config import load_config, preset_names
from ..dataset.layout import REJECTED_CSV, tree_size
from ..features.kinds import feature_kind
from .reader import Dataset

RARE = 3  # the rarest classes named
SHOWN_REJECTED = 3  # rejected inputs named


def summarize(ds: Dataset) -> dict[str, Any]:
    """Key figures of a dataset, JSON-ready."""
    counts = ds.info["counts"]
    config = ds.config
    spec = config.spectrogram
    durations = ds.manifest.duration
    length = config.segment.length
    per_class = counts["per_class"]
    return {
        "path": str(ds.path),
        "format": config.storage.format,
        "examples": len(ds),
        "files": len(ds.files),
        "sources": counts["sources"],
        # the audio its windows hold, its own whether built or split off another dataset
        "audio_seconds": round(float(durations.sum()), 3),
        "input_audio_seconds": ds.info["provenance"]["inputs"]["seconds"],
        "sample_rate": config.audio.sample_rate,
        "window_seconds": length,
        "hop_seconds": config.segment.hop,
        "preset": _preset(ds),
        "shape": list(ds.shape),
        "dtype": str(ds.dtype),
        "compression": config.storage.compression,
        "frequency": feature_kind(spec.kind).describe(spec),
        "scale": spec.scale,
        "global": ds.info.get("statistics", {}).get("global"),  # absent in early datasets
        "statistics_of": _statistics_of(ds.info),
        "padding": {
            "share": round(1 - float(durations.sum()) / (len(ds) * length), 4) if len(ds) else 0,
            "mostly_padding": int((durations < length / 2).sum()),
            "short_tails_left_out": counts.get("short_tails"),
        },
        # examples of one value all over: digital silence, or nothing but padding
        "constant_examples": counts.get("constant_examples"),  # None: built before the count
        "rejected": {"count": counts["rejected"], "first": _rejected(ds, SHOWN_REJECTED)},
        "label_kind": ds.label_kind,
        "classes": per_class,
        "rarest": sorted(per_class, key=lambda c: (per_class[c], c))[:RARE],
        **({"active_frames": counts["active_frames"]} if "active_frames" in counts else {}),
        "bytes": tree_size(ds.path),
        **_derivation(ds.info),
    }


def _preset(ds: Dataset) -> str | None:
    """The preset whose settings the dataset was built with (storage aside), if any."""
    built = {k: v for k, v in ds.config.to_dict().items() if k != "storage"}
    for name in preset_names():
        preset = {k: v for k, v in load_config(name).to_dict().items() if k != "storage"}
        if preset == built:
            return name
    return None


def _statistics_of(info: dict[str, Any]) -> str | None:
    """Whose statistics dataset.json records: None for the dataset's own, else the
    name of the split whose statistics a split off with it keeps."""
    split = (info.get("derivation") or {}).get("split") or {}
    source = split.get("statistics_from")
    return source if source and source != split.get("name") else None


def _rejected(ds: Dataset, count: int) -> list[dict[str, str]]:
    path = ds.path / REJECTED_CSV
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        rows = csv.DictReader(f)
        return [dict(row) for _, row in zip(range(count), rows, strict=False)]


def _derivation(info: dict[str, Any]) -> dict[str, Any]:
    """Where a dataset written by ``shard`` came from; nothing for a built one."""
    derived = info["provenance"].get("derived_from")
    if derived is None:
        return {}
    how = info.get("derivation", {})
    split, shuffle = how.get("split"), how.get("shuffle")
    return {
        "derived_from": derived["path"],
        "split": split["name"] if split else None,
        "shuffle_seed": shuffle["seed"] if shuffle else None,
    }


def format_summary(s: dict[str, Any]) -> str:
    """The summary as a few aligned lines."""
    classes = ", ".join(f"{name} {n}" for name, n in s["classes"].items())
    codec = "" if s["compression"] == "none" else f", {s['compression']}"
    features = (
        f"{s['shape'][0]} x {s['shape'][1]} {s['dtype']}{codec}, {s['frequency']}, {s['scale']}"
    )
    preset = f", preset {s['preset']}" if s["preset"] else ""
    lines = [
        f"{s['path']} ({s['format']})",
        f"  examples  {s['examples']} from {s['sources']} source file(s), "
        f"{s['audio_seconds']:.1f} s of audio, in {s['files']} data file(s)",
        f"  windows   {s['window_seconds']:g} s every {s['hop_seconds']:g} s at "
        f"{s['sample_rate']} Hz{preset}",
        f"  features  {features}",
    ]
    if s["global"]:
        whose = (
            "this dataset's"
            if s["statistics_of"] is None
            else f"split {s['statistics_of']}'s, recorded to normalise this one"
        )
        lines.append(
            f"  stats     mean {s['global']['mean']:.4g}, std {s['global']['std']:.4g} ({whose})"
        )
    lines.append(
        f"  labels    {s['label_kind']}" + (f", examples per class: {classes}" if classes else "")
    )
    if len(s["classes"]) > RARE:
        rare = ", ".join(f"{c} {s['classes'][c]}" for c in s["rarest"])
        lines.append(f"  rarest    {rare}")
    lines.append("  padding   " + _padding_line(s["padding"]))
    if s["constant_examples"]:
        lines.append(
            f"  constant  {s['constant_examples']} example(s) of one value all over "
            "(silence, or nothing but padding): spectroprep verify names them"
        )
    if s["rejected"]["count"]:
        first = "; ".join(f"{r['path']}: {r['reason']}" for r in s["rejected"]["first"])
        more = ", ..." if s["rejected"]["count"] > len(s["rejected"]["first"]) else ""
        lines.append(f"  rejected  {s['rejected']['count']} input(s): {first}{more}")
    if "active_frames" in s:
        frames = ", ".join(f"{name} {n}" for name, n in s["active_frames"].items())
        lines.append(f"  frames    active per class: {frames}")
    lines.append(f"  on disk   {s['bytes'] / 1e6:.1f} MB")
    if "derived_from" in s:
        how = f", split {s['split']}" if s["split"] else ""
        if s["shuffle_seed"] is not None:
            how += f", shuffled (seed {s['shuffle_seed']})"
        lines.append(f"  derived   from {s['derived_from']}{how}")
    return "\n".join(lines)


def _padding_line(padding: dict[str, Any]) -> str:
    line = f"{padding['share']:.1%} of the windows' audio is zero padding"
    if padding["mostly_padding"]:
        line += f"; {padding['mostly_padding']} example(s) are more than half padding"
    if padding["short_tails_left_out"]:
        line += (
            f"; {padding['short_tails_left_out']} tail(s) shorter than segment.min_last left out"
        )
    return line


def closing_lines(s: dict[str, Any]) -> list[str]:
    """What a build (and the demo) ends with: what was written where, and what in it
    may need a look."""
    classes = f" of {len(s['classes'])} classes" if s["classes"] else ""
    files = "shard(s)" if s["format"] == "hdf5" else "block(s)"
    lines = [f"wrote {s['examples']} examples{classes} in {s['files']} {files} to {s['path']}"]
    lines.append("  padding   " + _padding_line(s["padding"]))
    if s["rejected"]["count"]:
        lines.append(
            f"  rejected  {s['rejected']['count']} input(s) gave no examples, listed in "
            f"{s['path']}/{REJECTED_CSV}"
        )
    return lines
