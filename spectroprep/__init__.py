"""spectroprep: prepare audio datasets for deep learning.

Build windowed log-spectrograms once, into chunked HDF5 shards or npy blocks,
re-shard or split them (``spectroprep.shard(...)``) and read them back fast:
``spectroprep.build(...)``, ``spectroprep.open_dataset(path)``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("spectroprep")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

from .config import Config, load_config  # noqa: E402
from .errors import SpectroprepError  # noqa: E402
from .pipeline import build  # noqa: E402
from .reader import Dataset, open_dataset  # noqa: E402
from .reshard import shard  # noqa: E402

__all__ = [
    "Config",
    "Dataset",
    "SpectroprepError",
    "__version__",
    "build",
    "load_config",
    "open_dataset",
    "shard",
]
