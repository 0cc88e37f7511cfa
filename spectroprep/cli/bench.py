"""``spectroprep bench``: how fast a dataset reads."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..read.reader import open_dataset


@click.command("bench")
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
@click.option(
    "--cold",
    is_flag=True,
    help="Take the dataset out of the page cache before each measurement (reads from disk).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def bench_command(
    dataset: Path,
    batch_size: int,
    workers: str,
    step_ms: float | None,
    seconds: float,
    cold: bool,
    as_json: bool,
) -> None:
    """Measure how fast DATASET reads: sequential, random single, random batch and
    shuffled-epoch examples/s and MB/s, and through a torch DataLoader where torch is
    installed, for each worker count; then whether the loader keeps up with a step of
    --step-ms, or the shortest step it feeds."""
    from ..bench import run  # imported here: this command is its only user
    from ..bench.report import cache_lines, page_cache, summarize_rates, table

    try:
        counts = sorted({int(w) for w in workers.split(",")})
    except ValueError:
        raise click.BadParameter(
            f"not a list of numbers: {workers!r}", param_hint="--workers"
        ) from None
    if counts[0] < 0:
        raise click.BadParameter("worker counts must be 0 or more", param_hint="--workers")
    info = open_dataset(dataset).info
    cache = page_cache(dataset, info, cold)
    rates = run(dataset, counts, batch_size, seconds, cold=cold)
    summary, judged = summarize_rates(dataset, info, rates, batch_size, seconds, step_ms, cache)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo("\n".join(table(summary, rates)))
    click.echo("\n".join(cache_lines(cache, summary["handoff_measured"])))
    click.echo("\n".join(judged.lines(batch_size)))
