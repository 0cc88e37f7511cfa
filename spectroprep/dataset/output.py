"""The output folder of a build: refuse to clobber, replace an old dataset safely,
or take up an unfinished build.

With ``overwrite``, an earlier dataset is moved aside, not deleted, until the
new one is complete: a build that fails or is interrupted puts it back. With
``resume``, a folder holding an unfinished build's journal is used as it is.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import OutputError
from .layout import (
    DATASET_JSON,
    JOURNAL,
    MANIFEST_CSV,
    REJECTED_CSV,
    SOURCE_STATISTICS,
    TEMP_MARK,
    os_reason,
    temp_path,
)
from .storage import all_formats

_TOP_LEVEL_FILES = {DATASET_JSON, MANIFEST_CSV, REJECTED_CSV, SOURCE_STATISTICS, JOURNAL}


def _written_by_us(rel: str) -> bool:
    """True for a path (relative, posix) that a build writes, or one of its temp names,
    also inside a split's folder (``shard --split`` writes NAME/dataset.json...)."""
    split_rel = rel.partition("/")[2]
    return TEMP_MARK in rel or any(
        path in _TOP_LEVEL_FILES or any(fmt.OWNED.fullmatch(path) for fmt in all_formats())
        for path in (rel, split_rel)
    )


def _check_replaceable(out: Path) -> None:
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_file() and not _written_by_us(rel):
            raise OutputError(f"{out}: will not overwrite, {rel} is not part of a dataset")


def _clear(folder: Path, keep: Path | None = None) -> None:
    for entry in folder.iterdir():
        if entry == keep:
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _check_writable(out: Path) -> None:
    probe = temp_path(out / "write-test")
    probe.touch()
    probe.unlink()


@contextmanager
def output_folder(out: Path, overwrite: bool, resume: bool = False) -> Iterator[bool]:
    """Make ``out`` ready to write; an earlier dataset there is replaced only on success.

    Yields True when an earlier dataset was moved aside (a failure puts it back
    and clears the new files), False when files written stay after a failure.
    """
    try:
        if out.exists() and not out.is_dir():
            raise OutputError(f"{out}: exists and is not a folder")
        entries = sorted(out.iterdir()) if out.exists() else []
        if resume and entries:
            if not (out / JOURNAL).is_file():
                raise OutputError(
                    f"{out}: no unfinished build to resume (no {JOURNAL}); "
                    "use --overwrite to build again"
                )
            entries = []  # the unfinished build's files are the work to keep
        if entries and not overwrite:
            raise OutputError(f"{out}: output folder is not empty (use --overwrite to replace it)")
        if entries:
            _check_replaceable(out)
        out.mkdir(parents=True, exist_ok=True)
        _check_writable(out)
        old = out / f".replaced{TEMP_MARK}{os.getpid()}"
        if entries:
            old.mkdir()
            # dataset.json goes first: from then on the folder no longer looks complete
            for entry in sorted(entries, key=lambda e: e.name != DATASET_JSON):
                entry.rename(old / entry.name)
    except OSError as exc:
        raise OutputError(f"{out}: cannot prepare the output folder ({os_reason(exc)})") from exc
    try:
        yield bool(entries)
    except BaseException:
        if entries:
            _clear(out, keep=old)
            # dataset.json goes last: the old dataset is complete again only when all is back
            for entry in sorted(old.iterdir(), key=lambda e: e.name == DATASET_JSON):
                entry.rename(out / entry.name)
            old.rmdir()
        raise
    if entries:
        shutil.rmtree(old)
