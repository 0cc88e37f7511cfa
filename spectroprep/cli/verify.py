"""``spectroprep verify``: is a dataset complete and uncorrupted."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("verify")
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
