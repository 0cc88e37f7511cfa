"""What the commands share: one-line errors, and choices read from a registry."""

from __future__ import annotations

from typing import Any

import click

from ..plugins import Registry


class CommandError(click.ClickException):
    """An expected error, shown as one line: "error: ..." and the error's exit code
    (2 for bad input, 1 otherwise, 130 for Ctrl-C)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click's is a class default

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)


class RegistryChoice(click.ParamType):
    """A name in a registry of plug-ins, read when the command runs (so a plug-in
    registered after this module is imported is a valid choice too)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.name = registry.what

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[" + "|".join(self.registry.names()) + "]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if value not in self.registry:
            self.fail(f"{value!r} is not one of {', '.join(map(repr, self.registry.names()))}")
        return str(value)
