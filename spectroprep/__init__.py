"""spectroprep: prepare audio datasets for deep learning.

Build windowed log-spectrograms once, into chunked HDF5 shards or npy blocks,
re-shard or split them (``spectroprep.shard(...)``) and read them back fast:
``spectroprep.build(...)``, ``spectroprep.open_dataset(path)``.
"""

from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from .builder.pipeline import build
    from .config import Config, load_config
    from .errors import SpectroprepError
    from .read.reader import Dataset, open_dataset
    from .read.sampler import ShardSampler
    from .reshard import shard

# imported on first use, so that reading a dataset (in every data-loader worker)
# does not pay for the build's modules (scipy.signal alone takes about a second)
_LAZY = {
    "Config": "config",
    "load_config": "config",
    "SpectroprepError": "errors",
    "build": "builder.pipeline",
    "Dataset": "read.reader",
    "open_dataset": "read.reader",
    "shard": "reshard",
    "ShardSampler": "read.sampler",
    "SpecAugment": "read.augment",
    "Mixup": "read.augment",
    "Compose": "read.augment",
}

__all__ = [
    "Compose",
    "Config",
    "Dataset",
    "Mixup",
    "ShardSampler",
    "SpecAugment",
    "SpectroprepError",
    "__version__",
    "build",
    "load_config",
    "open_dataset",
    "shard",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'spectroprep' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value
