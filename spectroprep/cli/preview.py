"""``spectroprep preview``: a picture of a few examples."""

from __future__ import annotations

from pathlib import Path

import click

from .common import CommandError


def _ids(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected ids such as 1,5,9") from None


@click.command("preview")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="The PNG file to write."
)
@click.option("--ids", metavar="ID,...", help="The examples to show, by manifest id.")
@click.option("--class", "label", metavar="NAME", help="Show examples of this class.")
@click.option("--random", "count", type=int, default=6, show_default=True, help="How many to pick.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the pick.")
@click.option("--audio", is_flag=True, help="Add each window's waveform from its source file.")
def preview_command(
    dataset: Path,
    out: Path,
    ids: str | None,
    label: str | None,
    count: int,
    seed: int,
    audio: bool,
) -> None:
    """Draw examples of DATASET into a PNG: spectrograms with axes in seconds and Hz,
    labels, source file and start second, and frame targets for events datasets."""
    try:
        from ..plot.examples import preview
    except ImportError as exc:
        raise CommandError(str(exc), 2) from None
    drawn = preview(dataset, out, _ids(ids), label, count, seed, audio)
    shown = ", ".join(str(p.id) for p in drawn.panels)
    click.echo(f"wrote {drawn.path} ({drawn.size[0]} x {drawn.size[1]} px): examples {shown}")
