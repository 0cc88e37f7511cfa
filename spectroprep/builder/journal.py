"""The build journal: what an unfinished build has done, for ``build --resume``.

A build keeps ``.build-journal.jsonl`` in its output folder until dataset.json
is written. Its first line, the *state*, holds everything that decides the
output: the config, each input file's size and modification time, each file's
labels. Every further line is one finished shard: the key of its plan, its
record (with its digest), its label counts and its statistics (of all its
examples, and of each source's, as raw bytes in base64). The parent
appends a line only after the shard was renamed into place, so every shard the
journal lists was complete. A resume from another state is refused with a
list of what changed; a torn last line (a power cut mid-write) is ignored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config
from ..dataset.datafile import ShardResult
from ..dataset.layout import JOURNAL, FileRecord, atomic_path, digest_path, os_reason
from ..dataset.stats import BinStats, GroupStats
from ..errors import OutputError
from ..ingest.headers import Source
from ..ingest.labels.model import LabelSet
from ..ingest.sources import Inputs
from .tasks import ShardTask

_VERSION = 3  # 2: xxh3_128 digests, left-out sources, resampler; 3: per-source statistics
_SHOWN = 5  # names listed per kind of change


def build_state(
    config: Config, inputs: Inputs, sources: Sequence[Source], labels: LabelSet
) -> dict[str, Any]:
    """Everything that decides a build's output, as plain JSON types."""
    files = {}
    for name in inputs.files:
        stat = inputs.path(name).stat()
        files[name] = [stat.st_size, stat.st_mtime_ns]
    return {
        "config": config.to_dict(),
        "inputs": files,
        "labels": {
            "kind": labels.kind,
            "classes": list(labels.classes),
            "files": {s.name: f.digest() for s, f in zip(sources, labels.files, strict=True)},
        },
    }


def _flat(config: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {
        f"{section}.{key}": value for section, keys in config.items() for key, value in keys.items()
    }


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def state_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What differs between two build states, one phrase each."""
    changes = []
    before, after = _flat(old["config"]), _flat(new["config"])
    for key in sorted(before.keys() | after.keys()):
        if before.get(key) != after.get(key):
            changes.append(f"{key} {before.get(key)!r} -> {after.get(key)!r}")
    files_before, files_after = old["inputs"], new["inputs"]
    for what, names in (
        ("added", [n for n in files_after if n not in files_before]),
        ("removed", [n for n in files_before if n not in files_after]),
        (
            "changed (size or modification time)",
            [n for n in files_after if n in files_before and files_before[n] != files_after[n]],
        ),
    ):
        if names:
            changes.append(f"input file(s) {what}: {_names(names)}")
    labels_before, labels_after = old["labels"], new["labels"]
    if labels_before["kind"] != labels_after["kind"]:
        changes.append(f"label kind {labels_before['kind']} -> {labels_after['kind']}")
    elif labels_before["classes"] != labels_after["classes"]:
        changes.append("the class list")
    else:
        relabelled = [
            n
            for n, digest in labels_after["files"].items()
            if labels_before["files"].get(n, digest) != digest
        ]
        if relabelled:
            changes.append(f"labels of {_names(relabelled)}")
    return changes


def shard_key(task: ShardTask, attrs: Mapping[str, Any]) -> str:
    """sha256 of everything a shard's bytes depend on: equal keys, equal files."""
    plan = [
        [part.name, part.region.first, part.region.count, part.labels.digest()]
        for part in task.parts
    ]
    text = json.dumps([dict(attrs), task.index, task.first_example, plan], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _array(values: np.ndarray) -> dict[str, Any]:
    """An array as JSON: its raw bytes in base64, so it reads back to the same bits."""
    data = base64.b64encode(np.ascontiguousarray(values).tobytes()).decode()
    return {"dtype": values.dtype.str, "shape": list(values.shape), "data": data}


def _unarray(entry: Mapping[str, Any]) -> np.ndarray:
    values = np.frombuffer(base64.b64decode(entry["data"]), dtype=entry["dtype"])
    return values.reshape(entry["shape"])


_GROUP_ARRAYS = ("example_group", "groups", "count", "mean", "m2")


def _encode(key: str, result: ShardResult) -> dict[str, Any]:
    stats = result.stats
    return {
        "key": key,
        "record": result.record.to_dict(),
        "counts": {name: np.asarray(v).tolist() for name, v in result.counts.items()},
        # JSON writes floats as their shortest repr: they read back to the same bits
        "stats": {"count": stats.count, "mean": stats.mean.tolist(), "m2": stats.m2.tolist()},
        "sources": {name: _array(getattr(result.sources, name)) for name in _GROUP_ARRAYS},
        "left_out": [list(problem) for problem in result.left_out],
        "constant": result.constant,
    }


def _decode(entry: Mapping[str, Any]) -> ShardResult:
    stats = entry["stats"]
    return ShardResult(
        FileRecord(**entry["record"]),
        {name: np.asarray(v, dtype=np.int64) for name, v in entry["counts"].items()},
        BinStats(stats["count"], np.asarray(stats["mean"]), np.asarray(stats["m2"])),
        GroupStats(*(_unarray(entry["sources"][name]) for name in _GROUP_ARRAYS)),
        tuple((name, message) for name, message in entry.get("left_out", [])),
        entry.get("constant", 0),  # journals written before the count
    )


class Journal:
    """The journal of the build in ``root``: finished shards by index."""

    def __init__(self, root: Path, command: list[str] | None, done: dict[str, Any]) -> None:
        self.root = root
        self.path = root / JOURNAL
        self.command = command  # of the build that started it: dataset.json records it
        self._done = done  # shard file path -> its last journal entry

    @classmethod
    def start(cls, root: Path, state: Mapping[str, Any], command: list[str] | None) -> Journal:
        """A new journal for a build starting in ``root``."""
        header = {"journal": _VERSION, "command": command, "state": state}
        with atomic_path(root / JOURNAL) as tmp:
            tmp.write_text(json.dumps(header) + "\n", encoding="utf-8")
        return cls(root, command, {})

    @classmethod
    def resume(cls, root: Path, state: Mapping[str, Any]) -> Journal:
        """The journal in ``root``; refused if the build it records had another state."""
        path = root / JOURNAL
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
            header = json.loads(lines[0])
        except (OSError, UnicodeDecodeError, IndexError, json.JSONDecodeError) as exc:
            raise OutputError(f"{path}: unreadable build journal ({exc}); use --overwrite") from exc
        if header.get("journal") != _VERSION:
            raise OutputError(f"{path}: written by another spectroprep version; use --overwrite")
        changes = state_changes(header["state"], state)
        if changes:
            raise OutputError(
                f"{root}: cannot resume, the build there had other settings or inputs; "
                f"changed: {'; '.join(changes)} (run the original command, or use --overwrite)"
            )
        done: dict[str, Any] = {}
        for line in lines[1:]:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line torn by a crash: that shard is simply built again
            done[entry["record"]["path"]] = entry
        return cls(root, header.get("command"), done)

    def reusable(self, task_file: str, key: str) -> ShardResult | None:
        """The result of a shard finished earlier, if it has ``key`` and its file is
        still exactly as written."""
        entry = self._done.get(task_file)
        if entry is None or entry["key"] != key:
            return None
        result = _decode(entry)
        path = self.root / task_file
        if not path.exists() or digest_path(path) != result.record.digest:
            return None
        return result

    def add(self, key: str, result: ShardResult) -> None:
        """Record a shard whose file is complete and in place."""
        entry = _encode(key, result)
        try:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot write ({os_reason(exc)})") from exc
        self._done[result.record.path] = entry

    def remove(self) -> None:
        """Delete the journal: the build is complete."""
        os.unlink(self.path)
