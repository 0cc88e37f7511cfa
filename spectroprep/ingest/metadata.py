"""``build --metadata meta.csv``: extra columns per input file (speaker, site, fold...)
that the manifest carries beside each example, so that ``shard`` can group or split on them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..columns import RESERVED
from ..errors import InputError
from .sources import Inputs, rows_by_input
from .tables import Columns

_SHOWN = 5  # input files named in a "no row" error


@dataclass(frozen=True)
class Metadata:
    """Metadata columns, and each input file's values for them."""

    columns: tuple[str, ...] = ()
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # source name -> row

    def of(self, source: str) -> dict[str, str]:
        """The metadata of one input file (empty without metadata)."""
        return self.values.get(source, {})


def check_columns(table: Path, columns: Sequence[str]) -> None:
    """InputError if a metadata column has the name of one the manifest has."""
    reserved = [c for c in columns if c in RESERVED]
    if reserved:
        raise InputError(
            f"{table}: column {reserved[0]!r} is one the manifest has already (rename it)"
        )


def read_metadata(
    path: str | Path | None, inputs: Inputs, columns: Columns | None = None
) -> Metadata:
    """The metadata table at ``path``, one row for every input file: the columns
    ``columns.metadata`` names, or every column but the path column when it names
    none; no metadata when ``path`` is None."""
    if path is None:
        return Metadata()
    path, columns = Path(path), columns or Columns()
    wanted = columns.metadata or ()
    rows = rows_by_input(path, inputs, required=wanted, path_column=columns.path)
    if not rows:
        raise InputError(f"{path}: has no rows")
    header = next(iter(rows.values()))[1]
    kept = tuple(wanted) or tuple(c for c in header if c != columns.path)
    if not kept:
        raise InputError(f"{path}: has no column besides {columns.path}")
    check_columns(path, kept)
    missing = [name for name in inputs.files if name not in rows]
    if missing:
        more = f" and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else ""
        raise InputError(
            f"{path}: no row for {len(missing)} input file(s): {', '.join(missing[:_SHOWN])}{more}"
        )
    return Metadata(kept, {name: {c: row[c] for c in kept} for name, (_, row) in rows.items()})
