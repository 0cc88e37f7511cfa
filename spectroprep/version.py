"""The installed version, recorded in every dataset this tool writes."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("spectroprep")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
