"""What libsndfile's header gets wrong about compressed streams, found from the bytes.

* An MP3 without a Xing/Info frame has no sample count in its header: libsndfile
  reports mpg123's estimate from the file size and the first frame's bitrate,
  and stops decoding at that estimate. The header pass counts such a file's
  frames from their headers (each decodes to a fixed number of samples), or
  decodes it to its end when the frames do not run cleanly to the end of the file.
* libsndfile's Vorbis and Opus seeks are exact, except to a frame inside the
  last Ogg page, where they land some samples off. Regions there are read from
  the start of that page (docs/audio.md).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import soundfile as sf

MPEG_SUBTYPES = frozenset({"MPEG_LAYER_I", "MPEG_LAYER_II", "MPEG_LAYER_III"})
OGG_SUBTYPES = frozenset({"VORBIS", "OPUS"})

_OGG_MAX_PAGE = 27 + 255 + 255 * 255  # header, segment table, largest body


def mpeg_length_is_estimate(path: Path) -> bool:
    """True unless the first MPEG frame is a Xing/Info (or VBRI) frame giving the
    exact number of frames."""
    with path.open("rb") as f:
        head = f.read(1 << 16)
    start = 0
    if head[:3] == b"ID3" and len(head) >= 10:
        start = 10 + _id3_size(head)
        if start + 256 > len(head):
            with path.open("rb") as f:
                f.seek(start)
                head, start = f.read(4096), 0
    sync = _first_sync(head, start)
    if sync < 0:
        return True
    # the tag sits after the side information, at most 36 bytes into the frame
    frame = head[sync : sync + 64]
    return not any(tag in frame for tag in (b"Xing", b"Info", b"VBRI"))


def _first_sync(data: bytes, start: int) -> int:
    """Offset of the first MPEG audio frame header at or after ``start``, or -1."""
    pos = data.find(b"\xff", start)
    while 0 <= pos < len(data) - 1:
        if data[pos + 1] & 0xE0 == 0xE0:
            return pos
        pos = data.find(b"\xff", pos + 1)
    return -1


# kbit/s by bitrate index, for (MPEG-1, layer) and (MPEG-2 or 2.5, layer)
_KBPS = {
    (1, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (1, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (1, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (2, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (2, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (2, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
# Hz by rate index, for the version bits 3 (MPEG-1), 2 (MPEG-2), 0 (MPEG-2.5)
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


# what may follow the last frame of a stream that was written whole
_END_TAGS = (b"TAG", b"APETAGEX", b"LYRICSBEGIN")


def mpeg_stream_frames(path: Path) -> tuple[int, bool]:
    """Audio frames in the MPEG stream, counted from its frame headers (no decoding)
    up to the first bytes that are not a frame; and whether those frames run back to
    back to the end of the file (or to a tag there). Junk, a free-format or a cut-off
    frame stop the count, which is then a lower bound."""
    data = path.read_bytes()
    pos = _first_sync(data, 0 if data[:3] != b"ID3" else 10 + _id3_size(data))
    total = 0
    while pos >= 0 and pos + 4 <= len(data):
        header = int.from_bytes(data[pos : pos + 4], "big")
        version, layer = (header >> 19) & 3, 4 - ((header >> 17) & 3)
        index, rate_index = (header >> 12) & 15, (header >> 10) & 3
        if header >> 21 != 0x7FF or version == 1 or layer == 4 or index in (0, 15):
            break
        if rate_index == 3:
            break
        kbps = _KBPS[(1 if version == 3 else 2, layer)][index]
        rate, padding = _RATES[version][rate_index], (header >> 9) & 1
        if layer == 1:
            length, samples = (12 * kbps * 1000 // rate + padding) * 4, 384
        else:
            lsf = version != 3 and layer == 3  # MPEG-2/2.5 layer III: half-size frames
            length = (72 if lsf else 144) * kbps * 1000 // rate + padding
            samples = 576 if lsf else 1152
        total += samples
        pos += length
    whole = pos == len(data) or (0 <= pos < len(data) and data[pos:].startswith(_END_TAGS))
    return total, whole


def _id3_size(data: bytes) -> int:
    """Bytes of an ID3v2 tag after its 10-byte header: four 7-bit bytes."""
    return (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]


def decoded_frames(path: Path) -> int:
    """Frames that libsndfile decodes from ``path``, counted by decoding it to the end."""
    total = 0
    with sf.SoundFile(str(path)) as f:
        block = np.empty((1 << 16, f.channels), dtype=np.float32)
        while got := len(f.read(len(block), dtype="float32", out=block)):
            total += got
    return total


def ogg_seek_limit(path: Path, subtype: str, rate: int) -> int:
    """The first frame (at ``rate``) of the last Ogg page: seeks up to it land exactly.

    0 (every region decoded from the start: slower, still exact) when the file's
    last pages cannot be parsed.
    """
    with path.open("rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - 2 * _OGG_MAX_PAGE))
        tail = f.read()
        f.seek(0)
        first_page = f.read(_OGG_MAX_PAGE)
    granules = _page_granules(tail)
    if len(granules) < 2:
        return 0
    if subtype != "OPUS":
        return granules[-2]
    # Opus granule positions count 48 kHz samples, with the pre-skip the decoder drops
    return max(0, (granules[-2] - _opus_pre_skip(first_page)) * rate // 48000)


def _page_granules(data: bytes) -> list[int]:
    """Granule positions of the Ogg pages that run back to back to the end of ``data``."""
    granules: list[int] = []
    pos = data.find(b"OggS")
    while pos >= 0 and pos + 27 <= len(data):
        count = data[pos + 26]
        table = data[pos + 27 : pos + 27 + count]
        end = pos + 27 + count + sum(table)
        if len(table) == count and (end == len(data) or data[end : end + 4] == b"OggS"):
            granule = struct.unpack_from("<q", data, pos + 6)[0]
            if granule >= 0:  # -1: no packet ends on this page
                granules.append(granule)
            pos = end
        else:
            granules = []  # a false "OggS" inside a page body: start again after it
            pos = data.find(b"OggS", pos + 1)
    return granules


def _opus_pre_skip(first_page: bytes) -> int:
    at = first_page.find(b"OpusHead")
    if at < 0 or at + 12 > len(first_page):
        return 0
    return int(struct.unpack_from("<H", first_page, at + 10)[0])
