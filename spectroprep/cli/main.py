"""The ``spectroprep`` command group: one module per command beside this one; this
module maps the library's errors to exit codes (the only user of click with them)."""

from __future__ import annotations

import traceback
import warnings
from typing import Any

import click

from ..errors import SpectroprepError, SpectroprepWarning
from .bench import bench_command
from .build import build_command
from .common import CommandError
from .info import info_command
from .preview import preview_command
from .shard import shard_command
from .verify import verify_command


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


for command in (
    build_command,
    shard_command,
    info_command,
    preview_command,
    bench_command,
    verify_command,
):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="spectroprep")
