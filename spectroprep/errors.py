"""The one exception family spectroprep raises for problems a user can fix."""


class SpectroprepError(Exception):
    """Base class: the CLI prints the message on one line and exits non-zero."""


class ConfigError(SpectroprepError, ValueError):
    """A configuration key or value is unknown or invalid."""


class InputError(SpectroprepError):
    """An input file (audio, labels, listing) is missing, unreadable or inconsistent."""


class DatasetError(SpectroprepError):
    """A dataset on disk is missing, of an unknown version, or inconsistent."""


class OutputError(SpectroprepError):
    """The output location cannot be written safely."""


class SpectroprepWarning(UserWarning):
    """Something a build fixed on its own but the user should know (the CLI prints it)."""


class LabelWarning(SpectroprepWarning):
    """Labels were adjusted, e.g. events past the end of their file were clipped."""
