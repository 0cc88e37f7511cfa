"""``build --metadata meta.csv``: extra columns per input file (speaker, site, fold...)
that the manifest carries beside each example, so that ``shard`` can group or split on them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..columns import RESERVED
from ..errors import InputError
from .sources import Inputs, rows_by_input

_SHOWN = 5  # input files named in a "no row" error


@dataclass(frozen=True)
class Metadata:
    """Metadata columns, and each input file's values for them."""

    columns: tuple[str, ...] = ()
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # source name -> row

    def of(self, source: str) -> dict[str, str]:
        """The metadata of one input file (empty without metadata)."""
        return self.values.get(source, {})


def read_metadata(path: str | Path | None, inputs: Inputs) -> Metadata:
    """The metadata table at ``path`` (column "path" plus any others), one row for
    every input file; no metadata when ``path`` is None."""
    if path is None:
        return Metadata()
    path = Path(path)
    rows = rows_by_input(path, inputs, required=())
    columns = tuple(c for c in (next(iter(rows.values()))[1] if rows else {}) if c != "path")
    if not rows:
        raise InputError(f"{path}: has no rows")
    if not columns:
        raise InputError(f"{path}: has no column besides path")
    reserved = [c for c in columns if c in RESERVED]
    if reserved:
        raise InputError(
            f"{path}: column {reserved[0]!r} is one the manifest has already (rename it)"
        )
    missing = [name for name in inputs.files if name not in rows]
    if missing:
        more = f" and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else ""
        raise InputError(
            f"{path}: no row for {len(missing)} input file(s): {', '.join(missing[:_SHOWN])}{more}"
        )
    return Metadata(
        columns, {name: {c: row[c] for c in columns} for name, (_, row) in rows.items()}
    )
