"""The header pass: every input's length and window count from its header alone,
and every input that cannot be used, with the reason."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from tqdm import tqdm

from ..config import Config
from ..errors import InputError, SpectroprepWarning
from .audio.file import AudioInfo, check_channels, exact_length, output_length, probe
from .segments import windows_of
from .sources import Inputs, Segment, shown_name

InputProblem = tuple[str, str]  # (input name, message naming the file)


@dataclass(frozen=True)
class Source:
    """One input file after the header pass."""

    name: str  # relative to the audio root: the manifest's "source"
    path: Path
    info: AudioInfo
    samples: int  # length at the target sample rate
    windows: int  # examples it yields
    offset: int = 0  # a segment's first sample in its file, at the target rate
    segment_of: str | None = None  # a segment's file (relative to the audio root)

    @property
    def file(self) -> str:
        """The file, as the manifest's "source" names it."""
        return self.segment_of or self.name


def read_source(name: str, path: Path, config: Config) -> Source:
    """One input's header record: its length and window count at the target rate,
    from its header alone (but MP3s whose frames cannot be counted)."""
    info = probe(path)
    check_channels(path, info, config.audio)
    if info.estimated:
        info = exact_length(path, info)
    samples = output_length(info, config.audio)
    return Source(name, path, info, samples, windows_of(samples, config))


def read_sources(
    inputs: Inputs, config: Config, progress: bool = False
) -> tuple[list[Source], list[InputProblem]]:
    """The header pass: every usable file's length and window count, without
    decoding (but MP3s whose frames cannot be counted); and every file that cannot
    be used, with the reason."""
    sources: list[Source] = []
    problems: list[InputProblem] = []
    probed: dict[Path, Source | InputError] = {}  # a file of many segments is read once
    names = tqdm(inputs.files, desc="headers", unit="file", disable=not progress, leave=False)
    for name in names:
        path = inputs.path(name)
        if shown_name(name) != name:
            # manifest.csv and dataset.json are UTF-8: such a name cannot be recorded
            problems.append((name, f"{shown_name(str(path))}: file name is not UTF-8 (rename it)"))
            continue
        if path not in probed:
            try:
                probed[path] = read_source(name, path, config)
            except InputError as exc:
                probed[path] = exc
        source = probed[path]
        if isinstance(source, InputError):
            problems.append((name, str(source)))
            continue
        segment = inputs.segments.get(name) if inputs.segments else None
        if segment is not None:
            source = segment_source(name, source, segment, config)
        elif source.info.undecodable:
            _warn_undecodable(path, source.info)
        sources.append(source)
    return sources, problems


def segment_source(name: str, whole: Source, segment: Segment, config: Config) -> Source:
    """The header record of a segment of the file ``whole``; a segment past the end of
    its file is an error naming the table's line."""
    rate = config.audio.sample_rate
    # times written to the millisecond may end a fraction of one past the file: clipped
    slack = max(0.5 / whole.info.sample_rate, 0.001)
    if segment.end > whole.info.frames / whole.info.sample_rate + slack:
        raise InputError(
            f"{segment.where}: segment {segment.start:g}-{segment.end:g} s ends past the end "
            f"of {segment.file} ({whole.info.frames / whole.info.sample_rate:g} s)"
        )
    start = round(segment.start * rate)
    samples = min(round(segment.end * rate), whole.samples) - start
    windows = windows_of(samples, config)
    return replace(
        whole, name=name, samples=samples, windows=windows, offset=start, segment_of=segment.file
    )


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
