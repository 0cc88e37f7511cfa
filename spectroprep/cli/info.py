"""``spectroprep info``: what a dataset holds, how it was made, what may be a mistake."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..read.reader import open_dataset
from ..read.summary import format_summary, summarize
from .common import CommandError


@click.command("info")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--plot",
    type=click.Path(path_type=Path),
    metavar="PNG",
    help="Also draw examples per class, each row's mean and std, and the padding.",
)
def info_command(dataset: Path, as_json: bool, plot: Path | None) -> None:
    """Summarise DATASET: examples, windows, features, statistics, labels, padding,
    rejected inputs, size on disk."""
    summary = summarize(open_dataset(dataset))
    click.echo(json.dumps(summary, indent=2) if as_json else format_summary(summary))
    if plot is not None:
        try:
            from ..plot.overview import overview
        except ImportError as exc:
            raise CommandError(str(exc), 2) from None
        width, height = overview(dataset, plot)
        click.echo(f"wrote {plot} ({width} x {height} px)", err=as_json)
