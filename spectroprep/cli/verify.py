"""``spectroprep verify``: is a dataset complete and uncorrupted, and is anything in it
probably a mistake."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..dataset.layout import DATASET_JSON


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
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify_command(dataset: Path, recompute: int, seed: int, strict: bool, as_json: bool) -> None:
    """Check that DATASET (or each split in a folder of splits) is complete and
    uncorrupted; exit 1 if it is not, or with --strict if anything is warned of."""
    from ..verify import verify  # imported here: this command is its only user in the CLI

    splits = _splits(dataset)
    names = [p.name for p in splits] if splits else [None]
    reports = {
        name: verify(dataset / name if name else dataset, recompute=recompute, seed=seed)
        for name in names
    }
    failed = [n for n, r in reports.items() if not r.ok or (strict and r.warnings)]
    if as_json:
        out: Any = (
            {n: r.to_dict() for n, r in reports.items()} if splits else reports[None].to_dict()
        )
        click.echo(json.dumps(out, indent=2))
    else:
        for name, report in reports.items():
            _print(report, dataset / name if name else dataset, strict, f"{name}: " if name else "")
        if splits:
            click.echo(f"{len(splits) - len(failed)} of {len(splits)} splits verified in {dataset}")
    if failed:
        raise SystemExit(1)


def _splits(folder: Path) -> list[Path]:
    """The datasets in a folder of splits (``shard --split`` writes one), if it is one."""
    if (folder / DATASET_JSON).exists() or not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if (p / DATASET_JSON).is_file())


def _print(report: Any, path: Path, strict: bool, prefix: str) -> None:
    for note in report.notes:
        click.echo(f"{prefix}note: {note.line()}", err=True)
    for warning in report.warnings:
        click.echo(f"{prefix}warning: {warning.line()}", err=True)
    for problem in report.problems:
        click.echo(f"{prefix}{problem.line()}")
    recomputed = report.recomputed
    if recomputed is not None:
        line = f"recomputed {recomputed['compared']} of {recomputed['asked']} example(s)"
        if recomputed["compared"]:
            line += (
                f" from their source audio: max difference {recomputed['max_abs_difference']:.3g}"
                f" ({recomputed['max_relative_difference']:.3g} of the example's range)"
            )
        click.echo(prefix + line)
    if not report.ok:
        click.echo(f"{prefix}failed: {len(report.problems)} problem(s) in {path}")
    elif strict and report.warnings:
        click.echo(f"{prefix}failed: {len(report.warnings)} warning(s) with --strict in {path}")
    else:
        click.echo(f"{prefix}ok: {report.examples} examples in {report.files} files")
