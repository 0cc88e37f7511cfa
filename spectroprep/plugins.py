"""The registries of plug-ins, by name: storage formats, feature kinds, resamplers.

A registry knows its built-in plug-ins by where they are defined
(``"package.module:NAME"``, or the module itself) and imports each on first use. So the floor of
the package (config validation, the command's choices) can list and check the
names without importing the layers above it, and a command pays only for the
plug-ins it uses. Anything else is added with ``register``: a format, a kind
or a resampler defined anywhere, even in a test file.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from types import ModuleType
from typing import Any


class Registry:
    """Plug-ins of one kind by name: built-ins imported lazily, others registered."""

    def __init__(self, what: str, builtins: Mapping[str, str]) -> None:
        self.what = what  # "storage format", ...: how errors name the plug-in
        self._where = dict(builtins)
        self._loaded: dict[str, Any] = {}

    def names(self) -> tuple[str, ...]:
        """Every registered name, built-ins first."""
        return tuple(self._where) + tuple(n for n in self._loaded if n not in self._where)

    def __contains__(self, name: object) -> bool:
        return name in self._where or name in self._loaded

    def get(self, name: str) -> Any:
        """The plug-in called ``name``; KeyError (with the known names) if none is."""
        if name not in self._loaded:
            if name not in self._where:
                raise KeyError(f"unknown {self.what} {name!r} (known: {', '.join(self.names())})")
            module, _, attribute = self._where[name].partition(":")
            plugin = import_module(module)  # a module may be the plug-in itself
            self._loaded[name] = getattr(plugin, attribute) if attribute else plugin
        return self._loaded[name]

    def register(self, name: str, plugin: Any) -> None:
        """Add ``plugin`` under ``name``, which must be new."""
        if name in self:
            raise ValueError(f"a {self.what} called {name!r} is registered already")
        self._loaded[name] = plugin

    def added(self) -> dict[str, Any]:
        """The plug-ins added with ``register``, by name."""
        return {name: p for name, p in self._loaded.items() if name not in self._where}

    def unregister(self, name: str) -> None:
        """Remove a plug-in added with ``register`` (built-ins stay)."""
        if name in self._where:
            raise ValueError(f"{name!r} is a built-in {self.what}")
        self._loaded.pop(name, None)


# One line per plug-in. A storage format is a module with the attributes of
# dataset.storage.Format; a feature kind an object with those of
# features.kinds.FeatureKind; a resampler one with those of
# ingest.audio.resample.Resampler; a recipe a module with those of
# ingest.recipes.Recipe.
FORMATS = Registry(
    "storage format",
    {
        "hdf5": "spectroprep.dataset.storage.hdf5",
        "npy": "spectroprep.dataset.storage.npy",
    },
)
FEATURE_KINDS = Registry(
    "feature kind",
    {
        "linear": "spectroprep.features.linear:KIND",
        "mel": "spectroprep.features.mel:KIND",
    },
)
RESAMPLERS = Registry(
    "resampler",
    {
        "soxr_hq": "spectroprep.ingest.audio.resample:SOXR_HQ",
        "soxr_vhq": "spectroprep.ingest.audio.resample:SOXR_VHQ",
        "scipy": "spectroprep.ingest.audio.resample:POLYPHASE",
    },
)

RECIPES = Registry(
    "recipe",
    {
        "esc50": "spectroprep.ingest.recipes.esc50",
        "fsd50k": "spectroprep.ingest.recipes.fsd50k",
        "speech-commands": "spectroprep.ingest.recipes.speech_commands",
        "gtzan": "spectroprep.ingest.recipes.gtzan",
        "dcase-sed": "spectroprep.ingest.recipes.dcase_sed",
        "urbansound8k": "spectroprep.ingest.recipes.urbansound8k",
        "audioset": "spectroprep.ingest.recipes.audioset",
    },
)

_REGISTRIES = {"formats": FORMATS, "feature kinds": FEATURE_KINDS, "resamplers": RESAMPLERS}


def added_plugins() -> dict[str, dict[str, Any]]:
    """Every plug-in added with ``register``, in a form that pickles (a module by its
    name): what a worker process needs to know the same plug-ins as its parent."""
    return {
        kind: {n: p.__name__ if isinstance(p, ModuleType) else p for n, p in r.added().items()}
        for kind, r in _REGISTRIES.items()
    }


def register_added(added: Mapping[str, Mapping[str, Any]]) -> None:
    """In a worker process: register what ``added_plugins`` gave in the parent."""
    for kind, plugins in added.items():
        registry = _REGISTRIES[kind]
        for name, plugin in plugins.items():
            if name not in registry:
                registry.register(
                    name, import_module(plugin) if isinstance(plugin, str) else plugin
                )
