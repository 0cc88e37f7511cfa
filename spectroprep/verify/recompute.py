"""``verify --recompute``: examples picked at random, computed again from their source
audio and compared with what is stored. The only verify module that runs the feature
code, and it imports that code only when it runs."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from ..dataset.layout import DATASET_JSON
from ..dataset.storage import Reader
from ..dataset.storage.check.record import DatasetRecord
from ..dataset.storage.check.report import Log
from ..errors import ConfigError, InputError

_RTOL = 1e-5  # recomputed features: allowed difference, relative to the example's range


def pick_examples(examples: int, count: int, seed: int) -> set[int]:
    """``count`` distinct example ids (all of them at most), picked with ``seed``."""
    if count <= 0 or examples == 0:
        return set()
    picked = np.random.default_rng(seed).choice(examples, size=min(count, examples), replace=False)
    return {int(i) + 1 for i in picked}


def recompute_examples(
    ds: DatasetRecord, picked: dict[int, tuple[str, float, float]], log: Log
) -> dict[str, Any]:
    """Recompute the picked examples from their source audio and compare. A source that
    is gone or unreadable is a warning: the dataset may well outlive its audio. Returns
    how many were asked for and compared, and the largest differences found."""
    differences: list[tuple[float, float]] = []  # (max abs, max relative to the range)
    root = ds.info.get("provenance", {}).get("inputs", {}).get("root")
    if not isinstance(root, str):
        log.warn(
            DATASET_JSON, None, "records no audio root (provenance.inputs.root): not recomputed"
        )
        return _summary(picked, differences)
    try:
        reader = ds.fmt.Reader(ds.root, ds.files, ds.config.storage, verify_checksums=True)
    except ConfigError:
        return _summary(picked, differences)  # the shards' codec is missing, a problem
    try:
        # one BLAS thread, as the build ran: the same sums in the same order
        with threadpool_limits(limits=1, user_api="blas"):
            for example, (source, start, duration) in sorted(picked.items()):
                span = (start, duration)
                found = _recompute_one(ds, reader, Path(root), example, source, span, log)
                if found is not None:
                    differences.append(found)
    finally:
        reader.close()
    return _summary(picked, differences)


def _summary(picked: dict[int, Any], differences: list[tuple[float, float]]) -> dict[str, Any]:
    worst = np.max(differences, axis=0).tolist() if differences else [None, None]
    return {
        "asked": len(picked),
        "compared": len(differences),
        "max_abs_difference": worst[0],
        "max_relative_difference": worst[1],
    }


def _recompute_one(
    ds: DatasetRecord,
    reader: Reader,
    audio_root: Path,
    example: int,
    source: str,
    span: tuple[float, float],
    log: Log,
) -> tuple[float, float] | None:
    """``span``: the window's start in its source and the seconds of audio in it.
    Returns the largest difference, absolute and relative to the example's range, or
    None when the example could not be compared."""
    start = span[0]
    file, row = ds.locate(example)
    where = ds.fmt.example_path(ds.files[file].path, row, example)
    try:
        stored = reader.read(file, np.array([row]))[0]
    except (OSError, ValueError, KeyError):
        return None  # a problem of its data file, already reported
    try:
        computed = _features(ds, audio_root / source, source, span)
    except InputError as exc:
        log.warn(None, example, f"not recomputed: {exc}")
        return None
    except ValueError as exc:  # the recorded shape does not fit the recorded config
        log.add(where, example, f"cannot recompute ({exc})")
        return None
    diff = np.abs(stored.astype(np.float64) - computed)
    extent = float(np.ptp(computed)) or float(np.abs(computed).max()) or 1.0
    allowed = _RTOL * extent
    if stored.dtype == np.float16:
        # float16 rounding moves each value by up to half its spacing
        allowed = allowed + 0.5 * np.spacing(np.abs(stored)).astype(np.float64)
    worst = float(np.nanmax(diff)) if not np.isnan(diff).all() else math.nan
    if not (diff <= allowed).all():
        log.add(
            where,
            example,
            f"features differ from those recomputed from {source} at {start:g} s "
            f"(max difference {worst:.3g})",
            kind="recomputed features differ",
        )
    return worst, worst / extent


def _features(ds: DatasetRecord, path: Path, name: str, span: tuple[float, float]) -> np.ndarray:
    """The example's features computed again from its source, in float64: the window
    at ``span[0]`` seconds, its ``span[1]`` seconds of audio, zero after them (as a
    window at the end of a file or of a segment is padded)."""
    # the feature code, needed only here: verify's other checks read the format alone
    from ..ingest.headers import read_source
    from ..ingest.region import region_features
    from ..ingest.segments import Region

    if not path.is_file():
        raise InputError(f"source {path} is gone")
    config, (start, duration) = ds.config, span
    source = read_source(name, path, config)
    rate = config.audio.sample_rate
    offset = round(start * rate)
    if offset >= source.samples:
        raise InputError(f"{path}: too short now for the window at {start:g} s")
    samples = min(round(duration * rate), source.samples - offset)
    window = replace(source, offset=offset, samples=samples, windows=1)
    out = np.empty((1, *ds.shape), dtype=np.float32)
    region_features(window, Region(0, 0, 1), config, out)
    return out[0].astype(np.float64)
