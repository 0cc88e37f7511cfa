"""HDF5 compression filters: h5py keywords for a configured codec, and the
Blosc2 plugin, which is an optional extra."""

from __future__ import annotations

import os
from typing import Any

from ...config import StorageConfig
from ...errors import ConfigError


def load_blosc2_filters() -> Any:
    # Blosc2's own threads slow writes of small chunks in worker processes
    # (docs/performance.md); one thread per process is enough.
    os.environ.setdefault("BLOSC_NTHREADS", "1")
    try:
        import hdf5plugin
    except ImportError:
        raise ConfigError(
            "Blosc2 compression needs hdf5plugin: pip install 'spectroprep[blosc2]'"
        ) from None
    return hdf5plugin


def compression_options(storage: StorageConfig) -> dict[str, Any]:
    """h5py ``create_dataset`` keywords for the configured codec."""
    codec, _, level = storage.compression.partition(":")
    if codec == "none":
        return {}
    if codec == "lzf":
        return {"compression": "lzf", "shuffle": storage.shuffle}
    if codec == "gzip":
        return {
            "compression": "gzip",
            "compression_opts": int(level or 4),
            "shuffle": storage.shuffle,
        }
    plugin = load_blosc2_filters()
    shuffle = plugin.Blosc2.SHUFFLE if storage.shuffle else plugin.Blosc2.NOFILTER
    cname = codec.removeprefix("blosc2-")
    clevel = int(level) if level else (1 if cname == "zstd" else 5)
    return dict(plugin.Blosc2(cname=cname, clevel=clevel, filters=shuffle))
