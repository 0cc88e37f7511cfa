"""A short human summary of a dataset (``spectroprep info``, the demo)."""

from __future__ import annotations

from typing import Any

from ..dataset.layout import tree_size
from ..features.kinds import feature_kind
from .reader import Dataset


def summarize(ds: Dataset) -> dict[str, Any]:
    """Key figures of a dataset, JSON-ready."""
    counts = ds.info["counts"]
    spec = ds.config.spectrogram
    overall = ds.info.get("statistics", {}).get("global")  # absent before statistics existed
    return {
        "path": str(ds.path),
        "format": ds.config.storage.format,
        "examples": len(ds),
        "files": len(ds.files),
        "sources": counts["sources"],
        "audio_seconds": ds.info["provenance"]["inputs"]["seconds"],
        "shape": list(ds.shape),
        "dtype": str(ds.dtype),
        "frequency": feature_kind(spec.kind).describe(spec),
        "scale": spec.scale,
        "global": overall,
        "label_kind": ds.label_kind,
        "classes": counts["per_class"],
        **({"active_frames": counts["active_frames"]} if "active_frames" in counts else {}),
        "bytes": tree_size(ds.path),
        **_derivation(ds.info),
    }


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
    features = f"{s['shape'][0]} x {s['shape'][1]} {s['dtype']}, {s['frequency']}, {s['scale']}"
    if s["global"]:
        features += f", mean {s['global']['mean']:.4g}, std {s['global']['std']:.4g}"
    # a derived dataset's input seconds are those of the whole build it came from
    audio = "" if "derived_from" in s else f"{s['audio_seconds']:.1f} s of audio, "
    lines = [
        f"{s['path']} ({s['format']})",
        f"  examples  {s['examples']} from {s['sources']} source file(s), "
        f"{audio}in {s['files']} data file(s)",
        f"  features  {features}",
        f"  labels    {s['label_kind']}" + (f", examples per class: {classes}" if classes else ""),
    ]
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
