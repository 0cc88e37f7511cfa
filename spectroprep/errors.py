"""The one exception family spectroprep raises for problems a user can fix.

Each class carries the exit code the command line ends with: 2 for bad input
(files, labels, config: fix what you gave), 1 for everything else.
"""


class SpectroprepError(Exception):
    """Base class: the CLI prints the message on one line and exits non-zero."""

    exit_code = 1


class ConfigError(SpectroprepError, ValueError):
    """A configuration key or value is unknown or invalid."""

    exit_code = 2


class InputError(SpectroprepError):
    """An input file (audio, labels, listing) is missing, unreadable or inconsistent."""

    exit_code = 2


class DatasetError(SpectroprepError):
    """A dataset on disk is missing, of an unknown version, or inconsistent."""


class OutputError(SpectroprepError):
    """The output location cannot be written safely."""


class WorkerDied(SpectroprepError):
    """A build's worker process died (killed, out of memory): the build stops."""


class BuildInterrupted(KeyboardInterrupt):
    """Ctrl-C during a build, after the clean-up: the message says how to go on.

    A KeyboardInterrupt, so ``except Exception`` in user code never swallows it.
    """


class SpectroprepWarning(UserWarning):
    """Something a build fixed on its own but the user should know (the CLI prints it)."""


class LabelWarning(SpectroprepWarning):
    """Labels were adjusted, e.g. events past the end of their file were clipped."""
