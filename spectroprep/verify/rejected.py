"""rejected.csv: the inputs a build rejected, as many as dataset.json counts."""

from __future__ import annotations

import csv

from ..dataset.layout import REJECTED_COLUMNS, REJECTED_CSV
from ..dataset.storage.check.record import DatasetRecord
from ..dataset.storage.check.report import Log


def check_rejected(ds: DatasetRecord, log: Log) -> None:
    """rejected.csv has one row per rejected input that dataset.json counts."""
    expected = ds.info.get("counts", {}).get("rejected", 0)
    path = ds.root / REJECTED_CSV
    if not path.is_file():
        if expected:
            log.add(
                REJECTED_CSV, None, f"missing, dataset.json counts {expected} rejected input(s)"
            )
        return
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = csv.reader(f)
            if tuple(next(rows, [])) != REJECTED_COLUMNS:
                log.add(REJECTED_CSV, None, f"columns are not {','.join(REJECTED_COLUMNS)}")
                return
            count = sum(1 for _ in rows)
    except (UnicodeDecodeError, csv.Error) as exc:
        log.add(REJECTED_CSV, None, f"unreadable ({exc})")
        return
    if count != expected:
        log.add(
            REJECTED_CSV, None, f"{count} rows, dataset.json counts {expected} rejected input(s)"
        )
