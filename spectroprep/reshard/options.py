"""The layout of a new dataset: the source's storage settings with the ones given
changed. File sizes are given in examples ("512") or in bytes ("256MB", "1GiB"),
bytes being turned into examples of the new dtype."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..config import Config
from ..errors import ConfigError

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?", re.IGNORECASE)
_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS |= {"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def examples_of(size: int | str, example_bytes: int, option: str) -> int:
    """A file size as examples: an int or digits are examples, "256MB" / "1GiB" are bytes
    (at least one example)."""
    if isinstance(size, int) and not isinstance(size, bool):
        count = size
    else:
        match = _SIZE.fullmatch(str(size).strip())
        if not match:
            raise ConfigError(f"{option} {size}: not a number of examples or a size like 256MB")
        number, unit = match.groups()
        if unit is None:
            if "." in number:
                raise ConfigError(f"{option} {size}: a number of examples must be whole")
            count = int(number)
        else:
            count = max(1, int(float(number) * _UNITS[unit.upper()] // example_bytes))
    if count < 1:
        raise ConfigError(f"{option} {size}: must be at least one example")
    return count


def new_config(
    source: Config,
    shape: tuple[int, int],
    *,
    format: str | None = None,
    shard_size: int | str | None = None,
    block_size: int | str | None = None,
    chunk_size: int | None = None,
    compression: str | None = None,
    dtype: str | None = None,
) -> Config:
    """The source's config with the storage settings that are given changed."""
    changes: dict[str, Any] = {}
    if format is not None:
        changes["format"] = format
    if dtype is not None:
        changes["dtype"] = dtype
    if compression is not None:
        changes["compression"] = compression
    if chunk_size is not None:
        changes["chunk_examples"] = chunk_size
    example_bytes = shape[0] * shape[1] * np.dtype(dtype or source.storage.dtype).itemsize
    if shard_size is not None:
        changes["shard_examples"] = examples_of(shard_size, example_bytes, "--shard-size")
    if block_size is not None:
        changes["block_size"] = examples_of(block_size, example_bytes, "--block-size")
    return source.replace("storage", **changes) if changes else source
