"""How much of a dataset is in the page cache (``mincore``), and taking it out
(``posix_fadvise(POSIX_FADV_DONTNEED)``), so that ``bench`` can say whether it measured
memory or the disk, and measure the disk on request."""

from __future__ import annotations

import ctypes
import functools
import mmap
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

_SAMPLE = 2000  # files whose pages are counted, at most (a random sample)


@functools.cache
def _libc() -> ctypes.CDLL:
    """The C library's mmap, munmap and mincore (POSIX; loaded when first asked for)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_long,
    ]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    return libc


def dataset_files(root: Path, info: dict[str, Any]) -> list[str]:
    """Every file of the dataset's data files (an npy block is a folder of them)."""
    paths = []
    for record in info["files"]:
        path = root / record["path"]
        paths += (
            [str(p) for p in sorted(path.rglob("*")) if p.is_file()]
            if path.is_dir()
            else [str(path)]
        )
    return paths


def resident_pages(path: str) -> tuple[int, int]:
    """(pages of ``path`` in the page cache, pages of ``path``), by mincore of a mapping."""
    size = os.path.getsize(path)
    pages = -(-size // mmap.PAGESIZE)
    if not size:
        return 0, 0
    fd = os.open(path, os.O_RDONLY)
    try:
        libc = _libc()
        addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        if addr == ctypes.c_void_p(-1).value:  # MAP_FAILED
            raise OSError(ctypes.get_errno(), f"mmap {path}")
        try:
            vec = np.zeros(pages, np.uint8)
            if libc.mincore(addr, size, vec.ctypes.data) != 0:
                raise OSError(ctypes.get_errno(), f"mincore {path}")
            return int((vec & 1).sum()), pages
        finally:
            libc.munmap(addr, size)
    finally:
        os.close(fd)


def resident(paths: Sequence[str]) -> float:
    """Share of the pages of ``paths`` (a random sample of files when there are many)
    that are in the page cache."""
    if len(paths) > _SAMPLE:
        pick = np.random.default_rng(0).choice(len(paths), _SAMPLE, replace=False)
        paths = [paths[i] for i in pick]
    counts = np.array([resident_pages(p) for p in paths]).reshape(-1, 2).sum(axis=0)
    return float(counts[0] / max(counts[1], 1))


def advise(paths: Sequence[str], advice: int) -> None:
    """``posix_fadvise`` the whole of every file of ``paths``."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, advice)
        finally:
            os.close(fd)


def evict(paths: Sequence[str]) -> None:
    """Take ``paths`` out of the page cache: written back first (DONTNEED drops clean
    pages only)."""
    if not hasattr(os, "posix_fadvise"):
        raise OSError("this system has no posix_fadvise to take files out of the page cache")
    os.sync()
    advise(paths, os.POSIX_FADV_DONTNEED)


def available_memory() -> int | None:
    """Bytes the system could give the page cache now (MemAvailable), where it says."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
