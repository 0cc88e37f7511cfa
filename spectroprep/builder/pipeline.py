"""``spectroprep build``: plan in the parent, compute and write shards on an executor.

The parent reads the inputs' labels and headers only (``ingest.collect``), plans
the shards (from the config alone, so the output is the same for any ``--jobs``),
runs the shard tasks (``runner``) while it keeps a journal of the finished ones
(so ``--resume`` goes on after a crash), then writes manifest.csv and, last and
atomically, dataset.json.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from pathlib import Path

from ..config import Config, load_config
from ..dataset.datafile import ShardResult, label_counts, shard_attrs
from ..dataset.layout import (
    DATASET_JSON,
    JOURNAL,
    MANIFEST_CSV,
    REJECTED_CSV,
    read_dataset_json,
    remove_temp_files,
    write_json,
    write_rejected,
)
from ..dataset.manifest import write_manifest
from ..dataset.output import output_folder
from ..dataset.source_stats import write_source_statistics
from ..dataset.stats import concat_groups, merge_all
from ..dataset.storage import get_format
from ..errors import BuildInterrupted, InputError, OutputError, SpectroprepWarning, WorkerDied
from ..execute import Executor, choose_executor
from ..features.mel import empty_bands
from ..ingest.collect import Ingested, LabelOptions, ingest
from ..ingest.headers import (
    InputProblem,
    Source,
    problem_lines,
    rejected_reason,
)
from ..ingest.labels.model import LabelSet
from ..ingest.labels.targets import Targets
from ..ingest.recipes import recipe as read_recipe
from ..ingest.tables import Columns
from ..naming import natural_key
from .describe import describe, manifest_rows, rejected_rows
from .journal import Journal, build_state
from .runner import TaskRunner
from .settle import settle
from .tasks import ShardFailure, ShardTask, make_tasks

ON_ERROR = ("fail", "skip")  # what a build does with an input it cannot use


@dataclasses.dataclass
class _Build:
    """One build: runs the shard passes over what ingest read, and describes them."""

    audio: Path  # what the user gave: a folder, a listing or one file
    config: Config
    on_error: str
    out: Path
    executor: Executor
    progress: bool

    def build(
        self,
        ingested: Ingested,
        *,
        resume: bool,
        overwrite: bool,
        command: Sequence[str] | None,
    ) -> Path:
        """The build after its inputs are read and checked: shards, description."""
        out, cfg = self.out, self.config
        inputs, sources, label_set = ingested.inputs, ingested.sources, ingested.labels
        if resume and (out / DATASET_JSON).is_file():
            return _already_built(out, cfg)
        state = build_state(cfg, inputs, sources, label_set)
        replacing = started = False
        try:
            with output_folder(out, overwrite, resume) as replacing:
                if resume and (out / JOURNAL).is_file():
                    journal = Journal.resume(out, state)
                    remove_temp_files(out)
                else:
                    journal = Journal.start(out, state, list(command) if command else None)
                started = True
                try:
                    built = self.run(sources, label_set, journal, replacing)
                    _write_description(out, cfg, ingested, built, journal.command)
                except (OutputError, WorkerDied) as exc:
                    if replacing:
                        raise
                    fix = "make room, then run" if isinstance(exc, OutputError) else "run"
                    raise type(exc)(
                        f"{exc}\n(finished shards are kept: {fix} the same command with --resume)"
                    ) from exc
                journal.remove()
        except BaseException as exc:
            if started and not replacing:
                remove_temp_files(out)  # what stopped workers left; the workers are gone by now
            if isinstance(exc, KeyboardInterrupt):
                raise _interrupted(out, replacing) from None
            raise
        return out

    def run(
        self, sources: list[Source], label_set: LabelSet, journal: Journal, replacing: bool
    ) -> Built:
        """Write every shard; with ``on_error = "skip"`` leave out the sources that fail
        to decode, each from its own shard (the others are not redone), then close the
        gaps in ids and file names that they leave (``settle``)."""
        config = self.config
        fmt = get_format(config.storage.format)
        per_file = fmt.examples_per_file(config.storage)
        skip = self.on_error == "skip"
        tasks = make_tasks(sources, label_set.files, per_file)
        targets = Targets.from_config(label_set, config)
        attrs = shard_attrs(config, label_set.kind, label_set.classes)
        runner = TaskRunner(
            out=self.out,
            config=config,
            targets=targets,
            attrs=attrs,
            executor=self.executor,
            progress=self.progress,
            journal=journal,
            skip=skip,
        )
        outcomes = runner.run(tasks)
        if not skip and isinstance(outcomes[-1], ShardFailure):
            raise InputError(_decode_failure(outcomes[-1], replacing))
        # a source spread over several shards fails in each: the first says why
        reasons: dict[str, str] = {}
        for outcome in outcomes:
            left = outcome.problems if isinstance(outcome, ShardFailure) else outcome.left_out
            for name, message in left:
                reasons.setdefault(name, message)
        if reasons:
            outcomes = runner.without(tasks, outcomes, reasons)
        failed = list(reasons.items())
        for _, message in failed:
            warnings.warn(f"left out {message}", SpectroprepWarning, stacklevel=2)
        tasks, results = settle(tasks, outcomes, self.out, fmt)
        if not results:
            raise InputError(f"{self.audio}: no file could be decoded")
        bad = {name for name, _ in failed}
        kept = [s for s in sources if s.name not in bad]
        return Built(kept, label_set, targets, tasks, results, failed)


@dataclasses.dataclass(frozen=True)
class Built:
    """What the shards of a finished build hold."""

    sources: list[Source]
    labels: LabelSet
    targets: Targets
    tasks: list[ShardTask]
    results: list[ShardResult]
    failed: list[InputProblem]  # sources left out because they failed to decode


def _decode_failure(failure: ShardFailure, replacing: bool) -> str:
    how = (
        "the earlier dataset is back in place"
        if replacing
        else "finished shards are kept: run the same command with --on-error skip --resume "
        "to build without the file(s), or fix them and build again with --overwrite"
    )
    return f"{problem_lines(failure.problems)}\n({how})"


def _already_built(out: Path, config: Config) -> Path:
    """``--resume`` on a complete dataset: nothing to do if it has the same config."""
    info = read_dataset_json(out)
    if info["config"] != config.to_dict():
        raise OutputError(
            f"{out}: holds a complete dataset built with another config (use --overwrite)"
        )
    (out / JOURNAL).unlink(missing_ok=True)  # left by a crash right after dataset.json
    return out


def _warn_empty_bands(config: Config) -> None:
    spec = config.spectrogram
    if spec.n_mels and (empty := empty_bands(spec, config.audio.sample_rate)):
        warnings.warn(
            f"spectrogram.n_mels = {spec.n_mels} with n_fft = {spec.n_fft}: {empty} mel band(s) "
            "hold no FFT bin and stay empty; use fewer bands or a larger n_fft",
            SpectroprepWarning,
            stacklevel=3,
        )


def _interrupted(out: Path, replacing: bool) -> BuildInterrupted:
    if replacing:
        return BuildInterrupted(f"interrupted; the earlier dataset in {out} is back in place")
    return BuildInterrupted(
        f"interrupted; finished shards are kept in {out}: run the same command with "
        "--resume to go on"
    )


def build(
    audio: str | Path,
    out: str | Path,
    *,
    recipe: str | None = None,
    labels: str | Path | None = None,
    labels_from_folders: bool = False,
    events: str | Path | None = None,
    labels_per_window: bool = False,
    metadata: str | Path | None = None,
    metadata_columns: Sequence[str] | None = None,
    path_column: str = "path",
    label_column: str = "label",
    label_sep: str = ";",
    start_column: str | None = None,
    end_column: str | None = None,
    classes: str | Path | None = None,
    multi_label: bool = False,
    strict: bool = False,
    config: str | Path | Config | None = None,
    overrides: Sequence[str] = (),
    format: str | None = None,
    jobs: int | None = None,
    executor: Executor | None = None,
    overwrite: bool = False,
    resume: bool = False,
    on_error: str = "fail",
    progress: bool = False,
    command: Sequence[str] | None = None,
) -> Path:
    """Build a dataset from ``audio`` (a folder or a CSV listing) into ``out``.

    ``recipe`` names a public corpus (``plugins.RECIPES``: esc50, fsd50k, ...)
    that ``audio`` holds in its published layout; the recipe reads its labels and
    metadata, so no label, metadata or column option is given with it.

    Labels come from one of ``labels`` (CSV path,label; ";" between several
    classes), ``labels_from_folders``, ``events`` (DCASE strong labels) or
    ``labels_per_window`` (``<name>-lbl.npy`` beside each file), in the order
    of ``classes`` (one name a line) when given. ``metadata`` is a table of path and
    any other columns (speaker, fold...) that the manifest carries. Tables are CSV
    or TSV (``,`` ``;`` or tab), header names matched whatever their case:
    ``path_column`` and ``label_column`` name their path and label columns,
    ``label_sep`` separates the classes of one label cell, and
    ``metadata_columns`` picks the manifest's columns (from ``metadata``, else the
    ``labels`` table, else a listing given as ``audio``). With ``start_column`` and
    ``end_column`` each row of the ``labels`` table is a segment of its file (in
    seconds), cut into windows as a whole file is; a file may have many, and the
    manifest's ``source`` and ``start`` still name the file and the second in it.
    Clip labels are multi-hot
    when ``multi_label`` or when a file has several classes. Events past the
    end of their file are clipped with a warning, or refused when ``strict``.
    ``config`` is a preset name, a TOML path or a Config; ``overrides`` are
    ``section.key=value`` strings; ``format`` overrides ``storage.format``. The
    shards are computed by ``executor`` or, instead, by ``jobs`` worker processes
    (default: one per core).

    Inputs that cannot be used (unreadable, truncated, NaN samples...) stop the
    build (``on_error="fail"``), or are left out and listed in rejected.csv
    (``"skip"``). ``resume`` goes on with an unfinished build in ``out``,
    reusing its finished shards; it refuses if the config or inputs changed.
    Everything is checked before anything is written. Returns ``out``.
    """
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {', '.join(ON_ERROR)}, not {on_error!r}")
    if resume and overwrite:
        raise ValueError("resume and overwrite exclude each other")
    cfg = load_config(config, overrides)
    if format is not None:
        cfg = cfg.replace("storage", format=format)
    _warn_empty_bands(cfg)
    out = Path(out)
    corpus = None
    if recipe is not None:
        given = [
            name
            for name, value in (
                ("labels", labels),
                ("labels_from_folders", labels_from_folders or None),
                ("events", events),
                ("labels_per_window", labels_per_window or None),
                ("metadata", metadata),
                ("metadata_columns", metadata_columns),
                ("path_column", None if path_column == "path" else path_column),
                ("label_column", None if label_column == "label" else label_column),
                ("label_sep", None if label_sep == ";" else label_sep),
                ("start_column", start_column),
                ("end_column", end_column),
            )
            if value is not None
        ]
        if given:
            raise InputError(
                f"the {recipe} recipe reads the labels and metadata itself: "
                f"leave out {', '.join(given)}"
            )
        corpus = read_recipe(recipe).read(Path(audio))
    executor = choose_executor(jobs, executor, preload=[ShardTask.__module__])
    label_options = LabelOptions(
        labels=labels,
        labels_from_folders=labels_from_folders,
        events=events,
        labels_per_window=labels_per_window,
        classes=classes,
        multi_label=multi_label,
        strict=strict,
    )
    columns = Columns(
        path=path_column,
        label=label_column,
        label_sep=label_sep,
        metadata=tuple(c.strip() for c in metadata_columns) if metadata_columns else None,
        start=start_column,
        end=end_column,
    )
    ingested = ingest(
        audio,
        cfg,
        labels=label_options,
        metadata=metadata,
        columns=columns,
        corpus=corpus,
        skip_unusable=on_error == "skip",
        progress=progress,
    )
    run = _Build(
        audio=Path(audio),
        config=cfg,
        on_error=on_error,
        out=out,
        executor=executor,
        progress=progress,
    )
    return run.build(ingested, resume=resume, overwrite=overwrite, command=command)


def _write_description(
    out: Path, config: Config, ingested: Ingested, built: Built, command: Sequence[str] | None
) -> None:
    """manifest.csv, rejected.csv (when an input gave no example),
    source_statistics.npz, then dataset.json."""
    inputs, metadata, unusable = ingested.inputs, ingested.metadata, ingested.unusable
    records = [r.record for r in built.results]
    rows = manifest_rows(built.tasks, records, config, built.labels, built.targets, metadata)
    write_manifest(out / MANIFEST_CSV, rows, metadata.columns)
    rejected = sorted(
        [rejected_reason(inputs, p) for p in unusable + built.failed]
        + rejected_rows(built.sources, config),
        key=lambda row: natural_key(row[0]),
    )
    if rejected:
        write_rejected(out / REJECTED_CSV, rejected)
    source_statistics = write_source_statistics(
        out, concat_groups([r.sources for r in built.results])
    )
    info = describe(
        config=config,
        labels=built.labels,
        targets=built.targets,
        counts=label_counts(built.results, built.labels.classes),
        constant_examples=sum(r.constant for r in built.results),
        stats=merge_all(r.stats for r in built.results),
        source_statistics=source_statistics,
        sources=built.sources,
        rejected=rejected,
        records=records,
        command=command,
        audio_root=inputs.root,
        metadata=metadata,
    )
    write_json(out / DATASET_JSON, info)
