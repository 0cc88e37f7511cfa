"""Closing the gaps that sources left out by ``--on-error skip`` leave in the plan.

Each shard task writes its file with the ids the plan gave it, so a source that
fails to decode costs only its own shard's work. The parent then renumbers the
ids of the files after a gap (in place: only the id bytes or names change) and,
when a whole shard was left out, renames the files after it, so ids still run
1..N and file names from 0 without a hole. The outcome depends only on which
sources fail, never on the order the tasks finished in.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

from ..dataset.datafile import ShardResult
from ..dataset.layout import DIGEST, FileRecord, digest_path, os_reason
from ..dataset.storage import Format
from ..errors import OutputError
from .tasks import ShardFailure, ShardTask


def settle(
    tasks: Sequence[ShardTask],
    outcomes: Sequence[ShardResult | ShardFailure],
    out: Path,
    fmt: Format,
) -> tuple[list[ShardTask], list[ShardResult]]:
    """The shard tasks as the data files now hold them (without left-out sources,
    numbered without gaps) and their results, with records of the renamed and
    renumbered files."""
    final_tasks: list[ShardTask] = []
    results: list[ShardResult] = []
    first = 0
    for task, outcome in zip(tasks, outcomes, strict=True):
        if isinstance(outcome, ShardFailure):
            continue  # every source of the shard failed: no file
        record = outcome.record
        index = len(final_tasks)
        try:
            if index != task.index:
                # in ascending order the name of a lower index is free by now
                path = fmt.file_name(index)
                os.replace(out / record.path, out / path)
                digests = {record.algorithm: record.digest}
                record = FileRecord(path, record.examples, record.bytes, **digests)
            if first != task.first_example:
                fmt.renumber(out / record.path, first + 1)
                digest = digest_path(out / record.path)
                record = FileRecord(record.path, record.examples, record.bytes, **{DIGEST: digest})
        except OSError as exc:
            raise OutputError(f"{out / record.path}: cannot renumber ({os_reason(exc)})") from exc
        left = {name for name, _ in outcome.left_out}
        parts = tuple(part for part in task.parts if part.name not in left)
        final_tasks.append(ShardTask(index, first, parts))
        results.append(dataclasses.replace(outcome, record=record))
        first += record.examples
    return final_tasks, results
