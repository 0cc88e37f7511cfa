"""The header pass: every input's length and window count from its header alone,
and every input that cannot be used, with the reason."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from tqdm import tqdm

from .audio import AudioInfo, check_channels, exact_length, output_length, probe
from .config import Config
from .errors import InputError, SpectroprepWarning
from .segments import count_windows
from .sources import Inputs, shown_name
from .tasks import Source

Problem = tuple[str, str]  # (input name, message naming the file)
# finds the exact lengths of files whose header gives an estimate, in order
LengthPass = Callable[[list[tuple[Path, AudioInfo]]], list[AudioInfo | InputError]]


def exact_length_or_error(path: Path, info: AudioInfo) -> AudioInfo | InputError:
    """``exact_length``, with an unusable file's error returned rather than raised."""
    try:
        return exact_length(path, info)
    except InputError as exc:
        return exc


def _in_this_process(files: list[tuple[Path, AudioInfo]]) -> list[AudioInfo | InputError]:
    return [exact_length_or_error(path, info) for path, info in files]


def read_sources(
    inputs: Inputs,
    config: Config,
    progress: bool = False,
    exact_lengths: LengthPass = _in_this_process,
) -> tuple[list[Source], list[Problem]]:
    """The header pass: every usable file's length and window count, decoding only
    the files whose header gives an estimate (through ``exact_lengths``); and every
    file that cannot be used, with the reason."""
    probed: list[tuple[str, Path, AudioInfo]] = []
    problems: list[Problem] = []
    names = tqdm(inputs.files, desc="headers", unit="file", disable=not progress, leave=False)
    for name in names:
        path = inputs.path(name)
        if shown_name(name) != name:
            # manifest.csv and dataset.json are UTF-8: such a name cannot be recorded
            problems.append((name, f"{shown_name(str(path))}: file name is not UTF-8 (rename it)"))
            continue
        try:
            info = probe(path)
            check_channels(path, info, config.audio)
        except InputError as exc:
            problems.append((name, str(exc)))
            continue
        probed.append((name, path, info))
    estimated = [i for i, (_, _, info) in enumerate(probed) if info.estimated]
    if estimated:
        found = exact_lengths([probed[i][1:] for i in estimated])
        for i, result in zip(estimated, found, strict=True):
            if isinstance(result, InputError):
                problems.append((probed[i][0], str(result)))
            else:
                probed[i] = (*probed[i][:2], result)
    sources: list[Source] = []
    for name, path, info in probed:
        if info.estimated:
            continue  # its decode failed: a problem above
        if info.undecodable:
            whole = (info.frames + info.undecodable) / info.sample_rate
            warnings.warn(
                f"{path}: MP3 without a Xing/Info header: libsndfile decodes "
                f"{info.seconds:.1f} s of its {whole:.1f} s "
                "(it stops at a length estimated from the first frame); the rest is left out. "
                "Re-encode the file, or add a Xing/LAME header, to build all of it",
                SpectroprepWarning,
                stacklevel=3,
            )
        samples = output_length(info, config.audio)
        windows = count_windows(
            samples, config.window_samples, config.hop_samples, config.segment.pad
        )
        sources.append(Source(name, path, info, samples, windows))
    return sources, problems


def problem_lines(problems: Sequence[Problem]) -> str:
    return "\n".join(message for _, message in problems)


def rejected_reason(inputs: Inputs, problem: Problem) -> tuple[str, str]:
    """A rejected.csv row: the name, and the message without the path it starts with."""
    name, message = problem
    prefix = f"{shown_name(str(inputs.path(name)))}: "
    return shown_name(name), message.removeprefix(prefix)
