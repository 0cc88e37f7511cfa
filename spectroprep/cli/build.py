"""``spectroprep build``: a dataset from audio files and their labels."""

from __future__ import annotations

from pathlib import Path

import click

from ..builder.pipeline import ON_ERROR, build
from ..config import preset_names
from ..ingest.recipes import recipe as read_recipe
from ..plugins import FORMATS, RECIPES
from ..read.reader import open_dataset
from ..read.summary import closing_lines, summarize
from .common import RegistryChoice


@click.command("build")
@click.argument("audio", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(path_type=Path),
    help="Output dataset folder (must be empty unless --overwrite).",
)
@click.option(
    "--recipe",
    type=RegistryChoice(RECIPES),
    help="AUDIO is this public corpus in its published layout: labels, folds and splits "
    "come from its own files.",
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
    help="Table with a path column plus any others (speaker, fold...) for manifest.csv.",
)
@click.option(
    "--metadata-columns",
    metavar="A,B,...",
    help="Only these columns into manifest.csv, from --metadata, else --labels, else AUDIO.",
)
@click.option(
    "--path-column",
    default="path",
    show_default=True,
    help="The tables' column naming the audio file.",
)
@click.option(
    "--label-column",
    default="label",
    show_default=True,
    help="The label table's (or listing's) column of classes.",
)
@click.option(
    "--start-column",
    metavar="NAME",
    help="With --end-column: each --labels row is a segment of its file, in seconds.",
)
@click.option("--end-column", metavar="NAME", help="The segments' end, in seconds.")
@click.option(
    "--label-sep",
    default=";",
    show_default=True,
    help="Between the classes of one label cell.",
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
    type=RegistryChoice(FORMATS),
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
    recipe: str | None,
    labels: Path | None,
    labels_from_folders: bool,
    events: Path | None,
    labels_per_window: bool,
    metadata: Path | None,
    metadata_columns: str | None,
    path_column: str,
    label_column: str,
    label_sep: str,
    start_column: str | None,
    end_column: str | None,
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
        recipe=recipe,
        labels=labels,
        labels_from_folders=labels_from_folders,
        events=events,
        labels_per_window=labels_per_window,
        metadata=metadata,
        metadata_columns=metadata_columns.split(",") if metadata_columns else None,
        path_column=path_column,
        label_column=label_column,
        label_sep=label_sep,
        start_column=start_column,
        end_column=end_column,
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
    for line in closing_lines(summarize(open_dataset(out))):
        click.echo(line, err=quiet)
    if recipe is not None:
        command = read_recipe(recipe).SPLIT.format(dataset=out)
        click.echo(f"the {recipe} protocol's split: {command}", err=quiet)
