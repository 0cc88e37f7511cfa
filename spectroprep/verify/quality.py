"""What is probably a mistake in a sound dataset, though not damage: examples of one
value throughout, examples mostly of padding, classes with very few examples, inputs
the build rejected. Warnings, which ``verify --strict`` counts as failures."""

from __future__ import annotations

from ..dataset.layout import DATASET_JSON, MANIFEST_CSV, REJECTED_CSV
from ..dataset.storage.check.record import DatasetRecord
from ..dataset.storage.check.report import Log
from ..dataset.storage.check.values import Totals

FEW_EXAMPLES = 5  # a class with fewer examples than this is hardly learnt, or tested
SHOWN = 5  # example ids named in one warning


def check_quality(ds: DatasetRecord, totals: Totals, mostly_padding: list[int], log: Log) -> None:
    """Warn of the probable mistakes; ``mostly_padding``: ids of windows under half of
    audio (manifest.csv's check finds them)."""
    if totals.constant:
        log.warn(
            None,
            None,
            f"{len(totals.constant)} example(s) hold one value throughout (silence, or "
            f"nothing but padding): id {_ids(totals.constant)}",
        )
    _mostly_padding(ds, mostly_padding, log)
    counts = ds.info.get("counts", {})
    few = {c: n for c, n in counts.get("per_class", {}).items() if n < FEW_EXAMPLES}
    if few:
        named = ", ".join(f"{c} {n}" for c, n in sorted(few.items(), key=lambda kv: kv[1]))
        log.warn(DATASET_JSON, None, f"class(es) with fewer than {FEW_EXAMPLES} examples: {named}")
    rejected = counts.get("rejected", 0)
    if rejected:
        log.warn(REJECTED_CSV, None, f"the build rejected {rejected} input(s), listed here")


def _mostly_padding(ds: DatasetRecord, padded: list[int], log: Log) -> None:
    if padded:
        log.warn(
            MANIFEST_CSV,
            None,
            f"{len(padded)} example(s) are more than half zero padding (under "
            f"{ds.config.segment.length / 2:g} s of audio): id {_ids(padded)}",
        )


def _ids(ids: list[int]) -> str:
    more = f", ... ({len(ids)} in all)" if len(ids) > SHOWN else ""
    return ", ".join(map(str, ids[:SHOWN])) + more
