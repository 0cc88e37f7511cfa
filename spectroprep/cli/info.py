"""``spectroprep info``: a short summary of a dataset."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..read.reader import open_dataset
from ..read.summary import format_summary, summarize


@click.command("info")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def info_command(dataset: Path, as_json: bool) -> None:
    """Summarise DATASET: examples, classes, shape, size on disk."""
    summary = summarize(open_dataset(dataset))
    click.echo(json.dumps(summary, indent=2) if as_json else format_summary(summary))
