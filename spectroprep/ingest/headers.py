"""The header pass: every input's length and window count from its header alone,
and every input that cannot be used, with the reason."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from ..config import Config
from ..errors import InputError, SpectroprepWarning
from .audio.file import AudioInfo, check_channels, exact_length, output_length, probe
from .segments import count_windows
from .sources import Inputs, shown_name

InputProblem = tuple[str, str]  # (input name, message naming the file)


@dataclass(frozen=True)
class Source:
    """One input file after the header pass."""

    name: str  # relative to the audio root: the manifest's "source"
    path: Path
    info: AudioInfo
    samples: int  # length at the target sample rate
    windows: int  # examples it yields


def read_source(name: str, path: Path, config: Config) -> Source:
    """One input's header record: its length and window count at the target rate,
    from its header alone (but MP3s whose frames cannot be counted)."""
    info = probe(path)
    check_channels(path, info, config.audio)
    if info.estimated:
        info = exact_length(path, info)
    samples = output_length(info, config.audio)
    windows = count_windows(samples, config.window_samples, config.hop_samples, config.segment.pad)
    return Source(name, path, info, samples, windows)


def read_sources(
    inputs: Inputs, config: Config, progress: bool = False
) -> tuple[list[Source], list[InputProblem]]:
    """The header pass: every usable file's length and window count, without
    decoding (but MP3s whose frames cannot be counted); and every file that cannot
    be used, with the reason."""
    sources: list[Source] = []
    problems: list[InputProblem] = []
    names = tqdm(inputs.files, desc="headers", unit="file", disable=not progress, leave=False)
    for name in names:
        path = inputs.path(name)
        if shown_name(name) != name:
            # manifest.csv and dataset.json are UTF-8: such a name cannot be recorded
            problems.append((name, f"{shown_name(str(path))}: file name is not UTF-8 (rename it)"))
            continue
        try:
            source = read_source(name, path, config)
        except InputError as exc:
            problems.append((name, str(exc)))
            continue
        if source.info.undecodable:
            _warn_undecodable(path, source.info)
        sources.append(source)
    return sources, problems


def _warn_undecodable(path: Path, info: AudioInfo) -> None:
    whole = (info.frames + info.undecodable) / info.sample_rate
    warnings.warn(
        f"{path}: MP3 without a Xing/Info header: libsndfile decodes "
        f"{info.seconds:.1f} s of its {whole:.1f} s "
        "(it stops at a length estimated from the first frame); the rest is left out. "
        "Re-encode the file, or add a Xing/LAME header, to build all of it",
        SpectroprepWarning,
        stacklevel=4,
    )


def problem_lines(problems: Sequence[InputProblem]) -> str:
    return "\n".join(message for _, message in problems)


def rejected_reason(inputs: Inputs, problem: InputProblem) -> tuple[str, str]:
    """A rejected.csv row: the name, and the message without the path it starts with."""
    name, message = problem
    prefix = f"{shown_name(str(inputs.path(name)))}: "
    return shown_name(name), message.removeprefix(prefix)
