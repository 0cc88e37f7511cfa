"""Where a build of recordings spends its time: ``spectroprep.build`` of real_corpus.py's
real-like corpus (44.1/48 kHz, stereo and mono, FLAC, Vorbis, MP3, WAV) into 64-band
log-mel at 16 kHz, in one process under cProfile, its time put into stages by the
functions it was spent in (docs/performance.md cites the table).

Not part of ``make bench`` (it profiles, it does not compare); benchmarks/README.md
records a run.

Usage: python benchmarks/build_profile.py [WORKDIR]; prints markdown.
"""

from __future__ import annotations

import cProfile
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from real_corpus import ensure  # noqa: E402

import spectroprep  # noqa: E402
from spectroprep.execute.local import InProcess  # noqa: E402

# stage: (file fragment, function name) of the functions whose own time is the stage's
STAGES = {
    "decoding (libsndfile, inside soundfile)": [("soundfile", "")],
    "resampling (soxr HQ)": [("soxr", "")],
    "spectrogram and mel (features/)": [("spectroprep/features", ""), ("scipy/fft", "")],
    "mixing channels and the NaN check": [("ingest/audio/decode", "")],
}


def stage_of(file: str, function: str) -> str:
    for stage, patterns in STAGES.items():
        if any(part in file and name in function for part, name in patterns):
            return stage
    return "the rest: header pass, HDF5 images, hashes, statistics, manifest, imports"


def main() -> int:
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("bench-work")
    corpus = ensure(work / "real-corpus", log=lambda m: print(m, file=sys.stderr))
    audio = corpus.folder("real-like")
    out = Path(tempfile.mkdtemp(prefix="build-profile-")) / "ds"
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.enable()
    spectroprep.build(
        audio, out, labels_from_folders=True, config="logmel-16k", executor=InProcess()
    )
    profile.disable()
    wall = time.perf_counter() - start
    shutil.rmtree(out.parent)
    totals: dict[str, float] = {}
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    for (file, _, function), (_, _, own, _, _) in stats.items():
        stage = stage_of(file, function)
        totals[stage] = totals.get(stage, 0.0) + own
    spent = sum(totals.values())
    print("## Where a build of recordings spends its time (benchmarks/build_profile.py)\n")
    print(
        f"{corpus.seconds('real-like') / 3600:.2f} h in {len(list(audio.rglob('*.*')))} files, "
        f"64-band log-mel at 16 kHz, one process under cProfile: {wall:.1f} s wall, "
        f"{spent:.1f} s profiled.\n"
    )
    print("| stage | s | share |\n|---|---:|---:|")
    for stage in [*STAGES, stage_of("", "")]:
        seconds = totals.get(stage, 0.0)
        print(f"| {stage} | {seconds:.1f} | {seconds / spent:.0%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
