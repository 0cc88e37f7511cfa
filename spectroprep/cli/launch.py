"""The command's entry point: for commands that run workers, the fork server is
started first, so it imports the task code while this process imports the rest."""

from __future__ import annotations

import sys

_WORKER_COMMANDS = ("build", "shard")
_ONE_JOB = (("-j", "1"), ("--jobs", "1"))


def _runs_workers(args: list[str]) -> bool:
    if not args or args[0] not in _WORKER_COMMANDS:
        return False
    pairs = set(zip(args, args[1:], strict=False))
    return not (pairs & set(_ONE_JOB) or {"-j1", "--jobs=1"} & set(args))


def main() -> None:
    """Console-script entry point."""
    if _runs_workers(sys.argv[1:]):
        from ..execute.local import start_fork_server

        # named, not imported: this process imports them while the server does
        start_fork_server(["spectroprep.builder.tasks", "spectroprep.reshard.parts"])
    from .main import main as run_command

    run_command()
