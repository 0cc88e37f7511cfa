"""Build parameters: frozen dataclasses read from TOML, overridable with ``--set``.

``configs/default.toml`` is the single source of default values: every other
config (a preset name or a path) is merged over it, then ``--set`` overrides.
``Config.to_dict()`` is exactly what ``dataset.json`` records under ``config``.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .plugins import FEATURE_KINDS, FORMATS, RESAMPLERS

_FLOAT32_TINY = 1.1754943508222875e-38  # smallest normal float32
COMPRESSIONS = ("none", "lzf", "gzip", "blosc2-lz4", "blosc2-zstd")
LEVELS = {"gzip": range(0, 10), "blosc2-zstd": range(0, 10)}


def presets_dir() -> Path:
    """Folder holding the built-in TOML presets (packaged copy, else the source checkout)."""
    packaged = Path(__file__).parent / "configs"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "configs"


def preset_names() -> list[str]:
    """Names accepted by ``--config NAME``."""
    return sorted(p.stem for p in presets_dir().glob("*.toml"))


def _fail(section: str, key: str, value: object, why: str) -> ConfigError:
    return ConfigError(f"{section}.{key} = {value!r}: {why}")


def _check_choice(section: str, key: str, value: object, choices: Iterable[object]) -> None:
    choices = tuple(choices)
    # bools are ints to Python (True == 1): never let one pass as a number
    if isinstance(value, bool) or value not in choices:
        raise _fail(section, key, value, f"must be one of {', '.join(map(repr, choices))}")


def _check_positive(section: str, key: str, value: object, *, integer: bool = False) -> None:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not 0 < value < math.inf:
        raise _fail(section, key, value, f"must be a positive {'integer' if integer else 'number'}")


def _check_bool(section: str, key: str, value: object) -> None:
    if not isinstance(value, bool):
        raise _fail(section, key, value, "must be true or false")


@dataclass(frozen=True)
class AudioConfig:
    """How audio is decoded: target rate and how channels become one."""

    sample_rate: int
    mono: str | int  # "mean" or a channel index
    max_channels: int = 0  # files with more channels are refused; 0: no limit
    resampler: str = "soxr_hq"  # a name in plugins.RESAMPLERS

    def __post_init__(self) -> None:
        _check_positive("audio", "sample_rate", self.sample_rate, integer=True)
        _check_choice("audio", "resampler", self.resampler, RESAMPLERS.names())
        if isinstance(self.max_channels, bool) or not isinstance(self.max_channels, int):
            raise _fail("audio", "max_channels", self.max_channels, "must be an integer >= 0")
        if self.max_channels < 0:
            raise _fail("audio", "max_channels", self.max_channels, "must be an integer >= 0")
        if self.mono != "mean" and (
            isinstance(self.mono, bool) or not isinstance(self.mono, int) or self.mono < 0
        ):
            raise _fail("audio", "mono", self.mono, 'must be "mean" or a channel index >= 0')


@dataclass(frozen=True)
class SegmentConfig:
    """Fixed windows cut from each file (seconds)."""

    length: float
    hop: float
    pad: str  # "zero": last partial window zero-padded; "drop": dropped
    min_last: float  # a zero-padded last window needs at least this much audio

    def __post_init__(self) -> None:
        _check_positive("segment", "length", self.length)
        _check_positive("segment", "hop", self.hop)
        _check_choice("segment", "pad", self.pad, ("zero", "drop"))
        if not (isinstance(self.min_last, float) and 0 <= self.min_last < math.inf):
            raise _fail("segment", "min_last", self.min_last, "must be a number of seconds >= 0")


@dataclass(frozen=True)
class SpectrogramConfig:
    """Short-time spectrum of each window, and the features made of it.

    ``kind`` names the feature kind (``plugins.FEATURE_KINDS``): "linear" keeps
    the FFT bins, "mel" passes them through mel filters; "auto" (what configs
    written before the key existed mean) is "mel" when ``n_mels`` is set.
    Frames are ``win_length`` samples every ``hop_length``, windowed, zero-padded
    to ``n_fft``. With ``center`` the window is padded so frame ``t`` is centred on
    sample ``t * hop_length`` (librosa's convention); without it frame ``t``
    starts there (scipy.signal.spectrogram's).
    """

    kind: str  # a name in plugins.FEATURE_KINDS, or "auto"
    n_fft: int
    win_length: int
    hop_length: int
    window: str | tuple[str | float, ...]  # a scipy.signal.get_window spec
    center: bool
    pad_mode: str  # "constant" | "reflect", used when center is true
    detrend: str  # "none" | "constant" (subtract each frame's mean, as scipy does)
    power: float  # 1: magnitude, 2: power
    scaling: str  # "none" | "density" (PSD, as scipy) | "spectrum"
    scale: str  # "log": log(S + eps) | "db": decibels as librosa.power_to_db | "linear": S
    eps: float  # added before the log of scale = "log"
    ref: float | str  # scale = "db": 0 dB level, a number or "max" (each example's peak)
    amin: float  # scale = "db": floor of S before the log (librosa's amin)
    top_db: float  # scale = "db": floor at the example's peak minus top_db; 0: no floor
    n_mels: int  # mel bands; 0 keeps the linear frequency bins
    fmin: float  # lowest mel filter edge, Hz
    fmax: float  # highest mel filter edge, Hz; 0 means sample_rate / 2
    mel_scale: str  # "slaney" | "htk"
    norm: str  # "slaney" (each filter of unit area) | "none"
    standardize: bool  # each window's audio to zero mean, unit variance first
    precision: str  # "float64" | "float32": the number type the spectra are computed in

    def __post_init__(self) -> None:
        sec = "spectrogram"
        for key in ("n_fft", "win_length", "hop_length"):
            _check_positive(sec, key, getattr(self, key), integer=True)
        if self.win_length > self.n_fft:
            raise _fail(sec, "win_length", self.win_length, f"must be <= n_fft ({self.n_fft})")
        if isinstance(self.window, list):
            object.__setattr__(self, "window", tuple(self.window))
        _check_bool(sec, "center", self.center)
        _check_choice(sec, "pad_mode", self.pad_mode, ("constant", "reflect"))
        _check_choice(sec, "detrend", self.detrend, ("none", "constant"))
        _check_choice(sec, "power", self.power, (1, 2))
        _check_choice(sec, "scaling", self.scaling, ("none", "density", "spectrum"))
        _check_choice(sec, "scale", self.scale, ("log", "db", "linear"))
        for key in ("eps", "amin"):  # kept in float32: must stay above zero there
            value = getattr(self, key)
            _check_positive(sec, key, value)
            if value < _FLOAT32_TINY:
                raise _fail(sec, key, value, f"must be at least {_FLOAT32_TINY:.3g} (float32)")
        if self.ref != "max":
            try:
                _check_positive(sec, "ref", self.ref)
            except ConfigError:
                raise _fail(sec, "ref", self.ref, 'must be a positive number or "max"') from None
        if self.top_db != 0:
            _check_positive(sec, "top_db", self.top_db)
        if isinstance(self.n_mels, bool) or not isinstance(self.n_mels, int) or self.n_mels < 0:
            raise _fail(sec, "n_mels", self.n_mels, "must be a whole number >= 0 (0: no mel)")
        for key in ("fmin", "fmax"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise _fail(sec, key, value, "must be a frequency >= 0 Hz")
        _check_choice(sec, "mel_scale", self.mel_scale, ("slaney", "htk"))
        _check_choice(sec, "norm", self.norm, ("slaney", "none"))
        _check_bool(sec, "standardize", self.standardize)
        _check_choice(sec, "precision", self.precision, ("float64", "float32"))
        if self.kind == "auto":
            object.__setattr__(self, "kind", "mel" if self.n_mels else "linear")
        _check_choice(sec, "kind", self.kind, FEATURE_KINDS.names())

    @property
    def n_bins(self) -> int:
        """One-sided FFT bins."""
        return self.n_fft // 2 + 1


@dataclass(frozen=True)
class StorageConfig:
    """Output layout: format, number type, compression and file sizes."""

    format: str  # a name in plugins.FORMATS: "hdf5" | "npy"
    dtype: str  # "float32" | "float16"
    compression: str  # none | lzf | gzip[:level] | blosc2-lz4 | blosc2-zstd[:level]
    shuffle: bool  # HDF5 byte-shuffle filter before compression
    chunk_examples: int  # examples per HDF5 chunk
    shard_examples: int  # examples per HDF5 shard
    block_size: int  # examples per npy block

    def __post_init__(self) -> None:
        sec = "storage"
        _check_choice(sec, "format", self.format, FORMATS.names())
        _check_choice(sec, "dtype", self.dtype, ("float32", "float16"))
        codec, _, level = str(self.compression).partition(":")
        _check_choice(sec, "compression", codec, COMPRESSIONS)
        if level and (codec not in LEVELS or not level.isdigit()):
            raise _fail(
                sec, "compression", self.compression, "only gzip:N and blosc2-zstd:N take a level"
            )
        if level and int(level) not in LEVELS[codec]:
            levels = LEVELS[codec]
            raise _fail(
                sec, "compression", self.compression, f"level must be {levels[0]} to {levels[-1]}"
            )
        _check_bool(sec, "shuffle", self.shuffle)
        for key in ("chunk_examples", "shard_examples", "block_size"):
            _check_positive(sec, key, getattr(self, key), integer=True)


@dataclass(frozen=True)
class LabelsConfig:
    """How event annotations become window labels."""

    min_overlap: float  # seconds of a window an event class must cover to label it

    def __post_init__(self) -> None:
        value = self.min_overlap
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not 0 <= value < math.inf
        ):
            raise _fail("labels", "min_overlap", value, "must be a number of seconds >= 0")


# Keys added to dataset.json's config after format version 1 first shipped, with
# the values that describe how earlier builds computed their features.
_ADDED_KEYS: dict[str, dict[str, Any]] = {
    "audio": {"max_channels": 0, "resampler": "scipy"},
    "segment": {"min_last": 0.0},  # every partial last window was kept
    "spectrogram": {
        "kind": "auto",
        "n_mels": 0,
        "fmin": 0.0,
        "fmax": 0.0,
        "mel_scale": "slaney",
        "norm": "slaney",
        "ref": 1.0,
        "amin": 1e-10,
        "top_db": 80.0,
        "precision": "float32",  # the FFT ran in float32 before the key existed
    },
    "labels": {"min_overlap": 0.1},
}

SECTIONS: dict[str, type] = {
    "audio": AudioConfig,
    "segment": SegmentConfig,
    "spectrogram": SpectrogramConfig,
    "labels": LabelsConfig,
    "storage": StorageConfig,
}


@dataclass(frozen=True)
class Config:
    """All resolved build parameters."""

    audio: AudioConfig
    segment: SegmentConfig
    spectrogram: SpectrogramConfig
    labels: LabelsConfig
    storage: StorageConfig

    def __post_init__(self) -> None:
        rate = self.audio.sample_rate
        for key in ("length", "hop"):
            seconds = getattr(self.segment, key)
            samples = seconds * rate
            if samples < 1 or not math.isclose(samples, round(samples), abs_tol=1e-6):
                raise _fail(
                    "segment",
                    key,
                    seconds,
                    f"must be a whole number (>= 1) of samples at {rate} Hz",
                )
        spec = self.spectrogram
        if self.storage.dtype == "float16" and spec.scale == "linear":
            raise _fail(
                "storage",
                "dtype",
                "float16",
                "holds log or dB features; linear spectra span more range than float16 "
                "(below 6.1e-5 values lose precision, below 6e-8 they become 0, above 65504 inf): "
                'use spectrogram.scale = "log" or "db", or storage.dtype = "float32"',
            )
        # the kind's own checks (its module is imported here, on first use)
        FEATURE_KINDS.get(spec.kind).check(spec, rate)
        if not spec.center and spec.win_length > self.window_samples:
            raise _fail("spectrogram", "win_length", spec.win_length, "is longer than one segment")
        if spec.center and spec.pad_mode == "reflect" and spec.n_fft // 2 >= self.window_samples:
            raise _fail(
                "spectrogram",
                "pad_mode",
                spec.pad_mode,
                f"needs segments longer than n_fft / 2 ({spec.n_fft // 2} samples)",
            )

    @property
    def window_samples(self) -> int:
        """Samples in one segment window."""
        return round(self.segment.length * self.audio.sample_rate)

    @property
    def hop_samples(self) -> int:
        """Samples between the starts of two segment windows."""
        return round(self.segment.hop * self.audio.sample_rate)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str = "config") -> Config:
        """Build from nested sections; unknown or missing keys are errors naming them."""
        check_keys(data, origin)
        sections = {}
        for name, section_cls in SECTIONS.items():
            values = dict(data.get(name, {}))
            fields = {f.name: f for f in dataclasses.fields(section_cls)}
            missing = sorted(set(fields) - set(values))
            if missing:
                keys = ", ".join(f"{name}.{k}" for k in missing)
                raise ConfigError(f"{origin}: missing key(s) {keys}")
            for key, field in fields.items():
                if field.type.startswith("float") and type(values[key]) is int:
                    values[key] = float(values[key])
            try:
                sections[name] = section_cls(**values)
            except ConfigError as exc:
                raise ConfigError(f"{origin}: {exc}") from None
        try:
            return cls(**sections)
        except ConfigError as exc:
            raise ConfigError(f"{origin}: {exc}") from None

    @classmethod
    def from_recorded(cls, data: Mapping[str, Any], origin: str) -> Config:
        """The config a dataset.json records, written by this or an earlier version."""
        filled = {name: dict(values) for name, values in data.items()}
        for section, added in _ADDED_KEYS.items():
            for key, value in added.items():
                filled.setdefault(section, {}).setdefault(key, value)
        return cls.from_dict(filled, origin)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain nested dict (TOML/JSON types only), the inverse of ``from_dict``."""
        out: dict[str, dict[str, Any]] = {}
        for name in SECTIONS:
            section = dataclasses.asdict(getattr(self, name))
            out[name] = {k: list(v) if isinstance(v, tuple) else v for k, v in section.items()}
        return out

    def replace(self, section: str, **values: Any) -> Config:
        """A copy with some keys of one section changed (validated again)."""
        data = self.to_dict()
        data[section].update(values)
        return Config.from_dict(data)


def check_keys(data: Mapping[str, Any], origin: str) -> None:
    """Every section and key of ``data`` is one the config has; else an error naming
    the first stranger and the closest known name."""
    for section in sorted(data):
        if section not in SECTIONS:
            raise ConfigError(
                f"{origin}: unknown section [{section}]{_closest(section, list(SECTIONS))}"
            )
        known = _names(SECTIONS[section])
        unknown = sorted(set(data[section]) - set(known))
        if unknown:
            key = unknown[0]
            # the closest key of the section, else the same key in another section
            elsewhere = [f"{s}.{key}" for s, c in SECTIONS.items() if key in _names(c)]
            near = _closest(key, known) or _closest(key, elsewhere, cutoff=0)
            raise ConfigError(f"{origin}: unknown key {section}.{key}{near}")


def _names(section: type) -> list[str]:
    return [f.name for f in dataclasses.fields(section)]


def _closest(name: str, known: list[str], cutoff: float = 0.6) -> str:
    """A "did you mean" hint naming the known name most like ``name``, or nothing."""
    matches = difflib.get_close_matches(name, known, n=1, cutoff=cutoff)
    return f"; did you mean {matches[0]!r}?" if matches else ""


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc


def _find_config(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.is_file():
        return path
    preset = presets_dir() / f"{name_or_path}.toml"
    if preset.is_file():
        return preset
    raise ConfigError(
        f"{name_or_path}: no such config file or preset (presets: {', '.join(preset_names())})"
    )


def _merge(base: dict[str, Any], update: Mapping[str, Any], origin: str) -> None:
    for section, values in update.items():
        if not isinstance(values, Mapping):
            raise ConfigError(f"{origin}: {section!r} must be a [section] table")
    check_keys(update, origin)
    for section, values in update.items():
        base.setdefault(section, {}).update(values)


def parse_override(text: str) -> tuple[str, str, Any]:
    """Split ``section.key=value``; the value is read as TOML, else kept as a string."""
    target, sep, raw = text.partition("=")
    section, dot, key = target.strip().partition(".")
    if not sep or not dot or not section or not key:
        raise ConfigError(f"--set {text!r}: expected section.key=value")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return section, key, value


def load_config(config: str | Path | Config | None = None, overrides: Iterable[str] = ()) -> Config:
    """Resolve defaults, a preset name or TOML path, and ``section.key=value`` overrides."""
    if isinstance(config, Config):
        data, layers = config.to_dict(), ["the config given"]
    else:
        data, layers = _read_toml(presets_dir() / "default.toml"), ["the built-in default"]
        if config is not None:
            path = _find_config(config)
            # a preset by its name, never by a path inside the package
            layer = f"preset {path.stem}" if path.parent == presets_dir() else str(path)
            _merge(data, _read_toml(path), layer)
            layers.append(layer)
    for text in overrides:
        section, key, value = parse_override(text)
        _merge(data, {section: {key: value}}, f"--set {text}")
        layers.append(f"--set {text}")
    return Config.from_dict(data, layers[-1] if len(layers) < 3 else " + ".join(layers[1:]))
