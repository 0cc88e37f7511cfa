"""How many bytes of audio a container's header promises, to catch cut-off files.

libsndfile reads a file cut short (an interrupted copy or download) as a shorter
file without a word, so its end would be lost silently. Comparing the size the
header promises with the bytes the file holds tells the two apart. Only header
bytes are read: the walk seeks from chunk header to chunk header.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Literal

from ...errors import InputError

# bytes per sample of the fixed-size codings; for the others (ADPCM, GSM...) bytes
# do not map to frames, so they are not checked
_SAMPLE_BYTES = {
    "PCM_S8": 1,
    "PCM_U8": 1,
    "PCM_16": 2,
    "PCM_24": 3,
    "PCM_32": 4,
    "FLOAT": 4,
    "DOUBLE": 8,
    "ULAW": 1,
    "ALAW": 1,
}

# size fields a recorder leaves when it never finalised the file ("unknown"); a size
# of 0 needs no sentinel: it promises nothing, so it is never refused
_ALL_ONES_32 = 0xFFFFFFFF
_ALL_ONES_64 = 0xFFFFFFFFFFFFFFFF

_MAX_CHUNKS = 1000  # a malformed file cannot keep the walk going for long

# Sony Wave64 names its chunks with GUIDs; the first four bytes spell the RIFF name
_W64_RIFF = b"riff\x2e\x91\xcf\x11\xa5\xd6\x28\xdb\x04\xc1\x00\x00"
_W64_WAVE = b"wave\xf3\xac\xd3\x11\x8c\xd1\x00\xc0\x4f\x8e\xdb\x8a"
_W64_DATA = b"data\xf3\xac\xd3\x11\x8c\xd1\x00\xc0\x4f\x8e\xdb\x8a"

_Order = Literal["little", "big"]
_Span = tuple[int, int]  # (offset of the first audio byte, audio bytes promised)


def check_length(path: Path, container: str, subtype: str, channels: int, frames: int) -> None:
    """Raise InputError if ``path`` holds fewer audio bytes than its header promises.

    ``container`` and ``subtype`` are soundfile's ``info.format`` and ``info.subtype``,
    ``frames`` the length libsndfile reports. Sizes marked unknown, codings of
    variable size, other containers and headers without a readable size pass.
    """
    width = _SAMPLE_BYTES.get(subtype)
    reader = _READERS.get(container)
    if width is None or reader is None or channels < 1:
        return
    try:
        with path.open("rb") as f:
            end = os.fstat(f.fileno()).st_size
            audio = reader(f, end)
    except OSError:
        return  # libsndfile could read it: decoding will say what is wrong
    if audio is None:
        return
    start, promised = audio
    found = max(0, end - start)
    promised_frames = promised // (width * channels)
    # both: the file really ends early, and libsndfile really reports fewer frames
    if found < promised and frames < promised_frames:
        raise InputError(
            f"{path}: truncated: the header promises {promised_frames} frames, the file "
            f"holds {frames} ({promised} bytes of audio promised, {found} found)"
        )


def _chunks(
    f: BinaryIO,
    pos: int,
    end: int,
    *,
    id_len: int = 4,
    size_len: int = 4,
    order: _Order = "little",
    align: int = 2,
    size_has_header: bool = False,
) -> Iterator[tuple[bytes, int, int]]:
    """(id, size field, offset of the body) of each chunk from ``pos`` to ``end``."""
    header = id_len + size_len
    for _ in range(_MAX_CHUNKS):
        if pos + header > end:
            return
        f.seek(pos)
        head = f.read(header)
        if len(head) < header:
            return
        size = int.from_bytes(head[id_len:], order)
        body = pos + header
        yield head[:id_len], size, body
        length = size - header if size_has_header else size
        if length < 0:
            return
        pos = body + length + (-length % align)  # bodies are padded to the alignment


def _riff(f: BinaryIO, end: int) -> _Span | None:
    """WAV, WAVEX, big-endian RIFX and RF64: the ``data`` chunk (RF64: its size in ``ds64``)."""
    head = f.read(12)
    if head[8:12] != b"WAVE" or head[:4] not in (b"RIFF", b"RIFX", b"RF64"):
        return None
    order: _Order = "big" if head[:4] == b"RIFX" else "little"
    data64 = None
    for name, size, body in _chunks(f, 12, end, order=order):
        if name == b"ds64" and size >= 16:
            f.seek(body + 8)  # after the 64-bit RIFF size
            data64 = int.from_bytes(f.read(8), "little")
        elif name == b"data":
            if size == _ALL_ONES_32 and head[:4] == b"RF64":
                size = _ALL_ONES_64 if data64 is None else data64
            if size in (_ALL_ONES_32, _ALL_ONES_64):
                return None
            return body, size
    return None


def _w64(f: BinaryIO, end: int) -> _Span | None:
    """Sony Wave64: 64-bit little-endian sizes that count the 24-byte chunk header."""
    head = f.read(40)
    if head[:16] != _W64_RIFF or head[24:40] != _W64_WAVE:
        return None
    chunks = _chunks(f, 40, end, id_len=16, size_len=8, align=8, size_has_header=True)
    for name, size, body in chunks:
        if name == _W64_DATA:
            return None if size == _ALL_ONES_64 else (body, size - 24)
    return None


def _aiff(f: BinaryIO, end: int) -> _Span | None:
    """AIFF and AIFC: the ``SSND`` chunk, whose body starts with 8 bytes of offset
    and block size before the audio."""
    head = f.read(12)
    if head[:4] != b"FORM" or head[8:12] not in (b"AIFF", b"AIFC"):
        return None
    for name, size, body in _chunks(f, 12, end, order="big"):
        if name == b"SSND":
            if size == _ALL_ONES_32:
                return None
            f.seek(body)
            offset = int.from_bytes(f.read(4), "big")  # audio starts this far after the 8
            return body + 8 + offset, size - 8 - offset
    return None


def _caf(f: BinaryIO, end: int) -> _Span | None:
    """Apple CAF: the ``data`` chunk, whose 64-bit size counts a 4-byte edit count."""
    if f.read(4) != b"caff":
        return None
    for name, size, body in _chunks(f, 8, end, size_len=8, order="big", align=1):
        if name == b"data":
            return None if size == _ALL_ONES_64 else (body + 4, size - 4)  # -1: unknown
    return None


def _au(f: BinaryIO, end: int) -> _Span | None:
    """Sun/NeXT AU (".snd", or DEC's little-endian "dns."): data offset and size
    at header offsets 4 and 8."""
    head = f.read(12)
    if len(head) < 12 or head[:4] not in (b".snd", b"dns."):
        return None
    order: _Order = "big" if head[:4] == b".snd" else "little"
    size = int.from_bytes(head[8:12], order)
    return None if size == _ALL_ONES_32 else (int.from_bytes(head[4:8], order), size)


_READERS: dict[str, Callable[[BinaryIO, int], _Span | None]] = {
    "WAV": _riff,
    "WAVEX": _riff,
    "RF64": _riff,
    "W64": _w64,
    "AIFF": _aiff,
    "CAF": _caf,
    "AU": _au,
}
