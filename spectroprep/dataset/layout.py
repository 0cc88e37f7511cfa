"""The on-disk format, version 1: dataset.json, manifest.csv, atomic writes, hashes.

Everything that reads a dataset depends on this module and on ``storage``,
never on the build pipeline.

Each data file's record in dataset.json carries its digest under the name of the
algorithm: xxh3_128 for files written now, sha256 in datasets written before,
which still verify and resume.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import xxhash

from ..errors import DatasetError, OutputError
from ..naming import natural_sorted

FORMAT_NAME = "spectroprep"
FORMAT_VERSION = 1
DATASET_JSON = "dataset.json"
MANIFEST_CSV = "manifest.csv"
REJECTED_CSV = "rejected.csv"
SOURCE_STATISTICS = "source_statistics.npz"  # statistics per source (dataset/source_stats.py)
REJECTED_COLUMNS = ("path", "reason")
JOURNAL = ".build-journal.jsonl"  # an unfinished build's record, for --resume
TEMP_MARK = ".tmp-"
DIGEST = "xxh3_128"  # the algorithm of the data file digests a build records


class Hasher(Protocol):
    """A running hash (hashlib's and xxhash's objects)."""

    def update(self, data: bytes | memoryview, /) -> None: ...

    def hexdigest(self) -> str: ...


# sha256: what datasets written before xxh3_128 record
_HASHES: dict[str, Callable[[], Hasher]] = {DIGEST: xxhash.xxh3_128, "sha256": hashlib.sha256}


def new_hasher(algorithm: str = DIGEST) -> Hasher:
    """A running hash of ``algorithm``, a name dataset.json records digests under."""
    return _HASHES[algorithm]()


@dataclass(frozen=True, init=False)
class FileRecord:
    """One data file (HDF5 shard or npy block folder) as dataset.json lists it: its
    digest is recorded under the name of its algorithm (``{"xxh3_128": "..."}``)."""

    path: str  # relative to the dataset folder, posix separators
    examples: int
    bytes: int
    algorithm: str  # a name ``new_hasher`` knows
    digest: str  # hex

    def __init__(self, path: str, examples: int, bytes: int, **digest: str) -> None:
        if len(digest) != 1 or not digest.keys() <= _HASHES.keys():
            raise DatasetError(
                f"{path}: dataset.json gives {', '.join(digest) or 'no digest'} for this "
                f"file, not one digest of {' or '.join(_HASHES)}"
            )
        [(algorithm, value)] = digest.items()
        set_field = object.__setattr__  # the class is frozen: each field is set once, here
        set_field(self, "path", path)
        set_field(self, "examples", examples)
        set_field(self, "bytes", bytes)
        set_field(self, "algorithm", algorithm)
        set_field(self, "digest", value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "examples": self.examples,
            "bytes": self.bytes,
            self.algorithm: self.digest,
        }


def temp_path(final: Path) -> Path:
    """Temporary sibling of ``final`` that no manifest or reader ever names."""
    return final.with_name(f".{final.name}{TEMP_MARK}{os.getpid()}")


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temp path to write; rename it to ``final`` only if the block succeeds.

    A failed write (a full disk, a file-size limit) becomes an OutputError
    naming ``final``; the temp file is removed either way.
    """
    tmp = temp_path(final)
    try:
        yield tmp
        os.replace(tmp, final)
    except OSError as exc:
        remove_path(tmp)
        raise OutputError(f"{final}: cannot write ({os_reason(exc)})") from exc
    except BaseException:
        remove_path(tmp)
        raise


def os_reason(exc: OSError) -> str:
    """The system's reason for an OSError, on one line (h5py's messages span several)."""
    if exc.errno is not None:
        return os.strerror(exc.errno)
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def remove_temp_files(root: Path) -> None:
    """Delete every temp file and folder under ``root`` (what interrupted writes leave)."""
    for path in sorted(root.rglob(f"*{TEMP_MARK}*"), reverse=True):
        remove_path(path)


def remove_path(path: Path) -> None:
    """Delete a file, or a folder with everything in it; nothing if it is gone."""
    if path.is_dir():
        for child in path.iterdir():
            remove_path(child)
        path.rmdir()
    elif path.exists():
        path.unlink()


def check_inside(root: Path, rel: str) -> Path:
    """``root / rel``, refusing any path that leads out of the dataset folder."""
    path = root / rel
    if Path(rel).is_absolute() or not path.resolve().is_relative_to(root.resolve()):
        raise DatasetError(f"{root}: {rel} points outside the dataset folder")
    return path


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically, keys in a fixed order, ending in a newline."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def read_dataset_json(root: Path) -> dict[str, Any]:
    """Load and check ``root/dataset.json``; a missing one means an incomplete dataset."""
    path = root / DATASET_JSON
    if not path.is_file():
        raise DatasetError(f"{root}: not a complete spectroprep dataset (no {DATASET_JSON})")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: unreadable ({exc})") from exc
    if info.get("format") != FORMAT_NAME:
        raise DatasetError(f"{path}: not a spectroprep dataset description")
    if info.get("format_version") != FORMAT_VERSION:
        raise DatasetError(
            f"{path}: format version {info.get('format_version')!r} is not supported "
            f"(this spectroprep reads version {FORMAT_VERSION})"
        )
    return info


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Iterable[object]]) -> None:
    """Write a UTF-8 CSV table atomically: the header, then ``rows``."""
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)


def write_rejected(path: Path, rows: Iterable[tuple[str, str]]) -> None:
    """Write rejected.csv: inputs that gave no examples, with the reason."""
    write_csv(path, REJECTED_COLUMNS, rows)


def _feed(h: Hasher, path: Path) -> None:
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)


def member_header(name: str) -> bytes:
    """What a folder's digest takes in before the bytes of each of its files (in
    natural order of their names): the file's relative name (posix) and a NUL."""
    return name.encode() + b"\0"


def digest_path(path: Path, algorithm: str = DIGEST) -> str:
    """Hex digest of a file, or of a folder's files (``member_header`` and bytes of
    each, natural order), as read from the disk."""
    h = new_hasher(algorithm)
    if path.is_file():
        _feed(h, path)
    else:
        files = {p.relative_to(path).as_posix(): p for p in path.rglob("*") if p.is_file()}
        for name in natural_sorted(files):
            h.update(member_header(name))
            _feed(h, files[name])
    return h.hexdigest()


def tree_size(path: Path) -> int:
    """Bytes of a file, or of all files under a folder."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
