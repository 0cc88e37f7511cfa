"""The ``spectroprep`` command: a thin layer over the library (the only user of click)."""

from __future__ import annotations

import json
import traceback
import warnings
from pathlib import Path
from typing import Any

import click

from ..builder.pipeline import ON_ERROR, build
from ..config import preset_names
from ..dataset.layout import REJECTED_CSV
from ..errors import SpectroprepError, SpectroprepWarning
from ..read.reader import open_dataset
from ..read.summary import format_summary, summarize
from ..reshard import shard
from ..reshard.split import shares_line


class CommandError(click.ClickException):
    """An expected error, shown as one line: "error: ..." and the error's exit code
    (2 for bad input, 1 otherwise, 130 for Ctrl-C)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click's is a class default

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)


def _warning_printer(show: Any) -> Any:
    """``warnings.showwarning`` printing spectroprep's warnings as one "warning:" line."""

    def print_warning(message: Warning | str, category: type[Warning], *args: Any) -> None:
        if issubclass(category, SpectroprepWarning):
            click.echo(f"warning: {message}", err=True)
        else:
            show(message, category, *args)

    return print_warning


class Group(click.Group):
    """Maps the library's errors to one line and exit 1, Ctrl-C to exit 130."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["argv"] = ["spectroprep", *args]  # recorded in dataset.json provenance
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("always", SpectroprepWarning)
                warnings.showwarning = _warning_printer(warnings.showwarning)
                return super().invoke(ctx)
        except (SpectroprepError, KeyboardInterrupt) as exc:
            if ctx.meta.get("debug"):
                traceback.print_exception(exc)  # with a worker's own traceback as its cause
            if isinstance(exc, KeyboardInterrupt):
                raise CommandError(str(exc) or "interrupted", 130) from None
            raise CommandError(str(exc), exc.exit_code) from exc


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="spectroprep")
@click.option("--debug", is_flag=True, help="Show the traceback of an error.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Prepare audio datasets for deep learning.

    Exit codes: 0 success, 1 failure (e.g. verify found problems), 2 bad input
    or usage, 130 interrupted.
    """
    ctx.meta["debug"] = debug


@cli.command("build")
@click.argument("audio", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(path_type=Path),
    help="Output dataset folder (must be empty unless --overwrite).",
)
@click.option(
    "--labels",
    type=click.Path(path_type=Path),
    help="CSV with columns path,label (paths relative to AUDIO).",
)
@click.option("--labels-from-folders", is_flag=True, help="Each file's parent folder is its class.")
@click.option(
    "--events",
    type=click.Path(path_type=Path),
    help="Strong labels: TSV/CSV with columns filename,onset,offset,event_label (seconds).",
)
@click.option(
    "--labels-per-window",
    is_flag=True,
    help="One label per window from <name>-lbl.npy beside each <name>.<ext>.",
)
@click.option(
    "--metadata",
    type=click.Path(path_type=Path),
    help="CSV with a path column plus any others (speaker, fold...) for manifest.csv.",
)
@click.option(
    "--classes",
    type=click.Path(path_type=Path),
    help="Class vocabulary, one name a line: fixes the class order and ids.",
)
@click.option(
    "--multi-label",
    is_flag=True,
    help="Store clip labels multi-hot even if every file has one class.",
)
@click.option("--strict", is_flag=True, help="Refuse events past the end of their file.")
@click.option(
    "--config",
    "config",
    metavar="NAME|PATH",
    help=f"A preset ({', '.join(preset_names())}) or a TOML file of changed keys.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="SECTION.KEY=VALUE",
    help="Override one config value (repeatable).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["hdf5", "npy"]),
    help="Storage format (overrides storage.format).",
)
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes [all cores].")
@click.option("--overwrite", is_flag=True, help="Replace a dataset already in --out.")
@click.option(
    "--resume",
    is_flag=True,
    help="Go on with an interrupted build in --out, reusing its finished shards.",
)
@click.option(
    "--on-error",
    type=click.Choice(ON_ERROR),
    default="fail",
    show_default=True,
    help="Stop at an unusable input file, or skip it and list it in rejected.csv.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def build_command(
    audio: Path,
    out: Path,
    labels: Path | None,
    labels_from_folders: bool,
    events: Path | None,
    labels_per_window: bool,
    metadata: Path | None,
    classes: Path | None,
    multi_label: bool,
    strict: bool,
    config: str | None,
    overrides: tuple[str, ...],
    fmt: str | None,
    jobs: int | None,
    overwrite: bool,
    resume: bool,
    on_error: str,
    quiet: bool,
) -> None:
    """Build a dataset of log-spectrogram windows from AUDIO (a folder or a CSV listing)."""
    if resume and overwrite:
        raise click.UsageError("--resume and --overwrite exclude each other")
    build(
        audio,
        out,
        labels=labels,
        labels_from_folders=labels_from_folders,
        events=events,
        labels_per_window=labels_per_window,
        metadata=metadata,
        classes=classes,
        multi_label=multi_label,
        strict=strict,
        config=config,
        overrides=overrides,
        format=fmt,
        jobs=jobs,
        overwrite=overwrite,
        resume=resume,
        on_error=on_error,
        progress=not quiet,
        command=click.get_current_context().meta["argv"],
    )
    ds = open_dataset(out)
    rejected = ds.info["counts"]["rejected"]
    if rejected:
        click.echo(
            f"warning: {rejected} input file(s) gave no examples, listed in {out / REJECTED_CSV}",
            err=True,
        )
    click.echo(f"wrote {len(ds)} examples to {out}", err=quiet)


@cli.command("shard")
@click.argument("src", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(path_type=Path),
    help="New dataset folder (must be empty unless --overwrite); with --split, one "
    "dataset per split in it.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["hdf5", "npy"]), help="Storage format [as SRC]."
)
@click.option(
    "--shard-size",
    metavar="N|SIZE",
    help="Most examples per HDF5 shard, or bytes (256MB, 1GiB); shards come out equal.",
)
@click.option(
    "--block-size", metavar="N|SIZE", help="Most examples per npy block, or bytes; blocks equal."
)
@click.option(
    "--chunk-size", type=click.IntRange(min=1), metavar="N", help="Examples per HDF5 chunk."
)
@click.option("--compression", help="none | lzf | gzip[:N] | blosc2-lz4 | blosc2-zstd[:N].")
@click.option("--dtype", type=click.Choice(["float32", "float16"]), help="Feature dtype.")
@click.option("--shuffle", is_flag=True, help="Order the examples by a random permutation.")
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of --shuffle and --split."
)
@click.option(
    "--split", metavar="NAME=RATIO,...", help="Split by groups, e.g. train=0.8,val=0.1,test=0.1."
)
@click.option(
    "--group-by",
    default="source",
    show_default=True,
    metavar="source|COLUMN",
    help="Keep each group in one split: the source file, or a metadata column.",
)
@click.option("--stratify", is_flag=True, help="Keep each class's shares near the ratios.")
@click.option(
    "--split-column", metavar="COLUMN", help="Split by the values of a manifest column (folds)."
)
@click.option(
    "--train-split",
    default="train",
    show_default=True,
    metavar="NAME",
    help="The split whose normalisation statistics every split records.",
)
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes [all cores].")
@click.option("--overwrite", is_flag=True, help="Replace what is in --out.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def shard_command(
    src: Path,
    out: Path,
    fmt: str | None,
    shard_size: str | None,
    block_size: str | None,
    chunk_size: int | None,
    compression: str | None,
    dtype: str | None,
    shuffle: bool,
    seed: int,
    split: str | None,
    group_by: str,
    stratify: bool,
    split_column: str | None,
    train_split: str,
    jobs: int | None,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Re-shard, convert, shuffle or split the dataset SRC into a new dataset."""
    done = shard(
        src,
        out,
        format=fmt,
        shard_size=shard_size,
        block_size=block_size,
        chunk_size=chunk_size,
        compression=compression,
        dtype=dtype,
        shuffle=shuffle,
        seed=seed,
        split=split,
        group_by=group_by,
        stratify=stratify,
        split_column=split_column,
        train_split=train_split,
        jobs=jobs,
        overwrite=overwrite,
        progress=not quiet,
        command=click.get_current_context().meta["argv"],
    )
    for name, folder in done.datasets.items():
        if done.shares is None:
            click.echo(f"wrote {len(open_dataset(folder))} examples to {folder}", err=quiet)
        else:
            ratio = done.ratios.get(name) if done.ratios else None
            click.echo(f"{shares_line(name, done.shares[name], ratio)} -> {folder}", err=quiet)
    if done.shares is not None and done.statistics_from is None:
        click.echo(
            "warning: no split is called "
            f"{train_split!r}: each split records its own statistics (--train-split NAME)",
            err=True,
        )


@cli.command("info")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def info_command(dataset: Path, as_json: bool) -> None:
    """Summarise DATASET: examples, classes, shape, size on disk."""
    summary = summarize(open_dataset(dataset))
    click.echo(json.dumps(summary, indent=2) if as_json else format_summary(summary))


@cli.command("bench")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option(
    "--workers",
    default="0,1,2",
    show_default=True,
    metavar="N,N,...",
    help="Reader process counts to measure (0: in this process).",
)
@click.option(
    "--step-ms",
    type=click.FloatRange(min=0, min_open=True),
    help="The model's time per training step: say whether the loader keeps up.",
)
@click.option(
    "--seconds",
    type=click.FloatRange(min=0.05),
    default=1.0,
    show_default=True,
    help="Time per measurement.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def bench_command(
    dataset: Path,
    batch_size: int,
    workers: str,
    step_ms: float | None,
    seconds: float,
    as_json: bool,
) -> None:
    """Measure how fast DATASET reads: sequential, random single, random batch and
    shuffled-epoch examples/s and MB/s, for each worker count."""
    from ..bench import run  # imported here: this command is its only user
    from ..bench.report import summarize, table

    try:
        counts = sorted({int(w) for w in workers.split(",")})
    except ValueError:
        raise click.BadParameter(
            f"not a list of numbers: {workers!r}", param_hint="--workers"
        ) from None
    if counts[0] < 0:
        raise click.BadParameter("worker counts must be 0 or more", param_hint="--workers")
    info = open_dataset(dataset).info
    rates = run(dataset, counts, batch_size, seconds)
    summary, judged = summarize(dataset, info, rates, batch_size, seconds, step_ms)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo("\n".join(table(summary, rates)))
    if judged is not None:
        click.echo("\n".join(judged.lines(batch_size)))


@cli.command("verify")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option(
    "--recompute",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="Also recompute N random examples from their source audio and compare.",
)
@click.option("--seed", type=int, default=0, help="Seed picking the --recompute examples.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify_command(dataset: Path, recompute: int, seed: int, as_json: bool) -> None:
    """Check that DATASET is complete and uncorrupted; exit 1 if it is not."""
    from ..verify import verify  # imported here: this command is its only user in the CLI

    report = verify(dataset, recompute=recompute, seed=seed)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for warning in report.warnings:
            click.echo(f"warning: {warning.line()}", err=True)
        for problem in report.problems:
            click.echo(problem.line())
        if report.ok:
            click.echo(f"ok: {report.examples} examples in {report.files} files")
        else:
            click.echo(f"failed: {len(report.problems)} problem(s) in {dataset}")
    if not report.ok:
        raise SystemExit(1)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="spectroprep")
