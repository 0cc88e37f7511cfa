"""Everything a build takes from its inputs, in one pass before anything is
written: the input files, their labels and metadata, and every file's header."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ..config import Config
from ..errors import InputError
from .headers import InputProblem, Source, problem_lines, read_sources
from .labels.model import LabelSet
from .labels.read import read_labels
from .metadata import Metadata, check_columns, read_metadata
from .recipes import Corpus
from .sources import Inputs, find_inputs, segments_of
from .tables import Columns


@dataclass(frozen=True)
class LabelOptions:
    """Where the labels come from (one source at most), as ``build`` takes them."""

    labels: str | Path | None = None  # a CSV of path,label
    labels_from_folders: bool = False
    events: str | Path | None = None  # DCASE strong labels
    labels_per_window: bool = False  # <name>-lbl.npy beside each file
    classes: str | Path | None = None  # the class order, one name a line
    multi_label: bool = False
    strict: bool = False  # events past the end of their file are an error


@dataclass(frozen=True)
class Ingested:
    """The inputs of a build, read and checked."""

    inputs: Inputs
    sources: list[Source]  # the usable files, in natural order, with their headers
    unusable: list[InputProblem]  # the files that cannot be used, with the reason
    labels: LabelSet  # aligned with ``sources``
    metadata: Metadata


def ingest(
    audio: str | Path,
    config: Config,
    *,
    labels: LabelOptions,
    metadata: str | Path | None = None,
    columns: Columns | None = None,
    corpus: Corpus | None = None,
    skip_unusable: bool = False,
    progress: bool = False,
) -> Ingested:
    """Find the inputs, read their labels and metadata (each error names the file
    and line), then their headers, and bind the labels to the usable files. An
    unusable file is an error unless ``skip_unusable``.

    ``columns`` names the columns of the tables (the listing, the label table, the
    metadata table). With ``columns.metadata`` and no ``metadata`` table, those
    columns come from the label table, or else from the listing. A ``corpus`` (read
    by a recipe) gives the inputs, their label cells and metadata instead."""
    columns = columns or Columns()
    if corpus is not None:
        columns = Columns(label_sep=corpus.label_sep)
        labels = replace(labels, events=corpus.events, multi_label=corpus.multi_label)
    inputs = corpus.inputs if corpus is not None else find_inputs(audio, columns)
    segment_meta = None
    if columns.start is not None or columns.end is not None:
        inputs, segment_meta = _segments(inputs, labels, metadata, columns)
        labels = replace(labels, labels=None)  # the table's label cells are the inputs'
    if labels.strict and labels.events is None:
        raise InputError("--strict applies to --events")
    pending = read_labels(
        inputs,
        labels=labels.labels,
        labels_from_folders=labels.labels_from_folders,
        events=labels.events,
        labels_per_window=labels.labels_per_window,
        classes=labels.classes,
        multi_label=labels.multi_label,
        columns=columns,
    )
    if corpus is not None:
        meta = corpus.metadata
    elif segment_meta is not None:
        meta = segment_meta
    else:
        meta = read_metadata(_metadata_table(inputs, labels, metadata, columns), inputs, columns)
    sources, unusable = read_sources(inputs, config, progress)
    if unusable and not skip_unusable:
        raise InputError(
            f"{len(unusable)} unreadable input file(s):\n{problem_lines(unusable)}\n"
            "(--on-error skip builds without them and lists them in rejected.csv)"
        )
    label_set = pending.bind(sources, config, labels.strict)
    if not any(s.windows for s in sources):
        raise InputError(
            f"{audio}: no windows to build (every file is empty or shorter than "
            + (
                "segment.length, with segment.pad = 'drop')"
                if config.segment.pad == "drop"
                else f"segment.min_last = {config.segment.min_last:g} s)"
            )
        )
    return Ingested(inputs, sources, unusable, label_set, meta)


def _segments(
    inputs: Inputs, labels: LabelOptions, metadata: str | Path | None, columns: Columns
) -> tuple[Inputs, Metadata]:
    """The segments the label table's rows select, and their metadata columns."""
    if columns.start is None or columns.end is None:
        raise InputError("--start-column and --end-column go together")
    if labels.labels is None:
        raise InputError(
            "--start-column and --end-column select segments: give their --labels table"
        )
    if metadata is not None:
        raise InputError(
            "with segments, the manifest's columns come from the segment table "
            "(--metadata-columns), not from --metadata"
        )
    table = Path(labels.labels)
    labelled = labels.events is None and not labels.labels_per_window
    segmented, rows = segments_of(table, inputs, columns, labelled=labelled)
    if not columns.metadata:
        return segmented, Metadata()
    check_columns(table, columns.metadata)
    values = {name: {c: row[c] for c in columns.metadata} for name, row in rows.items()}
    return segmented, Metadata(tuple(columns.metadata), values)


def _metadata_table(
    inputs: Inputs, labels: LabelOptions, metadata: str | Path | None, columns: Columns
) -> str | Path | None:
    """The table the manifest's metadata columns come from, if any."""
    if metadata is not None or columns.metadata is None:
        return metadata
    if labels.labels is not None:
        return labels.labels
    if inputs.listing is not None:
        return inputs.listing
    raise InputError(
        "--metadata-columns needs a table to take them from (--metadata, --labels, "
        "or a listing as AUDIO)"
    )
