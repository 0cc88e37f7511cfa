"""A real-like audio corpus for the build benchmarks, written with numpy + soundfile only.

Real collections are not 16 kHz mono WAV: they mix 44.1 and 48 kHz, stereo and mono,
FLAC, Ogg Vorbis, MP3 and WAV (PCM_16 and float), many short clips and a few long ones,
and MP3s whose length in the header is only an estimate. This module writes such a corpus,
deterministically (every clip's content comes from its own seed), and caches it: a second
run finds ``corpus.json`` with the same plan and reuses the files.

Two sets are written under the cache folder:

* ``real-like/<class>/<name>.<ext>``: about 1.03 h in 174 clips of 1 s to 10 min in four
  class folders (see ``plan_corpus``);
* ``long/<codec>-whole/long.<ext>`` and ``long/<codec>-parts/part-NN.<ext>``: one 30-minute
  file and the same audio cut into thirty 1-minute files (each encoded on its own), for Ogg
  Vorbis (44.1 kHz stereo) and MP3 (44.1 kHz mono VBR, with its Xing frame: its length is
  exact), to check that a long file builds about as fast as short ones.

The content is meant to behave like recordings for the codecs (no pure tones, no digital
silence): voiced harmonic tones with vibrato and syllable-like envelopes, decaying plucked
notes with inharmonic partials, band-limited noise bursts and stretches of near silence over
a low noise floor; stereo channels get their own floor, pan and inter-channel delay.

Generation takes about 2.5 minutes on 2 cores (2 processes), nearly all of it the Vorbis and
LAME encoders (MP3 encodes at ~20x real time in stereo); a cached corpus costs ~0.1 s to check.

Usage: python benchmarks/real_corpus.py [CACHE] [--jobs N] [--quick]  (prints a summary)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import soundfile as sf

VERSION = 2  # bump when the plan or the synthesis changes: the cache is then rewritten
SEED = 20261121
CLASSES = ("speech", "music", "street", "quiet")
# Share of each event kind per class folder: voiced, pluck, noise, silence.
MIX = {
    "speech": (0.6, 0.1, 0.1, 0.2),
    "music": (0.3, 0.5, 0.05, 0.15),
    "street": (0.15, 0.1, 0.6, 0.15),
    "quiet": (0.1, 0.1, 0.2, 0.6),
}
EXT = {"WAV": "wav", "FLAC": "flac", "OGG": "ogg", "MP3": "mp3"}
BLOCK = 1 << 15  # frames per write: libvorbis allocas its whole input on the stack, and a
# single large write overflows it (python-soundfile issue #233)
TABLE = 4096  # wavetable length for the harmonic tones


@dataclass(frozen=True)
class Clip:
    """One file to write: where, how long, and how it is encoded."""

    path: str  # relative to the cache folder
    seconds: float
    rate: int
    channels: int
    format: str  # WAV, FLAC, OGG or MP3
    subtype: str
    seed: int
    kind: str  # class folder whose event mix the content follows
    vbr: bool = False  # MP3: variable bit rate
    strip_info: bool = False  # MP3: remove the Xing/Info frame, so the length is an estimate
    offset: float = 0.0  # seconds into the seeded signal: the 1-minute parts of a long file


# ---------------------------------------------------------------- the plan


def plan_corpus(seed: int = SEED, quick: bool = False) -> list[Clip]:
    """The real-like set: most clips short, a few long, every codec, rate and layout mixed
    (``quick``: 16 clips of 1-5 s, a smoke test)."""
    rng = np.random.default_rng(seed)
    # 2 of 10 min, 4 of 2-5 min, 28 of 15-60 s, 140 of 1-10 s (log-uniform: most under 4 s)
    long, medium, short, brief = (2, 4, 28, 140) if not quick else (0, 0, 2, 14)
    lengths = [600.0] * long
    lengths += [round(float(s), 2) for s in rng.uniform(120, 300, medium)]
    lengths += [round(float(s), 2) for s in rng.uniform(15, 60, short) / (12 if quick else 1)]
    lengths += [round(float(s), 2) for s in np.exp(rng.uniform(0, np.log(10), brief))]
    # codecs in turn, so that each gets long and short clips: FLAC, Vorbis, MP3 and WAV
    # a quarter each; some FLAC in 24 bit, some WAV in float
    codecs = [
        ("FLAC", "PCM_16"),
        ("OGG", "VORBIS"),
        ("MP3", "MPEG_LAYER_III"),
        ("WAV", "PCM_16"),
        ("FLAC", "PCM_24"),
        ("OGG", "VORBIS"),
        ("MP3", "MPEG_LAYER_III"),
        ("WAV", "FLOAT"),
    ]
    clips, mp3s = [], 0
    for i, seconds in enumerate(lengths):
        fmt, subtype = codecs[i % len(codecs)]
        kind = CLASSES[int(rng.integers(len(CLASSES)))]
        rate = 44100 if rng.random() < 0.6 else 48000
        channels = 2 if rng.random() < 0.6 else 1
        vbr = strip = False
        if fmt == "MP3":
            vbr = mp3s % 3 == 2  # a third VBR: its estimated length is the furthest off
            strip = mp3s % 2 == 1  # every other MP3 without its Xing/Info frame
            mp3s += 1
        clips.append(
            Clip(
                path=f"real-like/{kind}/rec-{i:03d}.{EXT[fmt]}",
                seconds=seconds,
                rate=rate,
                channels=channels,
                format=fmt,
                subtype=subtype,
                seed=seed + 1 + i,
                kind=kind,
                vbr=vbr,
                strip_info=strip,
            )
        )
    return clips


def plan_long(seed: int = SEED, quick: bool = False) -> dict[str, list[Clip]]:
    """The linearity sets, per codec: ``<codec>-whole``, one 30-minute file, and
    ``<codec>-parts``, the same audio as thirty 1-minute files (``quick``: 40 s and 4 x 10 s)."""
    whole, parts = (40.0, 4) if quick else (1800.0, 30)
    part = whole / parts
    sets: dict[str, list[Clip]] = {}
    for codec, fmt, subtype, channels, vbr in (
        ("ogg", "OGG", "VORBIS", 2, False),
        ("mp3", "MP3", "MPEG_LAYER_III", 1, True),  # mono VBR, like a podcast
    ):
        path = f"long/{codec}-whole/long.{codec}"
        base = Clip(path, whole, 44100, channels, fmt, subtype, seed + 1000 + len(sets), "speech")
        sets[f"{codec}-whole"] = [replace(base, vbr=vbr)]
        sets[f"{codec}-parts"] = [
            replace(
                base,
                path=f"long/{codec}-parts/part-{k:02d}.{codec}",
                seconds=part,
                vbr=vbr,
                offset=part * k,
            )  # fmt: skip
            for k in range(parts)
        ]
    return sets


# ---------------------------------------------------------------- the content


def _wavetable(amps: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One period of a sum of harmonics (amplitude amps[k-1] for harmonic k), plus a wrap sample."""
    j = np.arange(TABLE) / TABLE
    phases = rng.uniform(0, 2 * np.pi, len(amps))
    table = np.zeros(TABLE)
    for k, (a, p) in enumerate(zip(amps, phases, strict=True), start=1):
        table += a * np.sin(2 * np.pi * k * j + p)
    table /= np.max(np.abs(table)) + 1e-12
    return np.append(table, table[0])


def _lookup(table: np.ndarray, cycles: np.ndarray) -> np.ndarray:
    """The wavetable at fractional cycle positions, linearly interpolated."""
    pos = (cycles % 1.0) * TABLE
    i = pos.astype(np.int64)
    frac = pos - i
    return table[i] * (1 - frac) + table[i + 1] * frac


def _envelope(n: int, rate: int, attack: float, release: float) -> np.ndarray:
    env = np.ones(n)
    a, r = min(n // 2, int(attack * rate)), min(n // 2, int(release * rate))
    if a:
        env[:a] = np.linspace(0, 1, a)
    if r:
        env[n - r :] = np.linspace(1, 0, r)
    return env


def voiced(n: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    """A voiced, speech- or song-like tone: gliding f0 with vibrato, formant-shaped harmonics,
    syllable-rate amplitude modulation and a little breath noise."""
    t = np.arange(n) / rate
    f0 = rng.uniform(90, 330)
    # a slow random glide, points every 0.3 s, +-15 %
    knots = np.arange(0, n / rate + 0.3, 0.3)
    glide = np.interp(t, knots, f0 * rng.uniform(0.85, 1.15, len(knots)))
    vibrato = 1 + rng.uniform(0.005, 0.02) * np.sin(2 * np.pi * rng.uniform(4.5, 6.5) * t)
    cycles = np.cumsum(glide * vibrato) / rate
    top = min(rate / 2 - 500, 7500)
    k = np.arange(1, int(top / (1.2 * f0)) + 1)
    formants = rng.uniform([400, 1200], [900, 2600])
    amps = k**-1.0 * (1 + sum(3 * np.exp(-(((k * f0 - f) / 250) ** 2)) for f in formants))
    x = _lookup(_wavetable(amps, rng), cycles)
    syllables = 0.55 + 0.45 * np.sin(2 * np.pi * rng.uniform(2.5, 5) * t + rng.uniform(0, 6.3))
    x = x * syllables**2 + 0.02 * rng.standard_normal(n)
    return x * _envelope(n, rate, 0.03, 0.08)


def plucks(n: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    """A phrase of plucked notes: inharmonic partials, the higher ones decaying faster."""
    from scipy.signal import lfilter

    x = np.zeros(n)
    onset = 0
    while onset < n:
        f0 = 110 * 2 ** rng.uniform(0, 3.5)
        tau = rng.uniform(0.2, 1.0)
        m = min(n - onset, int(3 * tau * rate))
        kick = np.zeros(m)
        kick[0] = rng.uniform(0.5, 1.5)  # how hard the string is plucked
        inharmonic = rng.uniform(0, 4e-4)
        for k in range(1, 9):
            fk = k * f0 * np.sqrt(1 + inharmonic * k * k)
            if fk > rate / 2 - 500:
                break
            # each partial a two-pole resonator rung by the pluck: a damped sinusoid at fk
            # decaying with time constant tau / (1 + 0.4 (k - 1)); far cheaper than np.sin
            r = np.exp(-(1 + 0.4 * (k - 1)) / (tau * rate))
            w = 2 * np.pi * fk / rate
            ring = lfilter([np.sin(w) / k], [1, -2 * r * np.cos(w), r * r], kick)
            x[onset : onset + m] += ring
        onset += int(rng.uniform(0.12, 0.7) * rate)
    return x


def noise_burst(n: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Band-limited noise, a sharp burst or a longer swell (traffic, wind, a door)."""
    from scipy.signal import butter, sosfilt

    centre = 200 * 2 ** rng.uniform(0, 5)  # 200 Hz - 6.4 kHz
    width = rng.uniform(0.3, 1.5)  # octaves
    lo, hi = centre * 2 ** (-width / 2), min(centre * 2 ** (width / 2), 0.45 * rate)
    sos = butter(int(rng.integers(2, 5)), [lo, hi], btype="bandpass", fs=rate, output="sos")
    x = sosfilt(sos, rng.standard_normal(n))
    t = np.arange(n) / rate
    if rng.random() < 0.5:  # a burst: fast attack, exponential decay
        env = np.exp(-t / rng.uniform(0.05, 0.6))
    else:  # a swell: slow rise and fall
        env = np.sin(np.pi * t / (n / rate)) ** 2
    return x / (np.std(x) + 1e-12) * env * _envelope(n, rate, 0.002, 0.01)


EVENTS = (voiced, plucks, noise_burst, None)  # None: near silence, the floor alone
DURATIONS = ((0.4, 3.0), (1.0, 5.0), (0.1, 4.0), (0.3, 4.0))  # seconds, per event kind


def floor_noise(n: int, rng: np.random.Generator, level: float) -> np.ndarray:
    """A low, slightly low-passed noise floor: rooms and microphones are never silent."""
    from scipy.signal import lfilter

    white = rng.standard_normal(n, dtype=np.float32)
    b, a = np.array([0.3 * level], np.float32), np.array([1, -0.7], np.float32)
    return lfilter(b, a, white).astype(np.float32)


def synth(seconds: float, rate: int, channels: int, kind: str, seed: int) -> np.ndarray:
    """``seconds`` of seeded content, (frames, channels) float32, peaks below full scale."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    out = np.zeros((n, channels), np.float32)
    level = 10 ** (rng.uniform(-62, -50) / 20)
    for c in range(channels):  # each channel its own floor: the channels differ
        out[:, c] = floor_noise(n, rng, level)
    mix = np.array(MIX[kind])
    pos = int(rng.uniform(0, 0.3) * rate)
    while pos < n:
        e = int(rng.choice(len(EVENTS), p=mix))
        m = min(n - pos, max(1, int(rng.uniform(*DURATIONS[e]) * rate)))
        event = EVENTS[e]
        if event is not None:
            x = event(m, rate, rng)
            x *= 10 ** (rng.uniform(-20, -3) / 20) / (np.max(np.abs(x)) + 1e-12)
            if channels == 1:
                out[pos : pos + m, 0] += x
            else:  # pan, and delay one side by up to 0.8 ms, as two spaced microphones
                pan = rng.uniform(0.1, 0.9)
                delay = int(rng.uniform(0, 8e-4) * rate)
                side = int(rng.integers(2))
                out[pos : pos + m, side] += np.sqrt(pan) * x
                out[pos + delay : pos + m, 1 - side] += np.sqrt(1 - pan) * x[: m - delay]
        pos += m + int(rng.exponential(0.25) * rate)  # short pauses between events
    peak = np.max(np.abs(out))
    if peak > 0.95:  # overlapping events: scale down rather than clip
        out *= 0.95 / peak
    return out


# ---------------------------------------------------------------- writing


MP3_BITRATES = {  # kbit/s by bitrate index, Layer III
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),  # MPEG-1
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),  # MPEG-2 and 2.5
}
MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def strip_info_frame(path: Path) -> bool:
    """Remove the first MP3 frame if it is a Xing/Info frame; True if one was removed.

    libsndfile's writer (LAME) puts the frame count in that frame; without it a decoder can
    only estimate the length from the file size and the first frame's bit rate, as for the
    MP3s of many other encoders.
    """
    data = path.read_bytes()
    start = 0
    if data[:3] == b"ID3":  # an ID3v2 tag first: 10-byte header, syncsafe size
        start = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(data[6:10]))
    head = int.from_bytes(data[start : start + 4], "big")
    if head >> 21 != 0x7FF:
        raise ValueError(f"{path}: no MPEG frame at byte {start}")
    version = (head >> 19) & 3  # 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
    bitrate = MP3_BITRATES[1 if version == 3 else 2][(head >> 12) & 15] * 1000
    rate = MP3_RATES[version][(head >> 10) & 3]
    padding = (head >> 9) & 1
    size = (144 if version == 3 else 72) * bitrate // rate + padding
    frame = data[start : start + size]
    if b"Xing" not in frame[:64] and b"Info" not in frame[:64]:
        return False
    path.write_bytes(data[:start] + data[start + size :])
    return True


def write_clip(root: Path, clip: Clip, audio: np.ndarray | None = None) -> dict:
    """Write one clip (``audio`` if given, else synthesised); its facts for corpus.json."""
    if audio is None:
        audio = synth(clip.seconds, clip.rate, clip.channels, clip.kind, clip.seed)
    path = root / clip.path
    path.parent.mkdir(parents=True, exist_ok=True)
    extra: dict[str, float | str] = {}
    if clip.format == "MP3":
        # libsndfile applies a bit rate mode only with a compression level; without both
        # it writes neither CBR nor true VBR. CBR 0.5 is 160 kbit/s (an "Info" frame);
        # VBR 0.4 averages ~73 kbit/s on this mono speech (a "Xing" frame)
        extra["compression_level"] = 0.4 if clip.vbr else 0.5
        extra["bitrate_mode"] = "VARIABLE" if clip.vbr else "CONSTANT"
    with sf.SoundFile(
        path, "w", clip.rate, clip.channels, clip.subtype, format=clip.format, **extra
    ) as f:
        for i in range(0, len(audio), BLOCK):
            f.write(audio[i : i + BLOCK])
    if clip.strip_info and not strip_info_frame(path):
        raise RuntimeError(f"{path}: no Xing/Info frame to strip")
    info = sf.info(str(path))
    return {
        "path": clip.path,
        "header_frames": int(info.frames),  # an estimate where the Xing frame is gone
        "bytes": path.stat().st_size,
    }


def write_long_set(root: Path, clips: list[Clip]) -> list[dict]:
    """Clips cut from one seeded signal (a long file and its parts): synthesised once."""
    first = clips[0]
    total = max(c.offset + c.seconds for c in clips)
    audio = synth(total, first.rate, first.channels, first.kind, first.seed)
    facts = []
    for clip in clips:
        a = int(round(clip.offset * clip.rate))
        facts.append(write_clip(root, clip, audio[a : a + int(round(clip.seconds * clip.rate))]))
    return facts


def _task(root: Path, clips: list[Clip]) -> list[dict]:
    if clips[0].path.startswith("long/"):
        return write_long_set(root, clips)
    return [write_clip(root, clip) for clip in clips]


# ---------------------------------------------------------------- the cache


@dataclass
class Corpus:
    """A written corpus: its root folder, its clips and what generating it took."""

    root: Path
    clips: list[Clip]
    facts: dict[str, dict]  # by clip path: header_frames, bytes
    generation_s: float  # wall seconds of the generation that wrote it
    reused: bool  # True when this run found it cached

    def folder(self, name: str) -> Path:
        return self.root / name

    def seconds(self, prefix: str) -> float:
        return sum(c.seconds for c in self.clips if c.path.startswith(prefix + "/"))

    def under(self, prefix: str) -> list[Clip]:
        return [c for c in self.clips if c.path.startswith(prefix + "/")]


def _plan(quick: bool) -> list[list[Clip]]:
    """Every generation task: one per real-like clip, and per codec of the long files one for
    the long file and its parts together (their signal is synthesised once)."""
    tasks: list[list[Clip]] = [[c] for c in plan_corpus(quick=quick)]
    sets = plan_long(quick=quick)
    for name in sets:
        if name.endswith("-whole"):
            tasks.append(sets[name] + sets[name.replace("-whole", "-parts")])
    return tasks


def ensure(
    root: Path, jobs: int = 2, quick: bool = False, log: Callable[[str], None] = print
) -> Corpus:
    """The corpus under ``root``: reused if ``corpus.json`` matches the plan, else written
    (``quick``: the small smoke-test plan)."""
    tasks = _plan(quick)
    clips = [c for task in tasks for c in task]
    manifest = root / "corpus.json"
    plan = [asdict(c) for c in clips]
    if manifest.exists():
        saved = json.loads(manifest.read_text())
        facts = {f["path"]: f for f in saved.get("files", [])}
        intact = all(
            (root / c.path).is_file() and (root / c.path).stat().st_size == facts[c.path]["bytes"]
            for c in clips
            if c.path in facts
        )
        same = saved.get("version") == VERSION and saved.get("plan") == plan
        if same and intact and len(facts) == len(clips):
            return Corpus(root, clips, facts, saved["generation_s"], reused=True)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    log(f"writing the real-like corpus in {root} ({len(clips)} files, {jobs} processes)")
    t0 = time.perf_counter()
    # longest tasks first, so the two processes finish together
    order = sorted(tasks, key=lambda t: -sum(c.seconds * c.channels for c in t))
    with ProcessPoolExecutor(jobs) as pool:
        done = list(pool.map(_task, [root] * len(order), order))
    generation_s = time.perf_counter() - t0
    facts = {f["path"]: f for result in done for f in result}
    manifest.write_text(
        json.dumps(
            {
                "version": VERSION,
                "generation_s": round(generation_s, 1),
                "plan": plan,
                "files": [facts[c.path] for c in clips],
            },
            indent=1,
        )
        + "\n"
    )
    log(f"corpus written in {generation_s:.0f} s")
    return Corpus(root, clips, facts, generation_s, reused=False)


# ---------------------------------------------------------------- summary


def span(seconds: float) -> str:
    """``4.2 s``, ``1 min`` or ``30 min``."""
    whole_minutes = seconds >= 60 and seconds % 60 == 0
    return f"{seconds / 60:g} min" if whole_minutes or seconds >= 120 else f"{seconds:.1f} s"


def describe(corpus: Corpus, prefix: str = "real-like") -> list[str]:
    """Markdown lines: the set's size, and its hours per codec, rate and channel count."""
    clips = corpus.under(prefix)
    total = sum(c.seconds for c in clips)
    size = sum(corpus.facts[c.path]["bytes"] for c in clips) / 1e6
    lengths = sorted(c.seconds for c in clips)

    def share(key: Callable[[Clip], str]) -> str:
        hours: dict[str, float] = {}
        files: Counter[str] = Counter()
        for c in clips:
            hours[key(c)] = hours.get(key(c), 0.0) + c.seconds / 3600
            files[key(c)] += 1
        return ", ".join(f"{k} {files[k]} files / {hours[k]:.2f} h" for k in sorted(hours))

    mp3 = [c for c in clips if c.format == "MP3"]
    stripped = [c for c in mp3 if c.strip_info]

    def off(vbr: bool) -> str:  # how far the header's length is from the true one
        errors = [
            corpus.facts[c.path]["header_frames"] / (c.seconds * c.rate) - 1
            for c in stripped
            if c.vbr == vbr
        ]
        return f"{min(errors):+.1%} to {max(errors):+.1%}" if errors else "none"

    return [
        f"{len(clips)} files, {total:,.0f} audio s ({total / 3600:.2f} h), {size:,.0f} MB; "
        f"clip lengths {span(lengths[0])} to {span(lengths[-1])}, median "
        f"{np.median(lengths):.1f} s ({sum(s < 10 for s in lengths)} under 10 s, "
        f"{sum(s >= 120 for s in lengths)} of 2 min or more).",
        f"- codec: {share(lambda c: f'{c.format} {c.subtype}')}",
        f"- rate: {share(lambda c: f'{c.rate / 1000:g} kHz')}",
        f"- channels: {share(lambda c: 'stereo' if c.channels == 2 else 'mono')}",
        f"- MP3: {len(mp3)} files, {sum(c.vbr for c in mp3)} VBR, the rest CBR; "
        f"{len(stripped)} without their Xing/Info frame, whose header length is then an "
        f"estimate: CBR {off(False)}, VBR {off(True)} off.",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cache", nargs="?", type=Path, default=Path("bench-work/real-corpus"))
    ap.add_argument("--jobs", type=int, default=2, help="processes (default 2)")
    ap.add_argument("--quick", action="store_true", help="the small smoke-test plan")
    args = ap.parse_args(argv)
    corpus = ensure(args.cache, args.jobs, args.quick)
    state = "reused" if corpus.reused else "written"
    print(f"{state}; generation took {corpus.generation_s:.0f} s")
    print("\n".join(describe(corpus)))
    for name, clips in plan_long(quick=args.quick).items():
        print(f"long/{name}: {len(clips)} file(s) of {span(clips[0].seconds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
